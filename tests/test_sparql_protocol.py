"""/sparql's reading of the SPARQL 1.1 Protocol, through the app and a real server: format
parameters repeated as SPARQLWrapper repeats them, relative FROM / FROM NAMED IRIs, and
requests without a query (publisher/sparql.py, publisher/routes/sparql.py)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import rdflib
from fastapi.testclient import TestClient
from SPARQLWrapper import CSV, JSONLD, RDFXML, TSV, SPARQLWrapper

from publisher.app import create_app
from tests.conftest import Server
from tests.support import SPARQL_FIXTURE, assert_problem, fixture_settings

FIXTURE = SPARQL_FIXTURE
BASE = "https://data.uppsala.se/"
LABEL = "<http://www.w3.org/2000/01/rdf-schema#label>"
THINGS = f"SELECT ?s ?label WHERE {{ ?s {LABEL} ?label }} ORDER BY ?s ?label"
CONSTRUCT = f"CONSTRUCT {{ ?s {LABEL} ?l }} WHERE {{ ?s {LABEL} ?l }}"
COUNT = "SELECT (COUNT(*) AS ?n) {} WHERE {{ ?s ?p ?o }}"


@pytest.fixture(scope="module")
def sparql() -> Iterator[TestClient]:
    with TestClient(create_app(fixture_settings()), base_url=BASE[:-1]) as client:
        yield client


# -- ?format= given more than once ---------------------------------------------------------------

@pytest.mark.parametrize(("query", "values", "media_type"), [
    # what SPARQLWrapper 2.0.0 sends (format=, output= and results= alike)
    (THINGS, ["tsv", "text/tab-separated-values"], "text/tab-separated-values"),
    (THINGS, ["csv", "text/csv"], "text/csv"),
    (THINGS, ["json", "application/sparql-results+json"], "application/sparql-results+json"),
    (CONSTRUCT, ["rdf+xml", "application/rdf+xml"], "application/rdf+xml"),
    (CONSTRUCT, ["json-ld", "application/ld+json,application/x-json+ld"], "application/ld+json"),
    (CONSTRUCT, ["turtle", "ttl", "text/turtle"], "text/turtle"),
])
def test_repeated_format_parameters_that_name_one_format(
        sparql: TestClient, query: str, values: list[str], media_type: str) -> None:
    params = [("query", query)]
    for name in ("format", "output", "results"):
        params += [(name, value) for value in values]
    for response in (sparql.get("/sparql", params=params),
                     sparql.post("/sparql", data=dict(params[:1]), params=params[1:])):
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].split(";")[0] == media_type


@pytest.mark.parametrize(("query", "values"), [
    (THINGS, ["tsv", "csv"]),
    (THINGS, ["json", "text/csv"]),
    (CONSTRUCT, ["rdf+xml", "application/ld+json"]),
    ("ASK {}", ["xml", "application/sparql-results+json"]),
])
def test_format_parameters_that_name_two_formats_conflict(
        sparql: TestClient, query: str, values: list[str]) -> None:
    params = [("query", query)] + [("format", value) for value in values]
    body = assert_problem(sparql.get("/sparql", params=params), 400)
    assert "Conflicting format parameters" in body["detail"]


# -- relative IRIs in FROM ------------------------------------------------------------------------

def _count(sparql: TestClient, dataset: str) -> int:
    response = sparql.get("/sparql", params={"query": COUNT.format(dataset)})
    assert response.status_code == 200, response.text
    return int(response.json()["results"]["bindings"][0]["n"]["value"])


@pytest.mark.parametrize("relative", [
    "FROM <graph/data/things>",
    "FROM <./graph/data/things>",
    "FROM <../graph/data/things>",
    "FROM <graph/data/\\u0074hings>",
])
def test_from_resolves_relative_iris_against_the_endpoint(sparql: TestClient,
                                                          relative: str) -> None:
    absolute = _count(sparql, f"FROM <{BASE}graph/data/things>")
    assert 0 < absolute < _count(sparql, "")
    assert _count(sparql, relative) == absolute
    assert _count(sparql, relative.replace("FROM", "FROM NAMED")) == 0  # no default graph


def test_from_resolves_relative_prefixes_and_base(sparql: TestClient) -> None:
    absolute = _count(sparql, f"FROM <{BASE}graph/data/things>")
    prefixed = "PREFIX g: <graph/data/> SELECT (COUNT(*) AS ?n) FROM g:things WHERE { ?s ?p ?o }"
    response = sparql.get("/sparql", params={"query": prefixed})
    assert response.status_code == 200, response.text
    assert int(response.json()["results"]["bindings"][0]["n"]["value"]) == absolute
    based = "BASE <graph/> " + COUNT.format("FROM <data/things>")
    response = sparql.post("/sparql", data={"query": based})
    assert int(response.json()["results"]["bindings"][0]["n"]["value"]) == absolute


@pytest.mark.parametrize("query", [
    COUNT.format("FROM <graph/data/elsewhere>"),
    COUNT.format("FROM <//example.org/graph/data/things>"),
    "PREFIX g: <graph/data/> " + COUNT.format("FROM NAMED g:nothing"),
])
def test_a_relative_iri_of_no_graph_of_ours_is_still_refused(sparql: TestClient,
                                                             query: str) -> None:
    body = assert_problem(sparql.get("/sparql", params={"query": query}), 400)
    assert "not a graph of this dataset" in body["detail"]


# -- no query --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("method", "kwargs"), [
    ("POST", {"content": b"", "headers": {"Content-Type": "application/x-www-form-urlencoded"}}),
    ("POST", {"data": {"default-graph-uri": BASE + "graph/data/things"}}),
    ("POST", {"params": {"default-graph-uri": BASE + "graph/data/things"}, "content": b"",
              "headers": {"Content-Type": "application/x-www-form-urlencoded"}}),
    ("GET", {"params": {"default-graph-uri": BASE + "graph/data/things"}}),
    ("GET", {"params": {"named-graph-uri": BASE + "graph/data/things", "format": "json"}}),
    ("HEAD", {"params": {"default-graph-uri": BASE + "graph/data/things"}}),
])
def test_a_request_without_a_query_is_400(sparql: TestClient, method: str,
                                          kwargs: dict[str, object]) -> None:
    headers = {"Accept": "text/turtle", **kwargs.pop("headers", {})}  # type: ignore[dict-item]
    response = sparql.request(method, "/sparql", headers=headers,
                              **kwargs)  # type: ignore[arg-type]
    if method == "HEAD":
        assert response.status_code == 400 and response.content == b""
        return
    body = assert_problem(response, 400)
    assert body["type"].endswith("/missing-query")
    browser = sparql.request(method, "/sparql", headers={**headers, "Accept": "text/html"},
                             **kwargs)  # type: ignore[arg-type]
    assert browser.status_code == 400


def test_a_get_without_parameters_is_the_service_description(sparql: TestClient) -> None:
    for method in ("GET", "HEAD"):
        response = sparql.request(method, "/sparql", headers={"Accept": "text/turtle"})
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/turtle")
    graph = rdflib.Graph().parse(data=sparql.get("/sparql").text, format="turtle")
    assert (rdflib.URIRef(BASE + "sparql"), None, None) in graph
    page = sparql.get("/sparql", params={"lang": "en"}, headers={"Accept": "text/html"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")


# -- SPARQLWrapper against a real server ----------------------------------------------------------

CITIES = "SELECT ?city ?label WHERE { ?city a <http://schema.org/City> ; " \
         f"{LABEL} ?label }} ORDER BY ?city ?label"
CITY_LABELS = f"CONSTRUCT {{ ?city {LABEL} ?label }} WHERE {{ ?city a " \
              f"<http://schema.org/City> ; {LABEL} ?label }}"


def _rows(server: Server, accept: str) -> list[str]:
    response = httpx.get(server.url("sparql"), params={"query": CITIES},
                         headers={"Accept": accept}, timeout=30)
    assert response.status_code == 200, response.text
    return response.text.splitlines()


@pytest.mark.parametrize(("return_format", "accept"), [
    (TSV, "text/tab-separated-values"), (CSV, "text/csv")])
def test_sparqlwrapper_select_as_tsv_and_csv(server: Server, return_format: str,
                                             accept: str) -> None:
    client = SPARQLWrapper(server.url("sparql"))
    client.setQuery(CITIES)
    client.setReturnFormat(return_format)
    result = client.query()
    assert result.response.headers["Content-Type"].startswith(accept)
    lines = result.convert().decode().splitlines()  # type: ignore[union-attr]
    assert lines == _rows(server, accept) and len(lines) > 5


@pytest.mark.parametrize("return_format", [RDFXML, JSONLD])
def test_sparqlwrapper_construct_as_rdfxml_and_jsonld(server: Server,
                                                      return_format: str) -> None:
    client = SPARQLWrapper(server.url("sparql"))
    client.setQuery(CITY_LABELS)
    client.setReturnFormat(return_format)
    graph = client.queryAndConvert()
    assert isinstance(graph, rdflib.Graph)
    expected = rdflib.Graph().parse(data=httpx.post(
        server.url("sparql"), data={"query": CITY_LABELS},
        headers={"Accept": "application/n-triples"}, timeout=30).text, format="nt")
    assert len(expected) > 5
    assert set(graph) == set(expected)
