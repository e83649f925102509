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
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import peers
import workload as w
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


if __name__ == "__main__":
    main()
