"""publisher/render/jsonld.py: schema.org JSON-LD from a Description, and its escaping."""

from __future__ import annotations

import json

import rdflib

from publisher.documents import Documents, resolve
from publisher.negotiation import BY_NAME
from publisher.render import jsonld
from tests.schemaorg import context, plain_string_properties, terms_used, to_graph, vocabulary

EVIL = "</script><script>alert(1)</script>"


def describe(store, settings, path):  # type: ignore[no-untyped-def]
    return store.describe(resolve(path, settings).topic, 500)


def test_only_schema_org_terms_of_the_resource(tiny_store, tiny_settings) -> None:
    data = jsonld.resource_jsonld(describe(tiny_store, tiny_settings, "doc/place/testby"), "en")
    assert data is not None
    assert data["@context"] == "https://schema.org"
    assert data["@id"] == "https://data.uppsala.se/id/place/testby"
    assert data["@type"] == "City"
    assert set(terms_used(data)) <= vocabulary()
    assert "twinnedWith" not in data and "seeAlso" not in data and "label" not in data
    assert data["containedInPlace"] == {"@id": "https://data.uppsala.se/id/country/xx",
                                        "name": "Testland"}
    assert data["name"] == {"@value": "Test Town", "@language": "en"}
    assert data["foundingDate"] == {"@value": "1988",
                                    "@type": "http://www.w3.org/2001/XMLSchema#gYear"}


def test_no_schema_org_statements_means_no_block(tiny_store, tiny_settings) -> None:
    assert jsonld.resource_jsonld(describe(tiny_store, tiny_settings, "def/intl"), "en") is None
    assert str(jsonld.script_json(None)) == ""


def test_script_json_cannot_end_the_script_element() -> None:
    data = {"description": EVIL + ' "quotes" <!-- & \u2028'}
    text = str(jsonld.script_json(data))
    for bad in ("<", ">", "&", "\u2028"):
        assert bad not in text
    assert json.loads(text) == data


def test_embedded_triples_are_in_our_turtle(tiny_store, tiny_settings) -> None:
    """The site-https / RDF-http point: read with the real schema.org context (whose @vocab
    is http://schema.org/), the block states only triples our Turtle states."""
    for lang in ("sv", "en"):
        data = jsonld.resource_jsonld(describe(tiny_store, tiny_settings, "doc/place/testby"),
                                      lang)
        embedded = to_graph(data)
        turtle = Documents(tiny_store, tiny_settings).get("doc/place/testby", BY_NAME["turtle"])
        ours = rdflib.Graph().parse(data=turtle.body, format="turtle")
        assert len(embedded) >= 8
        assert set(embedded) <= set(ours), set(embedded) - set(ours)
        assert all(str(p).startswith("http://schema.org/") or p == rdflib.RDF.type
                   for p in embedded.predicates())


def test_coerced_list_matches_the_schema_org_context() -> None:
    definitions = context()["@context"]
    for term in jsonld.COERCED:
        definition = definitions.get(term)
        assert isinstance(definition, dict) and "@type" in definition, term


def test_plain_strings_only_where_the_context_does_not_coerce(tiny_store, tiny_settings) -> None:
    data = jsonld.resource_jsonld(describe(tiny_store, tiny_settings, "doc/country/xx"), "sv")
    definitions = context()["@context"]
    for term in plain_string_properties(data):
        assert "@type" not in definitions.get(term, {}), term
