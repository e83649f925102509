"""SPARQL XML results (publisher/results.py) with the characters XML treats specially: a CR
in a literal arrives as a CR, and what XML 1.0 cannot carry is a clear 406, never a
malformed document or another value."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from xml.dom import minidom

import pyoxigraph as ox
import pytest
import rdflib
from fastapi.testclient import TestClient

from publisher import lookup
from publisher.app import create_app
from publisher.config import Settings
from publisher.results import NotInXml, XmlChecked, boolean, solutions
from publisher.store import OxigraphStore
from tests.support import assert_problem

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "sparql"
XML = {"Accept": "application/sparql-results+xml"}
VALUES = ["a\rb", "a\r\nb", "\r", "tab\tand\nnewline", "<&>\"'", "Hämeenlinna"]


class Row(dict[str, object]):
    def __getitem__(self, name: str) -> object:
        return self.get(name)


def _written(values: list[str]) -> bytes:
    rows = [Row(x=ox.Literal(v), y=ox.Literal(v, language="en")) for v in values]
    return b"".join(solutions(["x", "y"], rows, "xml"))


def test_a_cr_in_a_literal_is_read_back_as_a_cr() -> None:
    body = _written(VALUES)
    assert b"\r" not in body and b"&#13;" in body
    read = [row["x"].value for row in ox.parse_query_results(body, ox.QueryResultsFormat.XML)]
    assert read == VALUES
    dom = minidom.parseString(body)  # a second parser, which normalises raw line ends
    literals = [node.firstChild.data if node.firstChild else ""
                for node in dom.getElementsByTagName("literal")]
    assert literals == [v for v in VALUES for _ in range(2)]


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x0e", "\x1f",
                                  "\ufffe", "\uffff"])
def test_what_xml_cannot_carry_is_refused(char: str) -> None:
    with pytest.raises(NotInXml) as caught:
        _written(["fine", f"a{char}b"])
    assert caught.value.status == 406
    assert f"U+{ord(char):04X}" in caught.value.detail
    assert "application/sparql-results+json" in caught.value.extra["available"]
    assert b"".join(solutions(["x"], [Row(x=ox.Literal(f"a{char}b"))], "json"))  # JSON can


def test_ordinary_answers_are_unchanged() -> None:
    body = _written(["plain", "a & b < c"])
    assert b"<literal>plain</literal>" in body and b"a &amp; b &lt; c" in body
    assert boolean(True, "xml").endswith(b"<boolean>true</boolean>\n</sparql>\n")


# -- through the app ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sparql() -> Iterator[TestClient]:
    settings = Settings(data_dir=FIXTURE / "data", ontology_dir=FIXTURE / "ontology",
                        queries_dir=FIXTURE / "queries")
    with TestClient(create_app(settings), base_url="https://data.uppsala.se") as client:
        yield client


CR = 'SELECT ?x WHERE { VALUES ?x { "a\\rb" "c\\r\\nd" "plain" } }'


def _values(body: bytes) -> list[str]:
    return [row["x"].value for row in ox.parse_query_results(body, ox.QueryResultsFormat.XML)]


def test_a_cr_arrives_through_the_endpoint(sparql: TestClient) -> None:
    for response in (sparql.get("/sparql", params={"query": CR}, headers=XML),
                     sparql.post("/sparql", data={"query": CR}, headers=XML)):
        assert response.status_code == 200
        assert b"\r" not in response.content
        assert _values(response.content) == ["a\rb", "c\r\nd", "plain"]


def test_a_cr_arrives_the_same_from_pyoxigraphs_writer(sparql: TestClient) -> None:
    """A LIMIT within max_rows: pyoxigraph writes the XML (evaluate.py), checked the same."""
    response = sparql.post("/sparql", data={"query": CR + " LIMIT 3"}, headers=XML)
    assert response.status_code == 200
    assert b"\r" not in response.content
    assert _values(response.content) == ["a\rb", "c\r\nd", "plain"]
    query = 'SELECT ?x WHERE { VALUES ?x { "ok" "a\\uFFFFb" } } LIMIT 3'
    body = assert_problem(sparql.post("/sparql", data={"query": query}, headers=XML), 406)
    assert "U+FFFF" in body["detail"]


def test_the_servers_own_look_ups_check_the_same() -> None:
    """A single-pattern look-up the server answers itself (publisher.lookup): written by
    pyoxigraph, checked the same, and left to a worker (which words the 406) if refused."""
    engine = ox.Store()
    s, p = ox.NamedNode("http://x/s"), ox.NamedNode("http://x/p")
    engine.add(ox.Quad(s, p, ox.Literal("a\rb")))
    store = OxigraphStore(engine, "v", 0.0, None)
    query = "SELECT ?o WHERE { <http://x/s> <http://x/p> ?o }"
    answer = lookup.answer_here(store, query, "xml", 1000, 1 << 20, {})
    assert answer is not None and answer.native
    assert _values_of(answer.body, "o") == ["a\rb"] and b"\r" not in answer.body
    again = lookup.again(store, query, "xml", {})
    assert again == answer.body
    engine.add(ox.Quad(s, p, ox.Literal("c\x01d")))
    assert lookup.answer_here(store, query, "xml", 1000, 1 << 20, {}) is None
    assert lookup.again(store, query, "xml", {}) is None
    assert lookup.answer_here(store, query, "json", 1000, 1 << 20, {}) is not None


def test_a_split_write_is_checked_across_its_pieces() -> None:
    class Sink(list[bytes]):
        def write(self, data: bytes) -> int:
            self.append(data)
            return len(data)

    checked = XmlChecked(Sink())
    checked.write(b"<literal>a\xef")
    with pytest.raises(NotInXml):
        checked.write(b"\xbf\xbfb</literal>")


def _values_of(body: bytes, name: str) -> list[str]:
    return [row[name].value for row in ox.parse_query_results(body, ox.QueryResultsFormat.XML)]


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_control_character_is_a_clear_406(sparql: TestClient, method: str) -> None:
    query = 'SELECT ?x WHERE { VALUES ?x { "ok" "a\\u0001b" } }'
    kwargs = {"params": {"query": query}} if method == "GET" else {"data": {"query": query}}
    body = assert_problem(sparql.request(method, "/sparql", headers=XML, **kwargs), 406)
    assert body["type"].endswith("/not-in-xml") and "U+0001" in body["detail"]
    as_json = sparql.request(method, "/sparql", **kwargs)
    assert as_json.status_code == 200
    assert as_json.json()["results"]["bindings"][1]["x"]["value"] == "a\x01b"


RDF_XML = {"Accept": "application/rdf+xml"}


def test_rdf_xml_of_a_construct_is_xml_or_a_clear_406(sparql: TestClient) -> None:
    """A CONSTRUCT in RDF/XML: a CR in a literal arrives as a CR; a control character, or
    a predicate RDF/XML cannot name (pyoxigraph wrote ``<oxprefix:>`` for it), is a 406
    with the formats that can carry it."""
    cr = 'CONSTRUCT { <http://x/s> <http://x/p> "a\\rb" } WHERE {}'
    answer = sparql.post("/sparql", data={"query": cr}, headers=RDF_XML)
    assert answer.status_code == 200 and b"\r" not in answer.content
    parsed = rdflib.Graph().parse(data=answer.content, format="xml")
    assert [str(o) for o in parsed.objects()] == ["a\rb"]
    for query, said in [('CONSTRUCT { <http://x/s> <http://x/1> "v" } WHERE {}', "<http://x/1>"),
                        ('CONSTRUCT { <http://x/s> <http://x/p> "a\\u0001b" } WHERE {}',
                         "U+0001")]:
        body = assert_problem(sparql.post("/sparql", data={"query": query}, headers=RDF_XML),
                              406)
        assert body["type"].endswith("/not-in-xml") and said in body["detail"]
        assert sparql.post("/sparql", data={"query": query},
                           headers={"Accept": "text/turtle"}).status_code == 200
    plain = sparql.post("/sparql", data={"query": "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o } "
                                                  "LIMIT 5"}, headers=RDF_XML)
    assert plain.status_code == 200
    assert len(rdflib.Graph().parse(data=plain.content, format="xml")) == 5
