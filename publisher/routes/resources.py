"""Cool URIs: /id/... answers 303 See Other to /doc/..., which is content-negotiated.

/doc/{path} and /def/{path} serve a document in the format chosen by suffix
(.ttl .jsonld .rdf .nt .html), then ``?format=``, then Accept (Turtle by default).
"""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import quote

import pyoxigraph as ox
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from publisher.documents import Document, Documents, Representation, resolve
from publisher.errors import BadRequest, ResourceNotFound
from publisher.negotiation import BY_EXTENSION, DOCUMENT_FORMATS, by_name_or_extension, \
    choose_format
from publisher.render import html
from publisher.render.rdf import CONTEXT_PATH, context_bytes
from publisher.config import Settings
from publisher.routes import CONDITIONALS, SettingsDep, StoreDep, http_date, not_modified
from publisher.store import Store

router = APIRouter(tags=["Linked Data"])
CACHE_CONTROL = "public, max-age=300, stale-while-revalidate=60"


@router.get("/id/{path:path}", summary="A thing's IRI",
                  status_code=303, response_class=RedirectResponse)
def thing(path: str, request: Request, settings: SettingsDep, store: StoreDep) -> Response:
    """A thing is not a document: answer 303 See Other to the document about it, or 404
    when nothing is known about it (no redirect to a document that is not there). An
    encoded slash (``%2F``) is part of a name, not a step in the path: no IRI of ours has
    one, so it is never taken for another IRI.

    The query string (``?lang=en``, ``?format=``) travels along to the document.
    """
    if b"%2f" in request.scope.get("raw_path", b"").lower() or not _known(
            store, settings.iri("id/" + path)):
        raise ResourceNotFound(f"Nothing is known about <{settings.iri('id/' + path)}>")
    # header values are Latin-1: the path goes out percent-encoded (a non-ASCII path was a 500)
    document = settings.iri("doc/" + quote(path, safe="/:@!$&'()*+,;=~"))
    query = request.url.query
    return RedirectResponse(document + (f"?{query}" if query else ""), status_code=303,
                            headers={"Cache-Control": CACHE_CONTROL,
                                     "Link": f'<{document}>; rel="describedby"'})


def _known(store: Store, iri: str) -> bool:
    """Whether the store says anything about ``iri`` (what its document describes)."""
    try:
        ox.NamedNode(iri)
    except ValueError:  # not an IRI: a path with spaces, quotes, ...
        return False
    return bool(store.query(f"ASK {{ <{iri}> ?p ?o }}"))


@router.get("/" + CONTEXT_PATH, summary="The JSON-LD context")
def jsonld_context(request: Request, settings: SettingsDep, store: StoreDep) -> Response:
    body = context_bytes(settings.base)
    rep = Representation(body, BY_EXTENSION["jsonld"], f'W/"ctx-{store.version}"',
                         settings.iri(CONTEXT_PATH))
    return respond(request, rep, {"Content-Type": "application/ld+json"}, store.version_time())


# The two hottest routes are async and read the runtime from app.state rather than through
# dependencies: a rendered document is answered from the cache on the event loop (no thread
# hop, no dependency solving); only a miss renders, in the thread pool (bench/RESULTS.md).
@router.get("/doc/{path:path}", summary="A resource document")
async def document(path: str, request: Request) -> Response:
    return await _negotiated("doc/" + path, request)


@router.get("/def/{path:path}", summary="Our vocabulary and shapes")
async def definition(path: str, request: Request) -> Response:
    return await _negotiated("def/" + path, request)


async def _negotiated(path: str, request: Request) -> Response:
    settings: Settings = request.app.state.settings
    runtime = request.app.state.runtime
    documents: Documents = runtime.documents
    stem, dot, suffix = path.rpartition(".")
    by_suffix = BY_EXTENSION.get(suffix) if dot and "/" not in suffix else None
    negotiated = by_suffix is None
    if by_suffix is not None:
        path = stem
    doc = resolve(path, settings)
    fmt = by_suffix or requested_format(request)
    query_lang = request.query_params.get("lang") if request.scope["query_string"] else None
    lang = html.request_language(query_lang, request.headers.get("accept-language")) \
        if fmt.kind == "html" or query_lang is not None else None  # only HTML has languages
    rep = documents.cached(doc.path, fmt, lang)
    if rep is None:
        rep = await run_in_threadpool(documents.get, doc.path, fmt, lang)
    return document_response(request, doc, rep, negotiated, settings, runtime.store)


def document_response(request: Request, doc: Document, rep: Representation, negotiated: bool,
                      settings: Settings, store: Store, extra_links: str = "") -> Response:
    """A document's answer: type, location, alternates, Vary, language and validators.
    (HTML gets the site-wide discovery links from the middleware, so not ``extra_links``.)
    The encoded headers of a 200 are kept with the rendering they belong to (the same
    representation always gets the same headers), so a repeated request only adds its
    Content-Length."""
    modified = store.version_time()
    key = (rep.etag, rep.location, rep.language, negotiated, extra_links, modified)
    raw = _RAW_HEADERS.get(key)
    if raw is not None and not _conditional(request):
        return _Ready(rep.body, raw)
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
    response = respond(request, rep, headers, modified)
    if response.status_code == 200:
        if len(_RAW_HEADERS) >= _RAW_HEADERS_MAX:
            _RAW_HEADERS.clear()
        _RAW_HEADERS[key] = [h for h in response.raw_headers if h[0] != b"content-length"]
    return response


#: encoded 200 headers by representation (a plain dict: also used from the thread pool)
_RAW_HEADERS: dict[tuple[object, ...], list[tuple[bytes, bytes]]] = {}
_RAW_HEADERS_MAX = 50_000


def _conditional(request: Request) -> bool:
    return any(name in CONDITIONALS for name, _ in request.scope["headers"])


class _Ready(Response):
    """A 200 with a body and headers that were encoded before."""

    def __init__(self, body: bytes, raw_headers: list[tuple[bytes, bytes]]) -> None:
        self.status_code = 200
        self.background = None
        self.body = body
        self.raw_headers = [*raw_headers, (b"content-length", str(len(body)).encode())]


def requested_format(request: Request):  # type: ignore[no-untyped-def]
    token = request.query_params.get("format")
    if token:
        fmt = by_name_or_extension(token, DOCUMENT_FORMATS)
        if fmt is None:
            raise BadRequest(f"Unknown format {token!r}. Available: "
                             + ", ".join(f.name for f in DOCUMENT_FORMATS))
        return fmt
    return choose_format(request.headers.get("accept"), DOCUMENT_FORMATS)


@lru_cache(maxsize=4096)
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
