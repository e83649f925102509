"""RDF serializations of a set of triples, one function per format family. Pure.

Turtle, N-Triples and RDF/XML are written by pyoxigraph; JSON-LD is written by
pyoxigraph and compacted by pyld against our published context (``/def/context.jsonld``),
which is passed in-process, so compaction never loads anything over the network.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, cast

import pyoxigraph as ox

from publisher.namespaces import prefixes
from publisher.negotiation import Format

CONTEXT_PATH = "def/context.jsonld"

def context(base: str) -> dict[str, Any]:
    """The JSON-LD context published at /def/context.jsonld: our prefixes, nothing clever."""
    return {"@context": {"@version": 1.1, **prefixes(base)}}


def _refuse_remote(url: str, options: Any = None) -> Any:
    from pyld import jsonld  # noqa: PLC0415  (see _jsonld)

    raise jsonld.JsonLdError("Remote documents are not loaded", "loading document failed",
                             {"url": url}, code="loading document failed")


def serialize(triples: Iterable[ox.Triple], fmt: Format, base: str) -> bytes:
    """Serialize triples in one of the RDF formats of negotiation.FORMATS.

    The output is deterministic: the same triples give the same bytes in every process.
    """
    triples = sorted(triples, key=str)
    if fmt.name == "jsonld":
        return _jsonld(triples, base)
    rdf_format = ox.RdfFormat.from_media_type(fmt.media_type)
    # (ox.serialize without an output file returns the bytes)
    if fmt.name == "ntriples":
        return cast(bytes, ox.serialize(triples, format=rdf_format))
    used = _used_prefixes(triples, base)
    body = cast(bytes, ox.serialize(triples, format=rdf_format, prefixes=used))
    return _sort_prefix_lines(body) if fmt.name == "turtle" else body


def _used_prefixes(triples: list[ox.Triple], base: str) -> dict[str, str]:
    iris = {term.value for t in triples for term in (t.subject, t.predicate, t.object)
            if isinstance(term, ox.NamedNode)}
    iris |= {t.object.datatype.value for t in triples if isinstance(t.object, ox.Literal)}
    return {name: ns for name, ns in prefixes(base).items()
            if any(iri.startswith(ns) for iri in iris)}


def _sort_prefix_lines(body: bytes) -> bytes:
    """pyoxigraph writes @prefix lines in hash order; put them in a stable one."""
    lines = body.split(b"\n")
    count = 0
    while count < len(lines) and lines[count].startswith(b"@prefix "):
        count += 1
    return b"\n".join(sorted(lines[:count]) + lines[count:])


def _jsonld(triples: list[ox.Triple], base: str) -> bytes:
    # pyld is imported on first use: it takes 0.1 s (it imports requests), which
    # `publisher load` would pay for nothing
    from pyld import jsonld  # noqa: PLC0415

    nquads = cast(bytes, ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES)).decode()
    expanded = jsonld.from_rdf(nquads, {"format": "application/n-quads"})
    ctx = context(base)
    compacted = jsonld.compact(expanded, ctx, {"documentLoader": _refuse_remote})
    compacted["@context"] = base + CONTEXT_PATH
    return json.dumps(compacted, ensure_ascii=False, indent=2).encode()


def context_bytes(base: str) -> bytes:
    return json.dumps(context(base), indent=2).encode()
