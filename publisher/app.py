"""create_app(settings) -> FastAPI. The lifespan opens the store; routers and the one error
handler are installed here. Nothing heavy happens at import."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware

from publisher import __version__
from publisher.config import Settings
from publisher.errors import (
    BadRequest,
    HttpError,
    MethodNotAllowed,
    PublisherError,
    ResourceNotFound,
)
from publisher.catalog import discovery_links
from publisher.routes import catalog, problem_response, queries, resources, site, sparql
from publisher.routes.middleware import HeadAsGet, ResponseHeaders
from publisher.runtime import Runtime

log = logging.getLogger("publisher")


def create_app(settings: Settings) -> FastAPI:
    """The whole publisher as one ASGI app; the store opens when the app starts."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.runtime = Runtime.open(settings)
        try:
            yield
        finally:
            await app.state.runtime.close()

    app = FastAPI(
        title="Uppsala kommun — international relations as Linked Open Data",
        version=__version__,
        description="Every resource answers in Turtle, JSON-LD, RDF/XML, N-Triples and HTML.",
        lifespan=lifespan,
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.settings = settings
    app.add_middleware(GZipMiddleware, minimum_size=800)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=["*"],
        allow_methods=["GET", "HEAD", "POST", "OPTIONS"],
        allow_headers=["*"],
        expose_headers=["ETag", "Link", "Content-Location", "Last-Modified", "Vary",
                        "X-SPARQL-Truncated", "X-SPARQL-Max-Rows", "Retry-After"],
        max_age=86400,
    )
    app.add_middleware(HeadAsGet)
    app.add_middleware(ResponseHeaders, html_links=discovery_links(settings))
    _install_error_handlers(app)
    for router in (sparql.router, queries.router_for(settings), resources.router,
                   catalog.router, site.router):
        app.include_router(router)
    return app


def _install_error_handlers(app: FastAPI) -> None:
    async def publisher_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, PublisherError)
        if not isinstance(exc, HttpError):
            log.error("internal error on %s", request.url.path, exc_info=exc)
        return problem_response(request, exc)

    async def http_exception(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        error: PublisherError
        if exc.status_code == 404:
            error = ResourceNotFound(f"Nothing is published at {request.url.path}")
        elif exc.status_code == 405:
            error = MethodNotAllowed(f"{request.method} is not allowed on {request.url.path}")
        else:
            error = BadRequest(str(exc.detail))
            error.status = exc.status_code
        return problem_response(request, error)

    async def validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        problems = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        return problem_response(request, BadRequest("; ".join(problems)))

    async def unexpected(request: Request, exc: Exception) -> Response:
        log.error("unexpected error on %s", request.url.path, exc_info=exc)
        return problem_response(request, PublisherError("The server could not answer."))

    app.add_exception_handler(PublisherError, publisher_error)
    app.add_exception_handler(StarletteHTTPException, http_exception)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(Exception, unexpected)
