"""Never a 500, never a stack trace: every route fuzzed, every error a proper 4xx.

* schemathesis generates requests for every operation of /api/openapi.json (valid and
  invalid parameters, headers, bodies) against the ASGI app; deterministic (derandomize).
* hypothesis covers what the OpenAPI does not describe: any path, query string, Accept
  header and body, raw bytes that are not UTF-8, via raw ASGI calls on the app's own loop.
Regressions found by fuzzing are pinned as plain tests at the end.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.python.asgi import shutdown_lifespans

from publisher.app import create_app
from publisher.config import Settings
from tests.support import assert_problem

APP = create_app(Settings())
SCHEMA = schemathesis.openapi.from_asgi("/api/openapi.json", APP)
FUZZ = settings(max_examples=25, derandomize=True, deadline=None, database=None,
                phases=[Phase.explicit, Phase.generate],  # no shrinking: bounded time
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                       HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module", autouse=True)
def _stop_schemathesis_app() -> Iterator[None]:
    yield
    shutdown_lifespans()  # schemathesis started APP's lifespan (store, workers): stop it


def assert_answered(status: int, content_type: str, body: bytes) -> None:
    """A client's mistake is a 4xx with a problem+json or readable body; never a 5xx,
    except the documented 503 of an overloaded or timed-out query."""
    assert status < 500 or status == 503, (status, body[:500])
    assert b"Traceback" not in body and b'File "' not in body
    if status >= 400:
        assert content_type.startswith(("application/problem+json", "text/html",
                                        "text/plain")), content_type


@SCHEMA.parametrize()
@FUZZ
def test_every_openapi_operation(case: Any) -> None:
    response = case.call()
    content_type = (response.headers.get("content-type") or [""])[0]  # values are lists
    assert_answered(response.status_code, content_type, response.content)


# -- beyond the OpenAPI: raw ASGI requests ---------------------------------------------------

@pytest.fixture(scope="module")
def app_client() -> Iterator[TestClient]:
    with TestClient(create_app(Settings())) as client:
        yield client


async def _raw(app: Any, method: str, path: bytes, query: bytes,
               headers: list[tuple[bytes, bytes]], body: bytes) -> tuple[int, str, bytes]:
    """One request straight into the ASGI app, bytes as given (no client normalises them)."""
    sent: list[dict[str, Any]] = []
    chunks = [body]

    async def receive() -> dict[str, Any]:
        if chunks:
            return {"type": "http.request", "body": chunks.pop(), "more_body": False}
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": method, "scheme": "https", "path": path.decode("utf-8", "replace"),
             "raw_path": path, "query_string": query, "root_path": "",
             "headers": [(b"host", b"data.uppsala.se"), *headers],
             "client": ("127.0.0.1", 1), "server": ("data.uppsala.se", 443)}
    try:
        await app(scope, receive, send)
    except Exception:  # Starlette re-raises after sending its 500; that 500 is the failure
        if not sent:
            raise
    start = next(m for m in sent if m["type"] == "http.response.start")
    content_type = dict(start["headers"]).get(b"content-type", b"").decode("latin-1")
    data = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], content_type, data


def raw(client: TestClient, method: str, path: bytes, query: bytes = b"",
        headers: list[tuple[bytes, bytes]] | None = None, body: bytes = b"") -> tuple[int, str, bytes]:
    assert client.portal is not None
    return client.portal.call(_raw, client.app, method, path, query, headers or [], body)


PREFIXES = [b"/", b"/id/", b"/doc/", b"/def/", b"/static/", b"/dumps/", b"/sparql",
            b"/api/queries/", b"/catalog", b"/catalog.", b"/.well-known/void", b"/readyz"]
SEGMENT = st.binary(max_size=40) | st.sampled_from(
    [b"..", b"%2e%2e", b"%2E%2E%2F", b"..%2f", b"/etc/passwd", b"place/tartu", b"%00",
     b"\xff\xfe", b"intl", b"site.css", b"internationella-relationer.ttl", b"<script>"])
MEDIA = st.sampled_from(["text/turtle", "text/html", "application/ld+json", "*/*", "",
                         "application/sparql-results+json;q=0", "text/*;q=abc", "a/b/c",
                         "text/html;level=1;q=0.5, */*;q=0.1", ";;;,,,", "é/ü"])


@given(prefix=st.sampled_from(PREFIXES), rest=SEGMENT, query=st.binary(max_size=60),
       accept=MEDIA | st.text(max_size=40), method=st.sampled_from(["GET", "HEAD", "POST"]),
       body=st.binary(max_size=200))
@FUZZ
def test_any_path_query_accept_and_body(app_client: TestClient, prefix: bytes, rest: bytes,
                                        query: bytes, accept: str, method: str,
                                        body: bytes) -> None:
    headers = [(b"accept", accept.encode("utf-8")), (b"content-type",
                                                      b"application/sparql-query")]
    status, content_type, data = raw(app_client, method, prefix + rest, query, headers, body)
    assert_answered(status, content_type, data)


@given(query=st.text(max_size=300), fmt=st.sampled_from(["", "json", "xml", "csv", "tsv",
                                                          "turtle", "html", "x"]))
@FUZZ
def test_any_sparql_text(app_client: TestClient, query: str, fmt: str) -> None:
    params = {"query": query, **({"format": fmt} if fmt else {})}
    response = app_client.get("/sparql", params=params)
    assert_answered(response.status_code, response.headers.get("content-type", ""),
                    response.content)


@given(name=st.binary(min_size=1, max_size=30), value=st.binary(max_size=200))
@FUZZ
def test_any_header(app_client: TestClient, name: bytes, value: bytes) -> None:
    token = bytes(c for c in name.lower() if 0x21 <= c < 0x7f and c != ord(":")) or b"x"
    status, content_type, data = raw(app_client, "GET", b"/doc/place/tartu", b"",
                                     [(token, value)])
    assert_answered(status, content_type, data)


# -- regressions found by fuzzing ------------------------------------------------------------

def test_a_non_latin1_thing_path_is_answered_instead_of_failing(client: TestClient) -> None:
    response = client.get("/id/place/Ā\u2028x", follow_redirects=False)
    assert_problem(response, 404)  # nothing is known about it (a known one: test_resources)


@pytest.mark.parametrize("path", ['/doc/place/"quoted"', "/def/a b", "/doc/x%01y",
                                  "/doc/<script>"])
def test_a_path_that_is_no_iri_is_not_found(client: TestClient, path: str) -> None:
    assert_problem(client.get(path), 404)


def test_invalid_utf8_in_path_and_query(app_client: TestClient) -> None:
    for path, query in [(b"/doc/\xff\xfe", b""), (b"/sparql", b"query=\xff\xfe"),
                        (b"/id/%ff", b"lang=\xc3")]:
        status, content_type, data = raw(app_client, "GET", path, query)
        assert 400 <= status < 500, (path, status)
        assert_answered(status, content_type, data)
