"""publisher/result_cache.py and its use by /sparql and /api/queries: repeated GET queries are
answered from memory with an ETag (304 on If-None-Match), POST never is, and a data change
never leaves a stale answer (the key holds the data version; a reload brings a new cache)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
from fastapi.testclient import TestClient
from httpx import Response

from publisher.app import create_app
from publisher.config import Settings
from publisher.result_cache import Answer, ResultCache, cache_key, normalise
from tests.routes.conftest import mini_settings
from tests.support import copy_of_sources

JSON = {"Accept": "application/sparql-results+json"}
COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"


# -- pure ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("a", "b", "same"), [
    ("SELECT * WHERE { ?s ?p ?o }", "SELECT *\n  WHERE {\t?s ?p ?o } # all", True),
    ("SELECT * WHERE { ?s ?p ?o } # one", "SELECT * WHERE { ?s ?p ?o } # two", True),
    ("VALUES ?x { 12 }", "VALUES ?x { 1 2 }", False),       # adjacency is meaning
    ('FILTER(?l = "a  b")', 'FILTER(?l = "a b")', False),   # strings are untouched
    ('FILTER(?l = "a # b")', 'FILTER(?l = "a ")', False),   # no comment inside a string
    ("ASK { <http://x/a#b> ?p ?o }", "ASK { <http://x/a> ?p ?o }", False),  # nor in an IRI
    ("select * where { ?s ?p ?o }", "SELECT * WHERE { ?s ?p ?o }", False),  # case is kept
])
def test_normalise_collapses_only_what_the_engine_ignores(a: str, b: str, same: bool) -> None:
    assert (normalise(a) == normalise(b)) is same


EX = "PREFIX ex: <http://x/> "
#: every PN_LOCAL_ESC of the SPARQL 1.1 grammar, and PLX's percent escapes
ESCAPES = ["\\" + c for c in "_~.-!$&'()*+,;=/?#@%"] + ["%23", "%41"]


def _answer(query: str) -> object:
    """What the engine makes of a query: its rows, or that it is an error."""
    try:
        found = ox.Store().query(query)
    except SyntaxError:
        return "syntax error"
    if isinstance(found, ox.QueryBoolean):
        return bool(found)
    return [[str(term) for term in row] for row in found]


@pytest.mark.parametrize("escape", ESCAPES)
def test_escaped_local_names_are_not_comments_or_strings(escape: str) -> None:
    escape += "41" if escape == "\\%" else ""  # a "%" in an IRI is followed by two hex digits
    one = EX + f"SELECT (STR(ex:a{escape}one) AS ?x) WHERE {{}} # 'a comment\n"
    two = EX + f"SELECT (STR(ex:a{escape}two) AS ?x) WHERE {{}} # 'another\n"
    assert _answer(one) != _answer(two)
    assert normalise(one) != normalise(two)
    assert cache_key("v", one, {}, "json", 10) != cache_key("v", two, {}, "json", 10)
    assert normalise(one) == normalise(one.replace("# 'a comment", "# 'changed  "))
    assert normalise(one).endswith("WHERE {}")  # the genuine comment is dropped


@pytest.mark.parametrize(("a", "b"), [
    # the defect: "\#" taken for a comment
    (EX + r"SELECT (STR(ex:a\#one) AS ?x) WHERE {}", EX + r"SELECT (STR(ex:a\#two) AS ?x) WHERE {}"),
    # a combining mark or CJK punctuation inside a local name, then an escape
    (EX + "SELECT (STR(ex:a\u0301\\#one) AS ?x) {}", EX + "SELECT (STR(ex:a\u0301\\#two) AS ?x) {}"),
    (EX + "SELECT (STR(ex:a\u3001\\#one) AS ?x) {}", EX + "SELECT (STR(ex:a\u3001\\#two) AS ?x) {}"),
    # \' does not open a string
    (EX + r"SELECT ?y (STR(ex:a\'b) AS ?x) { BIND('#1' AS ?y) }",
     EX + r"SELECT ?y (STR(ex:a\'b) AS ?x) { BIND('#2' AS ?y) }"),
    # \u escapes inside IRIs and strings
    (r"SELECT (STR(<http://x/\u00e9#one>) AS ?x) {}", r"SELECT (STR(<http://x/\u00e9#two>) AS ?x) {}"),
    (r'SELECT ("a\u0022#one" AS ?x) {}', r'SELECT ("a\u0022#two" AS ?x) {}'),
    # "<" read as less-than, not an IRI: then "'" opens a string and "#" a comment
    ("SELECT (IF('a'<'x>','#1','#2') AS ?x) {}", "SELECT (IF('a'<'x>','#3','#2') AS ?x) {}"),
    (EX + "SELECT (IF(1<ex:a#>\n,'y','n') AS ?x) {}", EX + "SELECT (IF(1<ex:a#> ,'y','n') AS ?x) {}"),
    # only SPARQL's white space is white space
    ("SELECT\u00a0(1 AS ?x) {}", "SELECT (1 AS ?x) {}"),
    ("SELECT\x0c(1 AS ?x) {}", "SELECT (1 AS ?x) {}"),
])
def test_queries_that_differ_in_meaning_never_share_a_key(a: str, b: str) -> None:
    assert _answer(a) != _answer(b)
    assert normalise(a) != normalise(b)


@pytest.mark.parametrize(("a", "b"), [
    (EX + "SELECT (STR(ex:a\\#b) AS ?x) {} # one", EX + "SELECT (STR(ex:a\\#b) AS ?x) {}\n# two"),
    ("PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> # one\nASK { ?s rdfs:label ?o }",
     "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>   # two\n\n  ASK {\t?s rdfs:label ?o }"),
    ("ASK { ?s ?p 'a # b' } # c", "ASK  {  ?s ?p 'a # b' }"),
])
def test_genuine_comments_and_white_space_are_still_dropped(a: str, b: str) -> None:
    assert _answer(a) == _answer(b)
    assert normalise(a) == normalise(b)


def test_the_key_names_everything_the_answer_depends_on() -> None:
    base = cache_key("v1", COUNT, {"use_default_graph_as_union": True}, "json", 100)
    assert base == cache_key("v1", COUNT + "  # again", {"use_default_graph_as_union": True},
                             "json", 100)
    for other in (
        cache_key("v2", COUNT, {"use_default_graph_as_union": True}, "json", 100),
        cache_key("v1", COUNT, {"use_default_graph_as_union": True}, "csv", 100),
        cache_key("v1", COUNT, {"use_default_graph_as_union": True}, "json", 99),
        cache_key("v1", COUNT, {"default_graph": ["https://g/"], "named_graphs": []}, "json", 100),
        cache_key("v1", COUNT, {"use_default_graph_as_union": True}, "json", 100, {"x": "<a>"}),
    ):
        assert other != base


def test_bounded_by_bytes_least_recently_used_first() -> None:
    cache = ResultCache(max_bytes=3000, max_entry_fraction=2)
    for name in "abc":
        cache.put(name, Answer(b"x" * 700, "text/csv"))  # + 200 each for bookkeeping
    assert cache.get("a") is not None          # a is now the most recently used
    cache.put("d", Answer(b"x" * 700, "text/csv"))
    assert cache.get("b") is None and cache.get("a") is not None
    assert cache.size <= 3000
    cache.put("big", Answer(b"x" * 1600, "text/csv"))  # over a single entry's share
    assert cache.get("big") is None
    assert ResultCache(max_bytes=0).max_entry == 0


def test_only_a_stream_that_ended_is_kept() -> None:
    async def chunks(fail: bool) -> AsyncIterator[bytes]:
        yield b"part one, "
        if fail:
            raise RuntimeError("cut")
        yield b"part two"

    async def drain(cache: ResultCache, fail: bool, stop_early: bool = False) -> None:
        stream = cache.keep("k", chunks(fail), "text/csv")
        async for _ in stream:
            if stop_early:  # the client went away
                await stream.aclose()
                return

    cache = ResultCache()
    with pytest.raises(RuntimeError):
        asyncio.run(drain(cache, fail=True))
    asyncio.run(drain(cache, fail=False, stop_early=True))
    assert cache.get("k") is None
    asyncio.run(drain(cache, fail=False))
    found = cache.get("k")
    assert found is not None and found.body == b"part one, part two"


# -- through the app ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(create_app(mini_settings()), base_url="https://data.uppsala.se") as c:
        yield c


def test_a_repeated_get_is_answered_from_the_cache_with_validators(client: TestClient) -> None:
    cache: ResultCache = client.app.state.runtime.results  # type: ignore[attr-defined]
    query = "SELECT ?city WHERE { ?city a <http://schema.org/City> } ORDER BY ?city"
    first = client.get("/sparql", params={"query": query}, headers=JSON)
    hits = cache.hits
    again = client.get("/sparql", params={"query": query + "\n# the same"}, headers=JSON)
    assert first.status_code == again.status_code == 200
    assert cache.hits == hits + 1
    assert again.content == first.content
    assert again.headers["etag"] == first.headers["etag"]
    assert again.headers["x-sparql-truncated"] == "false"
    assert "max-age" in again.headers["cache-control"]
    assert again.headers["content-type"] == first.headers["content-type"]
    not_modified = client.get("/sparql", params={"query": query},
                              headers={**JSON, "If-None-Match": first.headers["etag"]})
    assert not_modified.status_code == 304 and not_modified.content == b""
    csv = client.get("/sparql", params={"query": query}, headers={"Accept": "text/csv"})
    assert csv.headers["etag"] != first.headers["etag"] and csv.text.startswith("city\r\n")


def test_post_is_always_evaluated(client: TestClient) -> None:
    cache: ResultCache = client.app.state.runtime.results  # type: ignore[attr-defined]
    before = (cache.hits, cache.misses, len(cache))
    for _ in range(2):
        answer = client.post("/sparql", data={"query": "ASK { ?s ?p ?o }"}, headers=JSON)
        assert answer.status_code == 200 and answer.json()["boolean"] is True
        assert "etag" not in answer.headers
    assert (cache.hits, cache.misses, len(cache)) == before


def test_a_truncated_answer_is_not_kept(tmp_path: Path) -> None:
    settings = mini_settings(max_rows=2)
    with TestClient(create_app(settings), base_url="https://data.uppsala.se") as small:
        cache: ResultCache = small.app.state.runtime.results  # type: ignore[attr-defined]
        answer = small.get("/sparql", params={"query": "SELECT * WHERE { ?s ?p ?o }"},
                           headers=JSON)
        assert answer.headers["x-sparql-truncated"] == "true"
        assert len(cache) == 0


def test_named_queries_are_cached_and_validated(client: TestClient) -> None:
    listing = client.get("/api/queries").json()
    if not listing:
        pytest.skip("the fixture has no named queries")
    name = next(q["name"] for q in listing if not any(not p["optional"]
                                                      for p in q["parameters"]))
    first = client.get(f"/api/queries/{name}", headers=JSON)
    assert first.status_code == 200 and first.headers["etag"].startswith('W/"q-')
    again = client.get(f"/api/queries/{name}", headers=JSON)
    assert again.content == first.content and again.headers["etag"] == first.headers["etag"]
    assert client.get(f"/api/queries/{name}", headers={
        **JSON, "If-None-Match": first.headers["etag"]}).status_code == 304


def test_a_changed_file_is_never_answered_from_the_cache(tmp_path: Path) -> None:
    copy_of_sources(tmp_path)
    twins = tmp_path / "data" / "twin-cities.ttl"
    settings = Settings(data_dir=tmp_path / "data", ontology_dir=tmp_path / "ontology")
    query = ('SELECT ?label WHERE { <https://data.uppsala.se/id/place/tartu> '
             '<http://www.w3.org/2000/01/rdf-schema#label> ?label FILTER(lang(?label) = "en") }')

    def label(answer: Response) -> str:
        return str(answer.json()["results"]["bindings"][0]["label"]["value"])

    with TestClient(create_app(settings), base_url="https://data.uppsala.se") as c:
        before = c.get("/sparql", params={"query": query}, headers=JSON)
        assert c.get("/sparql", params={"query": query}, headers=JSON).content == before.content
        assert label(before) == "Tartu"
        twins.write_text(twins.read_text().replace('"Tartu"@en', '"Tartu (edited)"@en', 1))
        assert c.portal is not None
        assert c.portal.call(c.app.state.reloader.reload, "request") is True  # type: ignore[attr-defined]
        after = c.get("/sparql", params={"query": query}, headers=JSON)
        assert label(after) == "Tartu (edited)"
        assert after.headers["etag"] != before.headers["etag"]
        stale = c.get("/sparql", params={"query": query},
                      headers={**JSON, "If-None-Match": before.headers["etag"]})
        assert stale.status_code == 200 and label(stale) == "Tartu (edited)"


def test_an_escaped_local_name_is_not_answered_from_another_querys_cache(
        client: TestClient) -> None:
    answers = []
    for name in ("one", "two"):
        query = f"PREFIX ex: <http://x/> SELECT (STR(ex:a\\#{name}) AS ?x) WHERE {{}}\n"
        answer = client.get("/sparql", params={"query": query}, headers=JSON)
        assert answer.status_code == 200
        answers.append(answer)
    assert [a.json()["results"]["bindings"][0]["x"]["value"] for a in answers] == [
        "http://x/a#one", "http://x/a#two"]
    assert answers[0].headers["etag"] != answers[1].headers["etag"]
