"""The VoID description served at /.well-known/void. Pure.

Every number in it is computed from the store with the SPARQL queries below (the tests
run the same counts through the SPARQL endpoint and compare): triples, entities (IRI
subjects in our URI space), classes, properties, distinct subjects and objects, and one
void:Linkset per (target dataset, link predicate) for the links to Wikidata and GeoNames.

Each query scans the whole store. ``statistics`` runs them all once and keeps the answers
as ``Statistics``, with what the catalogue declares (the vocabularies used, the first year
covered) and the triples per graph the service description gives; a disk store gets its
Statistics when it is loaded (descriptions.py), so no server computes them.

A local store's engine gives the same numbers in fewer passes (``_by_engine``): the distinct
subjects and the distinct objects are each written once by the engine as TSV and counted
in pieces, without a Python object a row, and the links are read from the objects found
in the targets' spaces; a store of one graph has its triples counted without a DISTINCT.
The counting queries, which test each triple's IRI as a string, take almost three times as
long: 8.0 s against 2.9 s at 10^6 triples, on one core. A remote store is asked the queries,
which it aggregates itself.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pyoxigraph as ox

from publisher.config import DATASET_PATH, Settings
from publisher.dumps import DUMP_FORMATS, DUMPS_PATH
from publisher.namespaces import STANDARD_PREFIXES
from publisher.store import Store

VOID = "http://rdfs.org/ns/void#"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
XSD = "http://www.w3.org/2001/XMLSchema#"
DCT = "http://purl.org/dc/terms/"
FOAF = "http://xmlns.com/foaf/0.1/"
VOID_PATH = ".well-known/void"

#: name -> SPARQL that returns one ?n. ``{space}`` is our URI space (``<base>id/``).
COUNTS = {
    "triples": "SELECT (COUNT(*) AS ?n) WHERE { SELECT DISTINCT ?s ?p ?o WHERE { ?s ?p ?o } }",
    "entities": "SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s ?p ?o "
                "FILTER(isIRI(?s) && STRSTARTS(STR(?s), \"{space}\")) }",
    "classes": "SELECT (COUNT(DISTINCT ?c) AS ?n) WHERE { ?s a ?c }",
    "properties": "SELECT (COUNT(DISTINCT ?p) AS ?n) WHERE { ?s ?p ?o }",
    "distinctSubjects": "SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s ?p ?o }",
    "distinctObjects": "SELECT (COUNT(DISTINCT ?o) AS ?n) WHERE { ?s ?p ?o }",
}
#: Datasets we link to: name, URI space of their entities, home page.
TARGETS = (
    ("wikidata", "http://www.wikidata.org/entity/", "https://www.wikidata.org/"),
    ("geonames", "http://sws.geonames.org/", "https://www.geonames.org/"),
)
LINKS = ("SELECT ?p (COUNT(*) AS ?n) WHERE {{ SELECT DISTINCT ?s ?p ?o WHERE {{ ?s ?p ?o "
         "FILTER(isIRI(?o) && STRSTARTS(STR(?o), \"{target}\")) }} }} GROUP BY ?p ORDER BY ?p")
GRAPH_SIZES = "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"
#: the triples of the default graph alone (without the union of the named graphs)
DEFAULT_GRAPH_SIZE = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
#: The year of the earliest twin-town agreement (the catalogue's dct:temporal). The class
#: by its IRI, which the engine finds in an index (matched by the end of its name, every
#: typed resource was read); still 1.6 s at 10^7 triples, for the join with the years.
FIRST_YEAR = ("SELECT (MIN(STR(?year)) AS ?start) WHERE {{ ?agreement a <{cls}> ; "
              "<http://schema.org/startDate> ?year }}")


@dataclass(frozen=True)
class Statistics:
    """What the descriptions of the dataset count: each number a scan of the whole store."""

    counts: dict[str, int]                         # COUNTS' name -> number
    linksets: dict[str, list[tuple[str, int]]]     # TARGETS' name -> (link predicate, links)
    vocabularies: list[str]
    graphs: dict[str, int]                         # named graph -> its triples
    first_year: str | None                         # see FIRST_YEAR

    def to_json(self) -> bytes:
        return json.dumps({"counts": self.counts, "linksets": self.linksets,
                           "vocabularies": self.vocabularies, "graphs": self.graphs,
                           "first_year": self.first_year},
                          indent=2, sort_keys=True).encode()

    @classmethod
    def from_json(cls, body: bytes) -> Statistics:
        """Raises ValueError (or KeyError, TypeError) on anything but what to_json wrote."""
        table = json.loads(body)
        return cls({str(k): int(v) for k, v in table["counts"].items()},
                   {str(k): [(str(p), int(n)) for p, n in v]
                    for k, v in table["linksets"].items()},
                   [str(v) for v in table["vocabularies"]],
                   {str(k): int(v) for k, v in table["graphs"].items()},
                   None if table["first_year"] is None else str(table["first_year"]))


def statistics(settings: Settings, store: Store) -> Statistics:
    """Every number the descriptions give, counted over the whole store."""
    graphs = {row["g"].value: int(row["n"].value) for row in store.query(GRAPH_SIZES)}
    properties = _distinct(store, "SELECT DISTINCT ?term WHERE { ?s ?term ?o }")
    classes = _distinct(store, "SELECT DISTINCT ?term WHERE { ?s a ?term }")
    counts = {"properties": len(properties), "classes": len(classes)}
    engine: ox.Store | None = getattr(store, "engine", None)
    if engine is None:
        counts.update({name: count(store, name, settings) for name in COUNTS
                       if name not in counts})
        links = {name: linksets(store, space) for name, space, _ in TARGETS}
    else:
        scanned, links = _by_engine(settings, store, engine, graphs)
        counts.update(scanned)
    return Statistics({name: counts[name] for name in COUNTS}, links,
                      vocabularies(properties, classes, settings), graphs,
                      first_year(settings, store))


def _distinct(store: Store, query: str) -> list[ox.NamedNode | ox.BlankNode | ox.Literal]:
    return [row["term"] for row in store.query(query)]


def _by_engine(settings: Settings, store: Store, engine: ox.Store, graphs: dict[str, int]) \
        -> tuple[dict[str, int], dict[str, list[tuple[str, int]]]]:
    """The triples, entities, distinct subjects and objects and the link sets, as COUNTS and
    LINKS give them, read from the store's engine (see the module's docstring)."""
    default = _number(store, DEFAULT_GRAPH_SIZE, use_default_graph_as_union=False)
    sizes = [n for n in (default, *graphs.values()) if n]
    # a graph holds each triple once: with one graph there is nothing to merge
    triples = sum(sizes) if len(sizes) <= 1 else count(store, "triples", settings)
    subjects = _Rows(uri_space(settings))
    _solutions(store, "SELECT DISTINCT ?s WHERE { ?s ?p ?o }").serialize(
        subjects, ox.QueryResultsFormat.TSV)  # type: ignore[arg-type]
    objects = _Rows(*(space for _, space, _ in TARGETS), keep=True)
    _solutions(store, "SELECT DISTINCT ?o WHERE { ?s ?p ?o }").serialize(
        objects, ox.QueryResultsFormat.TSV)  # type: ignore[arg-type]
    entities = subjects.finish()[uri_space(settings)]
    objects.finish()
    counts = {"triples": triples, "entities": entities, "distinctSubjects": subjects.rows,
              "distinctObjects": objects.rows}
    return counts, {name: _links(engine, objects.kept[space]) for name, space, _ in TARGETS}


def _solutions(store: Store, query: str, **options: Any) -> ox.QuerySolutions:
    found = store.query(query, **options)
    assert isinstance(found, ox.QuerySolutions)  # a SELECT's answer
    return found


def _number(store: Store, query: str, **options: Any) -> int:
    """The ?n of a counting query's one row."""
    return int(next(iter(_solutions(store, query, **options)))["n"].value)


class _Rows:
    """A file-like sink for a one-column TSV answer of the engine's: counts its rows and
    those that are IRIs in each of ``spaces``, and with ``keep`` keeps those IRIs. The
    engine writes up to 8 kB at a time; each piece is counted by bytes.count (and searched
    by a regular expression), not row by row in Python, and a row cut between two pieces
    is counted once it ends."""

    def __init__(self, *spaces: str, keep: bool = False) -> None:
        self.rows = -1  # the header line
        self.tail = b""  # a row not yet ended
        self.starts = {space: b"<" + space.encode() for space in spaces}
        self.matches = dict.fromkeys(spaces, 0)
        self.kept: dict[str, list[str]] = {space: [] for space in spaces}
        starts = b"|".join(re.escape(start) for start in self.starts.values())
        #: a whole row that is an IRI in one of the spaces
        self.pattern = re.compile(b"^(%s)[^>\n]*>$" % starts, re.MULTILINE) if keep else None

    def write(self, data: bytes) -> int:
        block = self.tail + data
        end = block.rfind(b"\n") + 1
        self._rows(block[:end])
        self.tail = block[end:]
        return len(data)

    def flush(self) -> None:
        pass

    def finish(self) -> dict[str, int]:
        """The rows in each space (``rows``: all of them) once the engine is done."""
        if self.tail:
            self._rows(self.tail + b"\n")
            self.tail = b""
        return self.matches

    def _rows(self, lines: bytes) -> None:
        """Whole lines, each ended by a newline."""
        self.rows += lines.count(b"\n")
        for space, start in self.starts.items():
            self.matches[space] += lines.count(b"\n" + start) + lines.startswith(start)
        if self.pattern is not None:
            for found in self.pattern.finditer(lines):
                iri = found.group(0)[1:-1].decode()
                for space in self.kept:  # each space it is in, as LINKS has it
                    if iri.startswith(space):
                        self.kept[space].append(iri)


def _links(engine: ox.Store, objects: list[str]) -> list[tuple[str, int]]:
    """LINKS for the objects of one target: (link predicate, distinct triples), by IRI."""
    per: Counter[str] = Counter()
    for iri in objects:
        pairs = {(quad.subject, quad.predicate.value)
                 for quad in engine.quads_for_pattern(None, None, ox.NamedNode(iri), None)}
        per.update(predicate for _, predicate in pairs)
    return sorted(per.items())


def first_year(settings: Settings, store: Store) -> str | None:
    rows = list(store.query(FIRST_YEAR.format(cls=settings.iri("def/intl#TwinningAgreement"))))
    return rows[0]["start"].value if rows and rows[0]["start"] is not None else None


def uri_space(settings: Settings) -> str:
    return settings.iri("id/")


def count(store: Store, name: str, settings: Settings) -> int:
    return _number(store, COUNTS[name].replace("{space}", uri_space(settings)))


def linksets(store: Store, target: str) -> list[tuple[str, int]]:
    """(link predicate, number of distinct triples) for links into ``target``'s space."""
    return [(row["p"].value, int(row["n"].value))
            for row in store.query(LINKS.format(target=target))]


def vocabularies(properties: list[Any], classes: list[Any], settings: Settings) -> list[str]:
    """The vocabularies the data uses: namespaces of its predicates and classes
    (rdf: and xsd: are the language itself, not a vocabulary)."""
    found: set[str] = set()
    for term in [*properties, *classes]:
        if not isinstance(term, ox.NamedNode):
            continue
        value = term.value
        cut = max(value.rfind("#"), value.rfind("/"))
        namespace = value[:cut + 1]
        if namespace in (RDF, XSD) or not namespace.startswith(("http://", "https://")):
            continue
        found.add(namespace.rstrip("#") if namespace.startswith(settings.base) else namespace)
    return sorted(found)


def _short(predicate: str) -> str:
    for prefix, namespace in sorted(STANDARD_PREFIXES.items()):
        if predicate.startswith(namespace):
            return f"{prefix}-{predicate[len(namespace):]}"
    return predicate.rstrip("/#").rsplit("/", 1)[-1].replace("#", "-")


def void_triples(settings: Settings, store: Store,
                 stats: Statistics | None = None) -> list[ox.Triple]:
    """The VoID description; its numbers are ``stats`` (computed now if not given)."""
    stats = stats if stats is not None else statistics(settings, store)
    doc = settings.iri(VOID_PATH)
    dataset = settings.iri(DATASET_PATH)
    out: list[ox.Triple] = []

    def add(s: str, p: str, o: str | ox.Literal | ox.NamedNode) -> None:
        out.append(ox.Triple(ox.NamedNode(s), ox.NamedNode(p),
                             ox.NamedNode(o) if isinstance(o, str) else o))

    def number(n: int) -> ox.Literal:
        return ox.Literal(str(n), datatype=ox.NamedNode(XSD + "integer"))

    add(doc, RDF + "type", VOID + "DatasetDescription")
    add(doc, DCT + "title", ox.Literal("VoID-beskrivning av datamängden", language="sv"))
    add(doc, DCT + "title", ox.Literal("VoID description of the dataset", language="en"))
    add(doc, FOAF + "primaryTopic", dataset)
    add(dataset, RDF + "type", VOID + "Dataset")
    for predicate in (DCT + "title", DCT + "description", DCT + "license", DCT + "publisher",
                      VOID + "rootResource", VOID + "exampleResource"):
        for row in store.query(f"SELECT ?o WHERE {{ <{dataset}> <{predicate}> ?o }}"):
            if not isinstance(row["o"], ox.BlankNode):
                add(dataset, predicate, row["o"])
    moment = dt.datetime.fromtimestamp(int(store.version_time()), dt.timezone.utc)
    add(dataset, DCT + "modified", ox.Literal(moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                              datatype=ox.NamedNode(XSD + "dateTime")))
    add(dataset, VOID + "uriSpace", ox.Literal(uri_space(settings)))
    add(dataset, VOID + "sparqlEndpoint", settings.iri("sparql"))
    for dump in DUMP_FORMATS:
        add(dataset, VOID + "dataDump", settings.iri(DUMPS_PATH + dump.filename))
    for feature in ("Turtle", "N-Triples", "JSON-LD", "RDF_XML"):
        add(dataset, VOID + "feature", f"http://www.w3.org/ns/formats/{feature}")
    for vocabulary in stats.vocabularies:
        add(dataset, VOID + "vocabulary", vocabulary)
    for name in COUNTS:
        add(dataset, VOID + name, number(stats.counts[name]))
    for name, space, homepage in TARGETS:
        target = f"{doc}#{name}"
        add(target, RDF + "type", VOID + "Dataset")
        add(target, VOID + "uriSpace", ox.Literal(space))
        add(target, FOAF + "homepage", homepage)
        for predicate, links in stats.linksets[name]:
            linkset = f"{doc}#links-{name}-{_short(predicate)}"
            add(dataset, VOID + "subset", linkset)
            add(linkset, RDF + "type", VOID + "Linkset")
            add(linkset, VOID + "subjectsTarget", dataset)
            add(linkset, VOID + "objectsTarget", target)
            add(linkset, VOID + "linkPredicate", predicate)
            add(linkset, VOID + "triples", number(links))
    return sorted(set(out), key=str)
