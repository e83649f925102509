"""publisher/routes/sparql_page.py: the query page's result table, for every kind of term,
and data in it that must not reorder the page or bring control characters into it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from publisher.app import create_app
from tests.a11y import NS, check_page, unisolated
from tests.support import fixture_settings

BASE = "https://data.uppsala.se/"
HTML = {"Accept": "text/html"}
XSD = "http://www.w3.org/2001/XMLSchema#"
#: a literal made to look like "evil exe.png", with a NUL and markup after it
HOSTILE = "evil \u202egnp.exe\u0000<b>"
HOSTILE_SPARQL = '"evil \\u202Egnp.exe\\u0000<b>"'


@pytest.fixture(scope="module")
def page_client() -> Iterator[TestClient]:
    with TestClient(create_app(fixture_settings()), base_url=BASE[:-1]) as client:
        yield client


def results(client: TestClient, query: str) -> tuple[Any, list[list[Any]]]:
    """The page (checked) and its result table's cells, row by row."""
    response = client.get("/sparql", params={"query": query, "lang": "en"}, headers=HTML)
    assert response.status_code == 200, response.text[-2000:]
    assert "\x00" not in response.text
    root = check_page(response.text)
    table = root.find(f".//{NS}table[@class='sparql-results']")
    assert table is not None
    return root, [list(tr) for tr in table.find(f"{NS}tbody")]


def text(element: Any) -> str:
    return "".join(element.itertext())


@pytest.mark.parametrize(("expression", "shown", "tags"), [
    (f"<{BASE}id/thing/one>", f"{BASE}id/thing/one", ["a"]),
    ("<http://example.org/three>", "http://example.org/three", ["span"]),
    ('"plain"', "plain", []),
    ('"hej"@sv', "hej @sv", ["span", "span"]),
    ("42", "42", []),
    (f'"2026-05-01"^^<{XSD}date>', "2026-05-01", []),
    ('<<( <http://a> <http://b> "c"@en )>>', '<<( <http://a> <http://b> "c"@en )>>', ["code"]),
    ("<<( <http://a> <http://b> <<( <http://c> <http://d> 1 )>> )>>",
     f'<<( <http://a> <http://b> <<( <http://c> <http://d> "1"^^<{XSD}integer> )>> )>>',
     ["code"]),
])
def test_every_kind_of_term_is_a_cell(page_client: TestClient, expression: str, shown: str,
                                      tags: list[str]) -> None:
    _, [[cell]] = results(page_client, f"SELECT ({expression} AS ?x) WHERE {{}}")
    assert text(cell) == shown
    assert [child.tag for child in cell] == [NS + tag for tag in tags]
    if tags == ["a"]:
        assert cell[0].get("href") == shown


def test_a_blank_node_is_its_label(page_client: TestClient) -> None:
    query = "SELECT ?o WHERE { ?s ?p ?o FILTER(isBlank(?o)) } LIMIT 1"
    label = page_client.get("/sparql", params={"query": query}).json()[
        "results"]["bindings"][0]["o"]["value"]
    _, [[cell]] = results(page_client, query)
    assert text(cell) == f"_:{label}"
    _, [[made]] = results(page_client, "SELECT (BNODE() AS ?b) WHERE {}")
    assert re.fullmatch(r"_:\w+", text(made))


def test_an_unbound_variable_is_an_empty_cell(page_client: TestClient) -> None:
    _, [[bound, unbound]] = results(page_client, "SELECT ?x ?y WHERE { BIND(1 AS ?x) }")
    assert text(bound) == "1" and text(unbound) == "" and len(unbound) == 0


def test_a_hostile_literal_is_isolated_and_its_nul_shown(page_client: TestClient) -> None:
    root, [[plain, tagged]] = results(
        page_client, f"SELECT ?x ?y WHERE {{ BIND({HOSTILE_SPARQL} AS ?x) "
                     "BIND(STRLANG(?x, 'en') AS ?y) }")
    shown = HOSTILE.replace("\u0000", "\u2400")  # SYMBOL FOR NULL
    assert text(plain) == shown and text(tagged) == shown + " @en"
    assert [child.tag for child in plain] == [f"{NS}bdi"]
    [span, note] = tagged
    assert span.get("lang") == "en" and [child.tag for child in span] == [f"{NS}bdi"]
    assert note.text == "@en"  # after the <bdi>: the override cannot turn it around
    assert root.find(f".//{NS}b") is None
    assert unisolated(root.find(f".//{NS}main")) == []


def test_the_query_is_left_as_it_is_in_the_editor(page_client: TestClient) -> None:
    query = "# \u05e9\u05dc\u05d5\u05dd \u202e\nSELECT ?x WHERE { BIND('\u0627' AS ?x) }"
    root, [[cell]] = results(page_client, query)
    assert root.find(f".//{NS}textarea").text == query
    assert [child.tag for child in cell] == [f"{NS}bdi"] and text(cell) == "\u0627"


def test_constructed_turtle_shows_bidi_controls_as_escapes(page_client: TestClient) -> None:
    query = (f"CONSTRUCT {{ <{BASE}id/thing/one> <http://example.org/name> "
             f"{HOSTILE_SPARQL} }} WHERE {{}}")
    response = page_client.get("/sparql", params={"query": query}, headers=HTML)
    assert response.status_code == 200
    turtle = text(check_page(response.text).find(f".//{NS}pre"))
    assert '"evil \\u202Egnp.exe\\u0000<b>"' in turtle
    assert "\u202e" not in response.text and "\x00" not in response.text
