"""Pure ASGI middleware: what every answer carries, and HEAD for every GET.

``ResponseHeaders``
  - ``X-Request-ID``: echoed when the client sent a sane one, otherwise generated, so a
    request can be found in the access log;
  - ``X-Content-Type-Options: nosniff`` everywhere;
  - on HTML: ``Content-Security-Policy`` (our own scripts and styles only; the embedded
    JSON-LD is data, not script, so the policy does not block it), ``Referrer-Policy``,
    and ``Link`` relations to the catalogue, dumps, SPARQL endpoint and VoID.

``HeadAsGet``
  Answers HEAD by running the GET route and dropping the body, so every GET route has
  HEAD with identical headers (Content-Length included) and routes declare GET only
  (which keeps OpenAPI operation ids unique).

Pure ASGI rather than BaseHTTPMiddleware: headers are added without buffering bodies.
"""

from __future__ import annotations

import itertools
import re
import uuid
from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES, GZipResponder
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from publisher.negotiation import takes_gzip
from publisher.routes import allowed_methods

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")
HTML_SECURITY = {"Content-Security-Policy": CSP,
                 "Referrer-Policy": "strict-origin-when-cross-origin"}
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
#: headers a route may have set itself (then replaced, not repeated), and HTML's content type
_REVISED = frozenset({b"x-request-id", b"x-content-type-options", b"content-type"})
NOSNIFF = (b"x-content-type-options", b"nosniff")
GZIP_MINIMUM = 800  # bytes: a shorter body is sent as it is (app.py, routes/lookups.py)
_NOT_COMPRESSED = frozenset(DEFAULT_EXCLUDED_CONTENT_TYPES)


class ResponseHeaders:
    def __init__(self, app: ASGIApp, html_links: str = "") -> None:
        self.app = app
        self.html_links = html_links

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        ident = request_id(scope)
        scope.setdefault("state", {})["request_id"] = ident

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                raw = list(message.get("headers", ()))
                message["headers"] = raw
                if not any(name in _REVISED for name, value in raw if name != b"content-type"
                           or value.startswith(b"text/html")):
                    # the common case, without MutableHeaders' look-ups: two appends
                    raw += [(b"x-request-id", ident.encode("latin-1")), NOSNIFF]
                    await send(message)
                    return
                headers = MutableHeaders(scope=message)
                headers["X-Request-ID"] = ident
                headers["X-Content-Type-Options"] = "nosniff"
                if headers.get("content-type", "").startswith("text/html"):
                    for name, value in HTML_SECURITY.items():
                        headers.setdefault(name, value)
                    if self.html_links:
                        existing = headers.get("link")
                        headers["Link"] = (f"{existing}, {self.html_links}" if existing
                                           else self.html_links)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class HeadAsGet:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        start: dict[str, Any] = {}  # the response's start message, held until the end
        length = 0

        async def send_headers_only(message: Message) -> None:
            nonlocal length
            if message["type"] == "http.response.start":
                start.update(message)
                return
            if message["type"] == "http.response.body":
                length += len(message.get("body", b""))
                if message.get("more_body", False):
                    return
                if not any(k == b"content-length" for k, _ in start["headers"]):
                    start["headers"] = [*start["headers"],
                                        (b"content-length", str(length).encode())]
                await send(start)
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                return
            await send(message)

        as_get = {**scope, "method": "GET"}
        try:
            await self.app(as_get, receive, send_headers_only)
        finally:  # the matched route, for metrics by route template (routes/ops.py)
            scope.setdefault("route", as_get.get("route"))


#: Generated ids: 16 random hex digits per process, then a counter (32 hex digits in all,
#: unique without a system call per request as uuid4 makes).
_ID_PREFIX = uuid.uuid4().hex[:16]
_ID_COUNTER = itertools.count(1)


def request_id(scope: Scope) -> str:
    """The client's X-Request-ID when it is a sane one, otherwise a new one."""
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text = value.decode("latin-1")
            if REQUEST_ID.match(text):
                return text
    return f"{_ID_PREFIX}{next(_ID_COUNTER) & 0xFFFFFFFFFFFFFFFF:016x}"


#: request headers whose value is a comma-separated list (RFC 9110 §5.3: their lines may
#: be combined); the routes, like Starlette's ``Headers.get``, read the first line only
_LIST_FIELDS = frozenset({b"accept", b"accept-encoding", b"accept-language"})


class OneLinePerField:
    """A request's repeated Accept, Accept-Encoding or Accept-Language lines as one line,
    their values joined with commas in order, so ``Accept: image/png`` then ``Accept:
    text/html`` is read as ``image/png, text/html`` (the door sends such requests down the
    full path: routes/replay.py's ``request_key``)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            seen: set[bytes] = set()
            for name, _ in scope["headers"]:
                if name in _LIST_FIELDS:
                    if name in seen:
                        scope = {**scope, "headers": _one_line_each(scope["headers"])}
                        break
                    seen.add(name)
        await self.app(scope, receive, send)


def _one_line_each(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    values: dict[bytes, list[bytes]] = {}
    joined: list[tuple[bytes, bytes]] = []
    for name, value in headers:
        if name not in _LIST_FIELDS:
            joined.append((name, value))
        elif name not in values:
            values[name] = [value]
            joined.append((name, b""))  # its place; the value is filled in below
        else:
            values[name].append(value)
    return [(name, b", ".join(values[name]) if name in values else value)
            for name, value in joined]


class PathCORS(CORSMiddleware):
    """Starlette's CORS, whose preflight names the methods of the path it asks about (those
    ``Allow`` lists: ``routes.allowed_methods``) rather than one list for every path, and
    refuses one the path does not take (a preflight for POST on a document said yes, and
    the POST then got 405)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "OPTIONS":
            headers = Headers(scope=scope)
            if "origin" in headers and "access-control-request-method" in headers:
                response = self.preflight_response(request_headers=headers)
                allowed = allowed_methods(Request(scope))
                if allowed != "OPTIONS":  # (a path of no route: its request gets the 404)
                    response.headers["Access-Control-Allow-Methods"] = allowed
                    if response.status_code == 200 and headers[
                            "access-control-request-method"] not in allowed.split(", "):
                        kept = {name: value for name, value in response.headers.items()
                                if name not in ("content-length", "content-type")}
                        response = PlainTextResponse("Disallowed CORS method",
                                                     status_code=400, headers=kept)
                await response(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


class GZipWhenAsked:
    """gzip for a request whose Accept-Encoding takes it (``negotiation.takes_gzip``:
    weights, ``*``, any case; Starlette's own test finds "gzip" anywhere in the header, so
    ``gzip;q=0`` got gzip), compressed by Starlette's responder (bodies of ``minimum_size``
    bytes and more, of types not compressed already). Every answer whose body could be
    compressed says ``Vary: Accept-Encoding``, compressed or not, 304 included, so that a
    shared cache keeps the two apart (RFC 9110 §12.5.5); a request that takes no gzip
    does not enter the responder."""

    def __init__(self, app: ASGIApp, minimum_size: int = GZIP_MINIMUM) -> None:
        self.app, self.minimum_size = app, minimum_size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # one line at most: OneLinePerField, outside, has joined repeated ones
        codings = next((value for name, value in scope["headers"]
                        if name == b"accept-encoding"), None)
        varied = _varies_on_encoding(send)
        if takes_gzip(codings):
            await GZipResponder(self.app, self.minimum_size)(scope, receive, varied)
        else:
            await self.app(scope, receive, varied)


def _varies_on_encoding(send: Send) -> Send:
    """``send`` that adds Accept-Encoding to the Vary of an answer gzip could apply to (not
    one encoded already, nor of a type GZipResponder leaves alone), once."""
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = MutableHeaders(raw=message.setdefault("headers", []))
            media_type = headers.get("content-type", "").partition(";")[0].strip().lower()
            vary = [v.strip().lower() for v in headers.get("vary", "").split(",")]
            if "content-encoding" not in headers and "accept-encoding" not in vary \
                    and media_type not in _NOT_COMPRESSED \
                    and media_type.partition("/")[0] + "/*" not in _NOT_COMPRESSED:
                headers.add_vary_header("Accept-Encoding")
        await send(message)
    return sending
