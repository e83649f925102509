"""routes/lookups.py: a POSTed look-up is answered at the door with the same status, body
and headers as the full path gives (a fresh request id aside); everything else reaches the
app with its body intact, and a look-up the server cannot finish itself is tried once."""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from publisher import lookup
from publisher.app import create_app
from publisher.config import Settings
from publisher.routes.lookups import Lookups
from tests.conftest import ROOT, Server
from tests.routes.conftest import mini_settings

PER_REQUEST = {"x-request-id", "date", "server"}
LOOKUP = "SELECT ?p ?o WHERE { <https://data.uppsala.se/id/place/alpha> ?p ?o }"
LONG = "SELECT * WHERE { ?s ?p ?o } LIMIT 50"  # over GZIP_MINIMUM in every format
JSON_RESULTS = "application/sparql-results+json"


class Door:
    """A client, and whether a request's answer came from the door (it reached the door and
    went no further into the app)."""

    def __init__(self, client: TestClient) -> None:
        self.client, self.reached, self.inside = client, 0, 0
        outer: Any = client.app.front  # type: ignore[attr-defined]  (routes/front.py)
        while not isinstance(outer.app, Lookups):
            outer = outer.app
        lane = outer.app
        app = lane.app

        async def reaching(scope: Any, receive: Any, send: Any) -> None:
            self.reached += 1
            await lane(scope, receive, send)

        async def entering(scope: Any, receive: Any, send: Any) -> None:
            self.inside += 1
            await app(scope, receive, send)

        outer.app, lane.app = reaching, entering

    def _sent(self, method: str, path: str, **kwargs: Any) -> tuple[httpx.Response, bool]:
        reached, inside = self.reached, self.inside
        response = self.client.request(method, path, **kwargs)
        return response, self.reached == reached + 1 and self.inside == inside

    def post(self, **kwargs: Any) -> tuple[httpx.Response, bool]:
        """The answer, and whether the door gave it."""
        return self._sent("POST", "/sparql", **kwargs)

    def get(self, query: str, **kwargs: Any) -> tuple[httpx.Response, bool]:
        return self._sent("GET", "/sparql", params={"query": query}, **kwargs)


@pytest.fixture(autouse=True)
def patient(monkeypatch: pytest.MonkeyPatch) -> None:
    """A loaded machine must not push a look-up past the server's time budget (then a
    worker answers it, and the door is not what is tested)."""
    monkeypatch.setattr(lookup, "BUDGET", 10.0)


@pytest.fixture()
def door() -> Iterator[Door]:
    with TestClient(create_app(mini_settings()), base_url="https://data.uppsala.se") as client:
        yield Door(client)


def _kept(response: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items()
            if k not in PER_REQUEST and not (k == "content-length"
                                             and "content-encoding" in response.headers)}


@pytest.mark.parametrize(("query", "headers"), [
    (LOOKUP, {"Accept": JSON_RESULTS}),
    (LOOKUP, {"Accept": "application/sparql-results+xml"}),
    (LOOKUP, {"Accept": "text/csv"}),
    (LOOKUP, {"Accept": "text/tab-separated-values"}),
    (LOOKUP, {}),
    (LOOKUP, {"Accept": JSON_RESULTS, "Origin": "https://example.org"}),
    (LONG, {"Accept": JSON_RESULTS, "Accept-Encoding": "gzip"}),
    (LONG, {"Accept": "text/csv", "Accept-Encoding": "gzip", "Origin": "https://example.org"}),
    ("ASK { ?s a ?type }", {"Accept": JSON_RESULTS}),
])
def test_a_look_up_is_answered_at_the_door_as_the_app_answers_it(
        door: Door, query: str, headers: dict[str, str]) -> None:
    first, at_door = door.post(data={"query": query}, headers=headers)
    assert first.status_code == 200 and not at_door  # the full path, whose headers are kept
    again, at_door = door.post(data={"query": query}, headers=headers)
    assert at_door
    assert again.status_code == 200
    assert again.content == first.content  # as decoded by the client
    assert _kept(again) == _kept(first)
    assert again.headers["x-request-id"] != first.headers["x-request-id"]
    if "gzip" in headers.get("Accept-Encoding", ""):
        assert again.headers["content-encoding"] == "gzip"
    if "Origin" in headers:
        assert again.headers["access-control-allow-origin"] == "*"


def test_the_body_is_sent_as_application_sparql_query_too(door: Door) -> None:
    headers = {"Content-Type": "application/sparql-query", "Accept": JSON_RESULTS}
    first, _ = door.post(content=LOOKUP, headers=headers)
    again, at_door = door.post(content=LOOKUP, headers=headers)
    assert at_door and again.json() == first.json()
    assert len(again.json()["results"]["bindings"]) >= 2


def test_a_small_max_rows_cuts_the_answer_at_the_door_too() -> None:
    with TestClient(create_app(mini_settings(max_rows=1)),
                    base_url="https://data.uppsala.se") as client:
        door = Door(client)
        door.post(data={"query": LOOKUP})
        cut, at_door = door.post(data={"query": LOOKUP})
        assert at_door
        assert cut.headers["x-sparql-truncated"] == "true"
        assert len(cut.json()["results"]["bindings"]) == 1


@pytest.mark.parametrize(("kwargs", "status"), [
    ({"data": {"query": "SELECT ?s ?label WHERE { ?s a ?t . ?s ?p ?label }"}}, 200),
    ({"data": {"query": "CONSTRUCT WHERE { ?s ?p ?o }"}}, 200),
    ({"data": {"query": "SELECT DISTINCT ?p WHERE { ?s ?p ?o }"}}, 200),
    ({"data": {"query": LOOKUP, "format": "csv"}}, 200),
    ({"data": {"query": LOOKUP}, "params": {"default-graph-uri": "https://example.org/g"}},
     400),
    ({"data": {"query": LOOKUP}, "headers": {"Accept": "text/html"}}, 200),
    ({"data": {"query": "SELECT ?o WHERE { nope:x ?p ?o }"}}, 400),
    ({"data": {"update": "DROP ALL"}}, 400),
    ({"content": LOOKUP, "headers": {"Content-Type": "text/plain"}}, 415),
    ({"data": {"query": LOOKUP}, "headers": {"Authorization": "Basic eDp5"}}, 200),
    ({"chunks": [b"query=", LOOKUP.encode()],  # no declared length: chunked
      "headers": {"Content-Type": "application/x-www-form-urlencoded"}}, 200),
    ({"data": {"query": LOOKUP + " " * 5000}}, 200),
])
def test_anything_else_reaches_the_app_with_its_body(door: Door, kwargs: dict[str, Any],
                                                     status: int) -> None:
    for _ in range(2):  # also once a template for these headers exists
        sent = dict(kwargs)
        if "chunks" in sent:
            sent["content"] = iter(sent.pop("chunks"))
        response, at_door = door.post(**sent)
        assert not at_door
        assert response.status_code == status, response.text
        if "chunks" in kwargs:
            assert len(response.json()["results"]["bindings"]) >= 2
        if status >= 400:
            assert response.headers["content-type"].startswith("application/problem+json")


def test_a_kept_check_is_one_request_kinds_own(door: Door) -> None:
    """The door keeps its checks of a request (routes/prepared.py) by text, media type and
    Accept: one query asked in turn for four formats and by both POST media types is
    answered in what each request asked for, at the door once each kind has a template."""
    formats = {JSON_RESULTS: "application/sparql-results+json",
               "application/sparql-results+xml": "application/sparql-results+xml",
               "text/csv": "text/csv", "text/tab-separated-values": "text/tab-separated-values"}
    for lap in range(3):
        for accept, media_type in formats.items():
            for kwargs in ({"data": {"query": LOOKUP}},
                           {"content": LOOKUP,
                            "headers": {"Content-Type": "application/sparql-query"}}):
                headers = {**kwargs.pop("headers", {}), "Accept": accept}  # type: ignore[dict-item]
                response, at_door = door.post(headers=headers, **kwargs)
                assert response.status_code == 200
                assert response.headers["content-type"].startswith(media_type)
                assert at_door or lap == 0
    bad = {"data": {"query": LOOKUP + " }"}}
    for _ in range(2):  # a refused request is kept as one the route words
        response, at_door = door.post(**bad)
        assert response.status_code == 400 and not at_door
    form = "query=ASK%20%7B%20%3Fs%20%3Fp%20%3Fo%20%7D"  # the same bytes, read two ways
    for _ in range(2):
        for media_type, status in (("application/x-www-form-urlencoded", 200),
                                   ("application/sparql-query", 400)):
            response, _ = door.post(content=form, headers={"Content-Type": media_type})
            assert response.status_code == status, response.text


def test_a_kept_check_follows_the_data(tmp_path: Any) -> None:
    """FROM may name only a graph of the store: a check kept under one data version is not
    used under the next (a data file renamed, so its graph is gone)."""
    for folder in ("data", "ontology"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    settings = Settings(data_dir=tmp_path / "data", ontology_dir=tmp_path / "ontology")
    query = ("SELECT ?name FROM <https://data.uppsala.se/graph/data/eurocities> WHERE { "
             "<https://data.uppsala.se/id/organization/eurocities> <http://schema.org/name> "
             "?name }")
    sent = {"data": {"query": query}, "headers": {"Accept-Encoding": "identity"}}
    with TestClient(create_app(settings), base_url="https://data.uppsala.se") as client:
        door = Door(client)
        for lap in range(2):
            found, at_door = door.post(**sent)
            assert found.json()["results"]["bindings"] == [
                {"name": {"type": "literal", "value": "Eurocities"}}]
            assert at_door == (lap > 0)
        (tmp_path / "data" / "eurocities.ttl").rename(tmp_path / "data" / "networks.ttl")
        state = client.app.state  # type: ignore[attr-defined]
        assert client.portal.call(state.reloader.reload, "request") is True
        other = {"data": {"query": query.replace("eurocities>", "networks>", 1)},
                 "headers": {"Accept-Encoding": "identity"}}
        for lap in range(2):  # a new Runtime: the kind's headers are recorded again
            found, at_door = door.post(**other)
            assert found.status_code == 200 and at_door == (lap > 0)
        refused, _ = door.post(**sent)
        assert refused.status_code == 400, refused.text
        assert "graph/data/eurocities" in refused.json()["detail"]


@pytest.mark.parametrize("headers", [
    {"Accept": JSON_RESULTS},
    {"Accept": "text/csv", "Origin": "https://example.org"},
    {"Accept": JSON_RESULTS, "Accept-Encoding": "gzip"},
])
def test_a_get_look_up_is_answered_at_the_door_with_the_routes_etag(
        door: Door, headers: dict[str, str]) -> None:
    other = LONG.replace("LIMIT 50", "LIMIT 49")  # another query, as long (gzipped alike)
    first, at_door = door.get(LONG, headers=headers)
    assert first.status_code == 200 and not at_door  # the full path, whose headers are kept
    again, at_door = door.get(other, headers=headers)
    assert at_door and again.status_code == 200
    with TestClient(create_app(mini_settings()),
                    base_url="https://data.uppsala.se") as fresh:
        expected = fresh.get("/sparql", params={"query": other}, headers=headers)
    assert again.content == expected.content
    assert _kept(again) == _kept(expected)  # ETag and Cache-Control included
    replays = door.client.app.state.runtime.responses.hits  # type: ignore[attr-defined]
    replayed, at_door = door.get(other, headers=headers)
    assert not at_door and replayed.content == again.content
    assert door.client.app.state.runtime.responses.hits == replays + 1  # type: ignore[attr-defined]
    unchanged, at_door = door.get(other, headers={**headers, "If-None-Match": again.headers["etag"]})
    assert unchanged.status_code == 304 and not at_door


def _raw_get(door: Door, query: bytes, *headers: tuple[bytes, bytes]) -> tuple[int, bytes]:
    """A GET whose query string holds exactly these bytes (a client would escape them)."""
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "GET", "scheme": "https", "path": "/sparql", "raw_path": b"/sparql",
             "query_string": b"query=" + query, "root_path": "",
             "headers": [(b"host", b"data.uppsala.se"), *headers],
             "client": ("127.0.0.1", 1), "server": ("data.uppsala.se", 443)}
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    door.client.portal.call(door.client.app, scope, receive, send)  # type: ignore[union-attr]
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


def test_a_get_is_read_as_the_route_reads_it(door: Door) -> None:
    """Raw bytes in the query string give the same query at the door as in the route
    (Starlette reads them as latin-1: ``?å`` in UTF-8 is no variable name there)."""
    _raw_get(door, b"SELECT%20?p%20WHERE%20%7B%20?s%20?p%20?o%20%7D%20LIMIT%201")  # template
    for query in ("SELECT%20?x%20WHERE%20%7B%20?x%20?p%20?o%20%7D%20LIMIT%201",
                  "SELECT%20?å%20WHERE%20%7B%20?å%20?p%20?o%20%7D%20LIMIT%201"):
        reached, inside = door.reached, door.inside
        at_door = _raw_get(door, query.encode())
        assert door.reached == reached + 1
        full = _raw_get(door, query.encode(), (b"cookie", b"full=path"))  # credentials
        assert at_door == full, query
        assert door.inside == inside + 1 + (at_door[0] != 200)  # only errors went inside


def test_a_get_with_more_than_a_query_reaches_the_app(door: Door) -> None:
    door.get(LOOKUP)
    for params in ({"query": LOOKUP, "format": "csv"}, {"query": LOOKUP, "lang": "en"},
                   {"query": LOOKUP, "default-graph-uri": "https://example.org/g"}):
        response, at_door = door._sent("GET", "/sparql", params=params)
        assert not at_door and response.status_code in (200, 400)


@pytest.mark.parametrize("encoding", ["gzip", "identity"])
def test_a_long_look_up_is_tried_once_then_a_worker_answers_it(
        door: Door, monkeypatch: pytest.MonkeyPatch, encoding: str) -> None:
    tries: list[str] = []

    def too_long(*args: Any, **kwargs: Any) -> None:
        tries.append(args[1])

    headers = {"Accept-Encoding": encoding}
    door.post(data={"query": LOOKUP}, headers=headers)  # the template exists
    monkeypatch.setattr(lookup, "answer_here", too_long)
    response, at_door = door.post(data={"query": LOOKUP}, headers=headers)
    assert tries == [LOOKUP]  # not again in the worker pool
    assert at_door == (encoding == "identity")  # the door sends a worker's answer, unzipped
    assert response.status_code == 200
    assert len(response.json()["results"]["bindings"]) >= 2


WORKERS = ["SELECT ?s ?label WHERE { ?s a ?t . ?s ?p ?label }",
           "SELECT DISTINCT ?p WHERE { ?s ?p ?o }",
           "ASK { { ?s a ?t } }",
           "SELECT ?s WHERE { ?s ?p ?o } ORDER BY ?s"]


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("query", WORKERS)
def test_a_workers_answer_is_sent_from_the_door_as_the_app_sends_it(
        door: Door, method: str, query: str) -> None:
    headers = {**PLAIN, "Accept": JSON_RESULTS}
    first, at_door = _ask(door, method, query, headers)
    assert first.status_code == 200 and not at_door  # the full path, whose headers are kept
    other = query + " "  # another text: not replayed, not in the GET result cache
    again, at_door = _ask(door, method, other, headers)
    assert at_door and again.status_code == 200
    assert again.content == first.content
    assert {k: v for k, v in _kept(again).items() if k != "etag"} \
        == {k: v for k, v in _kept(first).items() if k != "etag"}
    assert ("etag" in again.headers) == (method == "GET")


def test_an_error_in_the_doors_evaluation_is_worded_by_the_route_once(
        monkeypatch: pytest.MonkeyPatch) -> None:
    with TestClient(create_app(mini_settings(max_response_bytes=300)),
                    base_url="https://data.uppsala.se") as client:
        door = Door(client)
        pool = client.app.state.runtime.pool  # type: ignore[attr-defined]
        evaluate = pool.evaluate
        evaluated: list[str] = []

        async def counting(job: Any) -> Any:
            evaluated.append(job.query)
            return await evaluate(job)

        door.post(data={"query": "ASK { { ?s a ?t } }"}, headers=PLAIN)  # the template
        monkeypatch.setattr(pool, "evaluate", counting)
        response, at_door = door.post(data={"query": WORKERS[0]}, headers=PLAIN)
        assert not at_door  # the route words it
        assert response.status_code == 503  # over max_response_bytes
        assert response.headers["content-type"].startswith("application/problem+json")
        assert evaluated == [WORKERS[0]]  # once, by the door


def test_door_answers_are_counted_and_logged(door: Door,
                                             caplog: pytest.LogCaptureFixture) -> None:
    door.post(data={"query": LOOKUP})
    metrics = door.client.get("/metrics").text
    line = 'publisher_requests_total{method="POST",route="/sparql",status="200"}'
    before = float(metrics.split(line)[1].split()[0])
    with caplog.at_level(logging.INFO, logger="publisher.access"):
        again, at_door = door.post(data={"query": LOOKUP}, headers={"X-Request-ID": "door-1"})
    assert at_door and again.headers["x-request-id"] == "door-1"
    assert any(getattr(record, "request_id", None) == "door-1"
               or "door-1" in record.getMessage() for record in caplog.records)
    metrics = door.client.get("/metrics").text
    assert float(metrics.split(line)[1].split()[0]) == before + 1


def test_the_header_limit_holds_at_the_door() -> None:
    with TestClient(create_app(mini_settings(max_header_bytes=2048)),
                    base_url="https://data.uppsala.se") as client:
        door = Door(client)
        door.post(data={"query": LOOKUP})
        big, at_door = door.post(data={"query": LOOKUP}, headers={"X-Padding": "x" * 4000})
        assert big.status_code == 431 and not at_door


def test_a_real_server_answers_look_ups_at_the_door_with_the_same_headers() -> None:
    server = Server()
    try:
        with httpx.Client(timeout=10) as http:
            headers = {"Accept": JSON_RESULTS, "Accept-Encoding": "gzip"}
            query = {"query": "SELECT ?p ?o WHERE { ?s ?p ?o } LIMIT 40"}
            first = http.post(server.url("sparql"), data=query, headers=headers)
            again = http.post(server.url("sparql"), data=query, headers=headers)
            assert first.status_code == again.status_code == 200
            assert json.loads(again.content) == json.loads(first.content)
            assert _kept(again) == _kept(first)
            assert again.headers["content-encoding"] == "gzip"
    finally:
        server.stop()


# -- long look-ups: begun at the door and streamed ----------------------------------------------

BEGUN = "SELECT ?s ?p ?o WHERE { ?s ?p ?o } LIMIT 5000"  # a LIMIT over lookup.ROWS
PLAIN = {"Accept-Encoding": "identity"}


def _ask(door: Door, method: str, query: str,
         headers: dict[str, str]) -> tuple[httpx.Response, bool]:
    if method == "GET":
        return door.get(query, headers=headers)
    return door.post(data={"query": query}, headers=headers)


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("accept", [JSON_RESULTS, "application/sparql-results+xml",
                                    "text/csv", "text/tab-separated-values"])
def test_a_long_look_up_is_streamed_from_the_door_as_the_app_streams_it(
        door: Door, method: str, accept: str, monkeypatch: pytest.MonkeyPatch) -> None:
    begun: list[str] = []
    begin_here = lookup.begin_here

    def spy(*args: Any) -> Any:
        found = begin_here(*args)
        begun.append(args[1] if found is not None else "")
        return found

    monkeypatch.setattr(lookup, "begin_here", spy)
    headers = {**PLAIN, "Accept": accept}
    first, at_door = _ask(door, method, BEGUN, headers)
    assert first.status_code == 200 and not at_door  # the full path, whose headers are kept
    other = BEGUN.replace("5000", "4999")  # not in the GET result cache
    again, at_door = _ask(door, method, other, headers)
    assert at_door and again.status_code == 200
    assert begun == [BEGUN, other]  # both begun by the server
    assert again.content == first.content
    assert "content-length" not in again.headers  # streamed
    assert again.headers["x-sparql-truncated"] == "false"
    assert ("etag" in again.headers) == ("etag" in first.headers) == (method == "GET")
    assert _kept(again).keys() == _kept(first).keys()  # the ETag is the query's own
    assert {k: v for k, v in _kept(again).items() if k != "etag"} \
        == {k: v for k, v in _kept(first).items() if k != "etag"}


def test_a_streamed_get_is_kept_in_the_result_cache(door: Door) -> None:
    door.get(BEGUN, headers=PLAIN)  # the full path: the template
    other = BEGUN.replace("5000", "4998")
    streamed, at_door = door.get(other, headers=PLAIN)
    assert at_door and "content-length" not in streamed.headers
    results = door.client.app.state.runtime.results  # type: ignore[attr-defined]
    hits = results.hits
    # another Origin: neither replayed nor at the door (no template yet), so the route
    again = door.client.get("/sparql", params={"query": other},
                            headers={**PLAIN, "Origin": "https://example.org"})
    assert results.hits == hits + 1  # counted once, by the route
    assert again.content == streamed.content and "content-length" in again.headers
    assert again.headers["etag"] == streamed.headers["etag"]
    # the same query in other words: at the door, from the cache, counted once
    kept, at_door = door.get(other + "\n# the same", headers=PLAIN)
    assert at_door and results.hits == hits + 2
    assert kept.content == streamed.content and kept.headers["etag"] == streamed.headers["etag"]


def test_with_gzip_a_long_look_up_takes_the_full_path(door: Door) -> None:
    headers = {"Accept": JSON_RESULTS, "Accept-Encoding": "gzip"}
    door.get(BEGUN, headers=headers)
    zipped, at_door = door.get(BEGUN.replace("5000", "4997"), headers=headers)
    assert not at_door and zipped.status_code == 200
    assert zipped.headers["content-encoding"] == "gzip"
    assert len(zipped.json()["results"]["bindings"]) > lookup.FIRST_ROWS


def test_a_real_server_streams_a_long_look_up_from_the_door() -> None:
    server = Server()
    try:
        with httpx.Client(timeout=10) as http:
            headers = {"Accept": JSON_RESULTS, "Accept-Encoding": "identity"}
            answers = [http.post(server.url("sparql"), data={"query": query}, headers=headers)
                       for query in (BEGUN, BEGUN.replace("5000", "4999"))]
            for answer in answers:  # the full path's, then the door's
                assert answer.status_code == 200
                assert answer.headers.get("transfer-encoding") == "chunked"
            assert json.loads(answers[1].content) == json.loads(answers[0].content)
            assert len(answers[1].json()["results"]["bindings"]) > lookup.FIRST_ROWS
    finally:
        server.stop()


def test_of_accept_encoding_only_whether_it_takes_gzip_makes_a_kind(door: Door) -> None:
    first, at_door = door.post(data={"query": LOOKUP}, headers={"Accept-Encoding": "identity"})
    assert not at_door  # the full path: the template of clients that take no gzip
    again, at_door = door.post(data={"query": LOOKUP}, headers={"Accept-Encoding": "deflate"})
    assert at_door and again.content == first.content and _kept(again) == _kept(first)
    zipped, at_door = door.post(data={"query": LONG}, headers={"Accept-Encoding": "gzip"})
    assert not at_door and zipped.headers["content-encoding"] == "gzip"  # another kind
