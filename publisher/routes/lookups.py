"""The door: SPARQL SELECT and ASK queries answered before the framework.

A SPARQL query the server evaluates itself (publisher.lookup: one triple pattern, a short
answer) costs the engine some 20-60 µs; routing it through FastAPI and the middlewares
inside this one cost three times that (bench/RESULTS.md), and a tenth of a millisecond of
every query a worker answers. This layer, inside Replay (routes/replay.py) in the front
(routes/front.py), before FastAPI's own layers and every middleware, takes a POST (form or
application/sparql-query, body read here) or a GET ``?query=`` to /sparql, checks it with
the route's own functions (``sparql.read_request``, ``sparql.parse_query``,
``routes.sparql``'s negotiation, job and result key: in routes/prepared.py) and answers it:

* a look-up, with the pool's ``evaluate_here``;
* any other SELECT or ASK, with the pool's ``evaluate``: a worker's answer, sent whole or
  streamed (``replay.send_stream``), or a long look-up that the server begins itself
  (``lookup.begin_here``). A client that takes gzip gets these from the route, which
  compresses streams; an error is handed to the route (``routes.sparql.FAILED``), which
  words it without evaluating the query again.

A GET's answer has the route's ETag, is read from and kept in the result cache as the route
does, and Replay records it like any other.

Under ``publisher serve`` a POST the door answers itself (a look-up evaluated here) is
answered by ``answer_now`` before any task starts, as the HTTP protocol hands it the whole
body (publisher/http_server.py); what ``answer_now`` cannot answer takes the ASGI path,
which goes on from what it found (``_Settled``) without evaluating the query again.

What the checks make of a request (the job, or that the route is to answer it) is kept per
Runtime by the request's text, media type, Accept and data version (routes/prepared.py): a
repeated query is evaluated again, but not read, checked and negotiated again. A POST
look-up answered at once is kept further, as a plan (``_Plan``: its job, engine options and
header lines, per Runtime): the same request again is evaluated by ``lookup.again`` and
written with those lines, without settling it anew (70 µs a request in-process against 90;
bench/RESULTS.md).

Its headers are the app's own, kept per kind of request from the full path's first answer
(routes/door_headers.py); until they are, a request of its kind takes the full path.

Everything else takes the full path with its body handed on unread: another method or
route, a POST with a query string or a GET with a parameter besides ``query``, a body
without a declared length or over ``MAX_BODY``, credentials or validators
(``replay.BYPASS``: the route answers 304), a header block over the limit, a CONSTRUCT or
DESCRIBE, a request the route would refuse or answer with a page (the route words those
errors). A look-up longer or slower than the server evaluates itself goes to a worker
without a second attempt (``routes.sparql.TRIED``).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from publisher import lookup
from publisher.errors import HttpError, PublisherError
from publisher.evaluate import Job
from publisher.executor import QueryEvaluation
from publisher.result_cache import Answer, etag
from publisher.routes import door_headers
from publisher.routes import sparql as route
from publisher.routes.middleware import GZIP_MINIMUM
from publisher.routes.prepared import Prepared, checked
from publisher.routes.replay import (
    Header,
    header_lines,
    request_key,
    send_stream,
    send_whole,
    whole_response,
)
from publisher.workers import WorkerPool

PATH = "/sparql"
MAX_BODY = 4000     # bytes: a longer query is no look-up (and is lexed without the memo)


@dataclass(frozen=True)
class Found:
    body: bytes
    truncated: bool
    etag: str | None    # a GET's
    kept: bool = False  # read from the result cache
    native: bool = False  # lookup.Answer.native: a POST's may be planned (_Plan)


@dataclass(frozen=True)
class _Plan:
    """A POST look-up the door has answered at once, uncompressed, kept so that the same
    request (the same Replay key, Content-Type and body, with the same Runtime) goes
    straight to the engine: its checks were made and hold again (they depend on nothing
    else, prepared.py), its headers are its kind's (door_headers), and ``lookup.again``
    evaluates it as ``answer_here`` did. The Runtime's data does not change, so neither
    does the answer's length, nor whether it is compressed. Some 10 µs less a request
    than settling it anew (bench/RESULTS.md)."""
    job: Job
    options: dict[str, Any]  # the job's, as pyoxigraph takes them
    lines: bytes             # the kind's header lines, but the length
    gzip: bool               # the client takes gzip

    def answer(self, store: Any, scope: Scope, default_headers: Iterable[Header],
               started: float) -> bytes | None:
        """The whole response, or None (the door settles the request anew): the answer
        no longer fits here, or would be compressed after all."""
        job = self.job
        body = lookup.again(store, job.query, job.format, self.options)
        if body is None or (self.gzip and len(body) >= GZIP_MINIMUM):
            return None
        lines = self.lines + b"content-length: " + str(len(body)).encode() + b"\r\n"
        return whole_response(scope, 200, default_headers, lines, body, PATH, started)


@dataclass(frozen=True)
class _Settled:
    """What the door made of a request: the Runtime, Replay's key, and ``_evaluate``'s
    answer. ``answer_now`` leaves it in the request's state when it cannot answer at once,
    and the ASGI path goes on from it without evaluating the query again."""
    runtime: Any
    key: tuple[bytes, ...]
    found: Found | Prepared | None


_SETTLED = "publisher.door"  # the request state's key of a _Settled
_KEY = "publisher.door.key"  # and of the request's key, from ``wants``


class Lookups:
    def __init__(self, app: ASGIApp, max_headers: int) -> None:
        self.app, self.max_headers = app, max_headers

    def key(self, scope: Scope) -> tuple[bytes, ...] | None:
        """Replay's key of a request the door takes, else None (the full path answers)."""
        if scope["path"] != PATH or (scope["method"], bool(scope["query_string"])) not in _TAKEN \
                or not _evaluates_here(scope["app"].state):
            return None
        return request_key(scope, self.max_headers, MAX_BODY)

    def wants(self, scope: Scope) -> bool:
        """Whether the door takes the request (front.py's ``wants_body``); its key is kept
        in the request's state for ``answer_now``, which comes once the body is in."""
        key = self.key(scope)
        if key is None:
            return False
        scope["state"][_KEY] = key
        return True

    def answer_now(self, scope: Scope, default_headers: Iterable[Header],
                   body: bytes) -> bytes | None:
        """The whole response to a SPARQL request with its ``body``, as the bytes the
        server writes at once (http_server.py, replay.whole_response), when the door has
        the answer (a look-up evaluated here, or a kept result); None when the ASGI path
        answers: the request is not the door's, or is for a worker or the route."""
        started = time.perf_counter()
        key = scope["state"].pop(_KEY, None) or self.key(scope)
        if key is None:
            return None
        runtime = scope["app"].state._state.get("runtime")
        planned = (key, _content_type(scope), body) if scope["method"] == "POST" else None
        if planned is not None and runtime is not None:
            kept = _plans(runtime).get(planned)
            if kept is not None:
                whole = kept.answer(runtime.pool.store, scope, default_headers, started)
                if whole is not None:
                    return whole
        settled = _settle(scope, key, body)
        plan = _plan(scope, settled)
        if plan is None or not isinstance(settled.found, Found):
            scope["state"][_SETTLED] = settled
            return None
        template, compressed = plan
        found = settled.found
        payload, headers = door_headers.whole(template, found.body, found.truncated,
                                              found.etag, compressed)
        _count(scope, settled.runtime, found)
        if planned is not None and found.native and not compressed \
                and settled.runtime is runtime:
            _keep_plan(scope, settled, planned, template, body)
        return whole_response(scope, 200, default_headers, header_lines(headers), payload,
                              PATH, started)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        settled = _settled(scope)
        if settled is None:
            key = self.key(scope) if scope["type"] == "http" else None
            if key is None:
                await self.app(scope, receive, send)
                return
            body: bytes | None = b""
            if scope["method"] == "POST":
                messages = await _read(receive)
                receive = _handing_on(messages, receive)
                body = _whole(messages, scope["app"].state)
            if body is None:
                await self.app(scope, receive, send)
                return
            settled = _settle(scope, key, body)
        await self._answer(scope, receive, send, settled, started)

    async def _answer(self, scope: Scope, receive: Receive, send: Send, settled: _Settled,
                      started: float) -> None:
        runtime, found = settled.runtime, settled.found
        plan = _plan(scope, settled)
        if plan is None:
            _tried(scope, found)
            gzipped = door_headers.takes_gzip(settled.key)
            if found is None or isinstance(found, Prepared) and gzipped:
                # the route's: what it words, or compresses as it streams
                await self.app(scope, receive, send)
            else:  # the full path answers (again) and its headers are kept
                kind = door_headers.kind(scope["method"], settled.key, False)[:-1]
                await self.app(scope, receive, door_headers.recorder(
                    send, door_headers.templates(runtime), kind))
            return
        template, compressed = plan
        _count(scope, runtime, found)
        if isinstance(found, Found):
            body, headers = door_headers.whole(template, found.body, found.truncated,
                                               found.etag, compressed)
            await send_whole(scope, send, 200, headers, body, PATH, started)
            return
        assert found is not None
        try:
            evaluation = await runtime.pool.evaluate(found.job)
        except HttpError as error:  # the route words it, without evaluating again
            scope.setdefault("state", {})[route.FAILED] = error
            await self.app(scope, receive, send)
            return
        await _pooled(scope, receive, send, template, runtime, found, evaluation, started)


def _settle(scope: Scope, key: tuple[bytes, ...], body: bytes) -> _Settled:
    """What the door makes of a request, with the newest Runtime (the one the route uses)."""
    state = scope["app"].state
    runtime = state._state.get("runtime")
    return _Settled(runtime, key, _evaluate(scope, state, runtime, body))


PLANS = 256  # POST look-ups kept planned per Runtime (_Plan); past that, begun anew


def _plans(runtime: Any) -> dict[tuple[Any, ...], _Plan]:
    plans: dict[tuple[Any, ...], _Plan] | None = runtime.caches.get("door plans")
    if plans is None:
        plans = runtime.caches.setdefault("door plans", {})
    return plans


def _keep_plan(scope: Scope, settled: _Settled, planned: tuple[Any, ...],
               template: tuple[Header, ...], body: bytes) -> None:
    """Keep the plan of a POST look-up just answered at once, uncompressed (see _Plan)."""
    prepared = checked(scope, scope["app"].state, settled.runtime, body)  # (kept: a look-up)
    if prepared is None:
        return
    job = prepared.job
    plans = _plans(settled.runtime)
    if len(plans) >= PLANS:
        plans.clear()
    lines = header_lines(door_headers.answer_headers(template, False, None))
    plans[planned] = _Plan(job, lookup.engine_options(job.options, job.base, job.substitutions),
                           lines, door_headers.takes_gzip(settled.key))


def _content_type(scope: Scope) -> bytes | None:
    """The request's Content-Type (one at most: ``request_key``)."""
    for name, value in scope["headers"]:
        if name == b"content-type":
            return value
    return None


def _settled(scope: Scope) -> _Settled | None:
    """What ``answer_now`` made of the request, if it was made with the newest Runtime."""
    settled = scope.get("state", {}).pop(_SETTLED, None)
    if settled is None or settled.runtime is not scope["app"].state._state.get("runtime"):
        return None
    return settled


def _plan(scope: Scope, settled: _Settled) -> tuple[tuple[Header, ...], bool] | None:
    """The header template and whether to compress, when the door answers; None when the
    full path does: the route words it or compresses its stream, or no template is kept
    yet for the request's kind."""
    found, gzipped = settled.found, door_headers.takes_gzip(settled.key)
    if found is None or (isinstance(found, Prepared) and gzipped):
        return None
    compressed = isinstance(found, Found) and gzipped and len(found.body) >= GZIP_MINIMUM
    kind = door_headers.kind(scope["method"], settled.key, compressed)
    template = door_headers.templates(settled.runtime).get(kind)
    return None if template is None else (template, compressed)


def _count(scope: Scope, runtime: Any, found: Found | Prepared | None) -> None:
    """A GET's result-cache lookup, counted by whoever answers (the door here)."""
    if scope["method"] == "GET":
        runtime.results.count(hit=isinstance(found, Found) and found.kept)


def _whole(messages: list[Message], state: Any) -> bytes | None:
    """The body the messages hold, or None when they end in a disconnect (the app gets them
    as they came) or the Runtime was replaced by a reload while the body came."""
    if messages[-1]["type"] != "http.request" or messages[-1].get("more_body", False):
        return None
    if not _evaluates_here(state):
        return None
    return b"".join(m.get("body", b"") for m in messages)


def _tried(scope: Scope, found: Found | Prepared | None) -> None:
    """Tell the route that the server has tried (and left to a worker) the look-up."""
    if isinstance(found, Prepared) and not found.job.here:
        scope.setdefault("state", {})[route.TRIED] = True


async def _pooled(scope: Scope, receive: Receive, send: Send, template: tuple[Header, ...],
                  runtime: Any, found: Prepared, evaluation: QueryEvaluation,
                  started: float) -> None:
    """Send the pool's answer, whole or streamed, as the route does (routes.sparql.answer)."""
    if found.key is None:
        tag, chunks = None, evaluation.chunks()
    else:
        tag = etag(found.key)
        chunks = route.kept_chunks(runtime.results, found.key, evaluation, found.content_type)
    if evaluation.whole is not None:
        body, headers = door_headers.whole(template, evaluation.whole, evaluation.truncated,
                                           tag, False)
        await send_whole(scope, send, 200, headers, body, PATH, started)
        return
    await send_stream(scope, receive, send,
                      door_headers.answer_headers(template, evaluation.truncated, tag),
                      chunks, PATH, started)


#: (method, has a query string) of the requests the door takes
_TAKEN = frozenset({("POST", False), ("GET", True)})


def _evaluates_here(state: Any) -> bool:
    """Whether the Runtime's store is local (a remote store has no evaluation here)."""
    return isinstance(getattr(state._state.get("runtime"), "pool", None), WorkerPool)


async def _read(receive: Receive) -> list[Message]:
    """The body's messages (no more than the declared length: the server sees to it), up to
    the last one or a disconnect."""
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


def _evaluate(scope: Scope, state: Any, runtime: Any, body: bytes) -> Found | Prepared | None:
    """The answer the route would give when the server has it or evaluates it itself, the
    job for the pool when a worker evaluates it (or the server begins it), or None when the
    route is to answer."""
    prepared = checked(scope, state, runtime, body)
    if prepared is None:
        return None
    job, key = prepared.job, prepared.key
    try:
        if key is not None:
            # (peeked: a hit or miss is counted by whoever answers, the door or the route)
            kept = runtime.results.peek(key)
            if kept is not None:
                return Found(kept.body, False, etag(key), kept=True)
        if lookup.long_lookup(job.query, job.max_rows):
            return prepared  # begun here, streamed
        answer = runtime.pool.evaluate_here(job)
        if answer is None:  # no look-up, or longer than the server answers: a worker's
            return replace(prepared, job=replace(job, here=False))
        if key is None:
            return Found(answer.body, answer.truncated, None, native=answer.native)
        if not answer.truncated:
            runtime.results.put(key, Answer(answer.body, prepared.content_type))
        return Found(answer.body, answer.truncated, etag(key))
    except PublisherError:
        return None  # the full path words the error
