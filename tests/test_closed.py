"""Closed: no request makes the server open a connection or read a file it should not.

* SERVICE, FROM, FROM NAMED, LOAD, default-graph-uri and graph IRIs naming a listener on
  loopback: refused, and the listener never sees a connection (a real server, real sockets);
* every route run in-process under a Python audit hook: no socket.connect (other than the
  socket pairs of the query workers), no urllib request, no open() of a file the request named;
* paths that try to escape (../, %2e%2e, %2f, absolute, NUL) on /static, /doc, /def, /dumps,
  /id, /catalog: 404 or 400, never a file;
* read-only: every method that could write is refused.
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.conftest import Server
from tests.support import assert_problem

EVENTS: list[tuple[str, Any]] = []
RECORDING: list[bool] = []


def _audit(event: str, args: Any) -> None:
    if RECORDING and event in ("socket.connect", "urllib.Request", "socket.getaddrinfo",
                               "open"):
        EVENTS.append((event, args))


sys.addaudithook(_audit)  # cannot be removed; records only while RECORDING


@pytest.fixture()
def listener() -> Iterator[socket.socket]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.settimeout(0.5)
    yield sock
    sock.close()


def _nobody_connected(sock: socket.socket) -> bool:
    try:
        conn, _ = sock.accept()
    except TimeoutError:
        return True
    conn.close()
    return False


def _bait_queries(url: str) -> list[dict[str, str]]:
    return [
        {"query": f"SELECT * WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}"},
        {"query": f"SELECT * WHERE {{ SERVICE SILENT <{url}> {{ ?s ?p ?o }} }}"},
        {"query": f"SELECT * FROM <{url}> WHERE {{ ?s ?p ?o }}"},
        {"query": f"SELECT * FROM NAMED <{url}> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}"},
        {"query": f"SELECT * WHERE {{ GRAPH <{url}> {{ ?s ?p ?o }} }}"},  # not a graph of ours
        {"query": f"LOAD <{url}>"},
        {"query": "SELECT * WHERE { ?s ?p ?o } LIMIT 1", "default-graph-uri": url},
        {"query": "SELECT * WHERE { ?s ?p ?o } LIMIT 1", "named-graph-uri": url},
    ]


@pytest.mark.slow
def test_no_query_makes_the_real_server_connect_anywhere(server: Server,
                                                         listener: socket.socket) -> None:
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/data.ttl"
    for params in _bait_queries(url):
        response = httpx.get(server.url("sparql"), params=params, timeout=30)
        assert_problem(response, 400)
    for harmless in (f"DESCRIBE <{url}>", f"ASK {{ <{url}> ?p ?o }}"):
        assert httpx.get(server.url("sparql"), params={"query": harmless},
                         timeout=30).status_code == 200
    response = httpx.post(server.url("sparql"), content=f"LOAD <{url}>",
                          headers={"content-type": "application/sparql-update"}, timeout=30)
    assert response.status_code in (400, 415)
    assert _nobody_connected(listener)


def test_no_request_connects_fetches_or_opens_what_it_names(client: TestClient,
                                                             listener: socket.socket) -> None:
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/"
    requests: list[tuple[str, dict[str, str], dict[str, str]]] = [
        (f"/sparql", params, {}) for params in _bait_queries(url)]
    requests += [
        ("/doc/place/tartu.jsonld", {}, {}), ("/def/intl", {"format": "jsonld"}, {}),
        ("/catalog.jsonld", {}, {}), ("/.well-known/void", {"format": "jsonld"}, {}),
        ("/sparql", {"query": "CONSTRUCT WHERE { ?s ?p ?o } LIMIT 5", "format": "jsonld"}, {}),
        ("/doc/place/tartu", {}, {"accept": "text/html"}),
        ("/static/../../../../etc/passwd", {}, {}), ("/doc/" + quote(url, safe=""), {}, {}),
        ("/sparql", {"query": "SELECT * WHERE { ?s ?p ?o }", "format": "x"}, {}),
    ]
    EVENTS.clear()
    RECORDING.append(True)
    try:
        for path, params, headers in requests:
            assert client.get(path, params=params, headers=headers).status_code < 500
    finally:
        RECORDING.clear()
    connects = [args for event, args in EVENTS if event == "socket.connect"
                and args[0].family != socket.AF_UNIX]
    assert connects == []
    assert [e for e in EVENTS if e[0] in ("urllib.Request", "socket.getaddrinfo")] == []
    opened = [str(args[0]) for event, args in EVENTS if event == "open"]
    assert not [p for p in opened if "passwd" in p or "127.0.0.1" in p], opened
    assert _nobody_connected(listener)


ESCAPES = [
    "/static/../pyproject.toml", "/static/..%2f..%2fpyproject.toml",
    "/static/%2e%2e/%2e%2e/pyproject.toml", "/static/%2e%2e%2f%2e%2e%2fpyproject.toml",
    "/static/....//....//pyproject.toml", "/static//etc/passwd", "/static/%2fetc%2fpasswd",
    "/static/..%5c..%5cpyproject.toml", "/static/site.css%00.txt", "/static/%252e%252e%252fx",
    "/doc/../../../etc/passwd", "/doc/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/def/..%2f..%2f..%2fetc%2fpasswd", "/dumps/..%2f..%2fpyproject.toml",
    "/dumps/%2e%2e%2fpyproject.toml", "/dumps//etc/passwd", "/id/../../etc/passwd",
    "/catalog.%2e%2e%2fpyproject", "/..%2f..%2fpyproject.toml", "//etc/passwd",
    "/static/%c0%ae%c0%ae/pyproject.toml", "/api/queries/..%2f..%2fpyproject.toml",
]


def _raw_get(server: Server, target: str) -> tuple[int, bytes]:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
                     .encode())
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return int(answer.split(b" ", 2)[1]), answer


@pytest.mark.slow
@pytest.mark.parametrize("target", ESCAPES)
def test_paths_cannot_escape_the_data(server: Server, target: str) -> None:
    status, answer = _raw_get(server, target)  # exactly these bytes: no client normalises
    assert status in (303, 400, 404), (status, answer[:300])
    assert b"root:" not in answer and b"[build-system]" not in answer
    if status == 303:  # /id/... only ever points at /doc/...
        location = next(line for line in answer.split(b"\r\n")
                        if line.lower().startswith(b"location:"))
        assert b"/doc/" in location


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
@pytest.mark.parametrize("path", ["/sparql", "/doc/place/tartu", "/dumps/x.ttl", "/static/site.css",
                                  "/catalog"])
def test_read_only(client: TestClient, method: str, path: str) -> None:
    assert_problem(client.request(method, path, content=b"<a> <b> <c> ."), 405)


def test_updates_are_refused_in_every_protocol_form(client: TestClient) -> None:
    update = "INSERT DATA { <http://x/a> <http://x/b> <http://x/c> }"
    assert_problem(client.post("/sparql", data={"update": update}), 400)
    assert client.post("/sparql", content=update,
                       headers={"content-type": "application/sparql-update"}).status_code in (400, 415)
    assert_problem(client.post("/sparql", data={"query": update}), 400)
    ask = client.get("/sparql", params={"query": "ASK { <http://x/a> ?p ?o }"})
    assert ask.json()["boolean"] is False
