"""The front: Replay and the door, before FastAPI's own layers.

FastAPI meets every request with layers of its own before the first middleware: its
``__call__`` (the root path, a check whether OpenTelemetry is configured, which reads the
environment), Starlette's ``__call__`` and error middleware, an exception-telemetry layer
and a body-limit layer. Together they cost about 3 µs a request: a quarter of what a
replayed answer cost the app inside them (routes/replay.py; 11.1 against 8.3 µs
in-process), and a sixth of the Python of a look-up answered at the door
(routes/lookups.py). Those two answer most requests a busy publisher gets
(bench/RESULTS.md), so ``Publisher.__call__`` hands an HTTP request to them first, and what
they do not answer goes on to FastAPI's ``__call__`` and the middlewares app.py installs,
as before.

Two things the skipped layers did for the front's answers are done here:

* an unexpected error before an answer has begun gets the app's own 500 (Starlette's
  ``ServerErrorMiddleware`` with the handler app.py gives it); the error goes to the log;
* FastAPI's native OpenTelemetry instrumentation traces each request once an operator
  configures OpenTelemetry. While it is configured (looked at once a second, not per
  request), every request takes FastAPI's full path, without Replay and the door, so that
  every request is traced. The answers are the same either way; only their speed differs.

Under ``publisher serve`` the front also answers before any task is started: the HTTP
protocol (publisher/http_server.py) asks ``Publisher.answer_now`` first, which gives the
whole response when Replay has recorded it or the door evaluates a POSTed look-up itself
(``Replay.answer_now``, ``Lookups.answer_now``: the same answers, written as bytes). An
unexpected error there is logged and the request takes the ASGI path, which words it.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from publisher.errors import AnswerCut
from publisher.routes.lookups import Lookups
from publisher.routes.replay import Header, Replay

#: seconds between two looks at whether OpenTelemetry is configured
TELEMETRY_CHECK = 1.0


class Publisher(FastAPI):
    """FastAPI whose HTTP requests meet the front first (``with_front``)."""

    front: ASGIApp | None = None
    replay: Replay | None = None
    lookups: Lookups | None = None
    _traced, _traced_seen = False, float("-inf")

    def with_front(self, max_headers: int,
                   on_error: Callable[[Request, Exception], Awaitable[Response]]) -> None:
        """Put Replay and the door in front: what they do not answer goes on to FastAPI."""
        full_path = super().__call__
        self.lookups = Lookups(full_path, max_headers=max_headers)
        self.replay = Replay(self.lookups, max_headers=max_headers)
        self.front = ServerErrorMiddleware(self.replay, handler=on_error)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        front = self.front
        try:
            if front is not None and scope["type"] == "http" and not self._telemetry_on():
                scope["app"] = self
                await front(scope, receive, send)
            else:
                await super().__call__(scope, receive, send)
        except AnswerCut:
            return  # the answer stays unfinished: the server closes the connection

    def wants_body(self, scope: Scope) -> bool:
        """Whether ``answer_now`` may answer the request once its body is in: a SPARQL
        request the door takes (http_server.py holds the app back until then)."""
        if scope["method"] != "POST" or self.lookups is None or self._telemetry_on():
            return False
        scope["app"] = self
        return self.lookups.wants(scope)

    def answer_now(self, scope: Scope, default_headers: Iterable[Header],
                   body: bytes) -> bytes | None:
        """The whole response to a request, as the bytes the server writes at once, when
        the front has it without waiting: a recorded one (``Replay.answer_now``) or a
        look-up the door answers (``Lookups.answer_now``); None when the request takes
        the ASGI path (as it always does while OpenTelemetry is configured)."""
        if self.replay is None or self.lookups is None or self._telemetry_on():
            return None
        scope["app"] = self
        if scope["method"] == "POST":
            return self.lookups.answer_now(scope, default_headers, body)
        return self.replay.answer_now(scope, default_headers)

    def _telemetry_on(self) -> bool:
        """Whether FastAPI's native telemetry would trace a request now (FastAPI versions
        without it: never)."""
        now = time.monotonic()
        if now - self._traced_seen >= TELEMETRY_CHECK:
            native = getattr(self, "_native_telemetry", None)
            self._traced = native is not None and bool(native.enabled())
            self._traced_seen = now
        return self._traced
