"""routes/limits.py: body and header limits on every route, and non-UTF-8 query strings."""

from __future__ import annotations

import json
import socket

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.conftest import Server
from tests.support import assert_problem


@pytest.mark.parametrize("path", ["/sparql", "/doc/place/tartu", "/api/queries", "/nowhere"])
def test_a_declared_body_over_the_limit_is_413_on_every_route(client: TestClient,
                                                               path: str) -> None:
    body = assert_problem(client.post(path, content=b"x" * 1_000_001,
                                      headers={"content-type": "application/sparql-query"}),
                          413)
    assert body["limit"] == 1_000_000


def test_a_chunked_body_over_the_limit_is_413(client: TestClient) -> None:
    def chunks():  # no Content-Length: counted while the route reads it
        for _ in range(20):
            yield b"#" * 100_000

    response = client.post("/sparql", content=chunks(),
                           headers={"content-type": "application/sparql-query"})
    assert_problem(response, 413)


def test_a_body_under_the_limit_is_read(client: TestClient) -> None:
    response = client.post("/sparql", content=b"ASK {}" + b" " * 15_000,
                           headers={"content-type": "application/sparql-query"})
    assert response.status_code == 200


def test_headers_over_the_limit_are_431(client: TestClient) -> None:
    body = assert_problem(client.get("/doc/place/tartu", headers={"x-big": "a" * 17_000}), 431)
    assert body["limit"] == 16_384
    assert client.get("/doc/place/tartu", headers={"x-big": "a" * 8_000}).status_code == 200


def test_a_long_url_is_414_and_counts_as_header_bytes(client: TestClient) -> None:
    body = assert_problem(client.get("/doc/" + "a" * 20_000), 414)
    assert body["limit"] == 16_384 and body["type"].endswith("/uri-too-long")
    # a target under the limit, with headers that take the head over it
    assert_problem(client.get("/doc/" + "a" * 10_000, headers={"x-big": "a" * 8_000}), 431)


@pytest.mark.parametrize("coding", ["gzip", "GZIP", "deflate", "identity, gzip"])
def test_a_body_in_a_content_encoding_is_415(client: TestClient, coding: str) -> None:
    """RFC 9110 §8.4.1: no route decodes a coded body, so it is refused, not read as it is
    (a gzip body was read as a form)."""
    form = {"query": "ASK { ?s ?p ?o }"}
    body = assert_problem(client.post("/sparql", data=form,
                                      headers={"Content-Encoding": coding}), 415)
    assert coding in body["detail"]
    assert client.post("/sparql", data=form,
                       headers={"Content-Encoding": "identity"}).status_code == 200


def test_a_non_utf8_query_string_is_400_even_for_error_pages(client: TestClient) -> None:
    response = client.get(b"/sparql?query=\xff".decode("latin-1"),
                          headers={"accept": "text/html"})
    assert response.status_code in (400, 404)


@pytest.mark.parametrize("query", ["%ff", "SELECT%20(%22%ff%fe%22%20AS%20?x)%20WHERE%20%7B%7D",
                                   "SELECT%20(%22%c3%22%20AS%20?x)%20WHERE%20%7B%7D"],
                         ids=["byte", "in-a-string", "cut-sequence"])
def test_escapes_that_are_not_utf8_are_400_not_replaced(client: TestClient, query: str) -> None:
    """SECURITY.md: a query string that is not UTF-8 is 400. Decoded leniently, %ff became
    U+FFFD and the changed query was evaluated (200)."""
    got = assert_problem(client.get(f"/sparql?query={query}"), 400)
    assert "not UTF-8" in got["detail"]
    form = assert_problem(client.post(
        "/sparql", content=f"query={query}",
        headers={"Content-Type": "application/x-www-form-urlencoded"}), 400)
    assert "not UTF-8" in form["detail"]
    fine = client.get("/sparql?query=SELECT%20(%22%c3%a5%22%20AS%20?x)%20WHERE%20%7B%7D",
                      headers={"Accept": "application/sparql-results+json"})
    assert fine.json()["results"]["bindings"][0]["x"]["value"] == "å"


def _raw_request(server: Server, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(data)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
            if b"\r\n\r\n" in answer and len(answer) > 200:
                break
    return answer


@pytest.mark.slow
def test_the_real_server_bounds_headers_both_ways(server: Server) -> None:
    """A header block that arrives whole is measured by the app (431); one that keeps
    growing without ending is cut by the server (publisher/http_server.py, 431 too),
    before the app sees it."""
    whole = _raw_request(server, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: "
                         + b"a" * 30_000 + b"\r\nConnection: close\r\n\r\n")
    assert whole.split(b"\r\n")[0].split(b" ")[1] == b"431"
    assert b"vary: Accept" in whole  # the app's answer
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        try:
            for _ in range(100):  # 100 x 1 KB of header lines, never ending the block
                sock.sendall(b"X-Drip: " + b"a" * 1000 + b"\r\n")
            answer = sock.recv(65536)
        except (BrokenPipeError, ConnectionResetError):
            answer = sock.recv(65536)
    assert answer.split(b" ")[1] == b"431", answer[:100]
    assert b"vary: Accept" not in answer  # the server's
    assert server.process.poll() is None
    assert _raw_request(server, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close"
                        b"\r\n\r\n").startswith(b"HTTP/1.1 200")
    # a request line that keeps growing: the target alone is too long (414)
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(b"GET /sparql?query=")
        try:
            for _ in range(40):
                sock.sendall(b"a" * 1000)
            answer = sock.recv(65536)
        except (BrokenPipeError, ConnectionResetError):
            answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 414 URI Too Long"), answer[:100]
    assert json.loads(answer.partition(b"\r\n\r\n")[2])["type"].endswith("/uri-too-long")


def test_an_answer_over_max_response_bytes_is_refused_not_cut_silently() -> None:
    from publisher.app import create_app  # noqa: PLC0415
    from tests.routes.conftest import mini_settings  # noqa: PLC0415

    with TestClient(create_app(mini_settings(max_response_bytes=1000))) as small:
        body = assert_problem(small.get("/sparql", params={"query": "SELECT * { ?s ?p ?o }"}),
                              503)
        assert "1000 bytes" in body["detail"]
        assert small.get("/sparql", params={"query": "ASK { ?s ?p ?o }"}).status_code == 200


NUMBERS = " ".join(str(i) for i in range(320))
ROWS_100K = f"SELECT ?a ?b WHERE {{ VALUES ?a {{ {NUMBERS} }} VALUES ?b {{ {NUMBERS} }} }}"


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_an_answer_cut_mid_stream_ends_unfinished_and_is_logged_in_one_line(
        method: str) -> None:
    """Past max_response_bytes once the answer has begun, the stream can only be cut: the
    client sees an unfinished body, never a short one that looks whole, and the log says
    so in a warning. It used to log three tracebacks of some 70 lines each, a request."""
    server = Server(env={"PUBLISHER_MAX_RESPONSE_BYTES": "200000", "PUBLISHER_MAX_ROWS": "200000"})
    try:
        query = {"query": ROWS_100K}
        asked = ({"params": query} if method == "GET" else {"data": query})
        with httpx.stream(method, server.url("sparql"), timeout=30,
                          headers={"Accept": "text/csv", "Accept-Encoding": "identity"},
                          **asked) as response:  # type: ignore[arg-type]
            assert response.status_code == 200
            with pytest.raises(httpx.RemoteProtocolError):
                for _ in response.iter_bytes():
                    pass
    finally:
        server.stop()
    log = server.log.read_text()
    assert "the answer was cut" in log and "200000 bytes" in log
    assert "Traceback" not in log
