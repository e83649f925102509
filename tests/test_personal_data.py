"""The withhold switch: no trace of a named person is served anywhere."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from publisher.app import create_app
from publisher.config import Settings

PEOPLE = re.compile(r"dahlmann|nyman|didi|727 13|72713|id/person/", re.IGNORECASE)
#: blank node labels are random hex digits, which can spell 72713 by chance
BLANK_LABEL = re.compile(r"_:[0-9A-Za-z]+")


def _mentions_a_person(text: str) -> bool:
    return PEOPLE.search(BLANK_LABEL.sub("_:", text)) is not None


@pytest.fixture(scope="module")
def withheld() -> Iterator[TestClient]:
    settings = Settings(withhold_personal_data=True)
    with TestClient(create_app(settings), base_url="https://data.uppsala.se") as client:
        yield client


def _documents(client: TestClient) -> list[str]:
    sitemap = client.get("/sitemap.xml").text
    return [url.removeprefix("https://data.uppsala.se") for url in
            re.findall(r"<loc>([^<]+)</loc>", sitemap)]


def test_people_are_published_by_default(client: TestClient) -> None:
    assert PEOPLE.search(client.get("/sitemap.xml").text)
    assert client.get("/doc/person/christian-dahlmann.ttl").status_code == 200


def test_no_trace_when_withheld(withheld: TestClient) -> None:
    paths = _documents(withheld)
    assert len(paths) > 20
    for path in paths:
        is_document = path.startswith(("/doc/", "/def/"))
        variants = (path, path.removesuffix(".html") + ".nt") if is_document else (path,)
        for variant in variants:
            response = withheld.get(variant)
            assert response.status_code == 200, variant
            assert not _mentions_a_person(response.text), f"{variant} mentions a person"
    assert not _mentions_a_person(withheld.get("/sitemap.xml").text)
    assert withheld.get("/doc/person/christian-dahlmann.ttl").status_code == 404


def test_functional_contact_point_stays(withheld: TestClient) -> None:
    response = withheld.get("/doc/contact-point/internationella-relationer.ttl")
    assert response.status_code == 200
    assert "+46187270000" in response.text
