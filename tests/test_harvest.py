"""publisher/harvest.py: each check catches what a portal would reject."""

from __future__ import annotations

import asyncio
import hashlib

import httpx
import pytest
import rdflib

from publisher.harvest import Report, check_catalog, check_graph, fetch, iri_problem


@pytest.mark.parametrize(("iri", "ok"), [
    ("https://data.uppsala.se/id/place/tartu", True),
    ("http://sws.geonames.org/2666219/", True),
    ("mailto:a@b.se", True),
    ("tel:+46187270000", True),
    ("https://example.org/å%C3%A5", True),
    ("id/place/tartu", False),
    ("https://example.org/a b", False),
    ("https://example.org/%zz", False),
    ("https://example.org/<x>", False),
    ("http:///nohost", False),
    ("https://example.org/a#b#c", False),
])
def test_iri_problem(iri: str, ok: bool) -> None:
    assert (iri_problem(iri) is None) is ok


BROKEN = """
@prefix dcat: <http://www.w3.org/ns/dcat#> . @prefix dct: <http://purl.org/dc/terms/> .
<http://x.org/c> a dcat:Catalog ; dct:license <https://creativecommons.org/licenses/by/4.0> ;
    dct:publisher [ a <http://xmlns.com/foaf/0.1/Agent> ] .
<http://x.org/d> a dcat:Dataset ; dct:description "too short"@en .
"""


def test_check_graph_flags_portal_problems() -> None:
    report = Report("http://x.org/c")
    check_graph(rdflib.Graph().parse(data=BROKEN, format="turtle"), report)
    failed = {c.name for c in report.checks if not c.ok and c.severity == "error"}
    assert {"blank-nodes", "licences", "descriptions"} <= failed
    assert not report.ok


def _run(handler, url: str = "http://x.org/cat"):  # type: ignore[no-untyped-def]
    async def go():  # type: ignore[no-untyped-def]
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            return await check_catalog(url, client)
    return asyncio.run(go())


def test_only_the_portals_redirects_are_followed() -> None:
    async def go() -> tuple[int, list[str]]:
        def handler(request: httpx.Request) -> httpx.Response:
            if request.url.path == "/a":
                return httpx.Response(308, headers={"location": "/b"})
            return httpx.Response(302, headers={"location": "/c"})
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            response, chain = await fetch(client, "http://x.org/a", None)
            return response.status_code, chain
    status, chain = asyncio.run(go())
    assert status == 302 and len(chain) == 2  # 308 followed, 302 not


CATALOG = """<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
  xmlns:dcat="http://www.w3.org/ns/dcat#" xmlns:spdx="http://spdx.org/rdf/terms#">
 <dcat:Distribution rdf:about="http://x.org/cat#d">
  <dcat:downloadURL rdf:resource="http://x.org/dump.nt"/>
  <dcat:byteSize>{size}</dcat:byteSize>
  <spdx:checksum><spdx:Checksum rdf:about="http://x.org/cat#c">
   <spdx:algorithm rdf:resource="http://spdx.org/rdf/terms#checksumAlgorithm_sha256"/>
   <spdx:checksumValue>{sha}</spdx:checksumValue></spdx:Checksum></spdx:checksum>
 </dcat:Distribution>
</rdf:RDF>"""


@pytest.mark.parametrize("tamper", [False, True])
def test_downloads_are_checked_against_size_and_checksum(tamper: bool) -> None:
    dump = b"<http://x.org/a> <http://x.org/b> <http://x.org/c> .\n"
    body = CATALOG.format(size=len(dump), sha=hashlib.sha256(dump).hexdigest())

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/cat":
            return httpx.Response(200, content=body.encode(),
                                  headers={"content-type": "application/rdf+xml"})
        return httpx.Response(200, content=dump + (b"#" if tamper else b""))
    report = _run(handler)
    downloads = next(c for c in report.checks if c.name == "downloads")
    assert downloads.ok is not tamper
    assert report.to_text().startswith("Harvest check of http://x.org/cat")


def test_wrong_media_type_and_unparsable_body_fail() -> None:
    report = _run(lambda request: httpx.Response(200, content=b"@prefix x: <y> .",
                                                 headers={"content-type": "text/turtle"}))
    failed = {c.name for c in report.checks if not c.ok}
    assert {"media-type", "parse"} <= failed and not report.ok
