"""schema.org JSON-LD for embedding in HTML (``<script type="application/ld+json">``). Pure.

Search engines read the embedded block with ``"@context": "https://schema.org"``, whose
``@vocab`` is ``http://schema.org/``, the namespace our RDF uses, so every statement here
expands to a triple that the resource's Turtle also contains. Only schema.org types and
properties of the resource itself are written; linked resources become ``{"@id": ...}``
with their schema:name when the description has it, or are nested in full when the caller
passes their descriptions in ``embed`` (the landing page does this for the address,
identifiers, contact point and membership of the municipality). A page whose thing has no
schema.org type gets a block about the page instead (``page_jsonld``), so every page has
one and none has a node without a type.

Literals keep their meaning under the schema.org context: language-tagged strings become
``{"@value", "@language"}``, typed ones (dates, years, numbers) ``{"@value", "@type"}``,
and plain strings stay plain except under the few properties that context coerces to IRIs
or dates, where they are written as ``{"@value"}`` so they stay strings.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

import pyoxigraph as ox
from markupsafe import Markup

from publisher.store import RDF, SCHEMA, Description

CONTEXT = "https://schema.org"
RDF_TYPE = RDF + "type"
XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
LANG_STRING = RDF + "langString"
#: Properties the schema.org context gives an "@type" (IRI or date) coercion; a plain JSON
#: string under them would not mean the xsd:string literal we have. tests/render/
#: test_jsonld.py checks this list against the real context file.
COERCED = frozenset({
    "url", "sameAs", "image", "logo", "license", "mainEntityOfPage",
    "startDate", "endDate", "foundingDate", "dissolutionDate", "dateModified",
    "datePublished", "dateCreated", "birthDate", "deathDate", "validFrom", "validThrough",
    "contentUrl", "embedUrl", "hasMap", "installUrl", "codeRepository", "thumbnailUrl",
    "isBasedOnUrl", "downloadUrl", "discussionUrl", "expires",
})


def _by_subject(triples: Iterable[ox.Triple]) -> dict[str, list[ox.Triple]]:
    index: dict[str, list[ox.Triple]] = defaultdict(list)
    for t in triples:
        if isinstance(t.subject, ox.NamedNode):
            index[t.subject.value].append(t)
    return index


def _pick_language(literals: list[ox.Literal], lang: str) -> list[ox.Literal]:
    """Values in the page language (and untagged ones); all of them if none is."""
    tagged = [lit for lit in literals if lit.language]
    if not tagged:
        return literals
    chosen = [lit for lit in literals if not lit.language or lit.language == lang]
    return chosen or literals


def _literal(lit: ox.Literal, term: str) -> Any:
    if lit.language:
        return {"@value": lit.value, "@language": lit.language}
    if lit.datatype.value != XSD_STRING:
        return {"@value": lit.value, "@type": lit.datatype.value}
    return {"@value": lit.value} if term in COERCED else lit.value


def _name(index: Mapping[str, list[ox.Triple]], iri: str, lang: str) -> Any:
    names = [t.object for t in index.get(iri, ())
             if t.predicate.value == SCHEMA + "name" and isinstance(t.object, ox.Literal)]
    picked = _pick_language(names, lang)
    return _literal(picked[0], "name") if picked else None


def node(iri: str, index: Mapping[str, list[ox.Triple]], lang: str,
         embed: Mapping[str, Description], depth: int = 0) -> dict[str, Any]:
    """One resource as a JSON-LD node object of schema.org terms."""
    out: dict[str, Any] = {"@id": iri}
    types = sorted(t.object.value[len(SCHEMA):] for t in index.get(iri, ())
                   if t.predicate.value == RDF_TYPE and not isinstance(t.object, ox.Triple)
                   and t.object.value.startswith(SCHEMA))  # (a triple term has no value)
    if types:
        out["@type"] = types[0] if len(types) == 1 else types
    literals: dict[str, list[ox.Literal]] = defaultdict(list)
    values: dict[str, list[Any]] = defaultdict(list)
    for t in index.get(iri, ()):
        predicate = t.predicate.value
        if not predicate.startswith(SCHEMA) or predicate == RDF_TYPE:
            continue
        term = predicate[len(SCHEMA):]
        if isinstance(t.object, ox.Literal):
            literals[term].append(t.object)
        elif isinstance(t.object, ox.NamedNode):
            values[term].append(_link(t.object.value, index, lang, embed, depth))
    for term, found in literals.items():
        values[term].extend(_literal(lit, term) for lit in _pick_language(found, lang))
    for term in sorted(values):
        items = sorted(values[term], key=lambda v: json.dumps(v, sort_keys=True))
        out[term] = items[0] if len(items) == 1 else items
    return out


def _link(iri: str, index: Mapping[str, list[ox.Triple]], lang: str,
          embed: Mapping[str, Description], depth: int) -> dict[str, Any]:
    if iri in embed and depth == 0:
        return node(iri, _by_subject(embed[iri].triples), lang, embed, depth + 1)
    link: dict[str, Any] = {"@id": iri}
    name = _name(index, iri, lang)
    if name is not None:
        link["name"] = name
    return link


def resource_jsonld(description: Description, lang: str,
                    embed: Mapping[str, Description] | None = None) -> dict[str, Any] | None:
    """The schema.org JSON-LD of the described resource, or None if it has no schema.org
    type or property to say."""
    index = _by_subject(description.triples)
    body = node(description.iri, index, lang, embed or {})
    if len(body) == 1:
        return None
    return {"@context": CONTEXT, **body}


def page_jsonld(url: str, name: str, lang: str, about: str, part_of: str) -> dict[str, Any]:
    """The block of a page whose thing has no schema.org type (a twinning agreement, a
    focus area, an instant, our vocabulary): the page itself, a ``WebPage``, with its name
    and language, the thing it is ``about`` and the dataset it is part of. Its statements
    are about the page, which the RDF calls a ``foaf:Document`` with the thing as its
    ``foaf:primaryTopic`` and the dataset as its ``void:inDataset``."""
    page: dict[str, Any] = {"@context": CONTEXT, "@type": "WebPage", "@id": url,
                            "url": {"@id": url},
                            "name": {"@value": name, "@language": lang}, "inLanguage": lang}
    if about != url:  # (a term of our vocabulary is its own page)
        page["about"] = {"@id": about}
    page["isPartOf"] = {"@type": "Dataset", "@id": part_of}
    return page


def script_json(data: Mapping[str, Any] | None) -> Markup:
    """JSON for a ``<script type="application/ld+json">`` block: ``<``, ``>`` and ``&``
    are escaped as \\u003c, \\u003e and \\u0026, so no literal can close the element or
    open a comment, whatever it contains."""
    if data is None:
        return Markup("")
    text = json.dumps(data, ensure_ascii=False, indent=1)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return Markup(text)  # noqa: S704 - escaped above for the script context
