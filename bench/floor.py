"""The HTTP server's own floor: what uvicorn gives an ASGI app that does nothing.

    python bench/floor.py --triples 1000000

Starts uvicorn with a raw ASGI app that reads the request body and answers the small
SELECT's recorded answer, pinned and measured like run.py's small SELECT (wrk, 32
connections): once with the publisher's POST and once with a GET; first with the
publisher's own HTTP protocol (publisher/http_server.py, as the publisher and the FastAPI
ceiling run), then with uvicorn's httptools and h11 (which they ran before), for
comparison (bench/serve_asgi.py). Neither FastAPI nor the store is involved, so the
difference between this and the publisher's small SELECT is what routing, checking and
evaluating the query cost (bench/RESULTS.md). Needs run.py's ceiling bodies for that scale
(``bench/.work/N/ceiling/small.srj``), which any run.py run at that scale writes.

Last, the same protocol with an app that answers the small SELECT at once by the engine
alone (``EngineOnly``: pyoxigraph on run.py's store for that scale, ``bench/.work/N/ours.db``,
and a minimal head): what the protocol and the engine cost together, without the
publisher's checks, headers, metrics or log.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import peers
import pyoxigraph as ox
import workload as w
from peers import BASE
from run import JSON_RESULTS, SMALL, WORK, Bench, query

BODY = Path(os.environ["BENCH_FLOOR_BODY"]).read_bytes() if "BENCH_FLOOR_BODY" in os.environ \
    else b""


async def app(scope: dict, receive, send) -> None:  # type: ignore[no-untyped-def]
    """Answer every request with the bytes of BENCH_FLOOR_BODY, after reading its body."""
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body", False):
        pass
    await send({"type": "http.response.start", "status": 200, "headers": [
        (b"content-type", JSON_RESULTS.encode()), (b"content-length", str(len(BODY)).encode())]})
    await send({"type": "http.response.body", "body": BODY})


class EngineOnly:
    """Answers every request at once (http_server.AnswersNow), a POST once its body is in,
    with the small SELECT evaluated by pyoxigraph on the store BENCH_FLOOR_STORE names, as
    the publisher's server evaluates a look-up, under a status line, the server's own
    headers and two of ours."""

    def __init__(self) -> None:
        self.store: ox.Store | None = None
        self.query = os.environ.get("BENCH_FLOOR_QUERY", "")

    def wants_body(self, scope: dict) -> bool:  # type: ignore[type-arg]
        return scope["method"] == "POST"

    def answer_now(self, scope: dict, default_headers: list[tuple[bytes, bytes]],  # type: ignore[type-arg]
                   body: bytes) -> bytes:
        if self.store is None:
            self.store = ox.Store.read_only(os.environ["BENCH_FLOOR_STORE"])
        answer = self.store.query(self.query, use_default_graph_as_union=True,
                                  base_iri=BASE + "sparql").serialize(
            format=ox.QueryResultsFormat.JSON)
        head = b"".join(name + b": " + value + b"\r\n" for name, value in default_headers)
        return b"".join([b"HTTP/1.1 200 OK\r\n", head, b"content-type: ", JSON_RESULTS.encode(),
                         b"\r\ncontent-length: ", str(len(answer)).encode(), b"\r\n\r\n",
                         answer])

    async def __call__(self, scope: dict, receive, send) -> None:  # type: ignore[no-untyped-def,type-arg]
        """What is not answered at once (a request on a connection that closes): 404."""
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b""})


engine_app = EngineOnly()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--triples", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    bench = Bench(args.triples, set(), args.seconds)
    body = WORK / str(args.triples) / "ceiling" / "small.srj"
    env = {"BENCH_FLOOR_BODY": str(body), "PYTHONPATH": str(peers.ROOT / "bench")}
    post = ("POST", "/sparql", {"Accept": JSON_RESULTS, "Content-Type":
                                "application/x-www-form-urlencoded"},
            w.form(query(SMALL, bench.cities)))
    get = ("GET", "/sparql", {"Accept": JSON_RESULTS}, "")
    for http in ("publisher", "httptools", "h11"):
        port = peers.free_port()
        command = peers.pinned([sys.executable, str(peers.ROOT / "bench" / "serve_asgi.py"),
                                "floor:app", "--port", str(port), "--http", http])
        running = peers.launch("floor", command, port, "/", bench.work / "floor.log", env,
                               peers.ROOT / "bench")
        peer = f"uvicorn floor ({http})"
        try:
            bench.put("small SELECT c32 (POST)", peer,
                      bench.wrk(port, f"floor-post-{http}", [post], 32))
            bench.put("small SELECT c32 (GET)", peer,
                      bench.wrk(port, f"floor-get-{http}", [get], 32))
        finally:
            running.stop()
    port = peers.free_port()
    env = {**env, "BENCH_FLOOR_STORE": str(WORK / str(args.triples) / "ours.db"),
           "BENCH_FLOOR_QUERY": query(SMALL, bench.cities)}
    command = peers.pinned([sys.executable, str(peers.ROOT / "bench" / "serve_asgi.py"),
                            "floor:engine_app", "--port", str(port), "--http", "publisher",
                            "--no-proxy-headers"])
    running = peers.launch("floor", command, port, "/", bench.work / "floor.log", env,
                           peers.ROOT / "bench")
    try:
        bench.put("small SELECT c32 (POST)", "protocol + engine alone",
                  bench.wrk(port, "floor-post-engine", [post], 32))
    finally:
        running.stop()


if __name__ == "__main__":
    main()
