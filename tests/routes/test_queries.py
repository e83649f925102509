"""The named queries (sparql/*.rq) against the shipped data: their answers, their API
endpoints (/api/queries/<name>, OpenAPI, typed parameters, every result format) and real
clients (SPARQLWrapper, rdflib's SPARQLStore) against a running server."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pyoxigraph as ox
import pytest
from fastapi.testclient import TestClient
from rdflib import Graph
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from SPARQLWrapper import JSON, XML, SPARQLWrapper

from publisher.app import create_app
from publisher.config import Settings
from publisher.named_queries import load_named_queries, read_named_query
from tests.conftest import Server
from tests.support import assert_problem

ROOT = Path(__file__).resolve().parent.parent.parent
QUERIES = load_named_queries(ROOT / "sparql")
ID = "https://data.uppsala.se/id/"
#: Example values for the parameters that are required.
ARGUMENTS: dict[str, dict[str, str]] = {"twinned-since": {"year": "1990"},
                                        "search": {"text": "tartu"}}


@pytest.fixture(scope="module")
def api() -> Iterator[TestClient]:
    with TestClient(create_app(Settings()), base_url="https://data.uppsala.se") as client:
        yield client


def rows(client: TestClient, name: str, **params: str) -> list[dict[str, str]]:
    response = client.get(f"/api/queries/{name}", params=params or ARGUMENTS.get(name, {}))
    assert response.status_code == 200, response.text
    return [{k: v["value"] for k, v in b.items()} for b in response.json()["results"]["bindings"]]


# -- the answers ----------------------------------------------------------------------------------

def test_twin_cities(api: TestClient) -> None:
    found = rows(api, "twin-cities")
    assert [r["cityName"] for r in found] == ["Frederiksberg", "Bærum", "Hämeenlinna",
                                             "Hafnarfjörður", "Tartu", "Daejeon", "Minneapolis"]
    tartu = next(r for r in found if r["cityName"] == "Tartu")
    assert (tartu["country"], tartu["countryName"], tartu["startYear"]) == \
        (ID + "country/ee", "Estonia", "1988")
    assert tartu["startKind"].endswith("#bilateralAgreement")
    estonia = rows(api, "twin-cities", country=ID + "country/ee")
    assert [r["cityName"] for r in estonia] == ["Tartu"]
    assert rows(api, "twin-cities", country=ID + "country/se") == []


def test_contacts(api: TestClient) -> None:
    found = {r["contact"]: r for r in rows(api, "contacts")}
    assert found[ID + "person/christian-dahlmann"]["email"] == "christian.dahlmann@uppsala.se"
    assert found[ID + "person/christian-dahlmann"]["telephone"] == "+46187271345"
    assert found[ID + "contact-point/internationella-relationer"]["telephone"] == "+46187270000"
    assert len(found) == 4


def test_contacts_without_personal_data() -> None:
    with TestClient(create_app(Settings(withhold_personal_data=True)),
                    base_url="https://data.uppsala.se") as client:
        found = rows(client, "contacts")
    assert [r["contact"] for r in found] == [ID + "contact-point/internationella-relationer"]


def test_eurocities_membership(api: TestClient) -> None:
    (found,) = rows(api, "eurocities-membership")
    assert found["organization"] == ID + "organization/eurocities"
    assert found["member"] == ID + "organization/uppsala-kommun"
    assert (found["startYear"], found["startDate"]) == ("2015", "2015-11-06")


def test_focus_areas(api: TestClient) -> None:
    found = rows(api, "focus-areas")
    assert {(r["labelSv"], r["labelEn"]) for r in found} == {
        ("Verksamhetsutveckling", "Organisational development"),
        ("Näringsliv och positionering", "Business and positioning"),
        ("Bevakning och påverkan", "Monitoring and influence")}
    assert all(r["definitionSv"] and r["definitionEn"] for r in found)


def test_external_identifiers(api: TestClient) -> None:
    found = rows(api, "external-identifiers")
    links = {(r["resource"], r["external"]) for r in found}
    assert (ID + "place/tartu", "http://www.wikidata.org/entity/Q13972") in links
    assert (ID + "country/ee", "http://publications.europa.eu/resource/authority/country/EST") \
        in links
    assert not any(r["external"].startswith("https://data.uppsala.se/") for r in found)
    assert len(found) >= 30


def test_coordinates_policies_sources_units_chain(api: TestClient) -> None:
    coordinates = {r["cityName"]: r for r in rows(api, "twin-city-coordinates")}
    assert coordinates["Tartu"]["latitude"] == "58.38062"
    assert "Bærum" not in coordinates  # no coordinates are known for it
    policies = {r["title"]: r for r in rows(api, "policies")}
    assert policies["Policy for international work"]["registryNumber"] == "KSN-2014-0129"
    assert policies["Policy for international work"]["submitted"] == "2014-03-05"
    sources = rows(api, "sources")
    assert sources[0]["source"].startswith("https://www.uppsala.se/")
    assert {r["name"] for r in rows(api, "organisation")} == {
        "City Executive Board", "City Executive Office",
        "Unit for International and Regional Cooperation"}
    chain = [(r["cityName"], r["chainYear"]) for r in rows(api, "nordic-chain")]
    assert chain[0] == ("Frederiksberg", "1947") and ("Tartu", "1991") in chain


def test_parameters(api: TestClient) -> None:
    assert [r["cityName"] for r in rows(api, "twinned-since", year="1990")] == \
        ["Daejeon", "Minneapolis"]
    assert len(rows(api, "twinned-since", year="1940")) == 7
    found = rows(api, "search", text="TARTU")
    assert ID + "place/tartu" in {r["resource"] for r in found}
    # a value is a value: text that looks like SPARQL is only ever looked for
    assert rows(api, "search", text='") } ?s ?p ?o { FILTER("') == []


# -- the API --------------------------------------------------------------------------------------

def test_listing(api: TestClient) -> None:
    listing = api.get("/api/queries").json()
    assert [q["name"] for q in listing] == list(QUERIES)
    twin = next(q for q in listing if q["name"] == "twin-cities")
    assert twin["parameters"] == [{"name": "country", "type": "iri", "optional": True,
                                   "description": twin["parameters"][0]["description"]}]


def test_openapi_has_one_operation_per_query(api: TestClient) -> None:
    paths = api.app.openapi()["paths"]  # type: ignore[attr-defined]  (warnings are errors)
    for query in QUERIES.values():
        operation = paths[f"/api/queries/{query.name}"]["get"]
        assert operation["summary"] == query.title
        assert operation["description"] == query.description
        declared = {p["name"]: p for p in operation.get("parameters", [])}
        assert set(declared) == {p.name for p in query.parameters}
        for param in query.parameters:
            assert declared[param.name]["required"] is (not param.optional)
    year = paths["/api/queries/twinned-since"]["get"]["parameters"][0]
    assert year["schema"]["type"] == "integer"


@pytest.mark.parametrize("accept", ["application/sparql-results+json",
                                    "application/sparql-results+xml", "text/csv",
                                    "text/tab-separated-values"])
@pytest.mark.parametrize("name", list(QUERIES))
def test_every_query_in_every_format(api: TestClient, name: str, accept: str) -> None:
    response = api.get(f"/api/queries/{name}", params=ARGUMENTS.get(name, {}),
                       headers={"Accept": accept})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(accept)
    expected = len(rows(api, name))
    if accept.endswith("xml"):
        count = len(list(ox.parse_query_results(response.content, ox.QueryResultsFormat.XML)))
    elif accept == "text/csv":
        count = len(list(csv.DictReader(io.StringIO(response.text))))
    elif accept.endswith("values"):
        count = len(response.text.splitlines()) - 1
    else:
        count = len(response.json()["results"]["bindings"])
    assert count == expected > 0


def test_api_errors(api: TestClient) -> None:
    assert_problem(api.get("/api/queries/twinned-since"), 400)
    assert_problem(api.get("/api/queries/twinned-since", params={"year": "1990; DROP"}), 400)
    assert_problem(api.get("/api/queries/twin-cities", params={"country": "ee"}), 400)
    assert_problem(api.get("/api/queries/twin-cities", params={"limit": "3"}), 400)
    assert_problem(api.get("/api/queries/no-such-query"), 404)
    assert_problem(api.get("/api/queries/twin-cities", headers={"Accept": "text/turtle"}), 406)


@pytest.mark.parametrize(("name", "params"), [
    ("twinned-since", [("year", "1990"), ("year", "2000")]),
    ("twinned-since", [("year", "1990"), ("year", "1990")]),
    ("twin-cities", [("country", ID + "country/ee"), ("country", ID + "country/se")]),
])
def test_a_repeated_parameter_is_refused(api: TestClient, name: str,
                                         params: list[tuple[str, str]]) -> None:
    """Not the last value silently (the client could not tell which one was answered)."""
    body = assert_problem(api.get(f"/api/queries/{name}", params=params), 400)
    assert body["detail"] == f"Exactly one {params[0][0]} parameter is allowed."
    assert body["parameter"] == params[0][0]
    assert api.get(f"/api/queries/{name}", params=params[:1]).status_code == 200


# -- real clients against a real server ----------------------------------------------------------

#: The queries a client can send as they are (a required parameter is an API matter: sent as
#: text, its variable is unbound; rdflib's initBindings appends VALUES, which binds too late).
WITHOUT_REQUIRED = [n for n, q in QUERIES.items() if all(p.optional for p in q.parameters)]

def _normalise(bindings: list[dict[str, Any]]) -> list[dict[str, str]]:
    return sorted(({k: str(v["value"]) for k, v in b.items()} for b in bindings),
                  key=lambda row: sorted(row.items()))


@pytest.mark.slow
@pytest.mark.parametrize("return_format", [JSON, XML])
@pytest.mark.parametrize("name", WITHOUT_REQUIRED)
def test_sparqlwrapper(server: Server, name: str, return_format: str) -> None:
    query = read_named_query(ROOT / "sparql" / f"{name}.rq", server.base)
    expected = _expected(server, name)
    client = SPARQLWrapper(server.url("sparql"))
    client.setQuery(query.text)
    client.setReturnFormat(return_format)
    result = client.query().convert()
    if return_format == JSON:
        found = _normalise(result["results"]["bindings"])  # type: ignore[index]
    else:
        found = _normalise([{b.getAttribute("name"): {"value": b.firstChild.firstChild.data
                                                      if b.firstChild.firstChild else ""}
                             for b in r.getElementsByTagName("binding")}
                            for r in result.getElementsByTagName("result")])  # type: ignore[union-attr]
    assert found == expected


@pytest.mark.slow
@pytest.mark.parametrize("return_format", ["json", "xml"])
@pytest.mark.parametrize("name", WITHOUT_REQUIRED)
def test_rdflib_sparqlstore(server: Server, name: str, return_format: str) -> None:
    query = read_named_query(ROOT / "sparql" / f"{name}.rq", server.base)
    graph = Graph(SPARQLStore(server.url("sparql"), returnFormat=return_format))
    found = _normalise([{str(k): {"value": str(v)} for k, v in row.asdict().items()}
                        for row in graph.query(query.text)])
    assert found == _expected(server, name)


def _expected(server: Server, name: str) -> list[dict[str, str]]:
    import httpx  # noqa: PLC0415

    response = httpx.get(server.url(f"api/queries/{name}"), timeout=30)
    assert response.status_code == 200, response.text
    return _normalise(response.json()["results"]["bindings"])


# -- the "done means": the raw files, posted as curl would, to a local copy -------------

@pytest.mark.parametrize("name", sorted(q for q in QUERIES if q not in ARGUMENTS))
@pytest.mark.parametrize("accept", ["application/sparql-results+json",
                                    "application/sparql-results+xml", "text/csv",
                                    "text/tab-separated-values"])
def test_raw_query_files_answer_under_a_local_base(server: Server, api: TestClient, name: str,
                                                   accept: str) -> None:
    """`curl --data-urlencode query@sparql/<name>.rq http://127.0.0.1:PORT/sparql`: the
    files write our IRIs relative to the endpoint, so they answer under any --base."""
    text = (ROOT / "sparql" / f"{name}.rq").read_text()
    response = httpx.post(server.url("sparql"), data={"query": text},
                          headers={"Accept": accept}, timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(accept)
    expected = len(rows(api, name))  # the same query through the canonical app's API
    if accept.endswith("json"):
        assert len(response.json()["results"]["bindings"]) == expected > 0
    elif accept.endswith("xml"):
        assert response.text.count("<result>") == expected
    elif accept == "text/csv":
        assert len(list(csv.reader(io.StringIO(response.text)))) - 1 == expected
    else:
        assert len(response.text.rstrip("\n").split("\n")) - 1 == expected


def test_api_docs_leads_to_the_description_and_loads_nothing_from_elsewhere(
        api: TestClient) -> None:
    """FastAPI's viewer page loaded its scripts from cdn.jsdelivr.net, which the CSP
    (script-src 'self') blocked: a blank page, and a third party told of each visit."""
    moved = api.get("/api/docs", follow_redirects=False)
    assert moved.status_code == 301
    assert moved.headers["location"].endswith("/api/openapi.json")
    assert "cdn" not in moved.text
    assert api.get(moved.headers["location"]).json()["openapi"].startswith("3.")
