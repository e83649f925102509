"""What a resource page shows, worked out from a Description. Pure: no Jinja, no HTTP.

``resource_view`` turns the triples of one document into a ``ResourceView``: the label in
the page language, the types, the properties in groups (name and description, details,
relations, identifiers and links, sources), the terms a vocabulary defines, and the
incoming links. Every term becomes a ``Value`` that knows whether it may be a link:
only http(s), mailto and tel IRIs ever get an href; anything else is shown as text.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import pyoxigraph as ox

from publisher.render import strings
from publisher.render.rdf import prefixes
from publisher.store import RDF, RDFS, SCHEMA, SKOS, Description

DCT = "http://purl.org/dc/terms/"
OWL = "http://www.w3.org/2002/07/owl#"
RDF_TYPE = RDF + "type"
XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
LABEL_IRIS = (SKOS + "prefLabel", RDFS + "label", SCHEMA + "name")
DESCRIPTION_IRIS = (SCHEMA + "description", SKOS + "definition", DCT + "description",
                    RDFS + "comment")
SAFE_SCHEMES = ("http:", "https:", "mailto:", "tel:")

GROUPS = ("about", "facts", "relations", "identifiers", "sources")
_GROUP_OF = {
    **{iri: "about" for iri in (*LABEL_IRIS, *DESCRIPTION_IRIS, DCT + "title",
                                SCHEMA + "alternateName")},
    **{iri: "identifiers" for iri in (SCHEMA + "sameAs", OWL + "sameAs", RDFS + "seeAlso",
                                      SCHEMA + "identifier", DCT + "identifier", SCHEMA + "url")},
    **{iri: "sources" for iri in (DCT + "source", RDFS + "isDefinedBy")},
}


def safe_href(iri: str) -> str | None:
    """The IRI if it may be an href (http, https, mailto, tel), else None."""
    lowered = iri.strip().lower()
    if iri != iri.strip() or not lowered.startswith(SAFE_SCHEMES):
        return None
    if any(ord(ch) < 0x20 or ch in "<>\"` " for ch in iri):
        return None
    return iri


@dataclass(frozen=True)
class Value:
    text: str
    href: str | None = None
    external: bool = False
    lang: str | None = None   # lang attribute, only when it differs from the page
    code: bool = False        # an IRI with no label: shown as code
    title: str | None = None  # the full IRI, for a tooltip
    nested: tuple[Row, ...] = ()  # a blank node's own properties


@dataclass(frozen=True)
class Row:
    prop: Value
    values: tuple[Value, ...]


@dataclass(frozen=True)
class Section:
    key: str
    rows: tuple[Row, ...]


@dataclass(frozen=True)
class Term:
    anchor: str
    label: Value
    rows: tuple[Row, ...]


@dataclass
class ResourceView:
    iri: str
    label: str
    label_lang: str | None
    lead: str | None
    lead_lang: str | None
    types: list[Value]
    sections: list[Section]
    terms: list[Term]
    incoming: list[Row]
    truncated: bool
    schema_types: list[str] = field(default_factory=list)


class Namer:
    """Labels and links for the terms one Description mentions, in one page language."""

    def __init__(self, triples: Iterable[ox.Triple], lang: str, base: str) -> None:
        self.lang, self.base = lang, base
        self.labels: dict[str, dict[str, str]] = defaultdict(dict)
        ranks: dict[tuple[str, str], int] = {}
        for t in triples:
            if t.predicate.value in LABEL_IRIS and isinstance(t.object, ox.Literal) \
                    and isinstance(t.subject, ox.NamedNode):
                key = (t.subject.value, t.object.language or "")
                rank = LABEL_IRIS.index(t.predicate.value)
                if rank < ranks.get(key, len(LABEL_IRIS)):
                    ranks[key] = rank
                    self.labels[key[0]][key[1]] = t.object.value
        self.prefixes = sorted(prefixes(base).items(), key=lambda kv: -len(kv[1]))

    def label(self, iri: str) -> tuple[str, str | None] | None:
        """The best label in the page language: (text, its language) or None."""
        found = self.labels.get(iri)
        if found:
            for key in (self.lang, "", "en", "sv", *sorted(found)):
                if key in found:
                    return found[key], (key or None)
        own = strings.term_label(iri, self.lang)
        return (own, self.lang) if own else None

    def compact(self, iri: str) -> str:
        for name, namespace in self.prefixes:
            if iri.startswith(namespace) and len(iri) > len(namespace):
                return f"{name}:{iri[len(namespace):]}"
        return iri

    def iri(self, iri: str) -> Value:
        labelled = self.label(iri)
        href = safe_href(iri)
        external = href is not None and not iri.startswith(self.base)
        if labelled is None:
            return Value(self.compact(iri), href, external, code=True, title=iri)
        text, lang = labelled
        return Value(text, href, external, self._lang_attr(lang), title=iri)

    def literal(self, literal: ox.Literal) -> Value:
        return Value(literal.value, lang=self._lang_attr(literal.language))

    def _lang_attr(self, lang: str | None) -> str | None:
        return lang if lang and lang != self.lang else None

    def term(self, term: object, index: Mapping[ox.BlankNode, list[ox.Triple]],
             depth: int = 0) -> Value:
        if isinstance(term, ox.NamedNode):
            return self.iri(term.value)
        if isinstance(term, ox.Literal):
            return self.literal(term)
        if isinstance(term, ox.BlankNode) and depth < 4:
            rows = rows_of(index.get(term, []), self, index, depth + 1)
            return Value(strings.TABLES[self.lang]["blank_node"], nested=tuple(rows))
        return Value(str(term), code=True)


def _value_order(namer: Namer, term: object) -> tuple[int, str]:
    if isinstance(term, ox.Literal):
        lang = term.language
        return (0 if lang == namer.lang else 1 if not lang else 2, f"{lang or ''} {term.value}")
    return (3, str(term))


def rows_of(triples: Iterable[ox.Triple], namer: Namer,
            index: Mapping[ox.BlankNode, list[ox.Triple]], depth: int = 0) -> list[Row]:
    by_predicate: dict[str, list[object]] = defaultdict(list)
    for t in triples:
        by_predicate[t.predicate.value].append(t.object)
    rows = []
    for predicate, objects in by_predicate.items():
        objects.sort(key=lambda term: _value_order(namer, term))
        values = tuple(namer.term(o, index, depth) for o in objects)
        rows.append(Row(namer.iri(predicate), values))
    rows.sort(key=lambda row: row.prop.text.lower())
    return rows


def _group(predicate: str, objects: list[object], base: str) -> str:
    if predicate in _GROUP_OF:
        return _GROUP_OF[predicate]
    if all(isinstance(o, ox.NamedNode) and o.value.startswith(base) for o in objects):
        return "relations"
    return "facts"


def _pick(literals: list[ox.Literal], lang: str) -> ox.Literal | None:
    for wanted in (lang, None, "en", "sv"):
        for lit in literals:
            if (lit.language or None) == wanted:
                return lit
    return literals[0] if literals else None


def resource_view(description: Description, lang: str, base: str) -> ResourceView:
    node = ox.NamedNode(description.iri)
    namer = Namer(description.triples, lang, base)
    own: list[ox.Triple] = []
    incoming: list[ox.Triple] = []
    blanks: dict[ox.BlankNode, list[ox.Triple]] = defaultdict(list)
    by_subject: dict[str, list[ox.Triple]] = defaultdict(list)
    for t in description.triples:
        if t.subject == node:
            own.append(t)
        elif isinstance(t.subject, ox.BlankNode):
            blanks[t.subject].append(t)
        elif isinstance(t.subject, ox.NamedNode):
            by_subject[t.subject.value].append(t)
            if t.object == node:
                incoming.append(t)
    defined = sorted(s for s, ts in by_subject.items()
                     if any(t.predicate.value == RDFS + "isDefinedBy" and t.object == node
                            for t in ts))
    label, label_lang = namer.label(description.iri) or (namer.compact(description.iri), None)
    leads = [t.object for t in own if t.predicate.value in DESCRIPTION_IRIS
             and isinstance(t.object, ox.Literal)]
    lead = _pick(leads, lang)
    types = [t.object.value for t in own
             if t.predicate.value == RDF_TYPE and isinstance(t.object, ox.NamedNode)]
    shown = {label, lead.value if lead else None}
    sections = _sections(own, namer, blanks, shown, base)
    terms = [Term(iri.rpartition("#")[2] or iri.rpartition("/")[2], namer.iri(iri),
                  tuple(rows_of((t for t in by_subject[iri] if t.predicate.value != RDFS
                                 + "isDefinedBy"), namer, blanks)))
             for iri in defined]
    # (the triples in by_subject[iri] have the subject iri)
    skip = {(iri, t.predicate.value) for iri in defined for t in by_subject[iri]
            if t.predicate.value == RDFS + "isDefinedBy"}
    incoming_rows = _incoming(incoming, namer, skip)
    return ResourceView(
        description.iri, label, namer._lang_attr(label_lang),
        lead.value if lead else None, namer._lang_attr(lead.language) if lead else None,
        [namer.iri(t) for t in sorted(set(types))], sections, terms, incoming_rows,
        description.truncated, sorted(t[len(SCHEMA):] for t in types if t.startswith(SCHEMA)))


def _sections(own: list[ox.Triple], namer: Namer, blanks: Mapping[ox.BlankNode, list[ox.Triple]],
              shown: set[str | None], base: str) -> list[Section]:
    by_predicate: dict[str, list[ox.Triple]] = defaultdict(list)
    for t in own:
        if t.predicate.value == RDF_TYPE:
            continue
        if t.predicate.value in _GROUP_OF and _GROUP_OF[t.predicate.value] == "about" \
                and isinstance(t.object, ox.Literal) and t.object.value in shown:
            continue  # the same text as the heading or the lead paragraph
        by_predicate[t.predicate.value].append(t)
    grouped: dict[str, list[ox.Triple]] = defaultdict(list)
    for predicate, triples in by_predicate.items():
        grouped[_group(predicate, [t.object for t in triples], base)].extend(triples)
    return [Section(key, tuple(rows_of(grouped[key], namer, blanks)))
            for key in GROUPS if grouped.get(key)]


def _incoming(triples: list[ox.Triple], namer: Namer, skip: set[tuple[str, str]]) -> list[Row]:
    by_predicate: dict[str, list[str]] = defaultdict(list)
    for t in triples:
        assert isinstance(t.subject, ox.NamedNode)  # resource_view passes IRI subjects only
        if (t.subject.value, t.predicate.value) not in skip:
            by_predicate[t.predicate.value].append(t.subject.value)
    rows = [Row(namer.iri(p), tuple(sorted((namer.iri(s) for s in subjects),
                                           key=lambda v: v.text.lower())))
            for p, subjects in by_predicate.items()]
    rows.sort(key=lambda row: row.prop.text.lower())
    return rows
