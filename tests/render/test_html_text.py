"""publisher/render/html.py: text from the data in the pages. It is direction-isolated, so
that a bidi override in it cannot reorder the text after it, and its control characters are
shown as symbols, never sent; ordinary text comes out as it is."""

from __future__ import annotations

import shutil
import unicodedata
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from publisher.app import create_app
from publisher.config import Settings
from publisher.errors import ResourceNotFound
from publisher.render import html
from tests.a11y import NS, check_page, unisolated
from tests.render.conftest import FIXTURE

HOSTILE = "evil \u202egnp.exe\u0000<b>"       # looks like "evil exe.png", then NUL and markup
SHOWN = "evil \u202egnp.exe\u2400<b>"         # as the page shows it: NUL as SYMBOL FOR NULL
RTL_IRI = "https://ar.wikipedia.org/wiki/\u0623\u0648\u0628\u0633\u0627\u0644\u0627"
MORE = f"""
@prefix schema: <http://schema.org/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
<https://data.uppsala.se/id/place/testby> schema:alternateName "evil \\u202Egnp.exe\\u0000<b>"@en ;
    schema:sameAs <{RTL_IRI}> .
<https://data.uppsala.se/id/place/spoof> a schema:City ;
    rdfs:label "\\u202Egnp.exe\\u0000"@sv ; schema:containedInPlace <https://data.uppsala.se/id/country/xx> .
"""


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The app over the tiny HTML graph, with a triple more or so of hostile text."""
    data = tmp_path_factory.mktemp("hostile") / "data"
    shutil.copytree(FIXTURE / "data", data)
    (data / "more.ttl").write_text(MORE, encoding="utf-8")
    settings = Settings(data_dir=data, ontology_dir=FIXTURE / "ontology")
    with TestClient(create_app(settings), base_url="https://data.uppsala.se") as client:
        yield client


def page(client: TestClient, path: str, lang: str = "sv") -> tuple[str, Any]:
    response = client.get(path, params={"lang": lang}, headers={"Accept": "text/html"})
    assert response.status_code == 200
    return response.text, check_page(response.text)


# -- the filters -------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["Testby", "Hämeenlinna – vänort sedan 1948", "a < b & \"c\"",
                                  "tab\there\nand\r\nlines", ""])
def test_ordinary_text_is_printed_as_before(text: str) -> None:
    assert html.isolate(text) == text
    assert html.environment().from_string("<p>{{ x }}</p>").render(x=text) \
        == "<p>" + str(html.escape(text)) + "</p>"


def test_controls_are_shown_as_symbols() -> None:
    assert html.isolate("a\x00b\x08\x0b\x0c\x1b\x1f\x7f\x85\x9fz") \
        == "a\u2400b\u2408\u240b\u240c\u241b\u241f\u2421\ufffd\ufffdz"
    assert html.verbatim("q\x00\u202e<") == "q\u2400\u202e&lt;"


def test_text_with_a_direction_of_its_own_is_in_a_bdi() -> None:
    """Every right-to-left letter or digit and every explicit bidi control of the Unicode
    database, and the marks U+200E, U+200F and U+061C."""
    classes = {"R", "AL", "AN", "LRE", "RLE", "LRO", "RLO", "PDF", "LRI", "RLI", "FSI", "PDI"}
    directional = [chr(c) for c in range(0x110000)
                   if unicodedata.bidirectional(chr(c)) in classes]
    assert len(directional) > 3000
    for char in [*directional, "\u200e", "\u200f", "\u061c"]:
        assert html.isolate(f"x{char}<") == f"<bdi>x{char}&lt;</bdi>", hex(ord(char))


def test_markup_and_other_values_pass_through() -> None:
    markup = html.Markup("<b>\u202e</b>")
    assert html.isolate(markup) is markup and html.isolate(3) == 3 and html.isolate(None) is None


# -- pages ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("lang", ["sv", "en"])
def test_a_hostile_literal_on_a_resource_page(hostile: TestClient, lang: str) -> None:
    text, root = page(hostile, "/doc/place/testby", lang)
    assert "\x00" not in text and HOSTILE not in text
    [bdi] = [b for b in root.iter(f"{NS}bdi") if b.text == SHOWN]
    main = root.find(f".//{NS}main")
    [dd] = [dd for dd in main.iter(f"{NS}dd") if bdi in list(dd.iter())]
    if lang == "sv":  # the language note comes after the <bdi>, out of the override's reach
        span, note = list(dd)
        assert span.get("lang") == "en" and list(span) == [bdi]
        assert note.get("class") == "lang-note" and note.text == "(på engelska)"
    assert main.find(f".//{NS}b") is None
    assert unisolated(main) == []


def test_an_iri_with_a_direction_of_its_own_stays_a_working_link(hostile: TestClient) -> None:
    _, root = page(hostile, "/doc/place/testby")
    [link] = [a for a in root.iter(f"{NS}a") if a.get("href") == RTL_IRI]
    code = link.find(f"{NS}code")
    assert code.find(f"{NS}bdi").text == RTL_IRI


def test_a_hostile_label_in_heading_title_and_description(hostile: TestClient) -> None:
    text, root = page(hostile, "/doc/place/spoof")
    h1 = root.find(f".//{NS}h1")
    assert [child.tag for child in h1] == [f"{NS}bdi"] and h1[0].text == "\u202egnp.exe\u2400"
    # no markup in <title>: Unicode's isolate FSI ... PDI, and the override dropped
    title = root.find(f".//{NS}title").text
    assert title.startswith("\u2068gnp.exe\u2400\u2069 – ") and "\u202e" not in title
    description = root.find(f".//{NS}meta[@name='description']").get("content")
    assert description.startswith("\u2068gnp.exe\u2400: ") and description.endswith("\u2069")
    assert "\u202e" not in description and "bdi>" not in description
    assert "\x00" not in text and unisolated(root.find(f".//{NS}body")) == []
    # and the incoming link on the page it points to
    _, country = page(hostile, "/doc/country/xx")
    assert unisolated(country.find(f".//{NS}body")) == []
    assert any(b.text == "\u202egnp.exe\u2400" for b in country.iter(f"{NS}bdi"))


def test_a_hostile_path_on_the_404_page(tiny_settings: Settings) -> None:
    path = "/doc/\u202egnp.exe\u0000<b>"
    text = html.error_page(ResourceNotFound("x"), "en", tiny_settings, path)
    root = check_page(text)
    lead = root.find(f".//{NS}p[@class='lead']")
    assert lead.text == "Nothing is published at " and lead[0].tail == "."
    assert lead[0].tag == f"{NS}bdi" and lead[0].text == "/doc/\u202egnp.exe\u2400<b>"
    assert "\x00" not in text and unisolated(root.find(f".//{NS}body")) == []
