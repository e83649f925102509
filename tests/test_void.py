"""publisher/void.py: the numbers a local store's engine counts (void._by_engine) are the
numbers the counting queries give (void.COUNTS, void.LINKS), which a remote store is asked,
on the published data and on stores built to trip the engine's way up: a triple in more than
one graph, the default graph, rows longer than the engine's writes, literals that spell an
IRI of ours or of a target over a line break."""

from __future__ import annotations

from typing import Any

import pyoxigraph as ox
import pytest

from publisher import void
from publisher.config import Settings
from publisher.store import OxigraphStore

BASE = "https://data.uppsala.se/"
SAME_AS = ox.NamedNode("http://www.w3.org/2002/07/owl#sameAs")
EXACT = ox.NamedNode("http://www.w3.org/2004/02/skos/core#exactMatch")
LABEL = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label")
TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
WIKIDATA, GEONAMES = "http://www.wikidata.org/entity/", "http://sws.geonames.org/"


class QueriesOnly:
    """A store that only answers queries, as a remote store does: statistics then asks the
    counting queries."""

    def __init__(self, store: OxigraphStore) -> None:
        self.store = store

    def query(self, text: str, **options: Any) -> Any:
        return self.store.query(text, **options)


def _both(store: OxigraphStore) -> void.Statistics:
    settings = Settings(base=BASE)
    by_engine = void.statistics(settings, store)
    assert by_engine == void.statistics(settings, QueriesOnly(store))  # type: ignore[arg-type]
    return by_engine


def _store(quads: list[ox.Quad]) -> OxigraphStore:
    engine = ox.Store()
    engine.extend(quads)
    return OxigraphStore(engine, "v", 0.0, None)


def _id(name: str) -> ox.NamedNode:
    return ox.NamedNode(f"{BASE}id/{name}")


def test_the_published_data_counts_the_same_both_ways() -> None:
    stats = _both(OxigraphStore.open(Settings()))
    assert stats.counts["entities"] > 50 and len(stats.graphs) > 1
    assert {name for name, links in stats.linksets.items() if links} == {"wikidata", "geonames"}


def _tricky(graphs: list[ox.NamedNode | ox.DefaultGraph]) -> list[ox.Quad]:
    quads = []
    for graph in graphs:  # every graph holds these: each must count once
        quads += [ox.Quad(_id("uppsala"), SAME_AS, ox.NamedNode(WIKIDATA + "Q25286"), graph),
                  ox.Quad(_id("uppsala"), LABEL, ox.Literal("Uppsala", language="sv"), graph)]
    first = graphs[0]
    long_text = "x" * 20_000  # longer than a write of the engine's: a row split in two
    quads += [
        ox.Quad(_id("uppsala"), EXACT, ox.NamedNode(WIKIDATA + "Q25286"), first),
        ox.Quad(_id("uppsala"), SAME_AS, ox.NamedNode(GEONAMES + "2666199"), first),
        ox.Quad(_id("uppsala"), SAME_AS, ox.NamedNode(GEONAMES), first),  # the space itself
        ox.Quad(ox.NamedNode("http://example.org/elsewhere"), SAME_AS,
                ox.NamedNode(WIKIDATA + "Q1"), first),
        ox.Quad(ox.BlankNode("b1"), LABEL, ox.Literal(long_text), first),
        ox.Quad(ox.BlankNode("b1"), TYPE, ox.NamedNode(f"{BASE}def/intl#Thing"), first),
        # literals that spell our IRIs and a target's after a line break
        ox.Quad(_id("text"), LABEL, ox.Literal(f"a\n<{BASE}id/fake>\n<{WIKIDATA}Q2>"), first),
        ox.Quad(_id("text"), LABEL, ox.Literal(f"{WIKIDATA}Q3"), first),
        ox.Quad(_id("text"), TYPE, ox.BlankNode("class"), first),
    ]
    quads += [ox.Quad(_id(f"n{i}"), SAME_AS, ox.NamedNode(f"{GEONAMES}{i}"), first)
              for i in range(3000)]  # many rows: many writes
    return quads


@pytest.mark.parametrize("graphs", [
    [ox.NamedNode(BASE + "graph/a")],
    [ox.DefaultGraph()],
    [ox.NamedNode(BASE + "graph/a"), ox.NamedNode(BASE + "graph/b")],
    [ox.DefaultGraph(), ox.NamedNode(BASE + "graph/a")],
], ids=["one-graph", "default-graph", "two-graphs", "default-and-one"])
def test_tricky_stores_count_the_same_both_ways(graphs: list[Any]) -> None:
    stats = _both(_store(_tricky(graphs)))
    assert stats.counts["triples"] == 2 + 9 + 3000  # each triple once
    assert stats.counts["entities"] == 3002 and stats.counts["distinctSubjects"] == 3004
    assert dict(stats.linksets["wikidata"]) == {SAME_AS.value: 2, EXACT.value: 1}
    assert dict(stats.linksets["geonames"]) == {SAME_AS.value: 3002}


def test_an_empty_store_counts_nothing() -> None:
    stats = _both(_store([]))
    assert set(stats.counts.values()) == {0}
    assert stats.linksets == {"wikidata": [], "geonames": []} and stats.graphs == {}


def test_rows_split_anywhere_count_the_same() -> None:
    """pyoxigraph 0.5 ends each write at a row's end; a row cut between two writes (another
    version, another buffer) must count the same."""
    answer = (f'?o\n<{WIKIDATA}Q1>\n"a\\n<{WIKIDATA}Q9>"\n_:b\n<{GEONAMES}7>\n'
              f'<http://example.org/{WIKIDATA}>\n<{WIKIDATA}Q2>').encode()  # no last newline
    for cut in range(len(answer) + 1):
        for second in range(cut, len(answer) + 1, 7):
            rows = void._Rows(WIKIDATA, GEONAMES, keep=True)
            for piece in (answer[:cut], answer[cut:second], answer[second:]):
                rows.write(piece)
            assert rows.finish() == {WIKIDATA: 2, GEONAMES: 1}, (cut, second)
            assert rows.rows == 6
            assert rows.kept == {WIKIDATA: [WIKIDATA + "Q1", WIKIDATA + "Q2"],
                                 GEONAMES: [GEONAMES + "7"]}
