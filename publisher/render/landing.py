"""What the landing page says, read from the store with SPARQL. Pure: no Jinja, no HTTP.

The entry point is the dataset's ``void:rootResource`` (the international work); from it
the queries below find the municipality, the guiding aim, the focus areas, the twin towns
with their countries and start years, the memberships, the governing documents and whom
to contact: the named people when the data has them, else the functional contact point.
Values come back in every language and ``pick`` chooses the page language's.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import pyoxigraph as ox

from publisher.config import DATASET_PATH, Settings
from publisher.render.view import Value, safe_href
from publisher.store import Store

#: The dataset's IRI path (as publisher.documents.DATASET_PATH, which imports this package).

PREFIXES = """PREFIX schema: <http://schema.org/>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX org: <http://www.w3.org/ns/org#>
PREFIX time: <http://www.w3.org/2006/time#>
PREFIX void: <http://rdfs.org/ns/void#>
PREFIX dcterms: <http://purl.org/dc/terms/>
"""

ROOT = PREFIXES + """SELECT * WHERE {
  ?dataset void:rootResource ?programme . ?programme schema:parentOrganization ?org }"""

LABELS = PREFIXES + """SELECT * WHERE {
  VALUES ?p { rdfs:label skos:prefLabel schema:name } ?thing ?p ?label .
  OPTIONAL { VALUES ?d { schema:description skos:definition } ?thing ?d ?text } }"""

FOCUS_AREAS = PREFIXES + """SELECT * WHERE {
  ?programme intl:hasFocusArea ?area . ?area skos:prefLabel ?label .
  OPTIONAL { ?area skos:definition ?definition } }"""

TWIN_TOWNS = PREFIXES + """SELECT * WHERE {
  ?org schema:location ?home .
  ?agreement a intl:TwinningAgreement ; intl:partner ?city ; schema:startDate ?start .
  FILTER(?city != ?home)
  ?city rdfs:label ?cityLabel .
  OPTIONAL { ?city schema:containedInPlace ?country . ?country rdfs:label ?countryLabel }
  OPTIONAL { ?agreement intl:startKind/rdfs:label ?kindLabel } }"""

MEMBERSHIPS = PREFIXES + """SELECT * WHERE {
  ?membership org:member ?org ; org:organization ?body ; rdfs:label ?label .
  ?body rdfs:label ?bodyLabel .
  OPTIONAL { ?membership schema:description ?text }
  OPTIONAL { ?membership schema:startDate ?start } }"""

DOCUMENTS = PREFIXES + """SELECT * WHERE {
  ?programme schema:subjectOf ?doc . ?doc a schema:CreativeWork ; rdfs:label ?label }"""

PEOPLE = PREFIXES + """SELECT * WHERE {
  ?person a schema:Person ; schema:name ?name ; (schema:worksFor|org:memberOf)/org:unitOf* ?org .
  OPTIONAL { ?person schema:telephone ?phone } OPTIONAL { ?person intl:phoneAsWritten ?written }
  OPTIONAL { ?person schema:email ?email } } ORDER BY ?name"""

CONTACT_POINTS = PREFIXES + """SELECT * WHERE {
  ?programme schema:contactPoint ?point . ?point rdfs:label ?name .
  OPTIONAL { ?point schema:description ?text }
  OPTIONAL { ?point schema:telephone ?phone } OPTIONAL { ?point intl:phoneAsWritten ?written }
  OPTIONAL { ?point schema:email ?email } }"""

ORG_CONTACT = PREFIXES + """SELECT * WHERE {
  ?org schema:telephone ?phone . OPTIONAL { ?org intl:phoneAsWritten ?written } }"""

UNITS = PREFIXES + """SELECT * WHERE {
  ?programme intl:organisedBy ?unit . ?unit rdfs:label ?label .
  OPTIONAL { ?unit schema:description ?text } }"""


@dataclass
class Item:
    """One thing in a list on the landing page."""

    link: Value
    text: str | None = None
    text_lang: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Landing:
    org: Value | None = None
    programme: Value | None = None
    aim: str | None = None
    aim_lang: str | None = None
    focus_areas: list[Item] = field(default_factory=list)
    twin_towns: list[Item] = field(default_factory=list)
    memberships: list[Item] = field(default_factory=list)
    documents: list[Item] = field(default_factory=list)
    units: list[Item] = field(default_factory=list)
    people: list[Item] = field(default_factory=list)
    contact_points: list[Item] = field(default_factory=list)
    org_iri: str | None = None
    org_phone: Value | None = None
    dataset: Value | None = None


class Picker:
    """Groups SPARQL rows by a key and picks each variable's value in the page language."""

    def __init__(self, lang: str) -> None:
        self.lang = lang

    def pick(self, terms: list[Any]) -> tuple[str, str | None] | None:
        literals = [t for t in terms if isinstance(t, ox.Literal)]
        for wanted in (self.lang, None, "en", "sv"):
            for lit in literals:
                if (lit.language or None) == wanted:
                    return lit.value, (lit.language if lit.language != self.lang else None)
        return (literals[0].value, literals[0].language) if literals else None

    def group(self, rows: list[dict[str, Any]], key: str) -> dict[str, dict[str, list[Any]]]:
        grouped: dict[str, dict[str, list[Any]]] = {}
        for row in rows:
            bucket = grouped.setdefault(row[key].value, defaultdict(list))
            for name, term in row.items():
                if term is not None and term not in bucket[name]:
                    bucket[name].append(term)
        return grouped


def _run(store: Store, text: str, settings: Settings, **bound: str) -> list[dict[str, Any]]:
    """Run a SELECT with IRIs bound by substitution (never pasted into the text)."""
    text = f"PREFIX intl: <{settings.iri('def/intl#')}>\n" + text
    subs = {ox.Variable(k): ox.NamedNode(v) for k, v in bound.items() if f"?{k}" in text}
    results = store.query(text, substitutions=subs)
    names = [v.value for v in results.variables]
    return [{name: row[name] for name in names} for row in results]


def _link(iri: str, label: tuple[str, str | None] | None, base: str) -> Value:
    text, lang = label if label else (iri, None)
    return Value(text, safe_href(iri), not iri.startswith(base), lang=lang, title=iri)


def landing_data(store: Store, lang: str, settings: Settings) -> Landing:
    """Everything the landing page shows, in the page language."""
    p = Picker(lang)
    base = settings.base
    roots = _run(store, ROOT, settings, dataset=settings.iri(DATASET_PATH))
    if not roots:
        return Landing()
    programme, org = roots[0]["programme"].value, roots[0]["org"].value
    out = Landing(org_iri=org)

    def named(iri: str) -> tuple[Value, tuple[str, str | None] | None]:
        rows = _run(store, LABELS, settings, thing=iri)
        label = p.pick([r["label"] for r in rows])
        return _link(iri, label, base), p.pick([r["text"] for r in rows])

    out.org, _ = named(org)
    out.programme, aim = named(programme)
    out.aim, out.aim_lang = aim if aim else (None, None)
    out.dataset, _ = named(settings.iri(DATASET_PATH))
    at = {"programme": programme, "org": org}
    out.focus_areas = _items(p, _run(store, FOCUS_AREAS, settings, **at), "area", "label",
                             "definition", base)
    out.focus_areas.sort(key=lambda i: i.link.text.lower())
    out.twin_towns = _twin_towns(p, _run(store, TWIN_TOWNS, settings, **at), base)
    out.memberships = _memberships(p, _run(store, MEMBERSHIPS, settings, **at), base)
    out.documents = _items(p, _run(store, DOCUMENTS, settings, **at), "doc", "label", None, base)
    out.units = _items(p, _run(store, UNITS, settings, **at), "unit", "label", "text", base)
    phones = _run(store, ORG_CONTACT, settings, org=org)
    if phones:
        phone, written = phones[0]["phone"].value, phones[0]["written"]
        out.org_phone = Value(written.value if written else phone, safe_href(f"tel:{phone}"))
    out.people = _contacts(p, _run(store, PEOPLE, settings, **at), "person", "name", None, base)
    if not out.people:
        out.contact_points = _contacts(p, _run(store, CONTACT_POINTS, settings, **at), "point",
                                       "name", "text", base)
    return out


def _twin_towns(p: Picker, rows: list[Any], base: str) -> list[Item]:
    """One item per twinning agreement, by start year then city name."""
    towns = []
    for agreement, cols in p.group(rows, "agreement").items():
        city = _link(cols["city"][0].value, p.pick(cols["cityLabel"]), base)
        country = (_link(cols["country"][0].value, p.pick(cols["countryLabel"]), base)
                   if cols.get("country") else None)
        kind = p.pick(cols.get("kindLabel", []))
        towns.append(Item(city, extra={
            "agreement": _link(agreement, None, base), "country": country,
            "start": cols["start"][0].value, "kind": kind[0] if kind else None}))
    towns.sort(key=lambda i: (i.extra["start"], i.link.text))
    return towns


def _memberships(p: Picker, rows: list[Any], base: str) -> list[Item]:
    memberships = []
    for membership, cols in p.group(rows, "membership").items():
        text = p.pick(cols.get("text", []))
        memberships.append(Item(
            _link(cols["body"][0].value, p.pick(cols["bodyLabel"]), base),
            text[0] if text else None, text[1] if text else None,
            {"start": cols["start"][0].value if cols.get("start") else None,
             "membership": _link(membership, p.pick(cols["label"]), base)}))
    return memberships


def _items(p: Picker, rows: list[Any], key: str, label: str, text: str | None,
           base: str) -> list[Item]:
    items = []
    for iri, cols in p.group(rows, key).items():
        found = p.pick(cols.get(text, [])) if text else None
        items.append(Item(_link(iri, p.pick(cols[label]), base),
                          found[0] if found else None, found[1] if found else None))
    return items


def _contacts(p: Picker, rows: list[Any], key: str, label: str, text: str | None,
              base: str) -> list[Item]:
    items = _items(p, rows, key, label, text, base)
    grouped = p.group(rows, key)
    for item in items:
        cols = grouped[item.link.title or ""]
        phone = cols["phone"][0].value if cols.get("phone") else None
        written = cols["written"][0].value if cols.get("written") else phone
        email = cols["email"][0].value if cols.get("email") else None
        item.extra = {
            "phone": Value(written, safe_href(f"tel:{phone}")) if phone and written else None,
            "email": Value(email, safe_href(f"mailto:{email}")) if email else None}
    return items
