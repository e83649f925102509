"""Unit tests of the pure SPARQL modules: protocol parsing, refusals, form detection, named
queries, result serializers (against the W3C expected outputs) and the row bound."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest

from publisher import results
from publisher.errors import (
    BadRequest,
    MethodNotAllowed,
    QueryRefused,
    QuerySyntaxError,
    UnsupportedMediaType,
    UpdateRefused,
)
from publisher.evaluate import bounded
from publisher.named_queries import load_named_queries, read_named_query
from publisher.negotiation import RDF_FORMATS, RESULT_FORMATS, choose_format
from publisher.sparql import (
    MAX_NESTING,
    Dataset,
    MissingQuery,
    ProtocolRequest,
    QueryTooLong,
    analyse,
    parse_query,
    read_request,
    syntax_error,
)
from publisher.sparql_tokens import star_order

ROOT = Path(__file__).resolve().parent.parent
W3C = Path(__file__).resolve().parent / "conformance" / "sparql11"
FIXTURE_QUERIES = Path(__file__).resolve().parent / "fixtures" / "sparql" / "queries"
GRAPHS = ("https://data.uppsala.se/graph/data/things",)


# -- form detection and refusals -------------------------------------------------------------

@pytest.mark.parametrize(("text", "form"), [
    ("SELECT * WHERE { ?s ?p ?o }", "SELECT"),
    ("select ?s { ?s ?p ?o }", "SELECT"),
    ("PREFIX ask: <http://x/> BASE <http://b/> CONSTRUCT WHERE { ?s ?p ?o }", "CONSTRUCT"),
    ("# SELECT in a comment\nASK {}", "ASK"),
    ("DESCRIBE <http://x>", "DESCRIBE"),
    ('SELECT * { ?s ?p "CONSTRUCT" }', "SELECT"),
])
def test_form(text: str, form: str) -> None:
    assert analyse(text, 10_000, GRAPHS).form == form


@pytest.mark.parametrize("text", [
    'SELECT * { ?s ?p ?o FILTER(CONTAINS(?o, "SERVICE")) }',
    "SELECT * { ?s ?p ?o } # SERVICE <http://x> { } and INSERT, LOAD, DROP",
    "SELECT * { ?s <http://example.org/service/insert> ?o }",
    "PREFIX service: <http://x/> SELECT * { ?s service:load ?delete }",
    "SELECT ?insert ?load { ?insert ?with ?load }",
    "SELECT * { ?s ?p '''DELETE WHERE { ?s ?p ?o }''' }",
    'SELECT * { ?s ?p "x"@en FILTER(?s < <http://x/drop>) }',
    "SELECT * { ?s ?p ?o FILTER(?o < 3 && ?o > 1) }",
])
def test_keywords_inside_strings_iris_comments_and_names_are_not_refused(text: str) -> None:
    assert analyse(text, 10_000, GRAPHS).form == "SELECT"


@pytest.mark.parametrize("text", [
    "SELECT * { SERVICE <http://example.org/sparql> { ?s ?p ?o } }",
    "select * { service silent <http://x/> { ?s ?p ?o } }",
    "SELECT * { ?s ?p ?o OPTIONAL { Service ?endpoint { ?s ?q ?r } } }",
])
def test_service_is_refused(text: str) -> None:
    with pytest.raises(QueryRefused, match="SERVICE"):
        analyse(text, 10_000, GRAPHS)


@pytest.mark.parametrize("text", [
    "SELECT * WHERE { FILTER(" + "(" * 9000 + "1" + ")" * 9000 + ") }",
    "SELECT * WHERE " + "{" * (MAX_NESTING + 1) + "}" * (MAX_NESTING + 1),
    "SELECT * WHERE { FILTER(" + "!" * 19000 + "true) }",
    "SELECT * WHERE { FILTER(" + "(" * 200 + "!" * 100 + "true" + ")" * 200 + ") }",
    "SELECT * WHERE { " + "{ SELECT * WHERE " * 300 + "{}" + " }" * 300 + " }",
    "SELECT * WHERE { ?s " + "(" * 14000 + "<p>" + ")" * 14000 + " ?o }",
], ids=["parentheses", "braces", "negations", "both", "subqueries", "path"])
def test_queries_nested_too_deep_for_the_parser_are_refused(text: str) -> None:
    """Each of these, a few thousand levels deep, overflowed the engine's recursive parser
    and killed the worker that evaluated it."""
    with pytest.raises(QueryRefused, match=f"more than {MAX_NESTING} levels") as refused:
        analyse(text, 10**6, GRAPHS)
    assert refused.value.extra == {"limit": MAX_NESTING}


@pytest.mark.parametrize("text", [
    "SELECT * WHERE " + "{" * MAX_NESTING + "}" * MAX_NESTING,
    "SELECT * WHERE { FILTER(" + "!" * (MAX_NESTING - 2) + "true) }",
    "SELECT * WHERE { " + "{ ?s ?p ?o } UNION " * 2000 + "{} }",  # wide, not deep
    'SELECT * WHERE { ?s ?p "' + "({[!" * 1000 + '" } # ' + "(" * 1000,  # a string, a comment
    "SELECT * WHERE { ?s <http://x/" + "(" * 1000 + "> ?o }",  # an IRI
], ids=["braces", "negations", "union", "string-comment", "iri"])
def test_nesting_up_to_the_limit_and_brackets_in_strings_are_accepted(text: str) -> None:
    assert analyse(text, 10**6, GRAPHS).form == "SELECT"


@pytest.mark.parametrize("text", [
    "INSERT DATA { <a> <b> <c> }", "DELETE WHERE { ?s ?p ?o }", "CLEAR ALL", "DROP GRAPH <g>",
    "LOAD <http://example.org/data.ttl>", "CREATE GRAPH <g>", "ADD DEFAULT TO <g>",
    "MOVE <a> TO <b>", "COPY <a> TO <b>", "WITH <g> DELETE { ?s ?p ?o } WHERE { ?s ?p ?o }",
    "PREFIX x: <http://x/> SELECT * {} ; INSERT DATA { <a> <b> <c> }",
])
def test_updates_are_refused(text: str) -> None:
    with pytest.raises(UpdateRefused, match="read-only"):
        analyse(text, 10_000, GRAPHS)


@pytest.mark.parametrize(("clause", "named"), [("FROM", False), ("FROM NAMED", True)])
def test_a_foreign_graph_is_named_with_its_clause(clause: str, named: bool) -> None:
    with pytest.raises(QueryRefused) as refused:
        analyse(f"SELECT * {clause} <http://203.0.113.1/g> {{ ?s ?p ?o }}", 10_000, GRAPHS)
    assert refused.value.detail.startswith(f"{clause} <http://203.0.113.1/g> is not a graph")


def test_a_graph_pattern_names_only_our_graphs() -> None:
    """A remote Virtuoso answered ASK { GRAPH <not ours> { ?s ?p ?o } } true (and COUNT 1)
    where the embedded store answers false: such a graph is refused, as in FROM."""
    with pytest.raises(QueryRefused, match="^GRAPH <http://203.0.113.1/g> is not a graph"):
        analyse("ASK { GRAPH <http://203.0.113.1/g> { ?s ?p ?o } }", 10_000, GRAPHS)
    ours = "PREFIX g: <https://data.uppsala.se/graph/data/> ASK { GRAPH g:things { ?s ?p ?o } }"
    assert analyse(ours, 10_000, GRAPHS).form == "ASK"
    assert analyse("ASK { GRAPH ?g { ?s ?p ?o } }", 10_000, GRAPHS).form == "ASK"
    assert analyse('ASK { ?s ?p "GRAPH <http://x/>" }', 10_000, GRAPHS).form == "ASK"


def test_from_of_our_graphs_is_allowed_and_foreign_is_refused() -> None:
    parsed = analyse("PREFIX g: <https://data.uppsala.se/graph/data/> "
                     "SELECT * FROM g:things FROM NAMED <https://data.uppsala.se/graph/data/things>"
                     " { ?s ?p ?o }", 10_000, GRAPHS)
    assert parsed.from_query == Dataset(GRAPHS, GRAPHS)
    assert parsed.options() == {"use_default_graph_as_union": False}
    with pytest.raises(QueryRefused, match="http://example.org/remote.ttl") as caught:
        analyse("SELECT * FROM <http://example.org/remote.ttl> { ?s ?p ?o }", 10_000, GRAPHS)
    assert caught.value.extra["graph"] == "http://example.org/remote.ttl"


def test_no_form_is_a_syntax_error() -> None:
    with pytest.raises(QuerySyntaxError):
        analyse("PREFIX x: <http://x/>", 10_000, GRAPHS)


def test_query_length_limit() -> None:
    with pytest.raises(QueryTooLong) as caught:
        analyse("SELECT * { ?s ?p ?o }" + " " * 100, 50, GRAPHS)
    assert caught.value.status == 413


def test_syntax_error_position() -> None:
    error = syntax_error("error at 2:24: expected one of NOT, REPLACE")
    assert error.extra == {"line": 2, "column": 24}
    assert "line 2, column 24" in error.detail


# -- the protocol ------------------------------------------------------------------------------

def test_get() -> None:
    request = read_request("GET", [("query", "ASK {}"), ("format", "json")], None, b"")
    assert request == ProtocolRequest("ASK {}", Dataset(), ("json",),
                                      (("query", "ASK {}"), ("format", "json")))


def test_format_values_are_kept_once_each_in_order() -> None:
    """Which format they name is the route's to say (it depends on the query's form)."""
    request = read_request("GET", [("query", "ASK {}"), ("format", "tsv"), ("output", "tsv"),
                                   ("format", "text/tab-separated-values"), ("results", "")],
                           None, b"")
    assert request.formats == ("tsv", "text/tab-separated-values")


@pytest.mark.parametrize("params", [[], [("format", "turtle")], [("lang", "en")]])
def test_only_a_get_without_a_query_or_dataset_has_no_query(
        params: list[tuple[str, str]]) -> None:
    for method in ("GET", "HEAD"):
        assert read_request(method, params, None, b"").query is None


def test_form_post_merges_url_parameters() -> None:
    request = read_request("POST", [("default-graph-uri", GRAPHS[0])],
                           "application/x-www-form-urlencoded", b"query=ASK%20%7B%7D")
    assert request.query == "ASK {}"
    assert request.dataset == Dataset(GRAPHS, ())


def test_direct_post() -> None:
    request = read_request("POST", [("named-graph-uri", GRAPHS[0])],
                           "application/sparql-query; charset=UTF-8", "ASK { \"å\" }".encode())
    assert request.query == 'ASK { "å" }'
    assert request.dataset == Dataset((), GRAPHS)


@pytest.mark.parametrize(("method", "params", "content_type", "body", "error"), [
    ("GET", [("query", "ASK {}"), ("query", "ASK {}")], None, b"", BadRequest),
    ("GET", [("query", "ASK {}"), ("limit", "3")], None, b"", BadRequest),
    ("GET", [("update", "CLEAR ALL")], None, b"", MethodNotAllowed),
    ("POST", [], "application/x-www-form-urlencoded", b"update=CLEAR+ALL", UpdateRefused),
    ("POST", [], "application/sparql-update", b"CLEAR ALL", UpdateRefused),
    ("POST", [], "text/plain", b"ASK {}", UnsupportedMediaType),
    ("POST", [], None, b"query=ASK%20%7B%7D", UnsupportedMediaType),
    ("POST", [], "application/sparql-query; charset=UTF-16", b"ASK {}", UnsupportedMediaType),
    ("POST", [], "application/sparql-query", b"\xff\xfeA", BadRequest),
    ("POST", [("query", "ASK {}")], "application/sparql-query", b"ASK {}", BadRequest),
    ("GET", [("query", "ASK {}"), ("default-graph-uri", "not an iri")], None, b"", BadRequest),
    ("GET", [("query", "  ")], None, b"", BadRequest),
    ("POST", [], "application/x-www-form-urlencoded", b"", MissingQuery),
    ("POST", [("default-graph-uri", GRAPHS[0])], "application/x-www-form-urlencoded", b"",
     MissingQuery),
    ("POST", [], "application/x-www-form-urlencoded", b"named-graph-uri=" + GRAPHS[0].encode(),
     MissingQuery),
    ("GET", [("default-graph-uri", GRAPHS[0])], None, b"", MissingQuery),
    ("HEAD", [("named-graph-uri", GRAPHS[0])], None, b"", MissingQuery),
])
def test_protocol_errors(method: str, params: list[tuple[str, str]], content_type: str | None,
                         body: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        read_request(method, params, content_type, body)


def test_protocol_dataset_must_be_ours_and_overrides_from() -> None:
    request = read_request("GET", [("query", "SELECT * FROM <https://data.uppsala.se/graph/data/"
                                    "things> { ?s ?p ?o }"), ("named-graph-uri", GRAPHS[0])],
                           None, b"")
    parsed = parse_query(request, 10_000, GRAPHS)
    assert parsed.options() == {"default_graph": [], "named_graphs": list(GRAPHS)}
    foreign = read_request("GET", [("query", "ASK {}"), ("default-graph-uri", "http://x.org/g")],
                           None, b"")
    with pytest.raises(QueryRefused, match="http://x.org/g"):
        parse_query(foreign, 10_000, GRAPHS)


@pytest.mark.parametrize(("accept", "kind", "expected"), [
    (None, "results", "json"),
    ("*/*", "results", "json"),
    ("application/sparql-results+xml", "results", "xml"),
    ("application/xml", "results", "xml"),
    ("application/json", "results", "json"),
    ("text/csv", "results", "csv"),
    ("text/tab-separated-values;q=1, text/csv;q=0.5", "results", "tsv"),
    ("text/*", "results", "csv"),
    (None, "rdf", "turtle"),
    ("application/rdf+xml", "rdf", "rdfxml"),
    ("application/ld+json", "rdf", "jsonld"),
    ("application/n-triples", "rdf", "ntriples"),
])
def test_result_negotiation(accept: str | None, kind: str, expected: str) -> None:
    offered = RESULT_FORMATS if kind == "results" else RDF_FORMATS
    assert choose_format(accept, offered).name == expected


# -- named queries -----------------------------------------------------------------------------

def test_every_shipped_named_query_has_a_title_and_parses() -> None:
    queries = load_named_queries(ROOT / "sparql")
    assert len(queries) >= 10
    store = ox.Store()
    for query in queries.values():
        assert query.title and query.description, query.name
        assert query.form in ("SELECT", "ASK")
        # parses (our IRIs are relative to the endpoint) and runs on an empty store
        store.query(query.text, base_iri="https://data.uppsala.se/sparql")


def test_named_query_header_and_parameters() -> None:
    query = read_named_query(FIXTURE_QUERIES / "things.rq")
    assert query.title == "Things and their counts"
    assert query.description == "Every thing with its English label; optionally only one."
    (param,) = query.parameters
    assert (param.name, param.type, param.optional) == ("thing", "iri", True)
    bound = query.substitutions({"thing": "<https://data.uppsala.se/id/thing/one>"})
    assert bound == {ox.Variable("thing"): ox.NamedNode("https://data.uppsala.se/id/thing/one")}
    assert query.substitutions({}) == {}
    with pytest.raises(BadRequest, match="absolute IRI"):
        query.substitutions({"thing": "one> . ?s ?p <x"})
    with pytest.raises(BadRequest, match="Unknown"):
        query.substitutions({"other": "1"})


def test_named_query_integer_parameter_and_rebase() -> None:
    query = read_named_query(FIXTURE_QUERIES / "at-least.rq", "http://127.0.0.1:1/")
    assert "<http://127.0.0.1:1/id/thing/count>" in query.text
    with pytest.raises(BadRequest, match="required"):
        query.substitutions({})
    with pytest.raises(BadRequest, match="integer"):
        query.substitutions({"min": "1 || true"})
    assert query.substitutions({"min": "2"})[ox.Variable("min")] == ox.Literal(2)


# -- serializers against the W3C expected outputs ---------------------------------------------

def _w3c_store(data: str) -> ox.Store:
    store = ox.Store()
    store.load(path=W3C / data, format=ox.RdfFormat.TURTLE,
               base_iri=(W3C / data).as_uri())
    return store


_XSD_NUMBER = re.compile(r'"([^"]*)"\^\^<http://www.w3.org/2001/XMLSchema#(double|decimal|integer)>')


def _cell(cell: str) -> object:
    """Blank-node labels are interchangeable; numbers compare by value, because Oxigraph
    keeps xsd:double in its own lexical form (1.0e6 comes back as 1000000)."""
    if cell.startswith("_:"):
        return "_:b"
    match = _XSD_NUMBER.fullmatch(cell)
    try:
        return float(match.group(1) if match else cell)
    except ValueError:
        return cell


def _rows(text: str, sep: str) -> list[list[object]]:
    reader = csv.reader(io.StringIO(text), delimiter=sep) if sep == "," else \
        [line.split("\t") for line in text.splitlines()]
    return [[_cell(cell) for cell in row] for row in reader if row]


@pytest.mark.parametrize(("query", "data", "expected"), [
    ("csv-tsv-res/csvtsv01.rq", "csv-tsv-res/data.ttl", "csv-tsv-res/csvtsv01"),
    ("csv-tsv-res/csvtsv02.rq", "csv-tsv-res/data.ttl", "csv-tsv-res/csvtsv02"),
    ("csv-tsv-res/csvtsv01.rq", "csv-tsv-res/data2.ttl", "csv-tsv-res/csvtsv03"),
])
@pytest.mark.parametrize("name", ["csv", "tsv"])
def test_csv_tsv_results_match_w3c(query: str, data: str, expected: str, name: str) -> None:
    text = (W3C / query).read_text()
    found: Any = _w3c_store(data).query(text)
    variables = sorted((v.value for v in found.variables), key=star_order(text).index)
    if data.endswith("data2.ttl"):
        # The corner cases of typed literals, written as parsed: a store would hand back
        # xsd:negativeInteger as xsd:integer and 1.0E6 as 1000000 (Oxigraph normalises).
        triples = sorted(ox.parse(path=W3C / data, format=ox.RdfFormat.TURTLE), key=str)
        found = [{"s": t.subject, "p": t.predicate, "o": t.object} for t in triples]
    body = b"".join(results.solutions(variables, found, name)).decode()
    sep = "," if name == "csv" else "\t"
    assert _rows(body, sep) == _rows((W3C / f"{expected}.{name}").read_text(), sep)
    if name == "csv":
        assert body.endswith("\r\n") and "\r\n" in body.splitlines(keepends=True)[0]


@pytest.mark.parametrize("number", ["01", "02", "03", "04"])
def test_json_results_match_w3c(number: str) -> None:
    text = (W3C / f"json-res/jsonres{number}.rq").read_text()
    found = _w3c_store("json-res/data.ttl").query(text)
    expected = json.loads((W3C / f"json-res/jsonres{number}.srj").read_text())
    if isinstance(found, ox.QueryBoolean):
        assert json.loads(results.boolean(bool(found), "json")) == expected
        return
    order = star_order(text) or tuple(v.value for v in found.variables)
    variables = sorted((v.value for v in found.variables), key=order.index)
    ours = json.loads(b"".join(results.solutions(variables, found, "json")))
    assert ours["head"]["vars"] == expected["head"]["vars"]
    relabel = (lambda rows: [{k: ({**v, "value": "b"} if v["type"] == "bnode" else v)
                              for k, v in row.items()} for row in rows])
    assert relabel(ours["results"]["bindings"]) == relabel(expected["results"]["bindings"])


def test_xml_results_are_read_back_by_pyoxigraph() -> None:
    store = _w3c_store("csv-tsv-res/data2.ttl")
    query = (W3C / "csv-tsv-res/csvtsv01.rq").read_text()
    found = store.query(query)
    body = b"".join(results.solutions([v.value for v in found.variables], found, "xml"))
    parsed = ox.parse_query_results(body, ox.QueryResultsFormat.XML)
    assert [[str(s[v]) for v in ("s", "p", "o")] for s in parsed] == \
        [[str(s[v]) for v in ("s", "p", "o")] for s in store.query(query)]


@pytest.mark.parametrize("name", ["json", "xml", "csv", "tsv"])
def test_boolean(name: str) -> None:
    assert b"true" in results.boolean(True, name)
    assert b"false" in results.boolean(False, name)
    if name in ("json", "xml"):
        parsed = ox.parse_query_results(results.boolean(True, name),
                                        ox.QueryResultsFormat.from_media_type(
                                            f"application/sparql-results+{name}"))
        assert bool(parsed) is True


def test_escaping() -> None:
    row = {"x": ox.Literal('a "b"\tc\nd & <e>', language="en")}
    assert b"a \\\"b\\\"\\tc\\nd & <e>\"@en" in b"".join(results.solutions(["x"], [row], "tsv"))
    assert b"&amp; &lt;e&gt;" in b"".join(results.solutions(["x"], [row], "xml"))
    assert b'"a ""b""\tc\nd & <e>"' in b"".join(results.solutions(["x"], [row], "csv"))


# -- the row bound -----------------------------------------------------------------------------

@pytest.mark.parametrize(("total", "max_rows", "buffer", "truncated", "count"), [
    (5, 10, 100, False, 5),
    (10, 10, 100, False, 10),
    (11, 10, 100, True, 10),
    (500, 200, 50, True, 200),   # buffer full: answered by a second evaluation
    (200, 200, 50, False, 200),
    (150, 200, 50, False, 150),
])
def test_bounded(total: int, max_rows: int, buffer: int, truncated: bool, count: int) -> None:
    again_calls = []

    def again():  # type: ignore[no-untyped-def]
        again_calls.append(1)
        return iter(range(total))

    found, rows = bounded(iter(range(total)), again, max_rows, buffer)
    assert (found, len(list(rows))) == (truncated, count)
    assert len(again_calls) <= 1


@pytest.mark.parametrize(("query", "limit"), [
    ("SELECT * WHERE { ?s ?p ?o } LIMIT 10000", 10000),
    ("SELECT * { ?s ?p ?o } ORDER BY ?s LIMIT 12 OFFSET 3", 12),
    ("SELECT * { { SELECT * { ?s ?p ?o } LIMIT 5 } }", None),     # a subquery's is not it
    ("SELECT * { ?s ?p ?o FILTER(?o = 'LIMIT 3') }", None),        # nor one in a string
    ("SELECT * { ?s ?p ?o } # LIMIT 2", None),                      # nor in a comment
])
def test_top_level_limit(query: str, limit: int | None) -> None:
    from publisher.sparql_tokens import top_level_limit  # noqa: PLC0415

    assert top_level_limit(query) == limit
