"""Every resource of the shipped graph, dereferenced by real clients from a real server.

rdflib follows each thing's IRI (303 -> document) in every RDF format and must get the
same graph; pyld expands the JSON-LD (fetching our published context from the server)
to the same triples.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
import rdflib
from pyld import jsonld
from rdflib.compare import isomorphic

from tests.conftest import Server

RDFLIB_FORMATS = ("turtle", "json-ld", "xml", "nt")


def thing_iris(server: Server) -> list[str]:
    sitemap = httpx.get(server.url("sitemap.xml")).text
    docs = re.findall(r"<loc>([^<]+)</loc>", sitemap)
    things = [d.removesuffix(".html").replace("/doc/", "/id/", 1) for d in docs if "/doc/" in d]
    assert len(things) > 30, "the sitemap should list every resource"
    return things


@pytest.fixture(scope="module")
def things(server: Server) -> list[str]:
    return thing_iris(server)


def test_every_resource_in_every_format(server: Server, things: list[str]) -> None:
    for iri in things:
        graphs = {fmt: rdflib.Graph().parse(iri, format=fmt) for fmt in RDFLIB_FORMATS}
        reference = graphs["turtle"]
        assert (None, None, None) in reference
        assert reference.value(predicate=rdflib.FOAF.primaryTopic,
                               object=rdflib.URIRef(iri)) is not None, iri
        for fmt, graph in graphs.items():
            assert isomorphic(graph, reference), f"{iri} as {fmt} differs from Turtle"


def _loader(server: Server):  # type: ignore[no-untyped-def]
    """pyld document loader that only talks to the server under test."""

    def load(url: str, options: Any = None) -> dict[str, Any]:
        assert url.startswith(server.base), f"pyld tried to load {url}"
        response = httpx.get(url, headers={"Accept": "application/ld+json"},
                             follow_redirects=True)
        response.raise_for_status()
        return {"contextUrl": None, "documentUrl": str(response.url),
                "document": response.json()}

    return load


def test_jsonld_expands_to_the_same_triples(server: Server, things: list[str]) -> None:
    options = {"documentLoader": _loader(server)}
    for iri in things[:: max(1, len(things) // 12)]:  # a spread of resources
        doc_url = iri.replace("/id/", "/doc/", 1) + ".jsonld"
        nquads = jsonld.to_rdf(doc_url, {**options, "format": "application/n-quads"})
        from_pyld = rdflib.Graph().parse(data=nquads, format="nt")
        reference = rdflib.Graph().parse(iri, format="nt")
        assert len(from_pyld) == len(reference) > 0
        assert isomorphic(from_pyld, reference), iri


def test_navigable_under_the_local_base(server: Server) -> None:
    """Every IRI of ours in a document is under the server's own base and dereferences."""
    turtle = httpx.get(server.url("doc/organization/uppsala-kommun.ttl")).text
    graph = rdflib.Graph().parse(data=turtle, format="turtle")
    ours = {str(t) for triple in graph for t in triple
            if isinstance(t, rdflib.URIRef) and "/id/" in str(t) and str(t).startswith("http")}
    assert ours and all(iri.startswith(server.base) for iri in ours)
    assert "https://data.uppsala.se/" not in turtle
    for iri in sorted(ours)[:10]:
        response = httpx.get(iri, headers={"Accept": "text/turtle"}, follow_redirects=True)
        assert response.status_code == 200, iri
