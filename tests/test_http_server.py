"""publisher/http_server.py: the server's httptools protocol bounds an unfinished request
head (431) and the time a request may take to arrive (408), and otherwise parses what h11 did: heads in pieces, keep-alive, pipelining,
bodies (through a real ``publisher serve`` on a raw socket); and it writes a whole answer
at once (the protocol on one end of a socket pair, its writes counted)."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import Server
from tests.support import served_on_socketpair

LIMIT = 16_384  # Settings.max_header_bytes


@pytest.fixture()
def connection(server: Server) -> Iterator[socket.socket]:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        yield sock


def _responses(sock: socket.socket, count: int) -> list[tuple[bytes, bytes]]:
    """``count`` responses (status line, body) read off the connection; each has a
    Content-Length."""
    found, data = [], b""
    while len(found) < count:
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            assert chunk, f"closed after {len(found)} responses: {data[:200]!r}"
            data += chunk
        head, _, data = data.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        length = next(int(line.split(b":")[1]) for line in lines[1:]
                      if line.lower().startswith(b"content-length:"))
        while len(data) < length:
            data += sock.recv(65536)
        found.append((lines[0], data[:length]))
        data = data[length:]
    return found


def _closed(sock: socket.socket) -> bool:
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


@pytest.mark.parametrize(("request_line", "status", "detail"), [
    (b"FOO /healthz HTTP/1.1\r\nHost: x\r\n\r\n", b"501 Not Implemented", "method"),
    (b"GET /healthz HTTP/1.1\r\nX-No-Host: 1\r\n\r\n", b"400 Bad Request", "Host"),
    (b"GET /healthz HTTP/1.1 extra\r\nHost: x\r\n\r\n", b"400 Bad Request", "HTTP/1.1")])
def test_what_the_parser_refuses_is_a_problem_and_a_close(
        connection: socket.socket, request_line: bytes, status: bytes, detail: str) -> None:
    """RFC 9110 §9.1 (an unknown method is 501) and RFC 9112 §3.2 (an HTTP/1.1 request
    without Host is 400): answered by the server as problem+json, before any app."""
    connection.sendall(request_line)
    (line, body), = _responses(connection, 1)
    assert line == b"HTTP/1.1 " + status
    problem = json.loads(body)
    assert problem["status"] == int(status[:3]) and detail in problem["detail"]
    assert _closed(connection)


def test_http_1_0_needs_no_host(connection: socket.socket) -> None:
    connection.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
    (line, _), = _responses(connection, 1)
    assert line == b"HTTP/1.1 200 OK"


def test_a_head_that_keeps_growing_is_refused_with_431_and_closed(
        server: Server, connection: socket.socket) -> None:
    connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
    sent = 0
    try:
        for _ in range(100):  # 100 KB of header lines, never ending the block
            connection.sendall(b"X-Drip: " + b"a" * 1000 + b"\r\n")
            sent += 1
    except (BrokenPipeError, ConnectionResetError):
        pass
    assert sent == 100  # the server read on and dropped the rest: no reset
    (status, body), = _responses(connection, 1)
    assert status == b"HTTP/1.1 431 Request Header Fields Too Large"
    problem = json.loads(body)
    assert problem["status"] == 431 and problem["limit"] == LIMIT
    assert problem["type"].endswith("/headers-too-large")
    assert _closed(connection)
    assert server.process.poll() is None


def test_a_head_under_the_limit_may_come_in_many_pieces(connection: socket.socket) -> None:
    connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
    for _ in range(12):  # 12 KB, a read at a time
        connection.sendall(b"X-Piece: " + b"a" * 1000 + b"\r\n")
    connection.sendall(b"\r\n")
    (status, _), = _responses(connection, 1)
    assert status == b"HTTP/1.1 200 OK"


def test_the_count_starts_again_with_each_request(connection: socket.socket) -> None:
    """40 requests of 1 KB heads on one connection: 40 KB in all, none refused."""
    for _ in range(40):
        connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 1000
                           + b"\r\n\r\n")
        (status, _), = _responses(connection, 1)
        assert status == b"HTTP/1.1 200 OK"


def test_pipelined_requests_are_answered_in_order(connection: socket.socket) -> None:
    ask = b"ASK { ?s ?p ?o }"
    connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                       b"POST /sparql HTTP/1.1\r\nHost: x\r\nAccept: application/sparql-results"
                       b"+json\r\nContent-Type: application/sparql-query\r\nContent-Length: "
                       + str(len(ask)).encode() + b"\r\n\r\n" + ask
                       + b"GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n")
    found = _responses(connection, 3)
    assert [status.split(b" ")[1] for status, _ in found] == [b"200", b"200", b"404"]
    assert json.loads(found[1][1])["boolean"] is True


def test_a_body_larger_than_the_head_limit_is_no_head(connection: socket.socket) -> None:
    """A 19 KB query (a comment, then ASK; the query limit is 20,000 characters), sent in
    pieces after its head."""
    body = b"#" + b"x" * 19_000 + b"\nASK { ?s ?p ?o }"
    connection.sendall(b"POST /sparql HTTP/1.1\r\nHost: x\r\nAccept: application/sparql-"
                       b"results+json\r\nContent-Type: application/sparql-query\r\n"
                       b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n")
    for start in range(0, len(body), 1024):
        connection.sendall(body[start:start + 1024])
    (status, answer), = _responses(connection, 1)
    assert status == b"HTTP/1.1 200 OK", answer
    assert json.loads(answer)["boolean"] is True


def test_a_malformed_request_is_400_and_the_server_stays_up(
        server: Server, connection: socket.socket) -> None:
    connection.sendall(b"GET /healthz HTTP/1.1\r\nHost x\r\n\r\n")  # no colon
    assert connection.recv(65536).startswith(b"HTTP/1.1 400 ")
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as again:
        again.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        (status, _), = _responses(again, 1)
        assert status == b"HTTP/1.1 200 OK"


# -- a whole answer in one write (_HeadHeld) ------------------------------------------------

class _Counting:
    """The server side's transport, its writes recorded."""

    def __init__(self, transport: Any) -> None:
        self.transport, self.writes = transport, []  # type: list[bytes]

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))
        self.transport.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.transport, name)


async def _app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body", False):
        pass
    path = scope["path"]
    if path == "/unfinished":  # starts and returns: uvicorn closes the connection
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", b"5")]})
        return
    parts = [b"one", b"two"] if path in ("/stream", "/chunked") else [b"whole"]
    length = [] if path == "/chunked" else [(b"content-length",
                                             str(sum(map(len, parts))).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": length})
    for i, part in enumerate(parts):
        await send({"type": "http.response.body", "body": part,
                    "more_body": i < len(parts) - 1})


def _writes(requests: bytes, answers: int) -> tuple[list[bytes], bytes]:
    """The server's writes for ``requests`` on one connection, and what the client read."""
    async def run() -> tuple[list[bytes], bytes]:
        protocol, theirs = await served_on_socketpair(_app, h11_max_incomplete_event_size=LIMIT)
        loop = asyncio.get_running_loop()
        counting = _Counting(protocol.transport)
        protocol.transport = counting  # type: ignore[assignment]
        await loop.sock_sendall(theirs, requests)
        read = b""
        while read.count(b"HTTP/1.1 200") < answers \
                or not read.endswith((b"whole", b"two", b"0\r\n\r\n")):
            chunk = await asyncio.wait_for(loop.sock_recv(theirs, 65536), 5)
            if not chunk:
                break
            read += chunk
        theirs.close()
        return counting.writes, read

    return asyncio.run(run())


def test_a_whole_answer_is_one_write() -> None:
    writes, read = _writes(b"GET /whole HTTP/1.1\r\nHost: x\r\n\r\n", 1)
    assert len(writes) == 1 and writes[0].startswith(b"HTTP/1.1 200 OK\r\n")
    assert writes[0].endswith(b"\r\n\r\nwhole") and read == writes[0]


def test_a_streams_head_leaves_with_its_first_chunk() -> None:
    writes, _ = _writes(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n", 1)
    assert len(writes) == 2
    assert writes[0].startswith(b"HTTP/1.1 200 OK\r\n") and writes[0].endswith(b"\r\n\r\none")
    assert writes[1] == b"two"


def test_a_chunked_streams_head_leaves_at_once() -> None:
    """No length: a stream whose rows are still coming; its first byte is not held back."""
    writes, read = _writes(b"GET /chunked HTTP/1.1\r\nHost: x\r\n\r\n", 1)
    assert writes[0].startswith(b"HTTP/1.1 200 OK\r\n") and writes[0].endswith(b"\r\n\r\n")
    assert b"transfer-encoding: chunked" in writes[0]
    assert writes[1:] == [b"3\r\none\r\n", b"3\r\ntwo\r\n0\r\n\r\n"]
    assert read.endswith(b"0\r\n\r\n")


def test_100_continue_is_not_held() -> None:
    writes, read = _writes(b"POST /whole HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                           b"Content-Length: 2\r\n\r\nhi", 1)
    assert writes[0] == b"HTTP/1.1 100 Continue\r\n\r\n"
    assert len(writes) == 2 and writes[1].endswith(b"whole")
    assert read.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK")


def test_a_head_request_and_pipelined_answers_each_leave_whole() -> None:
    writes, read = _writes(b"HEAD /whole HTTP/1.1\r\nHost: x\r\n\r\n"
                           b"GET /whole HTTP/1.1\r\nHost: x\r\n\r\n", 2)
    assert len(writes) == 2
    assert writes[0].endswith(b"\r\n\r\n") and b"content-length: 5" in writes[0]
    assert writes[1].endswith(b"\r\n\r\nwhole")
    assert read == writes[0] + writes[1]


def test_a_held_head_is_written_before_the_close() -> None:
    writes, read = _writes(b"GET /unfinished HTTP/1.1\r\nHost: x\r\n\r\n", 1)
    assert writes and writes[0].startswith(b"HTTP/1.1 200 OK")
    assert read == writes[0]  # then the connection closed, the answer cut


# -- the read deadline (read_timeout) ------------------------------------------------------------

READ_TIMEOUT = 1.0


@pytest.fixture(scope="module")
def hurried() -> Iterator[Server]:
    """A server that waits 1 s for a request to arrive and serves 8 connections at once."""
    running = Server(env={"PUBLISHER_READ_TIMEOUT": str(READ_TIMEOUT),
                          "PUBLISHER_MAX_CONNECTIONS": "8"})
    yield running
    running.stop()


def _connect(server: Server, first: bytes = b"") -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sock.sendall(first)
    return sock


def _until_closed(sock: socket.socket) -> tuple[bytes, float]:
    """All the connection gives until the server closes it, and after how many seconds."""
    started, data = time.monotonic(), b""
    while chunk := sock.recv(65536):
        data += chunk
    return data, time.monotonic() - started


@pytest.mark.parametrize("begun", [
    b"GET /healthz HTTP/1.1\r\nHost: x\r\n",                          # half a head
    b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Drip: a",                  # half a line
    (b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\n"
     b"Content-Length: 100\r\n\r\nASK"),                               # half a body
], ids=["head", "line", "body"])
def test_a_request_that_does_not_arrive_in_time_is_408_and_closed(
        hurried: Server, begun: bytes) -> None:
    with _connect(hurried, begun) as sock:
        data, waited = _until_closed(sock)
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
    assert b"content-type: application/problem+json" in head.lower()
    problem = json.loads(body)
    assert problem["type"].endswith("/request-timeout") and problem["limit"] == READ_TIMEOUT
    assert READ_TIMEOUT - 0.2 < waited < READ_TIMEOUT + 2  # swept once a second


def test_a_connection_that_sends_nothing_is_closed_without_a_word(hurried: Server) -> None:
    with _connect(hurried) as sock:
        data, waited = _until_closed(sock)
    assert data == b"" and waited < READ_TIMEOUT + 2


def test_a_slow_request_within_the_deadline_and_an_idle_keep_alive_are_served(
        hurried: Server) -> None:
    with _connect(hurried, b"GET /healthz HTTP/1.1\r\n") as sock:
        time.sleep(READ_TIMEOUT / 2)
        sock.sendall(b"Host: x\r\n\r\n")
        (status, _), = _responses(sock, 1)
        assert status == b"HTTP/1.1 200 OK"
        time.sleep(READ_TIMEOUT + 1.2)  # between requests: the keep-alive's time, not ours
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        (status, _), = _responses(sock, 1)
        assert status == b"HTTP/1.1 200 OK"


def test_heads_never_finished_cannot_hold_every_connection(hurried: Server) -> None:
    """Slowloris: more unfinished heads than the server serves connections at once. They
    hold every slot (503) only until the deadline frees them."""
    stalled = [_connect(hurried, b"GET / HTTP/1.1\r\nHost: x\r\n") for _ in range(10)]
    try:
        time.sleep(0.3)
        assert httpx.get(hurried.url("healthz"), timeout=5).status_code == 503
        time.sleep(READ_TIMEOUT + 1.5)
        assert httpx.get(hurried.url("healthz"), timeout=5).status_code == 200
    finally:
        for sock in stalled:
            sock.close()
