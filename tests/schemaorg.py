"""schema.org offline: the 30.0 vocabulary's terms, its JSON-LD context for pyld (no
network), and helpers to read embedded JSON-LD as triples. Fixtures: tests/fixtures/schemaorg."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import rdflib
from pyld import jsonld

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "schemaorg"
SCHEMA_HTTPS = "https://schema.org/"


@functools.cache
def vocabulary() -> frozenset[str]:
    """Every type and property name in schema.org 30.0."""
    path = FIXTURES / "schemaorg-current-https.ttl"
    return frozenset(t.subject.value[len(SCHEMA_HTTPS):]
                     for t in ox.parse(path=path, format=ox.RdfFormat.TURTLE)
                     if isinstance(t.subject, ox.NamedNode)
                     and t.subject.value.startswith(SCHEMA_HTTPS))


@functools.cache
def context() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / "schemaorgcontext.jsonld").read_text())
    return data


def document_loader(url: str, options: Any = None) -> dict[str, Any]:
    """Serve the local schema.org context for https://schema.org; refuse everything else."""
    if url.rstrip("/") in ("https://schema.org", "http://schema.org"):
        return {"contextUrl": None, "documentUrl": url, "document": context()}
    raise jsonld.JsonLdError(f"offline: {url}", "loading document failed", {"url": url},
                             code="loading document failed")


def to_graph(data: dict[str, Any]) -> rdflib.Graph:
    """The triples an embedded JSON-LD block means, read as schema.org's context says."""
    nquads = jsonld.to_rdf(data, {"format": "application/n-quads",
                                  "documentLoader": document_loader})
    return rdflib.Graph().parse(data=nquads, format="nt")


def terms_used(data: Any) -> Iterator[str]:
    """Every property and type name in a JSON-LD tree (keywords excluded)."""
    if isinstance(data, list):
        for item in data:
            yield from terms_used(item)
    elif isinstance(data, dict):
        for key, value in data.items():
            if key == "@type" and not any("@value" in d for d in [data]):
                yield from ([value] if isinstance(value, str) else value)
            elif not key.startswith("@"):
                yield key
                yield from terms_used(value)


def plain_string_properties(data: Any) -> Iterator[str]:
    """Properties that carry a bare JSON string somewhere in the tree."""
    if isinstance(data, list):
        for item in data:
            yield from plain_string_properties(item)
    elif isinstance(data, dict):
        for key, value in data.items():
            if key.startswith("@"):
                continue
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, str):
                    yield key
                else:
                    yield from plain_string_properties(item)
