"""The request limits of every route: ``max_header_bytes`` of request target and headers
(else 431; 414 for the target alone) and ``max_request_body`` bytes of body (else 413); a
query string that is not UTF-8 is a 400 here, before any route (or error page) tries to
decode it; and a body in a Content-Encoding (gzip, ...) is a 415, since no route decodes one.

Headers: the server (publisher/http_server.py) already refuses a header block that keeps
growing past ``max_header_bytes`` without ending; one that arrives whole is measured here.

A declared ``Content-Length`` over the limit is answered at once, before the route runs and
before a byte of the body is read. A body without a declared length (chunked) is counted as
the route reads it; the read that crosses the limit raises ``PayloadTooLarge`` inside the
route, so the one error handler renders it like every other problem. No route buffers more
than the limit.
"""

from __future__ import annotations

import re
from urllib.parse import unquote_to_bytes

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from publisher.errors import (
    BadRequest,
    HeadersTooLarge,
    HttpError,
    PayloadTooLarge,
    UnsupportedMediaType,
    UriTooLong,
)
from publisher.routes import problem_response


class RequestLimits:
    def __init__(self, app: ASGIApp, max_body: int, max_headers: int) -> None:
        self.app, self.limit, self.max_headers = app, max_body, max_headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = content_length(scope)
        error: HttpError | None = None
        if target_size(scope) > self.max_headers:
            error = UriTooLong(f"The request target is longer than the limit of "
                               f"{self.max_headers} bytes; send a long query with POST.",
                               limit=self.max_headers)
        elif head_size(scope) > self.max_headers:
            error = HeadersTooLarge(f"The request target and headers are larger than the "
                                    f"limit of {self.max_headers} bytes.",
                                    limit=self.max_headers)
        elif not _utf8(scope.get("query_string", b"")):
            error = BadRequest("The query string is not UTF-8, as it is or once its "
                               "%-escapes are decoded (percent-encode UTF-8 bytes).")
            scope = {**scope, "query_string": b""}  # so the error page can be rendered
        elif declared is None:
            error = BadRequest("Content-Length must be one non-negative integer.")
        elif declared > self.limit:
            error = too_large(self.limit)
        elif (coding := content_coding(scope)) is not None:
            error = UnsupportedMediaType(
                f"A request body in Content-Encoding {coding} is not accepted; send it as it "
                "is (identity).")
        if error is not None:
            response = problem_response(Request(scope), error)
            response.headers["Connection"] = "close"  # the unread body stays unread
            await response(scope, receive, send)
            return
        if not chunked(scope):
            # the server delivers exactly the declared length (0 when none), checked above
            await self.app(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise too_large(self.limit)
            return message

        await self.app(scope, counted, send)


def too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"The request body is larger than the limit of {limit} bytes.",
                           limit=limit)


def _utf8(data: bytes) -> bool:
    """Whether a query string is UTF-8, and so are the bytes its %-escapes stand for (the
    routes decode them leniently: ``%ff`` would become U+FFFD and the changed text be
    used)."""
    try:
        data.decode("utf-8")
        if _HIGH_ESCAPE.search(data):  # an escaped byte above 0x7F: decode them all
            unquote_to_bytes(data).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


_HIGH_ESCAPE = re.compile(rb"%[89A-Fa-f][0-9A-Fa-f]")


def target_size(scope: Scope) -> int:
    """Bytes of the request target: its path and query string."""
    return len(scope.get("raw_path") or scope["path"].encode()) + len(scope["query_string"])


def head_size(scope: Scope) -> int:
    """Bytes of request target and header fields, as on the wire (give or take the CRLFs)."""
    return target_size(scope) + sum(len(k) + len(v) + 4 for k, v in scope.get("headers", ()))


def content_coding(scope: Scope) -> str | None:
    """The Content-Encoding of a request's body, when it is not identity: no route decodes
    one, so such a body is refused (RFC 9110 §8.4.1: 415) rather than read as it is."""
    for name, value in scope.get("headers", ()):
        if name == b"content-encoding":
            codings = [c.strip() for c in value.decode("latin-1").lower().split(",")]
            if any(c and c != "identity" for c in codings):
                return value.decode("latin-1")
    return None


def chunked(scope: Scope) -> bool:
    """Whether the body comes without a declared length."""
    return any(k == b"transfer-encoding" for k, _ in scope.get("headers", ()))


def content_length(scope: Scope) -> int | None:
    """The declared length (0 when absent), or None when it is not one sane integer."""
    values = [v for k, v in scope.get("headers", ()) if k == b"content-length"]
    if not values:
        return 0
    return declared_length(values[0]) if len(set(values)) == 1 else None


def declared_length(value: bytes) -> int | None:
    """One Content-Length value as a number, or None when it is not a sane one (digits
    only, at most 18 of them)."""
    return int(value) if value.isdigit() and len(value) <= 18 else None
