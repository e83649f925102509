"""The site around the documents: landing page, static files, accessibility statement,
robots.txt and sitemap.xml. (Security headers of every HTML answer: routes/middleware.py.)"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from publisher.config import DATASET_PATH, Settings
from publisher.documents import SPACES, Representation, etag
from publisher.errors import ResourceNotFound
from publisher.negotiation import BY_NAME, DOCUMENT_FORMATS, Format, choose_format
from publisher.render import html
from publisher.routes import SettingsDep, StoreDep, not_modified
from publisher.routes.resources import respond
from publisher.store import Store

router = APIRouter(tags=["Site"])

HTML = "text/html; charset=utf-8"
STATIC_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,100}")


def _page(request: Request, body: str, lang: str, settings: Settings, store: Store) -> Response:
    """An HTML page with the same validators and caching as every document."""
    content = body.encode()
    rep = Representation(content, BY_NAME["html"], etag(store.version, content),
                         settings.iri(request.url.path), lang)
    headers = {"Content-Type": HTML, "Vary": "Accept, Accept-Language",
               "Content-Language": lang}
    return respond(request, rep, headers, store.version_time())


def _language(request: Request) -> str:
    return html.request_language(request.query_params.get("lang"),
                                 request.headers.get("accept-language"))


@router.get("/", summary="Landing page")
def landing(request: Request, settings: SettingsDep, store: StoreDep) -> Response:
    """People get the landing page; RDF clients are sent to the dataset's description."""
    fmt = choose_format(request.headers.get("accept") or "*/*", DOCUMENT_FORMATS,
                        html_needs_preference=False)
    if fmt.kind != "html":
        return RedirectResponse(settings.iri("doc/" + DATASET_PATH.removeprefix("id/")), 303,
                                headers={"Vary": "Accept"})
    lang = _language(request)
    return _page(request, html.landing_page(store, lang, settings), lang, settings, store)


@router.get("/problems", summary="The problem types of error answers (RFC 9457)")
def problems(request: Request, settings: SettingsDep, store: StoreDep) -> Response:
    lang = _language(request)
    return _page(request, html.problem_page(None, lang, settings), lang, settings, store)


@router.get("/problems/{slug}", summary="One problem type: what it means, what to do")
def problem_type(slug: str, request: Request, settings: SettingsDep,
                 store: StoreDep) -> Response:
    """The page a problem+json answer's ``type`` names (render/problems.py)."""
    lang = _language(request)
    return _page(request, html.problem_page(slug, lang, settings), lang, settings, store)


@router.get("/accessibility", summary="Accessibility statement (tillgänglighetsredogörelse)")
def accessibility(request: Request, settings: SettingsDep, store: StoreDep) -> Response:
    lang = _language(request)
    return _page(request, html.accessibility_page(lang, settings, store), lang, settings, store)


@router.get("/static/{name}", include_in_schema=False)
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
    if not_modified(request, etag, path.stat().st_mtime):
        return Response(status_code=304, headers=headers)
    return Response(path.read_bytes(), media_type=media_type, headers=headers)


@router.get("/api/docs", include_in_schema=False)
def api_docs(settings: SettingsDep) -> RedirectResponse:
    """The API's description, /api/openapi.json, for any OpenAPI viewer. The viewer FastAPI
    serves here loads its scripts and styles from a CDN, which the site's Content-Security-
    Policy forbids (so its page stayed blank) and which would tell a third party about every
    visitor; the address it had is kept, and leads to the description itself."""
    return RedirectResponse(settings.iri("api/openapi.json"), status_code=301)


@router.get("/robots.txt", summary="robots.txt")
def robots(request: Request, settings: SettingsDep, store: StoreDep) -> Response:
    return _site_file(request, "robots.txt", settings, store, lambda: (
        f"User-agent: *\nAllow: /\nDisallow: /sparql?\n\n"
        f"Sitemap: {settings.iri('sitemap.xml')}\n"))


@router.get("/sitemap.xml", summary="Every HTML page")
def sitemap(request: Request, settings: SettingsDep, store: StoreDep) -> Response:
    """The landing page and every document, by the canonical
    URL its HTML names (``/doc/...`` without suffix; crawlers ask for HTML)."""
    return _site_file(request, "sitemap.xml", settings, store, lambda: _sitemap(settings, store))


def _sitemap(settings: Settings, store: Store) -> str:
    urls = [settings.base]
    for doc_prefix, topic_prefix in SPACES.items():
        for iri in store.subjects_with_prefix(settings.iri(topic_prefix)):
            rest = iri[len(settings.iri(topic_prefix)):]
            if rest and "#" not in rest:
                urls.append(settings.iri(doc_prefix + rest))
    entries = "".join(f"<url><loc>{html.xml_escape(u)}</loc></url>" for u in urls)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</urlset>\n')


SITE_FILES = {"robots.txt": Format("robots", "text/plain", "txt", "site"),
              "sitemap.xml": Format("sitemap", "application/xml", "xml", "site", text=False)}


def _site_file(request: Request, name: str, settings: Settings, store: Store,
               build: Callable[[], str]) -> Response:
    """robots.txt and sitemap.xml: built once per data version, with validators. Kept with
    the store's version, not for the Runtime's life: a remote store's data changes under
    the Runtime, and every instance in front of it must give the same ETag."""
    caches = request.app.state.runtime.caches
    version = store.version
    kept: tuple[str, Representation] | None = caches.get(name)
    if kept is None or kept[0] != version:
        body = build().encode()
        kept = (version, Representation(body, SITE_FILES[name], etag(version, body),
                                        settings.iri(name)))
        caches[name] = kept
    rep = kept[1]
    return respond(request, rep, {"Content-Type": rep.format.content_type},
                   store.version_time())
