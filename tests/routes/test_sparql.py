"""/sparql through the ASGI app (protocol, formats, refusals, limits, the Service Description
and the page) and through a real server (timeout, truncation, streaming, concurrency)."""

from __future__ import annotations

import csv
import io
import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest
import rdflib
from fastapi.testclient import TestClient

from publisher.app import create_app
from publisher.render.rdf import context
from publisher.workers import live
from tests.conftest import Server
from tests.support import SPARQL_FIXTURE, assert_problem, child_pids, fixture_settings

FIXTURE = SPARQL_FIXTURE
BASE = "https://data.uppsala.se/"
THINGS = "SELECT ?s ?label WHERE { ?s a <https://data.uppsala.se/id/thing/Thing> ; " \
         "<http://www.w3.org/2000/01/rdf-schema#label> ?label FILTER(LANG(?label) = 'en') } " \
         "ORDER BY ?s"
GRAPH = BASE + "graph/data/things"
SD = "http://www.w3.org/ns/sparql-service-description#"


@pytest.fixture(scope="module")
def sparql() -> Iterator[TestClient]:
    with TestClient(create_app(fixture_settings(max_rows=50)), base_url=BASE[:-1]) as client:
        yield client


def _labels_json(response: httpx.Response) -> list[str]:
    return [row["label"]["value"] for row in response.json()["results"]["bindings"]]


# -- the three ways to ask -------------------------------------------------------------------

def test_get_post_form_and_post_direct_agree(sparql: TestClient) -> None:
    by_get = sparql.get("/sparql", params={"query": THINGS})
    by_form = sparql.post("/sparql", data={"query": THINGS})
    by_direct = sparql.post("/sparql", content=THINGS,
                            headers={"Content-Type": "application/sparql-query"})
    for response in (by_get, by_form, by_direct):
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/sparql-results+json")
        assert _labels_json(response) == ["One", "Three", "Two"]
        assert response.headers["x-sparql-truncated"] == "false"
        assert "Accept" in response.headers["vary"]


def test_cors_on_answers(sparql: TestClient) -> None:
    response = sparql.get("/sparql", params={"query": "ASK {}"},
                          headers={"Origin": "https://example.org"})
    assert response.headers["access-control-allow-origin"] == "*"
    assert "X-SPARQL-Truncated" in response.headers["access-control-expose-headers"]


@pytest.mark.parametrize(("accept", "fmt", "media_type"), [
    ("application/sparql-results+json", None, "application/sparql-results+json"),
    ("application/sparql-results+xml", None, "application/sparql-results+xml"),
    ("text/csv", None, "text/csv"),
    ("text/tab-separated-values", None, "text/tab-separated-values"),
    (None, "xml", "application/sparql-results+xml"),
    (None, "csv", "text/csv"),
    ("text/csv", "tsv", "text/tab-separated-values"),
])
def test_select_formats(sparql: TestClient, accept: str | None, fmt: str | None,
                        media_type: str) -> None:
    params = {"query": THINGS, **({"format": fmt} if fmt else {})}
    response = sparql.get("/sparql", params=params, headers={"Accept": accept or "*/*"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].split(";")[0] == media_type
    if media_type.endswith("json"):
        labels = _labels_json(response)
    elif media_type.endswith("xml"):
        parsed = ox.parse_query_results(response.content, ox.QueryResultsFormat.XML)
        labels = [s["label"].value for s in parsed]
    elif media_type == "text/csv":
        labels = [row["label"] for row in csv.DictReader(io.StringIO(response.text))]
    else:
        labels = [line.split("\t")[1] for line in response.text.splitlines()[1:]]
        labels = [label.split('"')[1] for label in labels]
    assert labels == ["One", "Three", "Two"]


@pytest.mark.parametrize(("accept", "rdf_format"), [
    ("text/turtle", "turtle"), ("application/n-triples", "nt"),
    ("application/rdf+xml", "xml"), ("application/ld+json", "json-ld"), (None, "turtle"),
])
def test_construct_formats(sparql: TestClient, accept: str | None, rdf_format: str) -> None:
    query = "CONSTRUCT { ?s <http://example.org/label> ?l } WHERE { ?s " \
            "<http://www.w3.org/2000/01/rdf-schema#label> ?l }"
    response = sparql.post("/sparql", data={"query": query},
                           headers={"Accept": accept} if accept else {})
    assert response.status_code == 200, response.text
    graph = rdflib.Graph().parse(data=response.text, format=rdf_format)
    assert len(graph) == 6  # One, Ett, Two, Three, "a blank", Thing


def test_describe(sparql: TestClient) -> None:
    response = sparql.get("/sparql", params={"query": f"DESCRIBE <{BASE}id/thing/one>"},
                          headers={"Accept": "application/n-triples"})
    graph = rdflib.Graph().parse(data=response.text, format="nt")
    assert (rdflib.URIRef(f"{BASE}id/thing/one"), None, rdflib.Literal("Ett", lang="sv")) in graph


@pytest.mark.parametrize(("name", "expected"), [("json", b'"boolean":true'),
                                                ("xml", b"<boolean>true</boolean>")])
def test_ask(sparql: TestClient, name: str, expected: bytes) -> None:
    response = sparql.get("/sparql", params={"query": "ASK { ?s ?p ?o }", "format": name})
    assert expected in response.content


def test_not_acceptable_lists_alternatives(sparql: TestClient) -> None:
    body = assert_problem(sparql.get("/sparql", params={"query": THINGS},
                                     headers={"Accept": "text/turtle"}), 406)
    assert "application/sparql-results+json" in body["available"]
    body = assert_problem(sparql.get("/sparql", params={"query": "CONSTRUCT WHERE {?s ?p ?o}"},
                                     headers={"Accept": "text/csv"}), 406)
    assert "text/turtle" in body["available"]
    assert_problem(sparql.get("/sparql", params={"query": THINGS, "format": "pdf"}), 400)


def test_etag_and_304(sparql: TestClient) -> None:
    first = sparql.get("/sparql", params={"query": THINGS})
    again = sparql.get("/sparql", params={"query": THINGS},
                       headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    other = sparql.get("/sparql", params={"query": THINGS, "format": "csv"})
    assert other.headers["etag"] != first.headers["etag"]


# -- the dataset ---------------------------------------------------------------------------------

def test_default_and_named_graph_uri(sparql: TestClient) -> None:
    count = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    everything = sparql.get("/sparql", params={"query": count}).json()
    ontology_only = sparql.get("/sparql", params={
        "query": count, "default-graph-uri": BASE + "graph/ontology/vocab"}).json()
    named_only = sparql.get("/sparql", params={"query": count, "named-graph-uri": GRAPH}).json()
    n = [int(r["results"]["bindings"][0]["n"]["value"])
         for r in (everything, ontology_only, named_only)]
    assert n[0] > n[1] == 2 and n[2] == 0  # named only: the default graph is empty
    graph = sparql.get("/sparql", params={
        "query": "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }", "named-graph-uri": GRAPH})
    assert [r["g"]["value"] for r in graph.json()["results"]["bindings"]] == [GRAPH]


def test_from_our_graph(sparql: TestClient) -> None:
    query = f"SELECT (COUNT(*) AS ?n) FROM <{BASE}graph/ontology/vocab> WHERE {{ ?s ?p ?o }}"
    response = sparql.get("/sparql", params={"query": query})
    assert response.json()["results"]["bindings"][0]["n"]["value"] == "2"


@pytest.mark.parametrize("params", [
    {"query": "SELECT * FROM <http://example.org/data.ttl> { ?s ?p ?o }"},
    {"query": "SELECT * FROM NAMED <file:///etc/passwd> { ?s ?p ?o }"},
    {"query": "ASK {}", "default-graph-uri": "http://example.org/g"},
    {"query": "ASK {}", "named-graph-uri": "http://example.org/g"},
    {"query": "SELECT * { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }"},
])
def test_closed_world(sparql: TestClient, params: dict[str, str]) -> None:
    body = assert_problem(sparql.get("/sparql", params=params), 400)
    assert body["type"].endswith("/query-refused")


# -- errors --------------------------------------------------------------------------------------

def test_syntax_error_has_position(sparql: TestClient) -> None:
    body = assert_problem(sparql.get("/sparql", params={"query": "SELECT * WHERE {\n ?s ?p }"}),
                          400)
    assert body["type"].endswith("/query-syntax")
    assert (body["line"], body["column"]) == (2, 9)


@pytest.mark.parametrize(("method", "kwargs", "status"), [
    ("GET", {"params": {"query": "INSERT DATA { <a> <b> <c> }"}}, 400),
    ("GET", {"params": {"update": "CLEAR ALL"}}, 405),
    ("POST", {"data": {"update": "CLEAR ALL"}}, 400),
    ("POST", {"content": "CLEAR ALL", "headers": {"Content-Type": "application/sparql-update"}},
     400),
    ("POST", {"content": "LOAD <http://example.org/x.ttl>",
              "headers": {"Content-Type": "application/sparql-query"}}, 400),
])
def test_updates_refused(sparql: TestClient, method: str, kwargs: dict[str, object],
                         status: int) -> None:
    body = assert_problem(sparql.request(method, "/sparql", **kwargs), status)  # type: ignore[arg-type]
    assert "read-only" in body["detail"]


@pytest.mark.parametrize(("kwargs", "status"), [
    ({"params": {"query": "ASK {}", "timeout": "1"}}, 400),
    ({"params": [("query", "ASK {}"), ("query", "ASK {}")]}, 400),
    ({"params": {"query": "ASK {}", "default-graph-uri": "no iri"}}, 400),
])
def test_bad_parameters(sparql: TestClient, kwargs: dict[str, object], status: int) -> None:
    assert_problem(sparql.get("/sparql", **kwargs), status)  # type: ignore[arg-type]


def test_wrong_media_types_and_method(sparql: TestClient) -> None:
    assert_problem(sparql.post("/sparql", content="ASK {}",
                               headers={"Content-Type": "text/plain"}), 415)
    assert_problem(sparql.post("/sparql", content="ASK {}",
                               headers={"Content-Type": "application/sparql-query; "
                                                        "charset=UTF-16"}), 415)
    assert_problem(sparql.put("/sparql", params={"query": "ASK {}"}), 405)


def test_limits_on_length_and_body() -> None:
    settings = fixture_settings(max_query_length=100, max_request_body=200)
    with TestClient(create_app(settings), base_url=BASE[:-1]) as client:
        long_query = "SELECT * WHERE { ?s ?p ?o } #" + "x" * 100
        assert_problem(client.get("/sparql", params={"query": long_query}), 413)
        assert_problem(client.post("/sparql", content="ASK {}" + " " * 300,
                                   headers={"Content-Type": "application/sparql-query"}), 413)


def test_truncation_is_announced() -> None:
    with TestClient(create_app(fixture_settings(max_rows=3)), base_url=BASE[:-1]) as client:
        response = client.get("/sparql", params={"query": "SELECT * { ?s ?p ?o }"})
        assert response.headers["x-sparql-truncated"] == "true"
        assert response.headers["x-sparql-max-rows"] == "3"
        assert len(response.json()["results"]["bindings"]) == 3
        exact = client.get("/sparql", params={"query": "SELECT * { ?s ?p ?o } LIMIT 3"})
        assert exact.headers["x-sparql-truncated"] == "false"


# -- Service Description ---------------------------------------------------------------------

@pytest.mark.parametrize(("accept", "rdf_format"), [
    (None, "turtle"), ("text/turtle", "turtle"), ("application/ld+json", "json-ld"),
    ("application/rdf+xml", "xml"), ("application/n-triples", "nt")])
def test_service_description(sparql: TestClient, accept: str | None, rdf_format: str) -> None:
    response = sparql.get("/sparql", headers={"Accept": accept} if accept else {})
    assert response.status_code == 200
    text = response.text
    if rdf_format == "json-ld":  # our published context, given in-process (no network)
        text = json.dumps({**response.json(), "@context": context(BASE)["@context"]})
    graph = rdflib.Graph().parse(data=text, format=rdf_format, publicID=BASE + "sparql")
    service = rdflib.URIRef(BASE + "sparql")
    sd = rdflib.Namespace(SD)
    assert (service, sd.endpoint, service) in graph
    assert (service, sd.supportedLanguage, sd.SPARQL11Query) in graph
    formats = set(graph.objects(service, sd.resultFormat))
    assert rdflib.URIRef("http://www.w3.org/ns/formats/SPARQL_Results_CSV") in formats
    assert (service, sd.feature, sd.BasicFederatedQuery) not in graph
    names = {str(n) for n in graph.objects(None, sd.name)}
    assert GRAPH in names
    limits = {str(p).rsplit("#", 1)[1]: o.toPython() for p, o in graph.predicate_objects(service)
              if str(p).startswith(BASE + "def/limits#")}
    assert limits["maxResultRows"] == 50 and limits["maxQueryLength"] == 20_000


def test_query_page_without_javascript(sparql: TestClient) -> None:
    page = sparql.get("/sparql", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "PREFIX schema: &lt;http://schema.org/&gt;" in page.text
    assert "Things and their counts" in page.text  # a named query to pick
    assert "https://cdn" not in page.text and "//unpkg" not in page.text
    result = sparql.get("/sparql", params={"query": THINGS, "lang": "en"},
                        headers={"Accept": "text/html"})
    assert f'<a href="{BASE}id/thing/one">' in result.text
    assert "format=csv" in result.text and "format=tsv" in result.text
    error = sparql.get("/sparql", params={"query": "SELECT <script>"},
                       headers={"Accept": "text/html"})
    assert error.status_code == 400 and "<script>" not in error.text


# -- a real server -------------------------------------------------------------------------------

def _fixture_server(**env: str) -> Server:
    return Server("--data-dir", str(FIXTURE / "data"), "--ontology-dir",
                  str(FIXTURE / "ontology"), env={"PUBLISHER_QUERY_WORKERS": "2", **env})


@pytest.fixture(scope="module")
def slow_server() -> Iterator[Server]:
    """A server with a short deadline and a small memory bound, for runaway queries."""
    running = _fixture_server(PUBLISHER_QUERY_TIMEOUT="1.5", PUBLISHER_QUERY_MEMORY_MB="200")
    yield running
    running.stop()


@pytest.fixture(scope="module")
def big_server() -> Iterator[Server]:
    """A server for large results: 200,000 rows at most."""
    running = _fixture_server(PUBLISHER_MAX_ROWS="200000")
    yield running
    running.stop()


RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . " \
          "?m ?n2 ?o . ?p ?q ?r }"
NUMBERS = " ".join(str(i) for i in range(320))  # 320 x 320 = 102,400 rows
HUNDRED_K = f"SELECT ?a ?b WHERE {{ VALUES ?a {{ {NUMBERS} }} VALUES ?b {{ {NUMBERS} }} }}"


def _worker_pids(server: Server) -> set[int]:
    return set(child_pids(server.process.pid))


@pytest.mark.slow
def test_runaway_query_is_cut_off_while_others_are_answered(slow_server: Server) -> None:
    before = _worker_pids(slow_server)
    outcome: dict[str, httpx.Response] = {}

    def runaway() -> None:
        outcome["r"] = httpx.get(slow_server.url("sparql"), params={"query": RUNAWAY}, timeout=30)

    thread = threading.Thread(target=runaway)
    started = time.monotonic()
    thread.start()
    time.sleep(0.3)
    quick = httpx.get(slow_server.url("sparql"), params={"query": "ASK { ?s ?p ?o }"}, timeout=5)
    quick_time = time.monotonic() - started
    page = httpx.get(slow_server.url("doc/thing/one.ttl"), timeout=5)
    thread.join()
    elapsed = time.monotonic() - started
    assert quick.status_code == 200 and quick_time < 1.0
    assert page.status_code == 200
    body = assert_problem(outcome["r"], 503)
    assert body["type"].endswith("/query-timeout") and "Retry-After" in outcome["r"].headers
    assert 1.4 < elapsed < 4
    time.sleep(0.2)
    after = _worker_pids(slow_server)
    killed = before - after
    assert len(killed) == 1 and not live(killed)  # its CPU stopped: the process is gone
    assert len(after) == len(before)               # and it was replaced


#: 2 characters, then each "a" replaced by 100 four times over: a string of 200 M characters
MEMORY_BOMB = 'SELECT (STRLEN(?x4) AS ?n) WHERE { BIND("aa" AS ?x0) ' + "".join(
    f'BIND(REPLACE(?x{i}, "a", "{"a" * 100}") AS ?x{i + 1}) ' for i in range(4)) + "}"


def test_a_query_past_the_memory_bound_is_stopped_and_its_worker_replaced(
        slow_server: Server) -> None:
    before = _worker_pids(slow_server)
    started = time.monotonic()
    stopped = httpx.get(slow_server.url("sparql"), params={"query": MEMORY_BOMB}, timeout=30)
    elapsed = time.monotonic() - started
    body = assert_problem(stopped, 503)
    assert body["type"].endswith("/query-memory") and "200 MB" in body["detail"]
    assert elapsed < 1.4  # stopped by the bound, not by the 1.5 s deadline
    quick = httpx.get(slow_server.url("sparql"), params={"query": "ASK { ?s ?p ?o }"}, timeout=5)
    assert quick.status_code == 200
    after = _worker_pids(slow_server)
    assert len(before - after) == 1 and len(after) == len(before)  # replaced


def test_a_query_too_deep_for_the_parser_is_refused_without_costing_a_worker(
        slow_server: Server) -> None:
    before = _worker_pids(slow_server)
    deep = "SELECT * WHERE { FILTER(" + "(" * 9000 + "1" + ")" * 9000 + ") }"
    refused = httpx.post(slow_server.url("sparql"), content=deep, timeout=10,
                         headers={"Content-Type": "application/sparql-query"})
    assert assert_problem(refused, 400)["type"].endswith("/query-refused")
    assert _worker_pids(slow_server) == before


@pytest.mark.slow
def test_100k_rows_stream(big_server: Server) -> None:
    rss_before = _rss(big_server.process.pid)
    started = time.monotonic()
    with httpx.stream("GET", big_server.url("sparql"), params={"query": HUNDRED_K},
                      headers={"Accept": "text/csv", "Accept-Encoding": "identity"},
                      timeout=30) as response:
        assert response.headers["x-sparql-truncated"] == "false"
        chunks = response.iter_bytes()
        first = next(chunks)
        first_byte = time.monotonic() - started
        size = len(first) + sum(len(c) for c in chunks)
    total = time.monotonic() - started
    assert first.startswith(b"a,b\r\n")
    assert size > 102_400 * 4
    assert first_byte < total
    assert _rss(big_server.process.pid) - rss_before < 30_000  # kB: the result never sat here


@pytest.mark.slow
def test_truncation_with_buffer_overflow(big_server: Server) -> None:
    query = HUNDRED_K.replace("SELECT ?a ?b WHERE", "SELECT ?a ?b ?c WHERE").replace(
        "} }", "} VALUES ?c { 1 2 } }")  # 204,800 rows > max_rows 200,000 > buffer 10,000
    with httpx.stream("GET", big_server.url("sparql"), params={"query": query},
                      headers={"Accept": "text/tab-separated-values"}, timeout=30) as response:
        assert response.headers["x-sparql-truncated"] == "true"
        lines = sum(chunk.count(b"\n") for chunk in response.iter_bytes())
    assert lines == 200_000 + 1


def _rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def test_worker_pool_in_process_reports_pids() -> None:
    with TestClient(create_app(fixture_settings(query_workers=3)), base_url=BASE[:-1]) as client:
        pool = client.app.state.runtime.pool  # type: ignore[attr-defined]
        assert len(live(pool.pids)) == 3
        assert os.getpid() not in pool.pids
        assert json.loads(client.get("/sparql", params={"query": "ASK {}"}).text)["boolean"]


PADDING = "x" * 1000
WIDE = HUNDRED_K.replace("SELECT ?a ?b WHERE {", "SELECT ?a ?b ?c WHERE {").replace(
    "} }", f'}} BIND(CONCAT(STR(?a), "{PADDING}") AS ?c) }}')  # ~100 MB of CSV


def test_a_client_that_goes_away_stops_the_worker_streaming_to_it(big_server: Server) -> None:
    """The door streams a worker's answer (a client without gzip: routes/lookups.py); when
    the client closes the connection the worker is stopped and replaced, not left writing
    100 MB into the void, and the server answers the next query."""
    headers = {"Accept": "text/csv", "Accept-Encoding": "identity"}
    httpx.get(big_server.url("sparql"), params={"query": "SELECT ?s WHERE { ?s ?p ?o } "
                                                "ORDER BY ?s LIMIT 1"}, headers=headers)
    before = _worker_pids(big_server)
    with httpx.stream("GET", big_server.url("sparql"), params={"query": WIDE},
                      headers=headers, timeout=30) as response:
        assert response.status_code == 200
        assert next(response.iter_bytes()).startswith(b"a,b,c\r\n")
    deadline = time.monotonic() + 10
    while _worker_pids(big_server) & before == before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _worker_pids(big_server) & before != before  # the streaming worker was replaced
    after = httpx.get(big_server.url("sparql"), params={"query": "ASK { ?s ?p ?o }"},
                      headers={"Accept": "application/sparql-results+json"})
    assert after.json()["boolean"] is True
