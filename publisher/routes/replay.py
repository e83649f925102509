"""Replay: a repeated GET answered with the complete response recorded the first time.

The first layer of the front (routes/front.py), an in-process HTTP cache in the manner of
a reverse proxy's micro-cache. The first GET of a representation runs the whole app; if its
answer is cacheable, its status, headers and body are kept in the Runtime's ``responses``
(a ``ResponseCache``). A later GET or HEAD with the same key is answered from there without
entering the framework: the same bytes and headers, a fresh ``X-Request-ID``, and counted in
the metrics and the access log under the route it was recorded from.

Cacheable: status 200 to a GET, with an ``ETag`` (a representation of one data version),
no ``no-store`` or ``private`` in ``Cache-Control``, no ``Set-Cookie``, not a truncated
SPARQL answer, the body complete (a cut stream is never kept) and no larger than a fraction
of the cache.

The key: path, query string and every request header a representation can vary on
(``VARY_ON``). Requests that carry a validator or ask for a part (If-None-Match, Range, ...)
or credentials always take the full path, which answers 304 and 206 itself; so do header
blocks over ``max_header_bytes`` (the full path answers 431) and requests with a body.

Under ``publisher serve`` a replayed answer is written by the HTTP protocol itself, before
any task starts (``answer_now``; publisher/http_server.py); elsewhere (another ASGI server,
tests' clients) by ``__call__``. The two give the same bytes.

Exact invalidation: the cache belongs to the Runtime, which is replaced whole when the data
changes (publisher/reload.py). A remote store's version changes under its Runtime, so a
Runtime over a remote store has no response cache (its documents and results caches key on
the version instead).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from publisher import logs
from publisher.errors import AnswerCut, HttpError
from publisher.result_cache import Recorded, ResponseCache
from publisher.routes import CONDITIONALS
from publisher.routes.limits import declared_length
from publisher.routes.middleware import request_id
from publisher.routes.ops import access_fields, route_template

#: request headers a representation may depend on (negotiation, gzip, CORS, language)
VARY_ON = (b"accept", b"accept-encoding", b"accept-language", b"origin", b"host")
#: request headers that send a request down the full path: validators, ranges, credentials
BYPASS = CONDITIONALS | frozenset({
    b"if-range", b"range", b"authorization", b"cookie",
    b"transfer-encoding",  # a body of no declared length
    b"content-encoding"})  # a body the full path refuses (routes/limits.py)
_POSITION = {name: i for i, name in enumerate(VARY_ON)}
_LENGTH_SEEN = 1 << len(VARY_ON)
_TYPE_SEEN = _LENGTH_SEEN << 1
Header = tuple[bytes, bytes]
_NOT_KEPT = frozenset({b"x-request-id", b"date", b"server"})
_STATUS_LINE = {200: b"HTTP/1.1 200 OK\r\n"}  # of what is answered at once
log = logging.getLogger("publisher")


def request_key(scope: Scope, max_headers: int,
                max_body: int = 0) -> tuple[bytes, ...] | None:
    """The cache key of a request, read in one pass over its head, or None when the request
    must take the full path: a header it varies on given twice, a validator, range or
    credentials (``BYPASS``), a head of over ``max_headers`` bytes (the full path answers
    431), a body that is not of one sane declared length within ``max_body`` bytes, or of
    more than one Content-Type."""
    values: list[bytes] = [b""] * len(VARY_ON)
    seen = 0
    length = b"0"
    path = scope.get("raw_path") or scope["path"].encode("utf-8", "surrogateescape")
    size = len(path) + len(scope["query_string"])  # as limits.head_size counts
    for name, value in scope["headers"]:
        size += len(name) + len(value) + 4
        position = _POSITION.get(name)
        if position is not None:
            if seen & (1 << position):
                return None  # a repeated header field: leave its reading to the app
            seen |= 1 << position
            values[position] = value
        elif name in BYPASS:
            return None
        elif name == b"content-type":
            if seen & _TYPE_SEEN:
                return None  # read one way by the door (the last), another by the route
            seen |= _TYPE_SEEN
        elif name == b"content-length":
            if seen & _LENGTH_SEEN and value != length:
                return None
            seen |= _LENGTH_SEEN
            length = value
    declared = declared_length(length)
    if size > max_headers or declared is None or declared > max_body:
        return None
    return (path, scope["query_string"], *values)


class Replay:
    def __init__(self, app: ASGIApp, max_headers: int) -> None:
        self.app, self.max_headers = app, max_headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope.get("method")
        if scope["type"] != "http" or method not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        kept = self._cache_and_key(scope)
        if kept is None:
            await self.app(scope, receive, send)
            return
        cache, key = kept
        found = cache.get(key)
        if found is not None:
            await self._replay(scope, send, found)
        elif method == "GET":
            await self.app(scope, receive, _recorder(scope, send, cache, key))
        else:
            await self.app(scope, receive, send)

    def _cache_and_key(self, scope: Scope) -> tuple[ResponseCache, tuple[bytes, ...]] | None:
        """The Runtime's response cache and the request's key in it, or None when the
        request takes the full path (no cache: a remote store; no key: ``request_key``)."""
        cache: ResponseCache | None = getattr(scope["app"].state._state.get("runtime"),
                                              "responses", None)
        key = request_key(scope, self.max_headers) if cache is not None else None
        return None if cache is None or key is None else (cache, key)

    async def _replay(self, scope: Scope, send: Send, found: Recorded) -> None:
        body = found.body if scope["method"] == "GET" else b""
        await send_whole(scope, send, found.status, found.headers, body, found.route,
                         time.perf_counter())

    def answer_now(self, scope: Scope, default_headers: Iterable[Header]) -> bytes | None:
        """The whole response to a GET or HEAD that was recorded, as the bytes the server
        writes at once (http_server.py: no task, no ASGI messages), counted and logged as
        ``_replay`` counts and logs; None when the request takes the ASGI path, which
        answers it as before (and counts a miss). ``default_headers``: the server's own
        (Date, Server), which uvicorn writes first."""
        started = time.perf_counter()
        method = scope["method"]
        kept = self._cache_and_key(scope) if method in ("GET", "HEAD") else None
        if kept is None:
            return None
        cache, key = kept
        found = cache.peek(key)
        if found is None:
            return None
        cache.count(hit=True)
        body = found.body if method == "GET" else b""
        return whole_response(scope, found.status, default_headers, found.head, body,
                              found.route, started)


def whole_response(scope: Scope, status: int, default_headers: Iterable[Header],
                   headers: bytes, body: bytes, route: str, started: float) -> bytes:
    """``send_whole`` as the bytes of an HTTP/1.1 response, for the server to write at
    once (``Replay.answer_now``, ``Lookups.answer_now``): the status line, the server's
    ``default_headers``, ``headers`` (header lines, ``header_lines``), a request id and
    the body; counted and logged like ``send_whole``."""
    ident = request_id(scope)
    scope["state"]["request_id"] = ident
    whole = b"".join([_STATUS_LINE[status], _server_lines(default_headers), headers,
                      b"x-request-id: ", ident.encode("latin-1"), b"\r\n\r\n", body])
    _observed(scope, status, len(body), route, started)
    return whole


def header_lines(headers: Iterable[Header]) -> bytes:
    return b"".join([name + b": " + value + b"\r\n" for name, value in headers])


#: the server's default headers (uvicorn makes a new list of them each second, for Date)
#: and their lines, the last seen
_SERVER_LINES: list[Any] = [None, b""]


def _server_lines(default_headers: Iterable[Header]) -> bytes:
    if default_headers is not _SERVER_LINES[0]:
        _SERVER_LINES[:] = [default_headers, header_lines(default_headers)]
    lines: bytes = _SERVER_LINES[1]
    return lines


async def send_whole(scope: Scope, send: Send, status: int, headers: Iterable[Header],
                     body: bytes, route: str, started: float) -> None:
    """Send a whole answer from outside the framework, with what the middlewares it skips
    would have added: a request id (``ResponseHeaders``), the request counted in the
    metrics and written to the access log under ``route`` (``Observe``)."""
    await send(_start(scope, status, headers))
    await send({"type": "http.response.body", "body": body, "more_body": False})
    _observed(scope, status, len(body), route, started)


async def send_stream(scope: Scope, receive: Receive, send: Send, headers: Iterable[Header],
                      chunks: AsyncIterator[bytes], route: str, started: float) -> None:
    """``send_whole`` for a 200 answer sent as it comes: ``chunks`` is read until it ends or
    the client goes away (then it is closed, and what produces it stops). An HttpError
    from ``chunks`` once the answer has begun (past ``max_response_bytes``, or a query
    that failed mid-stream) can no longer be the response: the body is left unfinished,
    the client sees a cut stream, never a short one that looks whole (``cut_when_failing``,
    as the route's streamed answers)."""
    gone = asyncio.ensure_future(_disconnect(receive))
    size = 0
    chunks = cut_when_failing(chunks, route)
    try:
        await send(_start(scope, 200, headers))
        async for chunk in chunks:
            if gone.done():
                break
            size += len(chunk)
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        else:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
    finally:
        gone.cancel()
        await chunks.aclose()  # type: ignore[attr-defined]
    _observed(scope, 200, size, route, started)


async def cut_when_failing(chunks: AsyncIterator[bytes], route: str) -> AsyncIterator[bytes]:
    """``chunks``, for a streamed response whose head has gone: an HttpError from them ends
    the response unfinished (errors.AnswerCut). Most often it is a limit the README
    documents, so it is logged as one warning, without a traceback."""
    try:
        async for chunk in chunks:
            yield chunk
    except HttpError as exc:
        log.warning("%s: the answer was cut: %s", route, exc.detail)
        raise AnswerCut from None
    finally:
        await chunks.aclose()  # type: ignore[attr-defined]


def _start(scope: Scope, status: int, headers: Iterable[Header]) -> Message:
    """The response head, with the request id ``ResponseHeaders`` would have added."""
    ident = request_id(scope)
    scope.setdefault("state", {})["request_id"] = ident
    return {"type": "http.response.start", "status": status,
            "headers": [*headers, (b"x-request-id", ident.encode("latin-1"))]}


async def _disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


def _observed(scope: Scope, status: int, size: int, route: str, started: float) -> None:
    """Count an answer sent from outside the framework in the metrics and the access log."""
    seconds = time.perf_counter() - started
    metrics = getattr(scope["app"].state, "metrics", None)
    if metrics is not None:
        metrics.observe(route, scope["method"], status, seconds)
    if logs.ACCESS.isEnabledFor(logging.INFO):
        logs.access(access_fields(scope, {"status": status, "bytes": size}, seconds))


def _recorder(scope: Scope, send: Send, cache: ResponseCache,
              key: tuple[bytes, ...]) -> Any:
    """``send`` that also keeps a cacheable answer once its last byte has gone out."""
    state: dict[str, Any] = {"start": None, "parts": [], "size": 0}

    async def recording(message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start" and _cacheable(message):
            state["start"] = (message["status"], list(message.get("headers", ())))
        await send(message)
        if kind == "http.response.body" and state["start"] is not None:
            chunk = message.get("body", b"")
            state["size"] += len(chunk)
            if state["size"] > cache.max_entry:
                state["start"] = None  # too large to keep
                return
            state["parts"].append(chunk)
            if not message.get("more_body", False):
                body = b"".join(state["parts"])
                status, headers = state["start"]
                kept = _kept_headers(headers, len(body))
                cache.put(key, Recorded(status, kept, body, route_template(scope),
                                        header_lines(kept)))

    return recording


def _cacheable(start: Message) -> bool:
    if start["status"] != 200:
        return False
    etag = False
    for name, value in start.get("headers", ()):
        if name == b"etag":
            etag = True
        elif (name == b"cache-control" and (b"no-store" in value or b"private" in value)) \
                or name == b"set-cookie" or (name == b"x-sparql-truncated" and value == b"true"):
            return False
    return etag


def _kept_headers(raw: Any, length: int) -> tuple[tuple[bytes, bytes], ...]:
    headers = [(bytes(name), bytes(value)) for name, value in raw
               if name not in _NOT_KEPT and name != b"content-length"]
    headers.append((b"content-length", str(length).encode()))
    return tuple(headers)
