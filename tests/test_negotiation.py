"""Content negotiation as a table: Accept header -> chosen format (or 406)."""

from __future__ import annotations

import pytest

from publisher.errors import NotAcceptable
from publisher.negotiation import (
    BY_NAME,
    DOCUMENT_FORMATS,
    RESULT_FORMATS,
    by_name_or_extension,
    choose_format,
    choose_language,
    parse_accept,
)

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8"


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "turtle"),
        ("", "turtle"),
        ("*/*", "turtle"),
        ("text/turtle", "turtle"),
        ("application/ld+json", "jsonld"),
        ("application/rdf+xml", "rdfxml"),
        ("application/n-triples", "ntriples"),
        ("text/html", "html"),
        (BROWSER, "html"),
        ("application/xhtml+xml", "html"),
        # q-values decide
        ("text/turtle;q=0.5, application/ld+json", "jsonld"),
        ("application/ld+json;q=0.9, text/turtle", "turtle"),
        ("text/html;q=0.1, application/rdf+xml;q=0.2", "rdfxml"),
        # wildcards: */* never beats a named type; HTML only when asked for
        ("*/*;q=0.1, application/n-triples;q=0.5", "ntriples"),
        ("text/*", "turtle"),
        ("application/*", "jsonld"),
        # q=0 excludes
        ("text/turtle;q=0, */*", "jsonld"),
        ("text/html;q=0, */*;q=0.8", "turtle"),
        # parameters and case are tolerated; the more specific range wins
        ("Text/Turtle; charset=utf-8", "turtle"),
        ("application/ld+json;profile=\"http://www.w3.org/ns/json-ld#compacted\"", "jsonld"),
        ("text/*;q=0.2, text/turtle;q=0", "html"),
        # ties go to the earlier offer (Turtle before JSON-LD)
        ("application/ld+json, text/turtle", "turtle"),
        # aliases
        ("application/x-turtle", "turtle"),
        ("text/plain", "ntriples"),
        ("application/json", "jsonld"),  # the JSON of a graph
        ("application/json, text/html;q=0.1", "jsonld"),
        ("application/json;q=0.5, application/ld+json", "jsonld"),
        # junk members are skipped, not fatal
        ("garbage, text/turtle", "turtle"),
        ("text/turtle;q=abc, application/ld+json;q=0.5", "jsonld"),
    ],
)
def test_document_negotiation(accept: str | None, expected: str) -> None:
    assert choose_format(accept, DOCUMENT_FORMATS).name == expected


@pytest.mark.parametrize("accept", ["image/png", "application/pdf, image/*", "text/turtle;q=0"])
def test_nothing_acceptable_lists_alternatives(accept: str) -> None:
    with pytest.raises(NotAcceptable) as caught:
        choose_format(accept, DOCUMENT_FORMATS)
    assert caught.value.status == 406
    assert "text/turtle" in caught.value.extra["available"]
    assert "text/html" in caught.value.extra["available"]


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "json"),
        ("application/sparql-results+json", "json"),
        ("application/sparql-results+xml", "xml"),
        ("text/csv", "csv"),
        ("text/tab-separated-values", "tsv"),
        ("application/json", "json"),
        ("application/xml", "xml"),
        ("text/csv;q=0.5, text/tab-separated-values", "tsv"),
    ],
)
def test_result_negotiation(accept: str | None, expected: str) -> None:
    assert choose_format(accept, RESULT_FORMATS).name == expected


@pytest.mark.parametrize(
    ("token", "expected"),
    [("ttl", "turtle"), ("turtle", "turtle"), ("text/turtle", "turtle"), ("jsonld", "jsonld"),
     ("rdf", "rdfxml"), ("nt", "ntriples"), ("HTML", "html"), ("csv", None)],
)
def test_format_parameter(token: str, expected: str | None) -> None:
    found = by_name_or_extension(token, DOCUMENT_FORMATS)
    assert (found.name if found else None) == expected


def test_content_type_has_charset() -> None:
    assert BY_NAME["turtle"].content_type == "text/turtle; charset=utf-8"


def test_parse_accept_specificity() -> None:
    ranges = parse_accept("*/*;q=0.1, text/*;q=0.2, text/html;level=1;q=0.3, text/html")
    assert [r.specificity for r in ranges] == [0, 1, 3, 2]


@pytest.mark.parametrize(
    ("header", "expected"),
    [(None, "sv"), ("en", "en"), ("en-GB,en;q=0.9", "en"), ("sv-SE", "sv"),
     ("de, en;q=0.5", "en"), ("de", "sv"), ("en;q=0.3, sv;q=0.7", "sv"), ("en;q=x", "sv")],
)
def test_language(header: str | None, expected: str) -> None:
    assert choose_language(header, ("sv", "en")) == expected
