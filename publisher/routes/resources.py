"""Cool URIs: /id/... answers 303 See Other to /doc/..., which is content-negotiated.

/doc/{path} and /def/{path} serve a document in the format chosen by suffix
(.ttl .jsonld .rdf .nt .html), then ``?format=``, then Accept (Turtle by default).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from publisher.documents import Document, Representation, resolve
from publisher.errors import BadRequest
from publisher.negotiation import BY_EXTENSION, DOCUMENT_FORMATS, by_name_or_extension, \
    choose_format
from publisher.render import html
from publisher.render.rdf import CONTEXT_PATH, context_bytes
from publisher.config import Settings
from publisher.routes import DocumentsDep, SettingsDep, StoreDep, http_date, not_modified
from publisher.store import Store

router = APIRouter(tags=["Linked Data"])
CACHE_CONTROL = "public, max-age=300, stale-while-revalidate=60"


@router.get("/id/{path:path}", summary="A thing's IRI",
                  status_code=303, response_class=RedirectResponse)
def thing(path: str, request: Request, settings: SettingsDep) -> Response:
    """A thing is not a document: answer 303 See Other to the document about it.

    The query string (``?lang=en``, ``?format=``) travels along to the document.
    """
    document = settings.iri(f"doc/{path}")
    query = request.url.query
    return RedirectResponse(document + (f"?{query}" if query else ""), status_code=303,
                            headers={"Cache-Control": CACHE_CONTROL,
                                     "Link": f'<{document}>; rel="describedby"'})


@router.get("/" + CONTEXT_PATH, summary="The JSON-LD context")
def jsonld_context(request: Request, settings: SettingsDep, store: StoreDep) -> Response:
    body = context_bytes(settings.base)
    rep = Representation(body, BY_EXTENSION["jsonld"], f'W/"ctx-{store.version}"',
                         settings.iri(CONTEXT_PATH))
    return respond(request, rep, {"Content-Type": "application/ld+json"}, store.version_time())


@router.get("/doc/{path:path}", summary="A resource document")
def document(path: str, request: Request, settings: SettingsDep, documents: DocumentsDep,
             store: StoreDep) -> Response:
    return _negotiated("doc/" + path, request, settings, documents, store)


@router.get("/def/{path:path}", summary="Our vocabulary and shapes")
def definition(path: str, request: Request, settings: SettingsDep, documents: DocumentsDep,
               store: StoreDep) -> Response:
    return _negotiated("def/" + path, request, settings, documents, store)


def _negotiated(path: str, request: Request, settings: SettingsDep, documents: DocumentsDep,
                store: StoreDep) -> Response:
    stem, dot, suffix = path.rpartition(".")
    by_suffix = BY_EXTENSION.get(suffix) if dot and "/" not in suffix else None
    negotiated = by_suffix is None
    if by_suffix is not None:
        path = stem
    doc = resolve(path, settings)
    fmt = by_suffix or requested_format(request)
    lang = html.request_language(request.query_params.get("lang"),
                                 request.headers.get("accept-language"))
    rep = documents.get(doc.path, fmt, lang)
    return document_response(request, doc, rep, negotiated, settings, store)


def document_response(request: Request, doc: Document, rep: Representation, negotiated: bool,
                      settings: Settings, store: Store, extra_links: str = "") -> Response:
    """A document's answer: type, location, alternates, Vary, language and validators.
    (HTML gets the site-wide discovery links from the middleware, so not ``extra_links``.)"""
    links = document_links(doc, settings.base)
    if extra_links and rep.format.kind != "html":
        links += ", " + extra_links
    headers = {"Content-Type": rep.format.content_type, "Content-Location": rep.location,
               "Link": links}
    vary = (["Accept"] if negotiated else []) + (["Accept-Language"]
                                                 if rep.format.kind == "html" else [])
    if vary:
        headers["Vary"] = ", ".join(vary)
    if rep.language:
        headers["Content-Language"] = rep.language
    return respond(request, rep, headers, store.version_time())


def requested_format(request: Request):  # type: ignore[no-untyped-def]
    token = request.query_params.get("format")
    if token:
        fmt = by_name_or_extension(token, DOCUMENT_FORMATS)
        if fmt is None:
            raise BadRequest(f"Unknown format {token!r}. Available: "
                             + ", ".join(f.name for f in DOCUMENT_FORMATS))
        return fmt
    return choose_format(request.headers.get("accept"), DOCUMENT_FORMATS)


def document_links(doc: Document, base: str) -> str:
    links = [f'<{doc.format_url(f)}>; rel="alternate"; type="{f.media_type}"'
             for f in DOCUMENT_FORMATS]
    links.append(f'<{doc.url}>; rel="canonical"')
    if doc.topic != doc.url:
        links.append(f'<{doc.topic}>; rel="describes"')
    return ", ".join(links)


def respond(request: Request, rep: Representation, headers: dict[str, str],
             modified: float) -> Response:
    headers = {**headers, "ETag": rep.etag, "Last-Modified": http_date(modified),
               "Cache-Control": CACHE_CONTROL}
    if not_modified(request, rep.etag, modified):
        headers.pop("Content-Type", None)
        return Response(status_code=304, headers=headers)
    return Response(rep.body, headers=headers)
