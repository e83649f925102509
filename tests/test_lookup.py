"""publisher/lookup.py: single-pattern look-ups answered in the server process give the same
answer a worker gives, and everything else (or anything longer than the budget) still goes
to a worker."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pyoxigraph as ox
import pytest
from fastapi.testclient import TestClient

from publisher import lookup
from publisher.app import create_app
from publisher.errors import QuerySyntaxError
from tests.routes.conftest import mini_settings

P = "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> PREFIX id: <https://data.uppsala.se/id/> "
ALPHA = "<https://data.uppsala.se/id/place/alpha>"
FORMATS = {"json": ox.QueryResultsFormat.JSON, "xml": ox.QueryResultsFormat.XML,
           "tsv": ox.QueryResultsFormat.TSV}
ONE = "SELECT ?p ?o WHERE { " + ALPHA + " ?p ?o }"


@pytest.mark.parametrize("query", [
    ONE,
    P + "SELECT ?o WHERE { id:place\\/alpha rdfs:label ?o . }",
    "SELECT * { ?s a <http://schema.org/City> } LIMIT 2",
    "SELECT * WHERE { ?s ?p ?o } LIMIT 10 OFFSET 5",
    'ASK { ?s <http://www.w3.org/2000/01/rdf-schema#label> "Alpha"@en }',
    'ASK WHERE { ?s ?p "3"^^<http://www.w3.org/2001/XMLSchema#integer> }',
    "BASE <https://data.uppsala.se/> SELECT ?s ?p WHERE { ?s ?p <id/place/alpha> }",
])
def test_single_patterns_are_recognised(query: str) -> None:
    assert lookup.single_pattern(query)


@pytest.mark.parametrize("query", [
    "SELECT ?p WHERE { " + ALPHA + " ?p ?o . ?o ?q ?r }",               # a join
    "SELECT ?p WHERE { " + ALPHA + " ?p ?o FILTER(isIRI(?o)) }",        # a filter
    "SELECT DISTINCT ?p WHERE { ?s ?p ?o }",                            # one row may scan all
    "SELECT ?s WHERE { ?s ?p ?o } ORDER BY ?s",                         # sorts everything
    "SELECT ?s WHERE { ?s ?p ?o } GROUP BY ?s",
    "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }",                       # an aggregate
    "SELECT ?s WHERE { ?s ?p ?o } OFFSET 5000",                         # a long skip
    "SELECT ?s WHERE { ?s <http://x/p>/<http://x/q> ?o }",              # a property path
    "SELECT ?s WHERE { ?s <http://x/p>* ?o }",
    "SELECT ?s WHERE { GRAPH ?g { ?s ?p ?o } }",
    "SELECT ?s WHERE { { ?s ?p ?o } }",                                 # a nested group
    "SELECT ?s WHERE { ?s ?p ?o OPTIONAL { ?o ?q ?r } }",
    "SELECT ?s WHERE { _:b ?p ?s }",
    "SELECT ?s WHERE { ?s ?p 42 }",
    "SELECT ?s WHERE { ?s ?p ?o } LIMIT 1 LIMIT 2",
    "CONSTRUCT WHERE { ?s ?p ?o }",
    "ASK { ?s ?p ?o } LIMIT 1",
    "SELECT ?s WHERE { SELECT ?s WHERE { ?s ?p ?o } }",
])
def test_everything_else_goes_to_a_worker(query: str) -> None:
    assert not lookup.single_pattern(query)


@pytest.fixture(autouse=True)
def _unhurried(monkeypatch: pytest.MonkeyPatch) -> None:
    """The time budget is wall-clock: on a loaded machine (a CI run) an answer within every
    other bound could miss it and go to a worker, which is not what these tests look at."""
    monkeypatch.setattr(lookup, "BUDGET", 10.0)


@pytest.fixture()
def store() -> ox.Store:
    data = ox.Store()
    hub = ox.NamedNode("http://example.org/hub")
    for i in range(max(lookup.ROWS, lookup.NATIVE_BYTES // 16) + 10):  # > both bounds
        data.add(ox.Quad(hub, ox.NamedNode("http://example.org/p"), ox.Literal(str(i))))
    data.add(ox.Quad(ox.NamedNode("http://example.org/a"), ox.NamedNode("http://example.org/p"),
                     ox.Literal("x", language="en")))
    return data


def _here(store: ox.Store, query: str, max_rows: int = 100_000) -> lookup.Answer | None:
    return lookup.answer_here(store, query, "json", max_rows, 0, {})


def test_a_short_answer_is_answered_here(store: ox.Store) -> None:
    found = _here(store, "SELECT ?o WHERE { <http://example.org/a> ?p ?o }")
    assert found is not None and not found.truncated
    assert json.loads(found.body)["results"]["bindings"] == [
        {"o": {"type": "literal", "value": "x", "xml:lang": "en"}}]


def test_an_answer_longer_than_the_budget_is_left_to_a_worker(store: ox.Store) -> None:
    assert _here(store, "SELECT ?o WHERE { <http://example.org/hub> ?p ?o }") is None
    limited = _here(store, "SELECT ?o WHERE { <http://example.org/hub> ?p ?o } LIMIT 3")
    assert limited is not None and len(json.loads(limited.body)["results"]["bindings"]) == 3


def test_written_by_pyoxigraph_or_counted_first_the_answer_is_the_same(
        store: ox.Store) -> None:
    query = "SELECT ?p ?o WHERE { ?s ?p ?o } LIMIT 100"
    native = _here(store, query)  # max_rows allows no cut: one evaluation, pyoxigraph writes
    counted = _here(store, query, max_rows=5000)  # rows counted first
    assert native is not None and counted is not None
    assert _solutions(native.body, "json") == _solutions(counted.body, "json")
    assert len(_solutions(native.body, "json")[1]) == 100


def test_max_rows_cuts_here_as_a_worker_does(store: ox.Store) -> None:
    found = _here(store, "SELECT ?o WHERE { <http://example.org/hub> ?p ?o }", max_rows=2)
    assert found is not None and found.truncated
    assert len(json.loads(found.body)["results"]["bindings"]) == 2


def test_a_syntax_error_is_reported_as_the_worker_reports_it(store: ox.Store) -> None:
    with pytest.raises(QuerySyntaxError):
        _here(store, "SELECT ?o WHERE { nope:x ?p ?o }")


@pytest.fixture(scope="module")
def mini() -> Iterator[TestClient]:
    with TestClient(create_app(mini_settings()), base_url="https://data.uppsala.se") as client:
        yield client


@pytest.mark.parametrize("fmt", ["json", "xml", "csv", "tsv"])
@pytest.mark.parametrize("pattern", [
    ALPHA + " ?p ?o", "?s a <http://schema.org/City>", "?s ?p ?o",
    "?s <http://www.w3.org/2000/01/rdf-schema#label> \"Alpha\"@en"])
def test_the_answer_is_the_one_a_worker_gives(mini: TestClient, fmt: str, pattern: str,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    answered = []

    def spy(*args: object) -> lookup.Answer | None:
        found = answer_here(*args)  # type: ignore[arg-type]
        answered.append(found is not None)
        return found

    answer_here = lookup.answer_here
    monkeypatch.setattr(lookup, "answer_here", spy)
    here = mini.post("/sparql", params={"format": fmt},
                     data={"query": f"SELECT * WHERE {{ {pattern} }}"})
    worker = mini.post("/sparql", params={"format": fmt},  # a nested group: not a look-up
                       data={"query": f"SELECT * WHERE {{ {{ {pattern} }} }}"})
    assert answered == [True, False]  # the first here, the second by a worker
    assert here.status_code == worker.status_code == 200
    assert here.headers["x-sparql-truncated"] == worker.headers["x-sparql-truncated"]
    assert here.headers["content-type"] == worker.headers["content-type"]
    assert _solutions(here.content, fmt) == _solutions(worker.content, fmt)


def _solutions(body: bytes, fmt: str) -> tuple[list[str], list[tuple[str, ...]]]:
    """Columns and rows as parsed by pyoxigraph (the layout of the text may differ; CSV,
    which cannot be parsed back, by its lines)."""
    if fmt == "csv":
        head, *lines = body.decode().splitlines()
        return [head], sorted((line,) for line in lines)
    found = ox.parse_query_results(body, format=FORMATS[fmt])
    assert isinstance(found, ox.QuerySolutions)
    names = [v.value for v in found.variables]
    return names, sorted(tuple(str(row[n]) for n in names) for row in found)


def test_an_ask_and_a_named_query_are_answered_alike(mini: TestClient) -> None:
    ask = mini.get("/sparql", params={"query": f"ASK {{ {ALPHA} ?p ?o }}"})
    assert ask.json() == {"head": {}, "boolean": True}
    nested = mini.get("/sparql", params={"query": f"ASK {{ {{ {ALPHA} ?p ?o }} }}"})
    assert nested.json() == ask.json()
