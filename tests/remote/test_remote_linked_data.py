"""The Linked Data suite (tests/test_linked_data.py and the real-server JSON-LD check) against
a publisher in front of Virtuoso: every resource, JSON-LD, navigability.

Every resource is read from Virtuoso in Turtle, and a spread of them in every format. Over
Virtuoso 7.2 a first-time document takes some 230 ms (the description's query, with our
graphs as its dataset, bench/RESULTS.md), so every resource in all four formats took 52 s
of the suite. The formats are written from the same description, which
tests/test_linked_data.py checks for every resource and format on the embedded store."""

from __future__ import annotations

import pytest
import rdflib
from rdflib.compare import isomorphic

from tests import test_embedded_jsonld, test_linked_data
from tests.conftest import Server
from tests.remote.reuse import reusing

pytestmark = pytest.mark.slow
things = test_linked_data.things  # the module's own fixture, over our server
globals().update(reusing(test_linked_data, {"server", "things"},
                         skip={"test_every_resource_in_every_format": "split in two below"}))
globals().update(reusing(test_embedded_jsonld, {"server"}))


def test_every_resource_in_turtle(server: Server, things: list[str]) -> None:
    for iri in things:
        graph = rdflib.Graph().parse(iri, format="turtle")
        assert graph.value(predicate=rdflib.FOAF.primaryTopic,
                           object=rdflib.URIRef(iri)) is not None, iri


def test_a_spread_of_resources_in_every_format(server: Server, things: list[str]) -> None:
    for iri in things[::5]:
        graphs = {fmt: rdflib.Graph().parse(iri, format=fmt)
                  for fmt in test_linked_data.RDFLIB_FORMATS}
        for fmt, graph in graphs.items():
            assert isomorphic(graph, graphs["turtle"]), f"{iri} as {fmt} differs from Turtle"
