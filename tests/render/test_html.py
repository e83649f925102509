"""publisher/render/html.py (and view.py, strings.py): pages rendered from a Description."""

from __future__ import annotations

import json
import re
import time
from dataclasses import replace
from urllib.parse import unquote

import pytest

from publisher.config import Settings
from publisher.documents import resolve
from publisher.errors import BadRequest, NotAcceptable, ResourceNotFound
from publisher.render import html, strings
from publisher.render.view import safe_href
from publisher.store import OxigraphStore
from tests.a11y import NS, check_page, contrast, custom_properties, parse_strict

EVIL = "</script><script>alert(1)</script>"


def page(store: OxigraphStore, settings: Settings, path: str, lang: str = "sv",
         truncated: bool = False) -> str:
    doc = resolve(path, settings)
    description = store.describe(doc.topic, settings.max_description_links)
    assert description is not None
    if truncated:
        description = replace(description, truncated=True)
    return html.resource_page(description, doc, lang, settings, store)


def links(root) -> list:  # type: ignore[no-untyped-def]
    return list(root.iter(f"{NS}a"))


# -- strings and language ------------------------------------------------------------

def test_every_ui_string_exists_in_both_languages() -> None:
    for key, pair in strings.UI.items():
        assert len(pair) == 2 and all(text.strip() for text in pair), key
    assert set(strings.TABLES["sv"]) == set(strings.TABLES["en"]) == set(strings.UI)


@pytest.mark.parametrize(("query", "accept", "expected"), [
    (None, None, "sv"), (None, "en-GB,en;q=0.9", "en"), (None, "de, sv;q=0.5", "sv"),
    ("en", "sv", "en"), ("sv", "en", "sv"), (None, "fr", "sv")])
def test_request_language(query: str | None, accept: str | None, expected: str) -> None:
    assert html.request_language(query, accept) == expected


def test_bad_lang_is_bad_request() -> None:
    with pytest.raises(BadRequest):
        html.request_language("de", None)


@pytest.mark.parametrize(("iri", "allowed"), [
    ("https://example.org/", True), ("http://x.test/a", True), ("mailto:a@b.se", True),
    ("tel:+46187270000", True), ("javascript:alert(1)", False), ("JavaScript:alert(1)", False),
    (" javascript:alert(1)", False), ("data:text/html,x", False), ("vbscript:x", False),
    ("urn:isbn:1", False), ("https://x.test/\"onmouseover=alert(1)", False)])
def test_safe_href(iri: str, allowed: bool) -> None:
    assert (safe_href(iri) is not None) is allowed


# -- resource pages --------------------------------------------------------------------

@pytest.mark.parametrize("lang", ["sv", "en"])
def test_hostile_literal_is_text_in_html_and_json_ld(tiny_store, tiny_settings, lang) -> None:
    text = page(tiny_store, tiny_settings, "doc/place/testby", lang)
    assert EVIL not in text and "<!-- kommentar" not in text
    root = check_page(text)
    scripts = list(root.iter(f"{NS}script"))
    assert [s.get("type") for s in scripts] == ["application/ld+json"]
    embedded = json.loads(scripts[0].text)
    assert EVIL in embedded["description"]["@value"]
    body = "".join(root.find(f".//{NS}main").itertext())
    assert EVIL in body and ('"quotes"' in body if lang == "en" else '"citat"' in body)


def test_javascript_and_data_iris_are_text_not_links(tiny_store, tiny_settings) -> None:
    root = parse_strict(page(tiny_store, tiny_settings, "doc/place/testby"))
    hrefs = [a.get("href") for a in links(root)]
    assert all(h.startswith(("https://", "http://", "mailto:", "tel:", "#")) for h in hrefs), hrefs
    body = "".join(root.find(f".//{NS}main").itertext())
    assert "javascript:alert(1)" in body and "data:text/html" in unquote(body)


def test_links_internal_to_themselves_external_marked(tiny_store, tiny_settings) -> None:
    root = parse_strict(page(tiny_store, tiny_settings, "doc/place/testby", "en"))
    hrefs = {a.get("href"): a for a in links(root)}
    assert "https://data.uppsala.se/id/country/xx" in hrefs
    assert "https://data.uppsala.se/id/place/annanby" in hrefs
    for a in root.find(f".//{NS}main").iter(f"{NS}a"):
        if not a.get("href").startswith(tiny_settings.base):
            assert a.get("rel") == "external noopener", a.get("href")
            assert "(external link)" in "".join(a.itertext())


def test_labels_types_and_groups(tiny_store, tiny_settings) -> None:
    sv = parse_strict(page(tiny_store, tiny_settings, "doc/place/testby", "sv"))
    en = parse_strict(page(tiny_store, tiny_settings, "doc/place/testby", "en"))
    assert sv.find(f".//{NS}h1").text == "Testby"
    assert en.find(f".//{NS}h1").text == "Test Town"
    text = "".join(en.itertext())
    # the type by the built-in label, the intl: property by the ontology's label
    assert "city" in text and "twinned with" in text and "vänort till" not in text
    assert {"Name and description", "Details", "Relations", "Identifiers and links",
            "Sources", "Links here", "Get as data"} <= {
        "".join(h.itertext()) for h in en.iter(f"{NS}h2")}
    other = [el for el in en.iter() if el.get("lang") == "sv" and el.tag == f"{NS}span"]
    assert other, "values in another language carry a lang attribute"


def test_head_title_description_canonical_alternates(tiny_store, tiny_settings) -> None:
    root = parse_strict(page(tiny_store, tiny_settings, "doc/place/testby", "en"))
    head = root.find(f"{NS}head")
    assert head.find(f"{NS}title").text.startswith("Test Town")
    metas = {m.get("name"): m.get("content") for m in head.iter(f"{NS}meta")}
    assert metas["description"]
    rels = [(ln.get("rel"), ln.get("hreflang"), ln.get("type"), ln.get("href"))
            for ln in head.iter(f"{NS}link")]
    doc = "https://data.uppsala.se/doc/place/testby"
    assert ("canonical", None, None, doc) in rels
    for code in ("sv", "en"):
        assert ("alternate", code, None, f"{doc}?lang={code}") in rels
    assert ("alternate", "x-default", None, doc) in rels
    for ext, media in [("ttl", "text/turtle"), ("jsonld", "application/ld+json"),
                       ("rdf", "application/rdf+xml"), ("nt", "application/n-triples")]:
        assert ("alternate", None, media, f"{doc}.{ext}") in rels


def test_truncation_notice_links_to_a_query(tiny_store, tiny_settings) -> None:
    root = parse_strict(page(tiny_store, tiny_settings, "doc/place/annanby", "en",
                             truncated=True))
    note = root.find(f".//{NS}p[@role='note']")
    assert note is not None and "Only the first" in "".join(note.itertext())
    href = note.find(f"{NS}a").get("href")
    assert href.startswith("https://data.uppsala.se/sparql?query=")
    assert "<https://data.uppsala.se/id/place/annanby>" in unquote(href)


def test_vocabulary_terms_have_anchors(tiny_store, tiny_settings) -> None:
    root = check_page(page(tiny_store, tiny_settings, "def/intl", "en"))
    assert root.find(f".//{NS}section[@id='twinnedWith']") is not None


def test_resource_page_is_fast(real_store, real_settings) -> None:
    doc = resolve("doc/place/tartu", real_settings)
    description = real_store.describe(doc.topic, 500)
    html.resource_page(description, doc, "sv", real_settings, real_store)
    runs = []
    for _ in range(50):
        start = time.perf_counter()
        html.resource_page(description, doc, "sv", real_settings, real_store)
        runs.append(time.perf_counter() - start)
    assert sorted(runs)[len(runs) // 2] < 0.002


# -- other pages -------------------------------------------------------------------------

def test_error_page_404_helps(tiny_settings) -> None:
    text = html.error_page(ResourceNotFound("x"), "en", tiny_settings, "/doc/<nope>")
    root = check_page(text)
    assert "/doc/<nope>" in "".join(root.itertext()) and "<nope>" not in text
    hrefs = {a.get("href") for a in links(root)}
    assert {tiny_settings.base, tiny_settings.iri("sparql"),
            tiny_settings.iri("sitemap.xml")} <= hrefs


def test_error_page_406_lists_formats(tiny_settings) -> None:
    error = NotAcceptable(["text/turtle", "application/ld+json"])
    root = check_page(html.error_page(error, "sv", tiny_settings, "/doc/place/x"))
    codes = [c.text for c in root.iter(f"{NS}code")]
    assert codes == ["text/turtle", "application/ld+json"]


@pytest.mark.parametrize("error", [ResourceNotFound("x"), NotAcceptable(["text/turtle"]),
                                   BadRequest("x")])
def test_error_page_names_no_canonical_url(tiny_settings, error) -> None:
    """Search engines must not be told an error's URL is canonical, or has language
    versions; the reader can still switch language."""
    root = check_page(html.error_page(error, "en", tiny_settings, "/doc/place/nope"))
    rels = [(ln.get("rel"), ln.get("hreflang")) for ln in root.find(f"{NS}head").iter(f"{NS}link")]
    assert rels and not [r for r in rels if r[0] == "canonical" or r[1]], rels
    switch = root.find(f".//{NS}nav[@class='lang-switch']")
    assert [a.get("href") for a in switch.iter(f"{NS}a")] == [
        tiny_settings.iri(f"doc/place/nope?lang={code}") for code in html.LANGUAGES]


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_landing_and_accessibility_pages_are_valid(real_store, real_settings, lang) -> None:
    check_page(html.landing_page(real_store, lang, real_settings))
    text = html.accessibility_page(lang, real_settings, real_store)
    check_page(text)
    assert "https://www.digg.se/tdosanmalan" in text
    assert ("delvis förenlig" if lang == "sv" else "partially compliant") in text


def test_landing_page_is_cached_per_version_and_language(real_store, real_settings) -> None:
    first = html.landing_page(real_store, "en", real_settings)
    assert html.landing_page(real_store, "en", real_settings) is first
    assert html.landing_page(real_store, "sv", real_settings) is not first


def test_base_template_blocks_for_other_pages(real_settings) -> None:
    child = html.environment().from_string(
        '{% extends "base.html" %}{% block title %}SPARQL{% endblock %}'
        '{% block description %}Fråga{% endblock %}{% block head %}'
        '<script src="/static/sparql.js" defer></script>{% endblock %}'
        '{% block content %}<h1>Fråga</h1><label for="q">Fråga</label>'
        '<textarea id="q"></textarea>{% endblock %}')
    text = child.render(lang="sv", settings=real_settings, t=strings.TABLES["sv"],
                        request_path="/sparql")
    root = check_page(text)
    assert root.find(f".//{NS}a[@aria-current='page']").text == "SPARQL-frågor"
    nav = {a.get("href") for a in links(root)}
    for path in ("sparql", "catalog", "dumps", ".well-known/void", "accessibility"):
        assert real_settings.iri(path) in nav
    assert html.render_template("error.html", "en", real_settings, "/x",
                                error=ResourceNotFound(), heading="H", message="M",
                                available=[], summary="S")


def test_palette_contrast_meets_wcag_aa() -> None:
    css = (html.STATIC / "site.css").read_text()
    colours = custom_properties(css)
    pairs = [("text", "bg"), ("text", "surface"), ("muted", "bg"), ("muted", "surface"),
             ("link", "bg"), ("link", "surface"), ("link-visited", "bg"),
             ("link-visited", "surface"), ("header-text", "header-bg"), ("nav-text", "nav-bg"),
             ("link", "nav-bg"), ("notice-text", "notice-bg"), ("text", "nav-bg")]
    for fg, bg in pairs:
        assert contrast(colours[fg], colours[bg]) >= 4.5, (fg, bg)
    assert contrast(colours["focus"], colours["bg"]) >= 3  # non-text contrast (1.4.11)
    assert not re.search(r"@import|url\(\s*['\"]?https?:", css), "no external resources"
