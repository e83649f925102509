"""Look-ups at the door: a POSTed single-pattern query answered before the framework.

A SPARQL POST whose query the server evaluates itself (publisher.lookup: one triple
pattern, a short answer) costs the engine some 20-60 µs; routing it through FastAPI and the
six middlewares inside this one cost three times that (bench/RESULTS.md). This outermost
middleware reads such a request's body, checks and evaluates the query with the same
functions as the /sparql route (``sparql.read_request``, ``sparql.parse_query``, the
route's negotiation, ``lookup.answer_here``) and sends the answer itself.

Its headers are the app's own: the first answer the full path gives to a look-up with the
same key (path, query string and the headers a representation varies on, ``replay.VARY_ON``,
and whether the body is gzipped) is kept as a template, without the headers of that one
answer (length, truncation, request id, date). Until a template exists the request takes the
full path, which records it; a reload starts with no templates (they live on the Runtime).

Everything else takes the full path with its body handed on unread: another method or
route, a query string, a body without a declared length or over ``MAX_BODY``, credentials or
validators (``replay.BYPASS``), a header block over the limit, a request the route would
refuse or answer with a page or a format parameter (the route words those errors), and a
look-up longer or slower than the server evaluates itself, which a worker then answers
without a second attempt (``routes.sparql.TRIED``).
"""

from __future__ import annotations

import gzip
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from publisher import lookup, sparql
from publisher.errors import PublisherError
from publisher.routes import sparql as route
from publisher.routes.limits import head_size
from publisher.routes.middleware import GZIP_MINIMUM
from publisher.routes.replay import VARY_ON, Header, request_key, send_whole
from publisher.workers import WorkerPool

PATH = "/sparql"
MAX_BODY = 4000     # bytes: a longer query is no look-up (and is lexed without the memo)
TEMPLATES = 64      # header templates kept per Runtime (one per kind of client, in practice)
#: headers of one answer, not of its kind
_ACCEPT_ENCODING = VARY_ON.index(b"accept-encoding")
_OWN = frozenset({b"content-length", b"x-sparql-truncated", b"x-request-id", b"date",
                  b"server", b"transfer-encoding"})


class Lookups:
    def __init__(self, app: ASGIApp, max_headers: int) -> None:
        self.app, self.max_headers = app, max_headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != PATH \
                or scope["query_string"]:
            await self.app(scope, receive, send)
            return
        state = scope["app"].state
        key = request_key(scope) if _evaluates_here(state) else None
        length = _declared_length(scope) if key is not None else None
        if key is None or length is None or head_size(scope) > self.max_headers:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        messages = await _read(receive, length)
        receive = _handing_on(messages, receive)
        if messages[-1]["type"] != "http.request" or messages[-1].get("more_body", False):
            await self.app(scope, receive, send)  # a disconnect: the app sees it as it came
            return
        runtime = state._state.get("runtime")  # the newest: the one the route would use
        if not _evaluates_here(state):
            await self.app(scope, receive, send)
            return
        body = b"".join(m.get("body", b"") for m in messages)
        answer = _evaluate(scope, state, runtime, body)
        if answer is None:
            scope.setdefault("state", {})[route.TRIED] = True
            await self.app(scope, receive, send)
            return
        compressed = _accepts_gzip(key) and len(answer.body) >= GZIP_MINIMUM
        templates: dict[tuple[Any, ...], tuple[Header, ...]] = \
            runtime.caches.setdefault("lookup_headers", {})
        template = templates.get((*key, compressed))
        if template is None:  # the full path answers (again) and its headers are kept
            await self.app(scope, receive, _recorder(send, templates, key))
            return
        await _answer(scope, send, template, answer, compressed, started)


def _evaluates_here(state: Any) -> bool:
    """Whether the Runtime's store is local (a remote store has no evaluation here)."""
    return isinstance(getattr(state._state.get("runtime"), "pool", None), WorkerPool)


def _declared_length(scope: Scope) -> int | None:
    """The body's declared length when it is one and small, else None (full path)."""
    found = None
    for name, value in scope["headers"]:
        if name == b"content-length":
            if found is not None or not value.isdigit() or int(value) > MAX_BODY:
                return None
            found = int(value)
        elif name == b"transfer-encoding":
            return None
    return found


async def _read(receive: Receive, length: int) -> list[Message]:
    """The body's messages (at most ``length`` bytes: the server delivers the declared
    length), up to the last one or a disconnect."""
    messages = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request" or not message.get("more_body", False):
            return messages


def _handing_on(messages: list[Message], receive: Receive) -> Receive:
    """``receive`` that gives the messages already read again, then the server's."""
    pending = list(messages)

    async def again() -> Message:
        return pending.pop(0) if pending else await receive()

    return again


def _evaluate(scope: Scope, state: Any, runtime: Any, body: bytes) -> lookup.Answer | None:
    """The answer the route would give, when the server evaluates it itself; else None."""
    settings = state.settings
    headers = dict(scope["headers"])
    content_type = headers.get(b"content-type", b"").decode("latin-1")
    accept = headers[b"accept"].decode("latin-1") if b"accept" in headers else None
    try:
        protocol = sparql.read_request("POST", (), content_type, body)
        if protocol.query is None or protocol.format or route.wants_page(protocol, accept):
            return None
        parsed = sparql.parse_query(protocol, settings.max_query_length,
                                    route.graphs(state, runtime.store))
        if parsed.results_kind != "results":
            return None
        fmt = route.result_format(None, accept, parsed.results_kind)
        return lookup.answer_here(runtime.store, parsed.text, fmt.name, settings.max_rows,
                                  settings.max_response_bytes, lookup.engine_options(
                                      parsed.options(), settings.base, {}))
    except PublisherError:
        return None  # the full path words the error


def _accepts_gzip(key: tuple[bytes, ...]) -> bool:
    """From a ``request_key``: path, query string, then the values of VARY_ON."""
    return b"gzip" in key[2 + _ACCEPT_ENCODING]


def _recorder(send: Send, templates: dict[tuple[Any, ...], Any],
              key: tuple[bytes, ...]) -> Send:
    async def recording(message: Message) -> None:
        if message["type"] == "http.response.start" and message["status"] == 200:
            raw = message.get("headers", ())
            compressed = any(name == b"content-encoding" for name, _ in raw)
            if len(templates) >= TEMPLATES:
                templates.clear()
            templates[(*key, compressed)] = tuple((bytes(name), bytes(value))
                                                  for name, value in raw if name not in _OWN)
        await send(message)

    return recording


async def _answer(scope: Scope, send: Send, template: tuple[Header, ...],
                  answer: lookup.Answer, compressed: bool, started: float) -> None:
    body = gzip.compress(answer.body, compresslevel=9) if compressed else answer.body
    headers = [*template, (b"content-length", str(len(body)).encode()),
               (b"x-sparql-truncated", b"true" if answer.truncated else b"false")]
    await send_whole(scope, send, 200, headers, body, PATH, started)
