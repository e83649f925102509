"""HTTP only, one module per URL space. Shared here: dependency aliases, the problem
response, conditional-request handling and the standard headers of a representation."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from email.utils import formatdate, parsedate_to_datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import Response
from fastapi.routing import iter_route_contexts
from starlette.routing import compile_path

from publisher.config import Settings
from publisher.documents import Documents
from publisher.errors import PreconditionFailed, PublisherError
from publisher.negotiation import BY_NAME, Format, choose_format
from publisher.store import Store

PROBLEM_JSON = "application/problem+json"


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_store(request: Request) -> Store:
    store: Store = request.app.state.runtime.store
    return store


async def get_documents(request: Request) -> Documents:
    documents: Documents = request.app.state.runtime.documents
    return documents


# The dependencies are async only so that FastAPI calls them on the event loop: a plain
# ``def`` dependency is run in the thread pool, a thread hop per request for an attribute read.
SettingsDep = Annotated[Settings, Depends(get_settings)]
StoreDep = Annotated[Store, Depends(get_store)]
DocumentsDep = Annotated[Documents, Depends(get_documents)]

_PROBLEM_FORMATS = (Format("problem", PROBLEM_JSON, "json", "problem", ("application/json",)),
                    BY_NAME["html"])


def problem_response(request: Request, error: PublisherError) -> Response:
    """RFC 9457 problem+json, or an HTML error page for clients that prefer HTML."""
    # the HTML page is in the reader's language: both headers choose the answer
    headers = {"Vary": "Accept, Accept-Language", "Cache-Control": "no-store",
               **error.headers()}
    metrics = getattr(request.app.state, "metrics", None)
    if metrics is not None:  # counted by problem type (publisher/metrics.py)
        metrics.problem(error.slug, request.url.path.startswith(("/sparql", "/api/queries")))
    try:
        wanted = choose_format(request.headers.get("accept"), _PROBLEM_FORMATS)
    except PublisherError:
        wanted = _PROBLEM_FORMATS[0]
    if wanted.kind == "html":
        from publisher.render import html  # noqa: PLC0415

        settings = request.app.state.settings
        lang = html.error_language(request.query_params.get("lang"),
                                   request.headers.get("accept-language"))
        body = html.error_page(error, lang, settings, request.url.path)
        headers["Content-Language"] = lang
        return Response(body, error.status, headers, media_type="text/html; charset=utf-8")
    content = json.dumps(error.problem(instance=request.url.path,
                                       base=request.app.state.settings.base),
                         ensure_ascii=False)
    return Response(content, error.status, headers, media_type=PROBLEM_JSON)


@lru_cache(maxsize=64)
def http_date(timestamp: float) -> str:
    return formatdate(timestamp, usegmt=True)


#: the request headers ``not_modified`` reads: a request with one is answered by its route
CONDITIONALS = frozenset({b"if-none-match", b"if-modified-since", b"if-match",
                          b"if-unmodified-since"})


def not_modified(request: Request, etag: str, modified: float) -> bool:
    """Whether the answer is 304 Not Modified; raises PreconditionFailed (412) when
    If-Match or If-Unmodified-Since fails. RFC 9110 §13.2.2: If-Match (strong comparison,
    so our weak tags match only ``*``), else If-Unmodified-Since; then If-None-Match (weak
    comparison), which wins over If-Modified-Since. A date that cannot be read is ignored."""
    im = request.headers.get("if-match")
    if im is not None:
        tags = {t.strip() for t in im.split(",")}
        if "*" not in tags and (etag.startswith("W/") or etag not in tags):
            raise PreconditionFailed(f"If-Match: the current ETag is {etag}.")
    else:
        ius = _date(request.headers.get("if-unmodified-since"))
        if ius is not None and int(modified) > ius:
            raise PreconditionFailed(f"If-Unmodified-Since: modified at "
                                     f"{http_date(int(modified))}.")
    inm = request.headers.get("if-none-match")
    if inm is not None:
        tags = {t.strip().removeprefix("W/") for t in inm.split(",")}
        return "*" in tags or etag.removeprefix("W/") in tags
    ims = _date(request.headers.get("if-modified-since"))
    return ims is not None and int(modified) <= ims


def _date(value: str | None) -> float | None:
    """An HTTP date as a timestamp, or None (absent or unreadable)."""
    if value is None:
        return None
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


#: the methods the routes answer, in the order Allow lists them
METHODS = ("GET", "HEAD", "POST", "OPTIONS")
ALL_METHODS = ", ".join(METHODS)


def allowed_methods(request: Request) -> str:
    """The Allow header of the request's path: the methods of every route whose path it
    is (GET routes answer HEAD too, through HeadAsGet), and OPTIONS."""
    table: list[tuple[re.Pattern[str], frozenset[str]]] | None = getattr(
        request.app.state, "allow_table", None)
    if table is None:  # the routes' paths as Starlette matches them, once
        table = [(compile_path(route.path)[0], frozenset(route.methods or ()))
                 for route in iter_route_contexts(request.app.router.routes)
                 if route.path]
        request.app.state.allow_table = table
    path = request.scope["path"]
    methods = {"OPTIONS"}.union(*(found for pattern, found in table if pattern.match(path)))
    if "GET" in methods:
        methods.add("HEAD")
    return ", ".join(m for m in METHODS if m in methods)
