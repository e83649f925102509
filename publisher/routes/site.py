"""The site around the documents: landing page, static files, accessibility statement,
robots.txt and sitemap.xml; and the security headers every HTML page carries.

``security_headers`` sets the headers on a header mapping; ``SecurityHeadersMiddleware``
applies them to every HTML response of an app (install it in app.py to cover the error
pages and the other routers too). The routes here set them themselves.
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import MutableMapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from publisher.documents import DATASET_PATH, SPACES
from publisher.errors import ResourceNotFound
from publisher.negotiation import DOCUMENT_FORMATS, choose_format
from publisher.render import html
from publisher.routes import SettingsDep, StoreDep

router = APIRouter(tags=["Site"])

CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; "
                           "img-src 'self' data:; object-src 'none'; base-uri 'none'; "
                           "frame-ancestors 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}
HTML = "text/html; charset=utf-8"
STATIC_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,100}")
PAGE_CACHE = "public, max-age=300"


def security_headers(response_headers: MutableMapping[str, str]) -> None:
    """Add CSP, nosniff and Referrer-Policy to an HTML response's headers (kept if set)."""
    for name, value in SECURITY_HEADERS.items():
        if name not in response_headers:
            response_headers[name] = value


class SecurityHeadersMiddleware:
    """Pure ASGI middleware: ``security_headers`` on every text/html response, nosniff on
    every response. ``app.add_middleware(SecurityHeadersMiddleware)``."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.decode("latin-1").lower() for k, _ in headers}
                content_type = next((v.decode("latin-1") for k, v in headers
                                     if k.lower() == b"content-type"), "")
                wanted = SECURITY_HEADERS if content_type.startswith("text/html") else \
                    {"X-Content-Type-Options": "nosniff"}
                headers += [(k.lower().encode(), v.encode()) for k, v in wanted.items()
                            if k.lower() not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _page(request: Request, body: str, lang: str) -> Response:
    headers = {"Vary": "Accept, Accept-Language", "Content-Language": lang,
               "Cache-Control": PAGE_CACHE}
    security_headers(headers)
    content = b"" if request.method == "HEAD" else body.encode()
    response = Response(content, media_type=HTML, headers=headers)
    if request.method == "HEAD":
        response.headers["Content-Length"] = str(len(body.encode()))
    return response


def _language(request: Request) -> str:
    return html.request_language(request.query_params.get("lang"),
                                 request.headers.get("accept-language"))


@router.api_route("/", methods=["GET", "HEAD"], summary="Landing page")
def landing(request: Request, settings: SettingsDep, store: StoreDep) -> Response:
    """People get the landing page; RDF clients are sent to the dataset's description."""
    fmt = choose_format(request.headers.get("accept") or "text/html", DOCUMENT_FORMATS,
                        html_needs_preference=False)
    if fmt.kind != "html":
        return RedirectResponse(settings.iri("doc/" + DATASET_PATH.removeprefix("id/")), 303,
                                headers={"Vary": "Accept"})
    lang = _language(request)
    return _page(request, html.landing_page(store, lang, settings), lang)


@router.api_route("/accessibility", methods=["GET", "HEAD"],
                  summary="Accessibility statement (tillgänglighetsredogörelse)")
def accessibility(request: Request, settings: SettingsDep, store: StoreDep) -> Response:
    lang = _language(request)
    return _page(request, html.accessibility_page(lang, settings, store), lang)


@router.api_route("/static/{name}", methods=["GET", "HEAD"], include_in_schema=False)
def static(name: str, request: Request) -> Response:
    """A file of render/static. With the current ``?v=`` hash it may be cached for a year."""
    path = html.STATIC / name
    if not STATIC_NAME.fullmatch(name) or ".." in name or not path.is_file() \
            or path.resolve().parent != html.STATIC.resolve():
        raise ResourceNotFound(f"No static file {name!r}")
    version = html.static_version(name)
    etag = f'"{version}"'
    immutable = request.query_params.get("v") == version
    media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    if media_type.startswith("text/") or media_type.endswith(("+xml", "javascript")):
        media_type += "; charset=utf-8"
    headers = {"ETag": etag, "X-Content-Type-Options": "nosniff",
               "Cache-Control": "public, max-age=31536000, immutable" if immutable
               else "public, max-age=3600"}
    inm = request.headers.get("if-none-match")
    if inm is not None and etag in {t.strip().removeprefix("W/") for t in inm.split(",")}:
        return Response(status_code=304, headers=headers)
    body = path.read_bytes()
    headers["Content-Length"] = str(len(body))
    return Response(b"" if request.method == "HEAD" else body, media_type=media_type,
                    headers=headers)


@router.api_route("/robots.txt", methods=["GET", "HEAD"], summary="robots.txt")
def robots(settings: SettingsDep) -> Response:
    text = f"User-agent: *\nAllow: /\nDisallow: /sparql?\n\nSitemap: {settings.iri('sitemap.xml')}\n"
    return Response(text, media_type="text/plain; charset=utf-8")


@router.api_route("/sitemap.xml", methods=["GET", "HEAD"], summary="Every HTML page")
def sitemap(settings: SettingsDep, store: StoreDep) -> Response:
    """The landing page and every document, by the canonical
    URL its HTML names (``/doc/...`` without suffix; crawlers ask for HTML)."""
    urls = [settings.base]
    for doc_prefix, topic_prefix in SPACES.items():
        for iri in store.subjects_with_prefix(settings.iri(topic_prefix)):
            rest = iri[len(settings.iri(topic_prefix)):]
            if rest and "#" not in rest:
                urls.append(settings.iri(doc_prefix + rest))
    entries = "".join(f"<url><loc>{html.xml_escape(u)}</loc></url>" for u in urls)
    body = ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</urlset>\n')
    return Response(body, media_type="application/xml")
