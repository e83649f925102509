"""Cool URIs and content negotiation of resource documents, through the ASGI app."""

from __future__ import annotations

import http.client
import json
import shutil
from pathlib import Path

import httpx
import pytest
import rdflib
from fastapi.testclient import TestClient
from rdflib.compare import isomorphic

from publisher.app import create_app
from publisher.render.rdf import context
from publisher.routes.middleware import GZIP_MINIMUM
from tests.conftest import Server
from tests.routes.conftest import MINI, mini_settings
from tests.support import assert_problem

BASE = "https://data.uppsala.se/"
ALPHA = rdflib.URIRef(BASE + "id/place/alpha")
DOC = rdflib.URIRef(BASE + "doc/place/alpha")
FOAF = rdflib.Namespace("http://xmlns.com/foaf/0.1/")
VOID = rdflib.Namespace("http://rdfs.org/ns/void#")
INTL = rdflib.Namespace(BASE + "def/intl#")
SCHEMA = rdflib.Namespace("http://schema.org/")
RDF_FORMATS = {"ttl": ("text/turtle", "turtle"), "jsonld": ("application/ld+json", "json-ld"),
               "rdf": ("application/rdf+xml", "xml"), "nt": ("application/n-triples", "nt")}


def parse(response, rdflib_format: str) -> rdflib.Graph:  # type: ignore[no-untyped-def]
    data = response.content
    if rdflib_format == "json-ld":  # inline our context: unit tests make no HTTP requests
        document = json.loads(data)
        document["@context"] = context(BASE)["@context"]
        data = json.dumps(document).encode()
    return rdflib.Graph().parse(data=data, format=rdflib_format, publicID=str(DOC))


def test_thing_iri_answers_303_to_its_document(mini: TestClient) -> None:
    response = mini.get("/id/place/alpha", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == str(DOC)
    with_lang = mini.get("/id/place/alpha?lang=en", follow_redirects=False)
    assert with_lang.headers["location"] == f"{DOC}?lang=en"


@pytest.mark.parametrize("path", ["/id/place/nowhere", "/id/nope/nothing", "/id/place/",
                                  "/id/", "/id/place%2Falpha", "/id/place%2falpha",
                                  "/id/place/al pha", "/id/%ff"])
def test_a_thing_nothing_is_known_about_is_404_not_a_redirect(mini: TestClient,
                                                               path: str) -> None:
    assert_problem(mini.get(path, follow_redirects=False), 404)


def test_a_non_latin1_thing_redirects_percent_encoded(tmp_path: Path) -> None:
    """Header values are Latin-1: the document's address goes out percent-encoded."""
    data = tmp_path / "data"
    shutil.copytree(MINI / "data", data)
    (data / "more.ttl").write_text(
        "<https://data.uppsala.se/id/place/h\u00e4meen\u2028x> "
        "<http://www.w3.org/2000/01/rdf-schema#label> \"H\" .\n", encoding="utf-8")
    with TestClient(create_app(mini_settings(data_dir=data)),
                    base_url="https://data.uppsala.se") as client:
        response = client.get("/id/place/hämeen\u2028x", follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].endswith("/doc/place/h%C3%A4meen%E2%80%A8x")


def test_default_is_turtle_with_negotiation_headers(mini: TestClient) -> None:
    response = mini.get("/doc/place/alpha", headers={"Accept": "*/*"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/turtle; charset=utf-8"
    assert "Accept" in response.headers["vary"]
    assert response.headers["content-location"] == str(DOC) + ".ttl"
    links = response.headers["link"]
    for suffix, (media_type, _) in RDF_FORMATS.items():
        assert f'<{DOC}.{suffix}>; rel="alternate"; type="{media_type}"' in links
    assert f'<{DOC}.html>; rel="alternate"; type="text/html"' in links
    assert f'<{DOC}>; rel="canonical"' in links
    assert f'<{ALPHA}>; rel="describes"' in links
    assert response.headers["etag"].startswith('W/"')
    assert response.headers["last-modified"].endswith("GMT")


@pytest.mark.parametrize("suffix", sorted(RDF_FORMATS))
def test_every_format_says_the_same(mini: TestClient, suffix: str) -> None:
    media_type, rdflib_format = RDF_FORMATS[suffix]
    by_suffix = mini.get(f"/doc/place/alpha.{suffix}")
    by_accept = mini.get("/doc/place/alpha", headers={"Accept": media_type})
    by_param = mini.get("/doc/place/alpha", params={"format": suffix})
    turtle = parse(mini.get("/doc/place/alpha.ttl"), "turtle")
    for response in (by_suffix, by_accept, by_param):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith(media_type)
        assert isomorphic(parse(response, rdflib_format), turtle)
    assert "vary" not in by_suffix.headers or "Accept," not in by_suffix.headers["vary"]


def test_document_content(mini: TestClient) -> None:
    graph = parse(mini.get("/doc/place/alpha.ttl"), "turtle")
    assert (DOC, FOAF.primaryTopic, ALPHA) in graph
    assert (DOC, VOID.inDataset, rdflib.URIRef(BASE + "id/dataset/internationella-relationer")) \
        in graph
    beta = rdflib.URIRef(BASE + "id/place/beta")
    assert (beta, INTL.twinnedWith, ALPHA) in graph  # incoming link
    country = rdflib.URIRef(BASE + "id/country/xx")
    assert (country, rdflib.RDFS.label, rdflib.Literal("Exland", lang="en")) in graph  # label
    assert not any(isinstance(term, rdflib.BNode) for triple in graph for term in triple)


def test_vocabulary_is_dereferenceable_with_its_terms(mini: TestClient) -> None:
    response = mini.get("/def/intl", headers={"Accept": "text/turtle"})
    graph = rdflib.Graph().parse(data=response.content, format="turtle")
    assert (INTL.twinnedWith, rdflib.RDFS.label, rdflib.Literal("twinned with", lang="en")) \
        in graph


def test_jsonld_uses_the_published_context(mini: TestClient) -> None:
    body = mini.get("/doc/place/alpha.jsonld").json()
    assert body["@context"] == BASE + "def/context.jsonld"
    context = mini.get("/def/context.jsonld")
    assert context.headers["content-type"].startswith("application/ld+json")
    assert context.json()["@context"]["schema"] == "http://schema.org/"


def test_html_only_when_preferred(mini: TestClient) -> None:
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    response = mini.get("/doc/place/alpha", headers={"Accept": browser})
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert {"Accept", "Accept-Language"} <= {v.strip() for v in
                                             response.headers["vary"].split(",")}
    assert response.headers["content-language"] == "sv"
    english = mini.get("/doc/place/alpha.html", headers={"Accept-Language": "en"})
    assert english.headers["content-language"] == "en"
    assert mini.get("/doc/place/alpha.html?lang=en").headers["content-language"] == "en"


def test_unsatisfiable_accept_is_406_with_alternatives(mini: TestClient) -> None:
    response = mini.get("/doc/place/alpha", headers={"Accept": "image/png"})
    body = assert_problem(response, 406)
    assert "text/turtle" in body["available"] and "text/html" in body["available"]


@pytest.mark.parametrize(
    ("path", "status"),
    [("/doc/place/nowhere", 404), ("/doc/place/alpha?format=pdf", 400),
     ("/doc/place/alpha.html?lang=de", 400), ("/doc/", 404), ("/nothing/here", 404)],
)
def test_errors_are_problem_json(mini: TestClient, path: str, status: int) -> None:
    assert_problem(mini.get(path), status)


@pytest.mark.parametrize("path", ["/doc/place/alpha?lang=de", "/doc/place/alpha.html?lang=",
                                  "/doc/place/nowhere?lang=xx", "/catalog?lang=de",
                                  "/sparql?lang=de"])
def test_an_unknown_lang_is_400_on_the_html_error_page(mini: TestClient, path: str) -> None:
    response = mini.get(path, headers={"Accept": "text/html", "Accept-Language": "en"})
    assert response.status_code in (400, 404), response.text[:300]
    assert response.headers["content-type"].startswith("text/html")
    # the page is in the language Accept-Language asks for, and says so
    assert response.headers["content-language"] == "en"
    assert "Accept-Language" in response.headers["vary"]


def test_lang_is_a_language_tag_in_any_case(mini: TestClient) -> None:
    response = mini.get("/doc/place/alpha.html?lang=EN")
    assert response.status_code == 200
    assert response.headers["content-language"] == "en"


def test_404_is_html_for_browsers(mini: TestClient) -> None:
    response = mini.get("/doc/place/nowhere", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert 'rel="canonical"' not in response.text  # the URL asked for is not a page


def test_conditional_requests(mini: TestClient) -> None:
    first = mini.get("/doc/place/alpha.ttl")
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert mini.get("/doc/place/alpha.ttl", headers={"If-None-Match": etag}).status_code == 304
    assert mini.get("/doc/place/alpha.ttl",
                    headers={"If-Modified-Since": modified}).status_code == 304
    assert mini.get("/doc/place/alpha.ttl",
                    headers={"If-None-Match": 'W/"other"'}).status_code == 200
    other_format = mini.get("/doc/place/alpha.nt")
    assert other_format.headers["etag"] != etag


def test_head_has_headers_and_no_body(mini: TestClient) -> None:
    response = mini.head("/doc/place/alpha.ttl")
    assert response.status_code == 200
    assert response.content == b""
    get = mini.get("/doc/place/alpha.ttl")
    assert response.headers["content-length"] == get.headers["content-length"]
    assert response.headers["etag"] == get.headers["etag"]
    plain = mini.head("/doc/place/alpha.ttl", headers={"Accept-Encoding": "identity"})
    assert int(plain.headers["content-length"]) == len(get.content)


def test_cors_and_preflight(mini: TestClient) -> None:
    response = mini.get("/doc/place/alpha", headers={"Origin": "https://example.org"})
    assert response.headers["access-control-allow-origin"] == "*"
    preflight = mini.options("/doc/place/alpha", headers={
        "Origin": "https://example.org", "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "Accept"})
    assert preflight.status_code == 200
    assert "GET" in preflight.headers["access-control-allow-methods"]


def _vary(response: httpx.Response) -> list[str]:
    return [name.strip().lower() for name in response.headers.get("vary", "").split(",")]


@pytest.mark.parametrize(("path", "method", "status", "allow"), [
    ("/doc/place/alpha", "GET", 200, "GET, HEAD, OPTIONS"),
    ("/doc/place/alpha", "POST", 400, "GET, HEAD, OPTIONS"),
    ("/sparql", "POST", 200, "GET, HEAD, POST, OPTIONS"),
    ("/nothing/here", "GET", 200, "GET, HEAD, POST, OPTIONS")])  # its GET gets the 404
def test_a_preflight_names_the_methods_of_its_path(mini: TestClient, path: str, method: str,
                                                   status: int, allow: str) -> None:
    preflight = mini.options(path, headers={
        "Origin": "https://example.org", "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "Accept"})
    assert preflight.status_code == status, preflight.text
    assert preflight.headers["access-control-allow-methods"] == allow
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert int(preflight.headers["content-length"]) == len(preflight.content)


@pytest.mark.parametrize(("codings", "gzipped"), [
    ("gzip", True), ("GZIP", True), ("br, Gzip", True), ("gzip;q=0.5, br", True),
    ("*", True), ("x-gzip", True), ("gzip;q=0", False), ("gzip;q=0, identity", False),
    ("*;q=0", False), ("gzip;q=0, *", False), ("identity", False), ("deflate, br", False),
    ("notgzip, gzipped", False), ("", False)])
def test_gzip_as_accept_encoding_weighs_it(mini: TestClient, codings: str,
                                           gzipped: bool) -> None:
    """RFC 9110 §12.5.3: a coding with weight 0 is refused, names are case-insensitive;
    whichever way it goes, the answer says it varies on Accept-Encoding."""
    plain = mini.get("/def/context.jsonld", headers={"Accept-Encoding": "identity"})
    assert len(plain.content) >= GZIP_MINIMUM  # long enough to be compressed
    response = mini.get("/def/context.jsonld", headers={"Accept-Encoding": codings})
    assert (response.headers.get("content-encoding") == "gzip") is gzipped
    assert response.content == plain.content  # (httpx decodes the gzipped one)
    assert "accept-encoding" in _vary(response)
    assert _vary(response).count("accept-encoding") == 1


def test_a_304_varies_as_its_200(mini: TestClient) -> None:
    for codings in ("gzip", "identity"):
        first = mini.get("/doc/place/alpha.ttl", headers={"Accept-Encoding": codings})
        again = mini.get("/doc/place/alpha.ttl", headers={"Accept-Encoding": codings,
                                                          "If-None-Match": first.headers["etag"]})
        assert again.status_code == 304
        assert _vary(again) == _vary(first)
        assert "accept-encoding" in _vary(again)


def test_repeated_requests_that_refuse_gzip_get_none_from_a_real_server() -> None:
    """The door's replay and look-ups read Accept-Encoding as the route does."""
    server = Server()
    try:
        with httpx.Client(timeout=10) as http:
            url = server.url("doc/organization/uppsala-kommun.ttl")
            query = server.url("sparql") + "?" + str(httpx.QueryParams({
                "query": f"SELECT ?p ?o WHERE {{ <{server.url('id/organization/uppsala-kommun')}> "
                         "?p ?o }"}))
            for target in (url, query):
                for _ in range(3):  # the full path, then the replay
                    refused = http.get(target, headers={"Accept-Encoding": "gzip;q=0"})
                    assert refused.status_code == 200
                    assert "content-encoding" not in refused.headers
                    assert "accept-encoding" in _vary(refused)
                    taken = http.get(target, headers={"Accept-Encoding": "GZIP"})
                    assert taken.headers.get("content-encoding") == "gzip"
                    assert taken.content == refused.content
    finally:
        server.stop()


def test_another_base_rewrites_every_iri() -> None:
    base = "http://127.0.0.1:1234/"
    with TestClient(create_app(mini_settings(base=base)), base_url=base) as client:
        redirect = client.get("/id/place/alpha", follow_redirects=False)
        assert redirect.headers["location"] == base + "doc/place/alpha"
        body = client.get("/doc/place/alpha.nt").text
        assert "https://data.uppsala.se/" not in body
        assert f"<{base}id/place/alpha>" in body
        dataset = client.get("/doc/dataset/internationella-relationer.nt").text
        assert f'"{base}id/"' in dataset  # IRI-valued literals follow the base too


def test_many_incoming_links_are_bounded_with_a_link_onward() -> None:
    country = rdflib.URIRef(BASE + "id/country/xx")
    doc = rdflib.URIRef(BASE + "doc/country/xx")
    with TestClient(create_app(mini_settings(max_description_links=1)),
                    base_url=BASE) as client:
        graph = parse(client.get("/doc/country/xx.ttl"), "turtle")
        assert len(list(graph.triples((None, SCHEMA.containedInPlace, country)))) == 1
        onward = graph.value(doc, rdflib.RDFS.seeAlso)
        assert onward is not None and str(onward).startswith(BASE + "sparql?query=")
    with TestClient(create_app(mini_settings()), base_url=BASE) as client:
        complete = parse(client.get("/doc/country/xx.ttl"), "turtle")
    assert len(list(complete.triples((None, SCHEMA.containedInPlace, country)))) == 2
    assert complete.value(doc, rdflib.RDFS.seeAlso) is None


@pytest.mark.parametrize(("path", "allow"), [
    ("/doc/place/alpha", "GET, HEAD, OPTIONS"), ("/id/place/alpha", "GET, HEAD, OPTIONS"),
    ("/sparql", "GET, HEAD, POST, OPTIONS"), ("/catalog", "GET, HEAD, OPTIONS")])
def test_options_answers_with_the_methods_of_the_path(mini: TestClient, path: str,
                                                      allow: str) -> None:
    """RFC 9110 §9.3.7 and §10.2.1: a plain OPTIONS (not a CORS preflight) is answered
    with Allow, and a 405 lists the same methods, POST where a route takes it."""
    options = mini.options(path)
    assert options.status_code == 204
    assert options.headers["allow"] == allow
    refused = mini.put(path)
    assert_problem(refused, 405)
    assert refused.headers["allow"] == allow


def test_options_star_is_the_whole_server() -> None:
    server = Server()
    try:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        try:
            connection.request("OPTIONS", "*")
            answer = connection.getresponse()
            answer.read()
        finally:
            connection.close()
        assert answer.status == 204
        assert answer.getheader("allow") == "GET, HEAD, POST, OPTIONS"
    finally:
        server.stop()


def test_repeated_accept_lines_are_read_as_one(mini: TestClient) -> None:
    """RFC 9110 §5.3: ``Accept: a`` then ``Accept: b`` means ``Accept: a, b``."""
    html = mini.get("/doc/place/alpha", headers=[("Accept", "image/png"),
                                                 ("Accept", "text/html")])
    assert html.status_code == 200
    assert html.headers["content-type"].startswith("text/html")
    english = mini.get("/doc/place/alpha.html", headers=[("Accept-Language", "de"),
                                                         ("Accept-Language", "en")])
    assert english.headers["content-language"] == "en"
    plain = mini.get("/def/context.jsonld", headers=[("Accept-Encoding", "br"),
                                                     ("Accept-Encoding", "gzip;q=0")])
    assert "content-encoding" not in plain.headers


def test_failed_if_match_and_if_unmodified_since_are_412(mini: TestClient) -> None:
    """RFC 9110 §13.1.1 and §13.1.4; If-Match compares strongly, so a weak ETag (ours)
    matches only ``*``; an unreadable date is ignored."""
    first = mini.get("/doc/place/alpha.ttl")
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert etag.startswith("W/")
    for headers in ({"If-Match": '"nope"'}, {"If-Match": etag},
                    {"If-Unmodified-Since": "Fri, 27 Nov 2000 22:16:42 GMT"}):
        assert_problem(mini.get("/doc/place/alpha.ttl", headers=headers), 412)
    for headers in ({"If-Match": "*"}, {"If-Unmodified-Since": modified},
                    {"If-Unmodified-Since": "not a date"},
                    {"If-Match": "*", "If-Unmodified-Since": "Fri, 27 Nov 2000 22:16:42 GMT"}):
        assert mini.get("/doc/place/alpha.ttl", headers=headers).status_code == 200, headers
