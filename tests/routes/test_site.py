"""publisher/routes/site.py through the ASGI app: landing page, static files, accessibility
statement, robots.txt, sitemap.xml, HTML error pages and the security headers."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route

from publisher import results, sparql
from publisher.app import create_app
from publisher.config import Settings
from publisher.errors import HttpError, PublisherError
from publisher.render import html
from publisher.render.problems import PROBLEM_TYPES
from publisher.routes.middleware import HTML_SECURITY, HeadAsGet, ResponseHeaders
from tests.a11y import NS, check_page
from tests.support import assert_problem

HTML = {"Accept": "text/html"}


@pytest.fixture(scope="module")
def withheld() -> Iterator[TestClient]:
    settings = Settings(withhold_personal_data=True)
    with TestClient(create_app(settings), base_url="https://data.uppsala.se") as client:
        yield client


@pytest.fixture(scope="module")
def elsewhere() -> Iterator[TestClient]:
    settings = Settings(base="http://127.0.0.1:9/")
    with TestClient(create_app(settings), base_url="http://127.0.0.1:9") as client:
        yield client


def assert_secure(response) -> None:  # type: ignore[no-untyped-def]
    """The required policy is there (a shared middleware may add directives)."""
    csp = {d.strip() for d in response.headers["content-security-policy"].split(";")}
    required = {"default-src 'self'", "script-src 'self'", "style-src 'self'",
                "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"}
    assert required <= csp, required - csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_landing_page_tells_the_international_work(client: TestClient, lang: str) -> None:
    response = client.get("/", params={"lang": lang}, headers=HTML)
    assert response.status_code == 200
    assert response.headers["content-language"] == lang
    assert "Accept-Language" in response.headers["vary"]
    assert_secure(response)
    root = check_page(response.text)
    text = " ".join("".join(root.find(f".//{NS}main").itertext()).split())
    expected = {
        "sv": ["långsiktigt hållbar tillväxt", "Verksamhetsutveckling",
               "Näringsliv och positionering", "Bevakning och påverkan", "Estland",
               "Sydkorea", "Eurocities", "Medlem sedan 2015", "Christian Dahlmann",
               "018-727 13 31", "maria.didi@uppsala.se"],
        "en": ["long-term sustainable growth", "Organisational development",
               "Business and positioning", "Monitoring and influence", "Estonia",
               "South Korea", "Member since 2015", "Johanna Nyman"],
    }[lang]
    for phrase in expected:
        assert phrase in text, phrase
    rows = root.findall(f".//{NS}tbody/{NS}tr")
    assert len(rows) == 7
    years = [row.findall(f"{NS}td")[1].findtext(f"{NS}a") for row in rows]
    assert years == sorted(years) and years[0] == "1947" and "1988" in years


def test_landing_page_without_personal_data(withheld: TestClient) -> None:
    response = withheld.get("/", headers=HTML)
    assert response.status_code == 200
    for name in ("Dahlmann", "Nyman", "Didi", "/id/person/"):
        assert name not in response.text
    assert "Kontakt för internationella relationer" in response.text
    assert "018-727 00 00" in response.text


def test_landing_page_sends_rdf_clients_to_the_dataset(client: TestClient) -> None:
    response = client.get("/", headers={"Accept": "text/turtle"}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == \
        "https://data.uppsala.se/doc/dataset/internationella-relationer"


def test_no_accept_at_the_landing_page_is_any_type(client: TestClient) -> None:
    """RFC 9110 §12.5.1: no Accept means any media type, as ``*/*`` does (and as the
    documents read it): both are sent to the dataset's description."""
    answers = []
    for accept in ("*/*", None):
        request = client.build_request("GET", "/")
        if accept is None:
            del request.headers["accept"]
        else:
            request.headers["accept"] = accept
        answers.append(client.send(request, follow_redirects=False))
    assert [a.status_code for a in answers] == [303, 303]
    assert answers[0].headers["location"] == answers[1].headers["location"]


def test_resource_pages_link_their_iris(client: TestClient) -> None:
    response = client.get("/id/place/tartu", headers=HTML)
    assert response.status_code == 200 and str(response.url).endswith("/doc/place/tartu")
    root = check_page(response.text)
    hrefs = {a.get("href") for a in root.iter(f"{NS}a")}
    assert "https://data.uppsala.se/id/country/ee" in hrefs
    assert "https://data.uppsala.se/id/twinning/uppsala-tartu" in hrefs


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_accessibility_statement(client: TestClient, lang: str) -> None:
    response = client.get("/accessibility", params={"lang": lang}, headers=HTML)
    assert response.status_code == 200
    assert_secure(response)
    root = check_page(response.text)
    assert root.find(f".//{NS}a[@href='https://www.digg.se/tdosanmalan']") is not None
    text = "".join(root.itertext())
    assert ("Digg" in text) and ("018-727 00 00" in text)


def _error_classes(cls: type[HttpError]) -> list[type[HttpError]]:
    return [cls, *(c for sub in cls.__subclasses__() for c in _error_classes(sub))]


def test_every_problem_type_an_answer_can_carry_is_documented() -> None:
    """RFC 9457 §3.1.1: a problem's ``type``, dereferenced, documents it."""
    classes = [*_error_classes(HttpError), PublisherError]
    assert len(classes) >= 15
    assert results.NotInXml in classes and sparql.MissingQuery in classes  # (and theirs)
    for cls in classes:
        if cls is HttpError:
            continue  # never raised itself
        assert cls.slug in PROBLEM_TYPES, cls
        assert PROBLEM_TYPES[cls.slug].status == cls.status, cls


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_problem_type_pages(client: TestClient, lang: str) -> None:
    answer = client.get("/doc/place/atlantis")
    kind = answer.json()["type"]
    assert kind == "https://data.uppsala.se/problems/not-found"
    page = client.get(kind.removeprefix("https://data.uppsala.se"), params={"lang": lang},
                      headers=HTML)
    assert page.status_code == 200
    root = check_page(page.text)
    assert "".join(root.find(f".//{NS}h1").itertext()) == \
        PROBLEM_TYPES["not-found"].title[("sv", "en").index(lang)]
    index = check_page(client.get("/problems", params={"lang": lang}, headers=HTML).text)
    links = {a.get("href") for a in index.iter(f"{NS}a")}
    assert {f"https://data.uppsala.se/problems/{slug}" for slug in PROBLEM_TYPES} <= links
    assert_problem(client.get("/problems/no-such-kind"), 404)


def test_problem_types_are_under_the_servers_base(elsewhere: TestClient) -> None:
    kind = elsewhere.get("/doc/place/atlantis").json()["type"]
    assert kind == "http://127.0.0.1:9/problems/not-found"
    assert elsewhere.get("/problems/not-found", headers=HTML).status_code == 200


def test_every_page_links_the_statement(client: TestClient) -> None:
    for path in ("/", "/doc/place/tartu", "/no/such/page"):
        text = client.get(path, headers=HTML).text
        assert 'href="https://data.uppsala.se/accessibility"' in text


def test_static_files_are_cached_and_confined(client: TestClient) -> None:
    version = html.static_version("site.css")
    response = client.get(f"/static/site.css?v={version}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/css; charset=utf-8"
    assert "immutable" in response.headers["cache-control"]
    assert response.headers["x-content-type-options"] == "nosniff"
    plain = client.get("/static/site.css")
    assert "immutable" not in plain.headers["cache-control"]
    again = client.get("/static/site.css", headers={"If-None-Match": plain.headers["etag"]})
    assert again.status_code == 304
    assert client.get("/static/favicon.svg").headers["content-type"].startswith("image/svg+xml")
    for bad in ("/static/..%2Fhtml.py", "/static/%2E%2E%2Fhtml.py", "/static/.hidden",
                "/static/nope.css", "/static/site.css%00.js", "/static/%2e%2e"):
        assert_problem(client.get(bad), 404)


def test_page_assets_are_all_served(client: TestClient) -> None:
    text = client.get("/", headers=HTML).text
    for href in re.findall(r'(?:href|src)="https://data\.uppsala\.se(/static/[^"]+)"', text):
        assert client.get(href.replace("&amp;", "&")).status_code == 200, href


def test_robots_and_sitemap_under_another_base(elsewhere: TestClient) -> None:
    robots = elsewhere.get("/robots.txt").text
    assert "Sitemap: http://127.0.0.1:9/sitemap.xml" in robots
    sitemap = elsewhere.get("/sitemap.xml")
    assert sitemap.headers["content-type"].startswith("application/xml")
    locs = re.findall(r"<loc>(.*?)</loc>", sitemap.text)
    assert locs[0] == "http://127.0.0.1:9/"
    assert "http://127.0.0.1:9/doc/place/tartu" in locs
    assert all(loc.startswith("http://127.0.0.1:9/") for loc in locs)
    assert "data.uppsala.se/" not in elsewhere.get("/", headers=HTML).text.replace(
        "www.uppsala.se", "")


def test_sitemap_lists_only_pages_that_answer_html(client: TestClient) -> None:
    locs = re.findall(r"<loc>(.*?)</loc>", client.get("/sitemap.xml").text)
    assert len(locs) > 40
    for loc in locs:
        response = client.get(loc.removeprefix("https://data.uppsala.se"), headers=HTML)
        assert response.status_code == 200, loc
        assert response.headers["content-type"].startswith("text/html")


def test_helpful_404_for_people_problem_json_for_programs(client: TestClient) -> None:
    response = client.get("/doc/place/atlantis", headers=HTML)
    assert response.status_code == 404
    root = check_page(response.text)
    hrefs = {a.get("href") for a in root.iter(f"{NS}a")}
    assert {"https://data.uppsala.se/", "https://data.uppsala.se/sparql",
            "https://data.uppsala.se/sitemap.xml"} <= hrefs
    english = client.get("/nowhere", headers={**HTML, "Accept-Language": "en"})
    assert "Nothing is published at /nowhere" in english.text
    assert_problem(client.get("/doc/place/atlantis", headers={"Accept": "text/turtle"}),
                   404)


def test_security_headers_middleware() -> None:
    async def page(request):  # type: ignore[no-untyped-def]
        return HTMLResponse("<p>x</p>")

    async def data(request):  # type: ignore[no-untyped-def]
        return JSONResponse({})

    app = Starlette(routes=[Route("/p", page), Route("/d", data)])
    app.add_middleware(HeadAsGet)
    app.add_middleware(ResponseHeaders, html_links='<https://x.example/catalog>; rel="x"')
    with TestClient(app) as client:
        page_response = client.get("/p", headers={"X-Request-ID": "abc-123"})
        assert_secure(page_response)
        assert page_response.headers["content-security-policy"] == \
            HTML_SECURITY["Content-Security-Policy"]
        assert page_response.headers["x-request-id"] == "abc-123"
        assert page_response.headers["link"] == '<https://x.example/catalog>; rel="x"'
        response = client.get("/d", headers={"X-Request-ID": "<bad id>"})
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "content-security-policy" not in response.headers
        assert "link" not in response.headers
        assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])
        head = client.head("/p")
        assert head.status_code == 200 and head.content == b""
        assert head.headers["content-length"] == str(len(page_response.content))
