"""publisher/http_server.py answers a request at once when the app offers the whole answer
(``AnswersNow``): no task, no ASGI messages. First with a small app of the test's own, for
what the protocol must keep (order, keep-alive, bodies, 100 Continue, errors); then with the
publisher itself (routes/front.py): a replayed GET and a look-up answered at once are the
same answer the ASGI path gives, and a look-up the door cannot answer at once is not
evaluated twice. Both over a socket pair, the protocol on one end as uvicorn runs it."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable, Sequence
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from publisher import lookup
from publisher.app import create_app
from publisher.http_server import BoundedHttpTools
from publisher.routes import lookups
from publisher.routes.middleware import GZIP_MINIMUM
from publisher.workers import WorkerPool
from tests.conftest import Server
from tests.routes.conftest import mini_settings
from tests.support import served_on_socketpair

Answer = tuple[bytes, dict[bytes, bytes], bytes]  # status line, headers, body


def _answers(data: bytes, bodiless: frozenset[int] = frozenset()) -> tuple[list[Answer], bytes]:
    """The whole responses at the start of ``data`` (each with a Content-Length; those
    numbered in ``bodiless`` answer HEAD), and the rest."""
    found: list[Answer] = []
    while b"\r\n\r\n" in data:
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        if lines[0].startswith(b"HTTP/1.1 100 "):
            found.append((lines[0], {}, b""))
            data = rest
            continue
        headers = dict(line.lower().split(b": ", 1) for line in lines[1:])
        length = 0 if len(found) in bodiless else int(headers[b"content-length"])
        if len(rest) < length:
            break
        found.append((lines[0], headers, rest[:length]))
        data = rest[length:]
    return found, data


Step = bytes | float | int | Callable[[BoundedHttpTools], None]


class _Client:
    """The test's end of the socket pair: what it has read, as responses."""

    def __init__(self, sock: socket.socket, bodiless: frozenset[int]) -> None:
        self.sock, self.bodiless = sock, bodiless
        self.read, self.found, self.closed = b"", list[Answer](), False

    async def until(self, answers: int) -> None:
        """Read until ``answers`` responses are in (or the server closes)."""
        loop = asyncio.get_running_loop()
        while len(self.found) < answers and not self.closed:
            chunk = await asyncio.wait_for(loop.sock_recv(self.sock, 1 << 20), 5)
            self.closed = not chunk
            self.read += chunk
            self.found, _ = _answers(self.read, self.bodiless)


async def _exchange(app: Any, steps: Sequence[Step], answers: int, keep_alive: float = 5.0,
                    bodiless: frozenset[int] = frozenset()) -> tuple[list[Answer], bool]:
    """Send ``steps`` over a socket pair (bytes; seconds to wait; a number of responses
    to wait for; or something to do to the protocol); the first ``answers`` responses,
    and whether the server closed the connection after them."""
    protocol, theirs = await served_on_socketpair(
        app, proxy_headers=False, timeout_keep_alive=keep_alive,  # (a float works)
        h11_max_incomplete_event_size=16384)
    loop = asyncio.get_running_loop()
    client = _Client(theirs, bodiless)
    for step in steps:
        if isinstance(step, float):
            await asyncio.sleep(step)
        elif isinstance(step, int):
            await client.until(step)
        elif isinstance(step, bytes):
            await loop.sock_sendall(theirs, step)
        else:
            step(protocol)
    await client.until(answers)
    closed = client.closed
    if not closed:
        try:
            closed = not await asyncio.wait_for(loop.sock_recv(theirs, 1), 0.05)
        except TimeoutError:
            pass
    theirs.close()
    protocol.transport.close()
    return client.found, closed


def exchange(app: Any, steps: Sequence[Step], answers: int,
             keep_alive: float = 5.0) -> tuple[list[Answer], bool]:
    return asyncio.run(_exchange(app, steps, answers, keep_alive))


class Toy:
    """An app that answers GET and POST /now at once (with ``now:`` and the body) and
    everything else through ASGI (``app:``); /slow takes 0.3 s, /boom fails at once."""

    def __init__(self) -> None:
        self.asgi: list[str] = []
        self.asked: list[tuple[str, bytes]] = []

    def wants_body(self, scope: Any) -> bool:
        return bool(scope["method"] == "POST" and scope["path"] == "/now")

    def answer_now(self, scope: Any, default_headers: list[tuple[bytes, bytes]],
                   body: bytes) -> bytes | None:
        self.asked.append((scope["path"], body))
        if scope["path"] == "/boom":
            raise RuntimeError("the toy failed")
        if scope["path"] != "/now":
            return None
        payload = b"now:" + body
        return b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(payload), payload)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        self.asgi.append(scope["path"])
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        if scope["path"] == "/slow":
            await asyncio.sleep(0.3)
        payload = b"app:" + (body if len(body) < 100 else str(len(body)).encode())
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", str(len(payload)).encode())]})
        await send({"type": "http.response.body", "body": payload})


def get(path: str, *headers: bytes, version: bytes = b"1.1") -> bytes:
    return b"GET " + path.encode() + b" HTTP/" + version + b"\r\nHost: x\r\n" \
        + b"".join(h + b"\r\n" for h in headers) + b"\r\n"


def post(path: str, body: bytes, *headers: bytes) -> bytes:
    return b"POST " + path.encode() + b" HTTP/1.1\r\nHost: x\r\n" \
        + b"".join(h + b"\r\n" for h in headers) \
        + b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body


def bodies(found: list[Answer]) -> list[bytes]:
    return [body for _, _, body in found]


# -- the protocol, with the toy -----------------------------------------------------------

def test_an_answer_the_app_has_is_written_without_the_app() -> None:
    toy = Toy()
    found, closed = exchange(toy, [get("/now"), get("/other"), 2, get("/now")], 3)
    assert bodies(found) == [b"now:", b"app:", b"now:"]
    assert toy.asgi == ["/other"] and not closed


def test_a_body_the_app_wants_is_awaited_and_then_answered_at_once() -> None:
    toy = Toy()
    whole = post("/now", b"hello world")
    head_end = whole.index(b"\r\n\r\n") + 4
    found, _ = exchange(toy, [whole[:head_end], 0.05, whole[head_end:head_end + 5], 0.05,
                              whole[head_end + 5:], post("/now", b"")], 2)
    assert bodies(found) == [b"now:hello world", b"now:"]
    assert toy.asgi == [] and toy.asked == [("/now", b"hello world"), ("/now", b"")]


def test_a_client_that_waits_for_100_continue_gets_it_from_the_app() -> None:
    toy = Toy()
    whole = post("/now", b"hi", b"Expect: 100-continue")
    head_end = whole.index(b"\r\n\r\n") + 4
    found, _ = exchange(toy, [whole[:head_end], 1, whole[head_end:]], 2)
    assert found[0][0] == b"HTTP/1.1 100 Continue" and found[1][2] == b"app:hi"
    assert toy.asgi == ["/now"]


def test_a_request_held_for_its_body_when_the_server_stops_goes_to_the_app() -> None:
    """The app's answer then ends the connection, as uvicorn ends every connection on
    shutdown once its answer is out."""
    toy = Toy()
    whole = post("/now", b"bye")
    head_end = whole.index(b"\r\n\r\n") + 4
    found, closed = exchange(toy, [whole[:head_end], 0.05, BoundedHttpTools.shutdown, 0.05,
                                   whole[head_end:]], 1)
    assert bodies(found) == [b"app:bye"] and closed and toy.asgi == ["/now"]


def test_a_long_body_starts_the_app_before_it_ends() -> None:
    """Past uvicorn's buffer (64 KiB) reading pauses until the app reads: holding the app
    back any longer would stall the request."""
    toy = Toy()
    body = b"x" * 300_000
    found, _ = exchange(toy, [post("/now", body)], 1)
    assert bodies(found) == [b"app:300000"] and toy.asgi == ["/now"]


def test_pipelined_requests_keep_their_order() -> None:
    toy = Toy()
    # behind a request the app is still answering, /now waits its turn (and goes to the app)
    found, _ = exchange(toy, [get("/slow") + get("/now") + get("/now")], 3)
    assert bodies(found) == [b"app:", b"app:", b"app:"]
    assert toy.asgi == ["/slow", "/now", "/now"]


def test_many_pipelined_requests_need_no_deep_call_stack() -> None:
    toy = Toy()
    many = get("/now") * 400 + get("/slow") + get("/now") * 400
    found, _ = exchange(toy, [many], 801)
    assert bodies(found) == [b"now:"] * 400 + [b"app:"] * 401


def test_an_answer_at_once_does_not_cut_the_next_answer() -> None:
    """It arms the keep-alive timer, as any finished answer does; the next request, begun
    in the same read, must not be cut by it."""
    toy = Toy()
    found, _ = exchange(toy, [get("/now") + get("/slow")], 2, keep_alive=0.1)
    assert bodies(found) == [b"now:", b"app:"]


def test_the_keep_alive_timeout_still_closes_an_idle_connection() -> None:
    found, closed = exchange(Toy(), [get("/now"), 0.3], 1, keep_alive=0.1)
    assert bodies(found) == [b"now:"] and closed


@pytest.mark.parametrize("request_bytes", [
    get("/now", b"Connection: close"),
    get("/now", version=b"1.0"),
], ids=["connection-close", "http-1.0"])
def test_a_connection_that_ends_with_the_answer_goes_to_the_app(request_bytes: bytes) -> None:
    toy = Toy()
    found, closed = exchange(toy, [request_bytes], 1)
    assert bodies(found) == [b"app:"] and closed and toy.asgi == ["/now"]


def test_a_failing_answer_now_is_logged_and_the_app_answers(
        caplog: pytest.LogCaptureFixture) -> None:
    toy = Toy()
    with caplog.at_level(logging.ERROR, logger="uvicorn.error"):
        found, _ = exchange(toy, [get("/boom"), 1, get("/now")], 2)
    assert bodies(found) == [b"app:", b"now:"] and toy.asgi == ["/boom"]
    assert any("the toy failed" in str(r.exc_info) for r in caplog.records)


# -- the publisher ---------------------------------------------------------------------------

LOOKUP = "SELECT ?p ?o WHERE { <https://data.uppsala.se/id/place/alpha> ?p ?o }"
RESULTS = b"Accept: application/sparql-results+json"
FORM = b"Content-Type: application/x-www-form-urlencoded"
VARIES = {b"date", b"x-request-id"}  # per answer


class Counting:
    """The publisher, its ASGI calls counted, and how often it evaluated a look-up."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.app, self.asgi, self.here, self.again = create_app(mini_settings()), 0, 0, 0
        evaluate_here, again = WorkerPool.evaluate_here, lookup.again

        def counted(pool: WorkerPool, job: Any) -> Any:
            self.here += 1
            return evaluate_here(pool, job)

        def counted_again(*args: Any) -> Any:
            self.again += 1
            return again(*args)

        monkeypatch.setattr(WorkerPool, "evaluate_here", counted)
        monkeypatch.setattr(lookup, "again", counted_again)
        # the server's time budget for a look-up is wall-clock: a loaded machine must not
        # send one to a worker here
        monkeypatch.setattr("publisher.lookup.BUDGET", 10.0)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.asgi += scope["type"] == "http"
        await self.app(scope, receive, send)

    def wants_body(self, scope: Any) -> bool:
        return self.app.wants_body(scope)

    def answer_now(self, *args: Any) -> bytes | None:
        return self.app.answer_now(*args)

    def run(self, steps: Sequence[Step], answers: int,
            bodiless: frozenset[int] = frozenset()) -> list[Answer]:
        async def lived() -> list[Answer]:
            async with self.app.router.lifespan_context(self.app):
                return (await _exchange(self, steps, answers, bodiless=bodiless))[0]

        return asyncio.run(lived())


def same_answer(one: Answer, other: Answer) -> bool:
    def kept(answer: Answer) -> tuple[bytes, dict[bytes, bytes], bytes]:
        status, headers, body = answer
        return status, {k: v for k, v in headers.items() if k not in VARIES}, body

    return kept(one) == kept(other)


def test_a_replayed_document_is_the_recorded_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    publisher = Counting(monkeypatch)
    turtle = b"Accept: text/turtle"
    head = get("/doc/place/alpha", turtle).replace(b"GET ", b"HEAD ", 1)
    found = publisher.run([get("/doc/place/alpha", turtle), 1, get("/doc/place/alpha", turtle),
                           head], 3, bodiless=frozenset({2}))
    assert found[0][0] == b"HTTP/1.1 200 OK" and found[0][2].startswith(b"@prefix")
    assert same_answer(found[0], found[1])
    assert same_answer(found[2], (*found[1][:2], b""))  # HEAD
    assert publisher.asgi == 1  # the second and the HEAD were answered at once
    assert found[0][1][b"x-request-id"] != found[1][1][b"x-request-id"]


def test_a_look_up_is_answered_at_once_as_the_app_answers_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    publisher = Counting(monkeypatch)
    form = urlencode({"query": LOOKUP}).encode()
    found = publisher.run([post("/sparql", form, RESULTS, FORM), 1,
                           post("/sparql", form, RESULTS, FORM), 2,
                           post("/sparql", form, RESULTS, FORM)], 3)
    assert found[0][0] == b"HTTP/1.1 200 OK" and b'"bindings"' in found[0][2]
    assert same_answer(found[0], found[1]) and same_answer(found[1], found[2])
    assert publisher.asgi == 1  # the first of its kind: the full path, its headers kept
    # evaluated for each (POST answers are not kept); the first twice, as before: by the
    # door, then by the full path that gives the headers the door keeps; the second by the
    # door, which keeps its plan; the third by the plan
    assert (publisher.here, publisher.again) == (3, 1)


def test_a_planned_look_up_is_only_the_same_request(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same body under another Content-Type is another request (here a query that
    does not parse: the route's 400), and a client that takes gzip gets its long answer
    compressed, as the door does it, never from a plan of an uncompressed one."""
    publisher = Counting(monkeypatch)
    form = urlencode({"query": LOOKUP}).encode()
    raw = b"Content-Type: application/sparql-query"
    gzip = b"Accept-Encoding: gzip"
    found = publisher.run([post("/sparql", form, RESULTS, FORM), 1,
                           post("/sparql", form, RESULTS, FORM), 2,
                           post("/sparql", form, RESULTS, raw), 3,
                           post("/sparql", form, RESULTS, FORM, gzip), 4,
                           post("/sparql", form, RESULTS, FORM, gzip), 5,
                           post("/sparql", form, RESULTS, FORM, gzip), 6,
                           post("/sparql", form, RESULTS, FORM)], 7)
    assert [answer[0].split(b" ")[1] for answer in found] == [b"200"] * 2 + [b"400"] + \
        [b"200"] * 4
    assert len(found[0][2]) >= GZIP_MINIMUM  # long enough to be compressed
    assert [answer[1].get(b"content-encoding") for answer in found[3:6]] == [b"gzip"] * 3
    assert same_answer(found[4], found[5]) and same_answer(found[0], found[6])
    assert publisher.again == 1  # the last only
    # two Content-Types: the route's to read (as it reads them), never the door's
    publisher = Counting(monkeypatch)
    twice = publisher.run([post("/sparql", form, RESULTS, raw, FORM), 1,
                           post("/sparql", form, RESULTS, raw, FORM), 2,
                           post("/sparql", form, RESULTS, FORM, raw)], 3)
    assert [answer[0].split(b" ")[1] for answer in twice] == [b"400", b"400", b"200"]
    assert publisher.asgi == 3 and publisher.again == 0


def test_a_look_up_left_to_a_worker_is_evaluated_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Longer than the server answers itself: ``answer_now`` has tried, the ASGI path goes
    on from what it found and sends it to a worker without trying again."""
    monkeypatch.setattr("publisher.lookup.NATIVE_BYTES", 64)  # the answer is longer
    publisher = Counting(monkeypatch)
    form = urlencode({"query": LOOKUP}).encode()
    found = publisher.run([post("/sparql", form, RESULTS, FORM), 1,
                           post("/sparql", form, RESULTS, FORM)], 2)
    assert same_answer(found[0], found[1]) and b'"bindings"' in found[1][2]
    assert publisher.asgi == 2 and publisher.here == 2


def test_what_answer_now_found_is_dropped_after_a_reload() -> None:
    app = SimpleNamespace(state=SimpleNamespace(_state={"runtime": object()}))
    old = lookups._Settled(object(), (b"",), None)  # made with a Runtime since replaced
    scope: dict[str, Any] = {"app": app, "state": {lookups._SETTLED: old}}
    assert lookups._settled(scope) is None and lookups._SETTLED not in scope["state"]
    current = lookups._Settled(app.state._state["runtime"], (b"",), None)
    scope["state"][lookups._SETTLED] = current
    assert lookups._settled(scope) is current


def test_through_publisher_serve_an_answer_at_once_has_the_servers_headers(
        server: Server) -> None:
    """The real server: Date and Server first, as uvicorn writes them, and the client's
    request id (the replayed answer is the second); both counted in the metrics."""
    with httpx.Client(base_url=server.base) as client:
        counted = _documents_answered(client)
        first = client.get("/doc/place/uppsala", headers={"Accept": "text/turtle"})
        second = client.get("/doc/place/uppsala", headers={"Accept": "text/turtle",
                                                           "X-Request-ID": "answered-now-1"})
        assert _documents_answered(client) == counted + 2
    assert first.status_code == second.status_code == 200
    assert list(second.headers)[:2] == ["date", "server"]
    assert second.headers["x-request-id"] == "answered-now-1"
    assert second.content == first.content
    kept = {k: v for k, v in first.headers.items() if k not in ("date", "x-request-id")}
    assert {k: v for k, v in second.headers.items() if k not in ("date", "x-request-id")} \
        == kept


def _documents_answered(client: httpx.Client) -> float:
    """The server's count of answered GETs of documents (/metrics)."""
    return sum(float(line.rsplit(" ", 1)[1])
               for line in client.get("/metrics").text.splitlines()
               if line.startswith("publisher_requests_total{") and "/doc/" in line
               and 'method="GET"' in line)
