"""The site around the documents: landing page, robots.txt, sitemap.xml, accessibility."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from publisher.documents import DATASET_PATH, SPACES
from publisher.negotiation import DOCUMENT_FORMATS, choose_format
from publisher.render import html
from publisher.routes import SettingsDep, StoreDep

router = APIRouter(tags=["Site"])


@router.api_route("/", methods=["GET", "HEAD"], summary="Landing page")
def landing(request: Request, settings: SettingsDep, store: StoreDep) -> Response:
    """People get the landing page; RDF clients are sent to the dataset's description."""
    fmt = choose_format(request.headers.get("accept") or "text/html", DOCUMENT_FORMATS,
                        html_needs_preference=False)
    if fmt.kind != "html":
        return RedirectResponse(settings.iri("doc/" + DATASET_PATH.removeprefix("id/")), 303)
    lang = html.request_language(request.query_params.get("lang"),
                                 request.headers.get("accept-language"))
    body = html.landing_page(store, lang, settings)
    return Response(body, media_type="text/html; charset=utf-8",
                    headers={"Vary": "Accept, Accept-Language", "Content-Language": lang})


@router.api_route("/robots.txt", methods=["GET", "HEAD"], summary="robots.txt")
def robots(settings: SettingsDep) -> Response:
    text = f"User-agent: *\nAllow: /\nDisallow: /sparql?\n\nSitemap: {settings.iri('sitemap.xml')}\n"
    return Response(text, media_type="text/plain; charset=utf-8")


@router.api_route("/sitemap.xml", methods=["GET", "HEAD"], summary="Every HTML document")
def sitemap(settings: SettingsDep, store: StoreDep) -> Response:
    urls = [settings.base]
    for doc_prefix, topic_prefix in SPACES.items():
        for iri in store.subjects_with_prefix(settings.iri(topic_prefix)):
            rest = iri[len(settings.iri(topic_prefix)):]
            if rest and "#" not in rest:
                urls.append(settings.iri(doc_prefix + rest) + ".html")
    entries = "".join(f"<url><loc>{html.xml_escape(u)}</loc></url>" for u in urls)
    body = ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</urlset>\n')
    return Response(body, media_type="application/xml")
