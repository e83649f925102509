"""The checks behind ``publisher validate``; pure (no web framework).

    validate(settings) -> Report    (Finding and Report: validation_report.py)

Checks, each a ``Finding.check`` name:

    syntax       every file under ontology/ and data/ parses (all files are tried, every
                 error is reported with file:line:column); if any fails, the checks below
                 are skipped, since they would only echo the missing triples
    read         a file cannot be read at all
    shacl        the data (data/ plus ontology/intl.ttl and friends, without reasoning)
                 conforms to ontology/shapes.ttl; one finding per sh:ValidationResult
    described    every IRI under settings.base that is used (as subject, predicate or
                 object) is also the subject of at least one triple; graph IRIs excepted
    labels       every described IRI under <base>id/ and <base>def/ has an rdfs:label in
                 Swedish and in English
    blank-node   no blank nodes in data/ (ontology/ may use them for OWL lists and SHACL)
    empty        a file that holds no triples (a warning: emptied by mistake, its resources
                 then show up as violations in the files that point to them)
    datatype     every literal of the XSD date types rdflib does not check (gYear and the other
                 g types) is well-formed, read by the engine's own casts: SHACL's sh:datatype
                 fails an ill-typed literal (SHACL §4.1.1), but pyshacl knows ill-typed values
                 only of the types rdflib parses, so "nineteen47"^^xsd:gYear passed

The shapes are written against CANONICAL_BASE; when another base is served, read_quads
rewrites their IRIs and this module rewrites the namespaces inside their SPARQL text.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeGuard, cast

import pyoxigraph as ox
import rdflib
from pyshacl import validate as shacl_validate
from rdflib.namespace import RDF, RDFS, SH

from publisher.config import CANONICAL_BASE, Settings
from publisher.errors import DataError, DataSyntaxError
from publisher.source import SourceFile, read_quads, source_files
from publisher.validation_report import Finding, Report

SHAPES_FILE = "shapes.ttl"
SEVERITIES = {SH.Violation: "violation", SH.Warning: "warning", SH.Info: "info"}


#: triples above which validate says what it is doing: SHACL (pyshacl over rdflib) takes
#: minutes and gigabytes at some 10^6 triples, and said nothing meanwhile
LARGE = 100_000


def validate(settings: Settings, say: Callable[[str], None] | None = None) -> Report:
    """Run every check on the files the settings select (personal data included or not);
    on a large graph (``LARGE``), ``say`` is told before the slow checks that they are."""
    sources = source_files(settings)
    names = {s.graph: _display(s.path, settings) for s in sources}
    quads, findings = _parse_all(sources, settings)
    if say is not None and len(quads) > LARGE:
        say(f"{len(quads):,} triples read; the SHACL shapes take minutes at this size")
    files = tuple(names.values())
    if any(f.check != "empty" for f in findings):
        return Report(tuple(findings), files, 0)
    shapes = next((s for s in sources if s.path == settings.ontology_dir / SHAPES_FILE), None)
    shapes_graph = shapes.graph if shapes else None
    # (read_quads puts every quad in a named graph, never in the DefaultGraph)
    data = [q for q in quads
            if cast("ox.NamedNode | ox.BlankNode", q.graph_name).value != shapes_graph]
    shape_quads = [q for q in quads
                   if cast("ox.NamedNode | ox.BlankNode", q.graph_name).value == shapes_graph]
    if shapes is None:
        findings.append(Finding("shacl", "error", f"no {SHAPES_FILE} in {settings.ontology_dir}"))
    else:
        paths = {s.graph: s.path for s in sources}
        findings += _shacl(data, shape_quads, names, paths, settings)
        findings += _ill_typed(quads, names, paths, settings)
    findings += _described(quads, names, settings)
    findings += _labels(quads, names, settings)
    data_graphs = {s.graph for s in sources if s.path.is_relative_to(settings.data_dir)}
    findings += _blank_nodes(quads, names, data_graphs)
    return Report(tuple(findings), files, len(quads))


# ---- parsing ---------------------------------------------------------------------------

def _parse_all(sources: list[SourceFile],
               settings: Settings) -> tuple[list[ox.Quad], list[Finding]]:
    quads: list[ox.Quad] = []
    findings: list[Finding] = []
    for source in sources:
        try:
            before = len(quads)
            quads.extend(read_quads(source, settings.base))
            if len(quads) == before:  # the violations it causes would name other files
                findings.append(Finding("empty", "warning", "the file holds no triples",
                                        file=_display(source.path, settings)))
        except DataSyntaxError as exc:
            findings.append(Finding("syntax", "error", exc.message,
                                    file=_display(Path(exc.path), settings),
                                    line=exc.line or None, column=exc.column or None))
        except DataError as exc:
            findings.append(Finding("read", "error", exc.detail,
                                    file=_display(source.path, settings)))
    return quads, findings


def _display(path: Path, settings: Settings) -> str:
    """A file as the editor knows it: 'data/twin-cities.ttl', 'ontology/shapes.ttl'."""
    for folder in (settings.data_dir, settings.ontology_dir):
        try:
            return f"{folder.name}/{path.resolve().relative_to(folder.resolve()).as_posix()}"
        except ValueError:
            continue
    return str(path)


# ---- SHACL -----------------------------------------------------------------------------

def _to_rdflib(quads: Iterable[ox.Quad]) -> rdflib.Graph:
    graph = rdflib.Graph()
    # (ox.serialize without an output file returns the bytes)
    text = cast(bytes, ox.serialize((q.triple for q in quads), format=ox.RdfFormat.N_TRIPLES))
    graph.parse(data=text.decode("utf-8"), format="nt")
    return graph


@contextmanager
def _quiet_literals() -> Iterator[None]:
    """Without rdflib's log of a literal it cannot convert ("Failed to convert Literal
    lexical form to value", with a traceback on stderr): SHACL reports that literal, with
    its file and line, and the editor took the traceback for a crash."""
    literals = logging.getLogger("rdflib.term")
    quiet = _NotConverted()
    literals.addFilter(quiet)
    try:
        yield
    finally:
        literals.removeFilter(quiet)


class _NotConverted(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Failed to convert Literal")


def _rebase_sparql(shapes: rdflib.Graph, base: str) -> None:
    """Shapes name our namespaces inside SPARQL strings; move them to the served base."""
    if base == CANONICAL_BASE:
        return
    for predicate in (SH.select, SH.ask, SH.namespace):
        for s, o in list(shapes.subject_objects(predicate)):
            if isinstance(o, rdflib.Literal) and CANONICAL_BASE in str(o):
                shapes.set((s, predicate, rdflib.Literal(str(o).replace(CANONICAL_BASE, base),
                                                         datatype=o.datatype)))


def _shacl(data: list[ox.Quad], shape_quads: list[ox.Quad], names: dict[str, str],
           paths: dict[str, Path], settings: Settings) -> list[Finding]:
    """pyshacl without reasoning; each sh:ValidationResult becomes a located Finding."""
    with _quiet_literals():
        data_graph, shapes = _to_rdflib(data), _to_rdflib(shape_quads)
        _rebase_sparql(shapes, settings.base)
        _, results, _ = shacl_validate(data_graph, shacl_graph=shapes, inference="none",
                                       abort_on_first=False, allow_warnings=True)
    locate = _Locator(data)
    findings = []
    for result in results.subjects(RDF.type, SH.ValidationResult):
        focus = results.value(result, SH.focusNode)
        path = _path_text(results, results.value(result, SH.resultPath))
        value = results.value(result, SH.value)
        message = "; ".join(sorted(str(m) for m in results.objects(result, SH.resultMessage)))
        if value is not None:
            message += f" (value: {value.n3()})"
        severity = SEVERITIES.get(results.value(result, SH.resultSeverity), "violation")
        graph = locate.graph_of(focus, path, value)
        file = names.get(graph) if graph else None
        findings.append(Finding("shacl", severity, message, _term_text(focus), path, file,
                                _subject_line(paths.get(graph or ""), focus, settings)))
    return sorted(findings, key=lambda f: (f.file or "", f.focus or "", f.path or "", f.message))


#: the XSD types whose lexical forms rdflib does not check (its Literal.ill_typed is None),
#: each cast by the engine to see whether it is one
UNCHECKED_TYPES = ("gYear", "gYearMonth", "gMonthDay", "gMonth", "gDay")
_ILL_TYPED = "PREFIX xsd: <http://www.w3.org/2001/XMLSchema#> SELECT ?g ?s ?p ?o ?t WHERE {" \
    + " UNION ".join(f"{{ GRAPH ?g {{ ?s ?p ?o }} FILTER(DATATYPE(?o) = xsd:{name}) "
                     f"BIND(xsd:{name}(STR(?o)) AS ?valid) FILTER(!BOUND(?valid)) "
                     f'BIND("{name}" AS ?t) }}' for name in UNCHECKED_TYPES) + " }"


_UNCHECKED = frozenset(ox.NamedNode(f"http://www.w3.org/2001/XMLSchema#{name}")
                       for name in UNCHECKED_TYPES)


def _ill_typed(quads: list[ox.Quad], names: dict[str, str], paths: dict[str, Path],
               settings: Settings) -> list[Finding]:
    """Literals of ``UNCHECKED_TYPES`` that are not of their type (``datatype`` above); only
    those literals go into the engine, not a second copy of the whole graph."""
    store = ox.Store()
    store.bulk_extend(q for q in quads
                      if isinstance(q.object, ox.Literal) and q.object.datatype in _UNCHECKED)
    findings = []
    for row in cast(ox.QuerySolutions, store.query(_ILL_TYPED)):
        graph, subject = row["g"].value, row["s"]
        focus = rdflib.URIRef(subject.value) if isinstance(subject, ox.NamedNode) else None
        findings.append(Finding(
            "datatype", "violation", f'"{row["o"].value}" is not an xsd:{row["t"].value}',
            _term_text(focus) if focus is not None else f"_:{subject.value}",
            row["p"].value, names.get(graph), _subject_line(paths.get(graph), focus, settings)))
    return sorted(findings, key=lambda f: (f.file or "", f.line or 0, f.message))


def _path_text(results: rdflib.Graph, path: Any) -> str | None:
    if isinstance(path, rdflib.URIRef):
        return str(path)
    inverse = results.value(path, SH.inversePath) if path is not None else None
    return f"^{inverse}" if isinstance(inverse, rdflib.URIRef) else None


def _term_text(term: Any) -> str | None:
    if term is None:
        return None
    return str(term) if isinstance(term, rdflib.URIRef) else f"_:{term}"


class _Locator:
    """Finds the file (named graph) that describes a focus node, for the report."""

    def __init__(self, quads: list[ox.Quad]) -> None:
        self.statements: dict[tuple[str, str, str], str] = {}
        self.typed: dict[str, str] = {}
        self.subjects: dict[str, str] = {}
        for q in quads:
            # read_quads names every graph, pyoxigraph makes no triple-term subjects, and
            # rdflib has parsed these quads (_shacl), so no object is a triple term either
            assert not isinstance(q.graph_name, ox.DefaultGraph)
            assert not isinstance(q.subject, ox.Triple) and not isinstance(q.object, ox.Triple)
            s, p, g = q.subject.value, q.predicate.value, q.graph_name.value
            self.statements.setdefault((s, p, q.object.value), g)
            self.subjects.setdefault(s, g)
            if p == str(RDF.type):
                self.typed.setdefault(s, g)

    def graph_of(self, focus: Any, path: str | None, value: Any) -> str | None:
        key = str(focus)
        if path and value is not None:
            found = self.statements.get((key, path, str(value)))
            if found:
                return found
        return self.typed.get(key) or self.subjects.get(key)


def _subject_line(path: Path | None, focus: Any, settings: Settings) -> int | None:
    """The line where the focus node's block starts, if the file writes it as <iri>."""
    if path is None or not isinstance(focus, rdflib.URIRef):
        return None
    iri = str(focus).replace(settings.base, CANONICAL_BASE, 1)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    for number, line in enumerate(lines, start=1):
        if line.startswith(f"<{iri}>"):
            return number
    return None


# ---- our own IRIs ----------------------------------------------------------------------

def _ours(term: Any, settings: Settings) -> TypeGuard[ox.NamedNode]:
    return (isinstance(term, ox.NamedNode) and term.value.startswith(settings.base)
            and not term.value.startswith(settings.iri("graph/")))


def _described(quads: list[ox.Quad], names: dict[str, str], settings: Settings) -> list[Finding]:
    described = {q.subject.value for q in quads if isinstance(q.subject, ox.NamedNode)}
    used: dict[str, str] = {}
    for q in quads:
        assert not isinstance(q.graph_name, ox.DefaultGraph)  # read_quads names every graph
        for term in (q.subject, q.predicate, q.object):
            if _ours(term, settings) and term.value not in described:
                used.setdefault(term.value, q.graph_name.value)
    return [Finding("described", "violation",
                    "used but never described (no triple has it as subject)",
                    focus=iri, file=names.get(graph))
            for iri, graph in sorted(used.items())]


def _labels(quads: list[ox.Quad], names: dict[str, str], settings: Settings) -> list[Finding]:
    scopes = (settings.iri("id/"), settings.iri("def/"))
    languages: dict[str, set[str]] = {}
    where: dict[str, str] = {}
    for q in quads:
        assert not isinstance(q.graph_name, ox.DefaultGraph)  # read_quads names every graph
        if isinstance(q.subject, ox.NamedNode) and q.subject.value.startswith(scopes):
            iri = q.subject.value
            languages.setdefault(iri, set())
            where.setdefault(iri, q.graph_name.value)
            if q.predicate.value == str(RDFS.label) and isinstance(q.object, ox.Literal):
                languages[iri].add((q.object.language or "").lower())
    findings = []
    for iri, found in sorted(languages.items()):
        missing = [lang for lang in ("sv", "en") if lang not in found]
        if missing:
            findings.append(Finding("labels", "violation",
                                    "no rdfs:label in " + " or ".join(f"@{m}" for m in missing),
                                    focus=iri, path=str(RDFS.label), file=names.get(where[iri])))
    return findings


def _blank_nodes(quads: list[ox.Quad], names: dict[str, str],
                 data_graphs: set[str]) -> list[Finding]:
    """One finding per data/ file that uses blank nodes (ontology/ may use them)."""
    findings: dict[str, Finding] = {}
    for q in quads:
        # read_quads names every graph, and pyoxigraph makes no triple-term subjects
        assert not isinstance(q.graph_name, ox.DefaultGraph)
        assert not isinstance(q.subject, ox.Triple)
        graph = q.graph_name.value
        if graph in data_graphs and graph not in findings and (
                isinstance(q.subject, ox.BlankNode) or isinstance(q.object, ox.BlankNode)):
            subject = q.subject
            focus = subject.value if isinstance(subject, ox.NamedNode) else f"_:{subject.value}"
            findings[graph] = Finding("blank-node", "violation",
                                      "blank nodes are not allowed in data/; give it an IRI",
                                      focus=focus, file=names[graph])
    return list(findings.values())
