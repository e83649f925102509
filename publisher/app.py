"""create_app(settings) -> Publisher (a FastAPI). The lifespan opens the store; routers and
the one error handler are installed here. Nothing heavy happens at import."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from publisher import __version__
from publisher.catalog import discovery_links
from publisher.config import Settings, is_remote, load_settings
from publisher.errors import (
    BadRequest,
    HttpError,
    MethodNotAllowed,
    PublisherError,
    ResourceNotFound,
)
from publisher.metrics import Metrics
from publisher.reload import Reloader
from publisher.routes import (
    ALL_METHODS,
    METHODS,
    allowed_methods,
    catalog,
    ops,
    problem_response,
    queries,
    resources,
    site,
    sparql,
)
from publisher.routes.front import Publisher
from publisher.routes.limits import RequestLimits
from publisher.routes.middleware import (
    GZIP_MINIMUM,
    GZipWhenAsked,
    HeadAsGet,
    OneLinePerField,
    PathCORS,
    ResponseHeaders,
)
from publisher.routes.ops import Observe, ServingState
from publisher.runtime import Runtime
from publisher.store import OxigraphStore

log = logging.getLogger("publisher")


def create_app_from_env() -> Publisher:
    """The app of one of several worker processes (``publisher serve --workers N``):
    settings from the environment, and an on-disk store opened read-only, because the
    process that started the workers has already brought it up to date."""
    return create_app(load_settings(), read_only_store=True)


def create_app(settings: Settings, read_only_store: bool = False,
               store: OxigraphStore | None = None) -> Publisher:
    """The whole publisher as one ASGI app; the store opens when the app starts, unless it
    is given already open (``publisher serve`` opens it first, so that bad data is a
    one-line error before the server starts, not a traceback from its start-up)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        opened = store
        if opened is None and read_only_store and not is_remote(settings.store):
            opened = OxigraphStore.open(settings, read_only=True)
        app.state.runtime = Runtime.open(settings, opened)
        app.state.reloader = Reloader(app.state, settings, app.state.metrics)  # reload.py
        await app.state.reloader.start()
        try:
            yield
        finally:
            await app.state.reloader.close()
            await app.state.runtime.close()

    app = Publisher(
        title="Uppsala kommun — international relations as Linked Open Data",
        version=__version__,
        description="Every resource answers in Turtle, JSON-LD, RDF/XML, N-Triples and HTML.",
        lifespan=lifespan,
        docs_url=None,  # FastAPI's viewer loads its scripts from a CDN: see routes/site.py
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state = ServingState()  # app.state.runtime: the one a request is pinned to (ops.py)
    app.state.settings = settings
    app.state.metrics = Metrics(lambda name: _cache_counts(app, name))
    _install_middlewares(app, settings)
    _install_error_handlers(app)
    # Replay and the door, before FastAPI's own layers (routes/front.py)
    app.with_front(settings.max_header_bytes, on_error=unexpected)
    # resources first: the most requested routes are matched first (bench/RESULTS.md)
    for router in (resources.router, sparql.router, queries.router_for(settings),
                   catalog.router, site.router, ops.router):
        app.include_router(router)
    return app


def _install_middlewares(app: FastAPI, settings: Settings) -> None:
    """The middlewares of the full path, innermost first (the front is before them all)."""
    app.add_middleware(RequestLimits, max_body=settings.max_request_body,  # every route
                       max_headers=settings.max_header_bytes)  # (routes/limits.py)
    app.add_middleware(GZipWhenAsked, minimum_size=GZIP_MINIMUM)
    app.add_middleware(
        PathCORS,
        allow_origins=["*"],
        allow_methods=METHODS,  # narrowed to the path's by PathCORS
        allow_headers=["*"],
        expose_headers=["ETag", "Link", "Content-Location", "Last-Modified", "Vary",
                        "X-SPARQL-Truncated", "X-SPARQL-Max-Rows", "Retry-After"],
        max_age=86400,
    )
    app.add_middleware(HeadAsGet)
    app.add_middleware(Observe)  # metrics, access log, runtime pinning (routes/ops.py)
    app.add_middleware(ResponseHeaders, html_links=discovery_links(settings))
    app.add_middleware(OneLinePerField)  # repeated Accept lines: read as one


def _cache_counts(app: FastAPI, name: str) -> tuple[int, int]:
    """Hits and misses of the Runtime's cache ``name`` ("documents" or "responses"), over
    every runtime this app has served."""
    runtime, reloader = getattr(app.state, "runtime", None), getattr(app.state, "reloader", None)
    hits, misses = reloader.retired_counts[name] if reloader is not None else (0, 0)
    cache = getattr(runtime, name, None)
    if cache is not None:
        hits, misses = hits + cache.hits, misses + cache.misses
    return hits, misses


async def unexpected(request: Request, exc: Exception) -> Response:
    """The answer to an error nothing else words: a 500 that says nothing internal."""
    log.error("unexpected error on %s", request.url.path, exc_info=exc)
    return problem_response(request, PublisherError("The server could not answer."))


def _install_error_handlers(app: FastAPI) -> None:
    async def publisher_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, PublisherError)
        if not isinstance(exc, HttpError):
            log.error("internal error on %s", request.url.path, exc_info=exc)
        return problem_response(request, exc)

    async def http_exception(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        error: PublisherError
        if exc.status_code == 404 and request.method == "OPTIONS" \
                and request.scope.get("raw_path") == b"*":  # the server as a whole
            return Response(status_code=204, headers={"Allow": ALL_METHODS})
        if exc.status_code == 404:
            error = ResourceNotFound(f"Nothing is published at {request.url.path}")
        elif exc.status_code == 405:
            allow = allowed_methods(request)
            if request.method == "OPTIONS":  # not a CORS preflight (CORSMiddleware's)
                return Response(status_code=204, headers={"Allow": allow})
            error = MethodNotAllowed(f"{request.method} is not allowed on {request.url.path}",
                                     allow=allow)
        else:
            error = BadRequest(str(exc.detail))
            error.status = exc.status_code
        return problem_response(request, error)

    async def validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        problems = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        return problem_response(request, BadRequest("; ".join(problems)))

    app.add_exception_handler(PublisherError, publisher_error)
    app.add_exception_handler(StarletteHTTPException, http_exception)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(Exception, unexpected)
