"""routes/replay.py: a repeated GET is answered with the response recorded the first time,
byte for byte and header for header (a fresh request id aside), keyed on everything a
representation varies on, never for what may not be kept, and never across a data change."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from publisher.app import create_app
from publisher.result_cache import ResponseCache
from publisher.routes.limits import head_size
from publisher.routes.replay import request_key
from tests.conftest import Server
from tests.routes.conftest import mini_settings

PER_REQUEST = {"x-request-id", "date", "server"}
ASK = "ASK { ?s ?p ?o }"


@pytest.fixture()
def fresh() -> Iterator[TestClient]:
    with TestClient(create_app(mini_settings()), base_url="https://data.uppsala.se") as client:
        yield client


def _cache(client: TestClient) -> ResponseCache:
    cache: ResponseCache = client.app.state.runtime.responses  # type: ignore[attr-defined]
    return cache


def _same(first: httpx.Response, again: httpx.Response) -> None:
    assert again.status_code == first.status_code
    assert again.content == first.content

    def kept(response: httpx.Response) -> dict[str, str]:
        return {k: v for k, v in response.headers.items() if k not in PER_REQUEST}

    expected = kept(first)
    if "content-length" not in expected:  # a streamed answer is replayed whole, with its length
        expected.pop("transfer-encoding", None)
        expected["content-length"] = again.headers.get("content-length", "")
        assert int(expected["content-length"]) == len(again.read()) or "content-encoding" in \
            again.headers
    assert kept(again) == expected
    assert again.headers["x-request-id"] != first.headers["x-request-id"]


@pytest.mark.parametrize(("path", "headers"), [
    ("/doc/place/alpha", {"Accept": "text/turtle"}),
    ("/doc/place/alpha", {"Accept": "text/html", "Accept-Language": "en"}),
    ("/doc/place/alpha.jsonld", {}),
    ("/doc/place/alpha", {"Accept": "text/turtle", "Accept-Encoding": "gzip"}),
    ("/doc/place/alpha", {"Accept": "text/turtle", "Origin": "https://example.org"}),
    ("/sparql?query=ASK%20%7B%20%3Fs%20%3Fp%20%3Fo%20%7D", {}),
    ("/", {"Accept": "text/html"}),
])
def test_a_repeated_get_is_replayed_exactly(fresh: TestClient, path: str,
                                            headers: dict[str, str]) -> None:
    first = fresh.get(path, headers=headers)
    assert first.status_code == 200 and "etag" in first.headers
    hits = _cache(fresh).hits
    again = fresh.get(path, headers=headers)
    assert _cache(fresh).hits == hits + 1
    _same(first, again)
    head = fresh.head(path, headers=headers)
    assert _cache(fresh).hits == hits + 2
    assert head.content == b""
    assert head.headers["content-length"] == again.headers["content-length"]
    assert head.headers["etag"] == first.headers["etag"]


def test_each_variant_is_kept_apart(fresh: TestClient) -> None:
    variants = [{"Accept": "text/turtle"}, {"Accept": "application/ld+json"},
                {"Accept": "text/html", "Accept-Language": "sv"},
                {"Accept": "text/html", "Accept-Language": "en"},
                {"Accept": "text/turtle", "Accept-Encoding": "gzip"},
                {"Accept": "text/turtle", "Origin": "https://example.org"}]
    first = [fresh.get("/doc/place/alpha", headers=h) for h in variants]
    again = [fresh.get("/doc/place/alpha", headers=h) for h in variants]
    for one, other in zip(first, again, strict=True):
        _same(one, other)
    assert len({r.headers["content-type"] for r in again}) == 3
    assert again[2].headers["content-language"] == "sv"
    assert again[3].headers["content-language"] == "en"
    assert again[4].headers["content-encoding"] == "gzip"
    assert again[4].content == again[0].content  # as decoded by the client
    assert "access-control-allow-origin" in again[5].headers
    assert "access-control-allow-origin" not in again[0].headers


BASIC = [(b"host", b"data.uppsala.se"), (b"accept", b"text/turtle")]


@pytest.mark.parametrize(("extra", "max_body", "kept"), [
    ([], 0, True),
    ([(b"accept-encoding", b"gzip")], 0, True),
    ([(b"accept", b"text/html")], 0, False),            # a header it varies on, twice
    ([(b"if-none-match", b'"x"')], 0, False),           # a validator: the route answers 304
    ([(b"range", b"bytes=0-1")], 0, False),
    ([(b"cookie", b"a=b")], 0, False),                  # credentials
    ([(b"transfer-encoding", b"chunked")], 4000, False),  # no declared length
    ([(b"content-length", b"0")], 0, True),
    ([(b"content-length", b"5")], 0, False),            # Replay: a GET with a body
    ([(b"content-length", b"4000")], 4000, True),       # the door: a body within max_body
    ([(b"content-length", b"4001")], 4000, False),
    ([(b"content-length", b"12"), (b"content-length", b"12")], 4000, True),
    ([(b"content-length", b"12"), (b"content-length", b"13")], 4000, False),
    ([(b"content-length", b"-1")], 4000, False),
    ([(b"content-length", b"1" * 19)], 10**30, False),
    ([(b"x-long", b"v" * 8000)], 0, True),              # within the head limit...
    ([(b"x-long", b"v" * 8001)], 0, False),             # ...and one byte over it
])
def test_the_key_is_read_in_one_pass(extra: list[tuple[bytes, bytes]], max_body: int,
                                     kept: bool) -> None:
    scope = {"path": "/doc/x", "raw_path": b"/doc/x", "query_string": b"a=1",
             "headers": [*BASIC, *extra]}
    limit = head_size({**scope, "headers": [*BASIC, (b"x-long", b"v" * 8000)]})
    key = request_key(scope, limit, max_body)
    assert (key is not None) is kept
    if kept:
        assert key is not None and key[:3] == (b"/doc/x", b"a=1", b"text/turtle")


def test_validators_and_ranges_take_the_full_path(fresh: TestClient) -> None:
    first = fresh.get("/doc/place/alpha", headers={"Accept": "text/turtle"})
    fresh.get("/doc/place/alpha", headers={"Accept": "text/turtle"})
    hits = _cache(fresh).hits
    etag = first.headers["etag"]
    conditional = fresh.get("/doc/place/alpha",
                            headers={"Accept": "text/turtle", "If-None-Match": etag})
    assert conditional.status_code == 304
    since = fresh.get("/doc/place/alpha", headers={
        "Accept": "text/turtle", "If-Modified-Since": first.headers["last-modified"]})
    assert since.status_code == 304
    assert _cache(fresh).hits == hits


def test_what_may_not_be_kept_is_not(fresh: TestClient) -> None:
    for _ in range(2):
        assert fresh.get("/no/such/thing").status_code == 404
        assert fresh.get("/metrics").status_code == 200  # Cache-Control: no-store
        assert fresh.get("/readyz").status_code == 200
        fresh.post("/sparql", data={"query": ASK})
    assert len(_cache(fresh)) == 0
    with TestClient(create_app(mini_settings(max_rows=1)),
                    base_url="https://data.uppsala.se") as small:
        for _ in range(2):
            cut = small.get("/sparql", params={"query": "SELECT * WHERE { ?s ?p ?o }"})
            assert cut.headers["x-sparql-truncated"] == "true"
        assert len(_cache(small)) == 0


def test_the_header_limit_still_holds_for_a_recorded_answer() -> None:
    with TestClient(create_app(mini_settings(max_header_bytes=2048)),
                    base_url="https://data.uppsala.se") as client:
        client.get("/doc/place/alpha")
        assert client.get("/doc/place/alpha").status_code == 200
        big = client.get("/doc/place/alpha", headers={"X-Padding": "x" * 4000})
        assert big.status_code == 431


def test_replayed_answers_are_logged_with_their_request_id(
        fresh: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    fresh.get("/doc/place/alpha")
    with caplog.at_level(logging.INFO, logger="publisher.access"):
        again = fresh.get("/doc/place/alpha", headers={"X-Request-ID": "replayed-1"})
    assert again.headers["x-request-id"] == "replayed-1"
    assert any("replayed-1" in record.getMessage() or
               getattr(record, "request_id", None) == "replayed-1" for record in caplog.records)


def test_off_when_the_setting_is_zero() -> None:
    with TestClient(create_app(mini_settings(response_cache_bytes=0)),
                    base_url="https://data.uppsala.se") as client:
        assert client.app.state.runtime.responses is None  # type: ignore[attr-defined]
        assert client.get("/doc/place/alpha").status_code == 200
        assert client.get("/doc/place/alpha").status_code == 200


def test_a_real_server_replays_through_its_http_layer() -> None:
    server = Server()
    try:
        with httpx.Client(timeout=10) as http:
            url = server.url("doc/organization/uppsala-kommun")
            for accept in ("text/turtle", "text/html", "application/ld+json"):
                first = http.get(url, headers={"Accept": accept})
                assert first.status_code == 200
                _same(first, http.get(url, headers={"Accept": accept}))
            query = server.url("sparql") + "?" + httpx.QueryParams({"query": ASK}).__str__()
            first = http.get(query, headers={"Accept": "application/sparql-results+json"})
            again = http.get(query, headers={"Accept": "application/sparql-results+json"})
            _same(first, again)
            assert json.loads(again.content)["boolean"] is True
            metrics = http.get(server.url("metrics")).text
            assert 'publisher_response_cache_total{result="hit"} 4.0' in metrics
    finally:
        server.stop()
