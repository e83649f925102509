"""The schema.org JSON-LD embedded in every HTML page of the real data: real schema.org
terms only, and (read with schema.org's own context) nothing our Turtle does not say.
Extracted with extruct from pages served by a real uvicorn server, too."""

from __future__ import annotations

import json
import re
from typing import Any

import extruct
import httpx
import pytest
import rdflib
from fastapi.testclient import TestClient

from tests.conftest import Server
from tests.schemaorg import context, plain_string_properties, terms_used, to_graph, vocabulary

#: The dataset page embeds the catalogue's schema.org Dataset (distributions, licence,
#: coverage) for Google Dataset Search: its facts come from /catalog, not from the
#: resource's own Turtle, and its URLs are IRIs on purpose; it has a test of its own.
DATASET_PAGE = "/doc/dataset/internationella-relationer"
BLOCK = re.compile(r'<script type="application/ld\+json">(.*?)</script>', re.S)


def html_pages(client: TestClient) -> list[str]:
    sitemap = client.get("/sitemap.xml").text
    return [re.sub(r"^https://data\.uppsala\.se", "", loc)
            for loc in re.findall(r"<loc>(.*?)</loc>", sitemap)]


def embedded(text: str) -> list[dict[str, Any]]:
    return [json.loads(block) for block in BLOCK.findall(text)]


def ids(data: Any) -> set[str]:
    if isinstance(data, list):
        return set().union(*(ids(d) for d in data)) if data else set()
    if isinstance(data, dict):
        found = {data["@id"]} if "@id" in data else set()
        return found.union(*(ids(v) for v in data.values()))
    return set()


def turtle_of(client: TestClient, iris: set[str]) -> rdflib.Graph:
    graph = rdflib.Graph()
    for iri in iris:
        if iri.startswith("https://data.uppsala.se/id/"):
            path = iri.replace("https://data.uppsala.se/id/", "/doc/", 1)
            response = client.get(path, headers={"Accept": "text/turtle"})
            assert response.status_code == 200, path
            graph.parse(data=response.text, format="turtle")
    return graph


@pytest.fixture(scope="module")
def pages(client: TestClient) -> dict[str, list[dict[str, Any]]]:
    found = {}
    for path in html_pages(client):
        for lang in ("sv", "en"):
            response = client.get(path, params={"lang": lang}, headers={"Accept": "text/html"})
            assert response.status_code == 200, path
            found[f"{path}?lang={lang}"] = embedded(response.text)
    return found


def test_landing_page_carries_the_municipality(pages: dict[str, list[dict[str, Any]]]) -> None:
    (org,) = pages["/?lang=sv"]
    assert org["@context"] == "https://schema.org"
    assert "GovernmentOrganization" in ([org["@type"]] if isinstance(org["@type"], str)
                                        else org["@type"])
    assert org["name"] == {"@value": "Uppsala kommun", "@language": "sv"}
    assert org["url"] == {"@id": "https://www.uppsala.se"}
    assert org["telephone"] == "+46187270000"
    assert "logo" not in org
    identifiers = org["identifier"] if isinstance(org["identifier"], list) else [org["identifier"]]
    assert any(i.get("@type") == "PropertyValue" and i.get("value") == "212000-3005"
               for i in identifiers)
    addresses = org["address"] if isinstance(org["address"], list) else [org["address"]]
    assert all(a["@type"] == "PostalAddress" for a in addresses)
    assert org["contactPoint"]["@type"] == "ContactPoint"
    assert "sameAs" in org and "memberOf" in org


def test_every_term_is_in_schema_org_30(pages: dict[str, list[dict[str, Any]]]) -> None:
    known = vocabulary()
    for path, blocks in pages.items():
        for block in blocks:
            unknown = set(terms_used(block)) - known
            assert not unknown, (path, unknown)


def test_plain_strings_are_not_coerced(pages: dict[str, list[dict[str, Any]]]) -> None:
    definitions = context()["@context"]
    for path, blocks in pages.items():
        if path.startswith(DATASET_PAGE + "?"):
            continue
        for block in blocks:
            for term in plain_string_properties(block):
                assert "@type" not in definitions.get(term, {}), (path, term)


def test_every_page_has_one_typed_block(pages: dict[str, list[dict[str, Any]]]) -> None:
    """A thing schema.org has no type for (a twinning agreement, a focus area, an instant,
    our vocabulary) gets a WebPage block about its page, never a node without a type."""
    webpages = 0
    for path, blocks in pages.items():
        assert len(blocks) == 1, path
        (block,) = blocks
        assert block.get("@type"), path
        if block["@type"] == "WebPage":
            webpages += 1
            page = "https://data.uppsala.se" + path.partition("?")[0]
            lang = path.rpartition("=")[2]
            assert block["@id"] == block["url"]["@id"] == page
            assert block["inLanguage"] == lang and block["name"]["@language"] == lang
            if page.startswith("https://data.uppsala.se/doc/"):
                assert block["about"] == {"@id": page.replace("/doc/", "/id/", 1)}
            assert block["isPartOf"]["@id"] == \
                "https://data.uppsala.se/id/dataset/internationella-relationer"
    assert webpages >= 2 * 7  # the twinning agreements at least, in both languages


def test_embedded_triples_are_a_subset_of_our_turtle(
        client: TestClient, pages: dict[str, list[dict[str, Any]]]) -> None:
    """What a block says of a thing, the thing's Turtle says (a WebPage block speaks of
    the page, which test_every_page_has_one_typed_block checks)."""
    checked = 0
    for path, blocks in pages.items():
        if path.startswith(DATASET_PAGE + "?"):
            continue
        for block in blocks:
            if block["@type"] == "WebPage":
                continue
            said = to_graph(block)
            ours = turtle_of(client, ids(block))
            extra = set(said) - set(ours)
            assert not extra, (path, extra)
            checked += len(said)
    assert checked > 100


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_dataset_page_meets_google_dataset_requirements(
        client: TestClient, pages: dict[str, list[dict[str, Any]]], lang: str) -> None:
    (dataset,) = pages[f"{DATASET_PAGE}?lang={lang}"]
    assert dataset["@context"] == "https://schema.org" and dataset["@type"] == "Dataset"
    assert dataset["name"] and 50 <= len(dataset["description"]) <= 5000
    assert dataset["license"] and dataset["creator"]["name"]
    downloads = dataset["distribution"]
    assert len(downloads) >= 4
    for download in downloads:
        assert download["@type"] == "DataDownload" and download["encodingFormat"]
        path = download["contentUrl"].removeprefix("https://data.uppsala.se")
        answer = client.head(path, headers={"Accept-Encoding": "identity"})
        assert answer.status_code == 200, path
        # its size, as the catalogue's page gives it too
        assert download["contentSize"] == f"{answer.headers['content-length']} B", path
    to_graph(dataset)  # parses as JSON-LD with schema.org's own context


@pytest.mark.slow
@pytest.mark.parametrize("path", ["/", "/id/place/tartu"])
def test_extruct_reads_the_block_from_a_real_server(server: Server, http: httpx.Client,
                                                     path: str) -> None:
    response = http.get(server.url(path), headers={"Accept": "text/html"},
                        follow_redirects=True)
    assert response.status_code == 200
    found = extruct.extract(response.text, base_url=str(response.url),
                            syntaxes=["json-ld"])["json-ld"]
    assert len(found) == 1
    data = found[0]
    assert data["@context"] == "https://schema.org"
    assert data["@id"].startswith(server.base)
    expected = "GovernmentOrganization" if path == "/" else "City"
    assert expected in ([data["@type"]] if isinstance(data["@type"], str) else data["@type"])
    assert len(to_graph(data)) > 5
