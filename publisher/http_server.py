"""The HTTP/1.1 protocol the server runs: uvicorn's httptools (llhttp) with the request head
bounded, and a whole answer written at once.

uvicorn offers two HTTP/1.1 parsers. h11, pure Python, bounds the head it buffers
(``h11_max_incomplete_event_size``) but costs some 70 µs of a loopback request on this
machine, more than the rest of a dereference or a look-up together; httptools, the llhttp
parser in C that Node.js runs, costs about 20 µs (``bench/floor.py``) but buffers a head of
any size: a client that keeps sending header lines without ending the block grows the
server's memory without bound. ``BoundedHttpTools`` is uvicorn's httptools protocol with
that bound, as Node.js puts it around the same parser: it counts the bytes received while a
request's head is unfinished and, past the limit, answers 431 (RFC 6585, with an RFC 9457
body) and closes the connection, as nginx does: it ends its side at once and reads and drops
what the client still sends for up to ``LINGER`` seconds, so that the client, still
writing, is not reset before it has read the answer. The limit is uvicorn's own setting for it,
``h11_max_incomplete_event_size`` (``cli.py`` sets it to ``max_header_bytes``), so the
class needs nothing else and pickles by name into ``--workers`` processes.

It bounds the time a request may take to arrive too: a head and body not complete within
``read_timeout`` seconds of the request's first byte (of the connection's start, for its
first request) get 408 and the connection is closed, so that heads never finished
(slowloris) cannot hold every connection slot; between requests uvicorn's keep-alive
timeout closes an idle connection, as before. One timer a server looks at every
connection once a second (``_sweep``); a request pays two attribute writes.

A head that arrives whole, in one read, is not counted here: the app measures it
(``routes/limits.py``, 431 too). A read can end one request and begin the next (a
pipelining client); its bytes count in full towards the new head, so such a head is cut
up to one read (64 KiB) early, never late.

uvicorn writes a response's head as soon as the app starts the response, and its body
when the app sends it: two writes, so two system calls and two TCP segments for an answer
the app sends whole, as it sends almost all of ours. ``_HeadHeld`` holds the head of an
answer of known length (Content-Length) until its first body bytes and writes both at once
(``bench/floor.py``: some 3 µs a request, a tenth of a replayed answer's cost); the end of
a response without body bytes (HEAD) or a close writes what is held. The head of a stream
(chunked) is not held: its first byte leaves before the first rows are ready. Nor is a
"100 Continue".

Answers at once. Most requests a busy publisher gets are answered from what the app
already holds: a recorded response (routes/replay.py) or a look-up the server evaluates
itself (routes/lookups.py). An app may offer them as ``AnswersNow`` (routes/front.py's
``Publisher`` does): before the protocol starts a task for a request, it asks
``answer_now`` for the whole response and, given one, writes it and goes on as after any
response. No task, no ASGI messages, no turn of the event loop: a replayed request costs
the server some 16 µs in-process instead of 26 (bench/RESULTS.md). A request whose body the
app wants first (``wants_body``: a short SPARQL POST) is held until its body is in; a body
that fills uvicorn's buffer (64 KiB, then reading pauses) starts the app at once, and a
client that waits for "100 Continue" gets it from the app, as before. The app's usual path
answers everything else: a connection that ends with the answer (``Connection: close``,
HTTP/1.0), a client that is not reading its answers (writes paused), a request pipelined
behind one still being answered (uvicorn starts it in turn), and a request whose
``answer_now`` fails (the error is logged). Only an app uvicorn runs unwrapped is asked:
``--proxy-headers`` (off in ``publisher serve``) or trace logging wrap it, and then every
request takes the app's path.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from http import HTTPStatus
from typing import Any, Protocol

import httptools
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle
from uvicorn.server import ServerState

from publisher.errors import (
    BadRequest,
    HeadersTooLarge,
    HttpError,
    MethodNotImplemented,
    RequestTimeout,
    UriTooLong,
)

PROBLEM_JSON = b"application/problem+json"
LINGER = 2.0  # seconds a refused connection's input is read and dropped before it closes
READ_TIMEOUT = 10.0  # seconds a request may take to arrive, unless the app's settings say
SWEEP = 1.0   # seconds between two looks at the connections whose request is arriving


class AnswersNow(Protocol):
    """What an app offers to answer some requests at once (routes/front.py's Publisher)."""

    def wants_body(self, scope: Any) -> bool:  # uvicorn's HTTPScope
        """Whether ``answer_now`` may answer the request once its body is in; the app is
        started on it only then (or when the body turns out long)."""

    def answer_now(self, scope: Any, default_headers: list[tuple[bytes, bytes]],
                   body: bytes) -> bytes | None:
        """The whole response (status line, the server's ``default_headers`` first, the
        app's, and the body), or None: the app answers the request as usual."""


#: reason phrases, RFC 9110's where Python's are older ("Request-URI Too Long")
_REASONS = {**{status.value: status.phrase for status in HTTPStatus},
            413: "Content Too Large", 414: "URI Too Long"}


class _NoHost(Exception):
    """An HTTP/1.1 request head without Host (``BoundedHttpTools.on_headers_complete``)."""


class _Parser:
    """uvicorn's httptools parser, keeping the error that ended a parse (``failure``), so
    that the answer can name its cause (``BoundedHttpTools.send_400_response``). The
    parser's other methods are its own, bound once (a lookup per call cost 5 µs a
    request)."""

    __slots__ = ("failure", "get_http_version", "get_method", "parser",
                 "set_dangerous_leniencies", "should_keep_alive", "should_upgrade")

    def __init__(self, parser: Any) -> None:
        self.parser = parser
        self.failure: Exception | None = None
        self.get_http_version = parser.get_http_version
        self.get_method = parser.get_method
        self.should_keep_alive = parser.should_keep_alive
        self.should_upgrade = parser.should_upgrade
        self.set_dangerous_leniencies = parser.set_dangerous_leniencies

    def feed_data(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self.failure = exc
            raise


class BoundedHttpTools(HttpToolsProtocol):
    """uvicorn's httptools protocol, refusing a request head that grows past
    ``config.h11_max_incomplete_event_size`` bytes without ending."""

    def __init__(self, config: Config, server_state: ServerState, app_state: dict[str, Any],
                 _loop: asyncio.AbstractEventLoop | None = None) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.parser = _Parser(self.parser)  # type: ignore[assignment]
        self.max_head = config.h11_max_incomplete_event_size or 16 * 1024
        self.in_head = False   # a request has begun and its head has not ended
        self.head_bytes = 0    # bytes received since it began (see the module's docstring)
        self.refused = False   # answered 431: what comes is dropped until the close
        #: the app, if it answers some requests at once (``AnswersNow``)
        self.now: AnswersNow | None = self.app if hasattr(self.app, "answer_now") else None
        #: a request whose app waits for its body (``AnswersNow.wants_body``)
        self.held: tuple[RequestResponseCycle, Any] | None = None
        #: uvicorn starts the request whose head just ended, not one queued behind another
        #: (answered at once, that one would start the next, and so on, in one call stack)
        self.fresh = False
        settings = getattr(getattr(self.app, "state", None), "settings", None)
        self.read_timeout: float = getattr(settings, "read_timeout", READ_TIMEOUT)
        #: when the request now arriving began to (the connection's start for its first),
        #: None while none is: past ``read_timeout`` it is refused (``_sweep``)
        self.reading_since: float | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.reading_since = self.loop.time()
        if not getattr(self.server_state, "swept", False):  # one sweep a server
            self.server_state.swept = True  # type: ignore[attr-defined]
            self.loop.call_later(SWEEP, _sweep, self.loop, self.connections)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.in_head, self.head_bytes = True, 0
        if self.reading_since is None:
            self.reading_since = self.loop.time()

    def on_headers_complete(self) -> None:
        for name, _ in self.headers:  # (Host comes first, as a rule)
            if name == b"host":
                break
        else:
            if self.parser.get_http_version() == "1.1":
                # RFC 9112 §3.2: a server MUST answer 400 to an HTTP/1.1 request without
                # Host. Raised in the parser's callback, it ends the parse: uvicorn then
                # answers 400 (``send_400_response``) and closes, before any app starts
                raise _NoHost
        self.in_head = False
        cycle = self.cycle
        self.fresh = True  # a request may be answered at once only as its head ends
        try:
            super().on_headers_complete()
        finally:
            self.fresh = False
        if self.cycle is not cycle and not self.cycle.response_complete:
            # a request to answer (not an upgrade, nor answered at once)
            held = _HeadHeld(self.transport, self.cycle.on_response)
            self.cycle.transport = held  # type: ignore[assignment]
            self.cycle.on_response = held.finished

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: Any) -> None:
        """Start the app on a request, unless the app answers it at once (see the module's
        docstring); a request whose body the app wants first is held until it is in."""
        now = self.now
        if now is not None and self.fresh and app is self.app and self._may_answer(cycle):
            body = b""
            if self._asks(now.wants_body, cycle.scope):
                if cycle.more_body:  # its body is still to come
                    if not cycle.waiting_for_100_continue:
                        self.held = (cycle, app)
                        return
                    now = None  # the client waits for a 100 Continue: the app's to send
                else:
                    body = bytes(cycle.body)
            if now is not None and self._answered(now, cycle, body):
                return
        self._start(cycle, app)

    def _start(self, cycle: RequestResponseCycle, app: Any) -> None:
        """uvicorn's start of the app's task. A request answered at once before this one,
        in the same read, armed the keep-alive timer (``on_response_complete``): it must
        not cut this one's answer."""
        self._unset_keepalive_if_required()
        super()._start_asgi_task(cycle, app)

    def _may_answer(self, cycle: RequestResponseCycle) -> bool:
        """Whether a request may be answered at once: the connection stays open after the
        answer (no ``Connection: close``, not HTTP/1.0, no shutdown under way) and the
        client reads what it is sent."""
        return cycle.keep_alive and not self.flow.write_paused

    def _answered(self, now: AnswersNow, cycle: RequestResponseCycle, body: bytes) -> bool:
        """Whether ``answer_now`` answered the request (then it is written and done)."""
        whole = self._asks(now.answer_now, cycle.scope, self.server_state.default_headers,
                           body)
        if whole is None:
            return False
        cycle.response_started = cycle.response_complete = True
        self.transport.write(whole)
        self.on_response_complete()
        return True

    def _asks(self, ask: Callable[..., Any], *args: Any) -> Any:
        """``ask(*args)``, or None if it fails: the app's own path answers the request
        then, its errors included."""
        try:
            return ask(*args)
        except Exception:
            self.logger.exception("%s failed; the request goes to the app", ask.__name__)
            return None

    def on_body(self, body: bytes) -> None:
        super().on_body(body)
        if self.held is not None and self.flow.read_paused:  # a long body: the app reads it
            self._release(answer=False)

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self.reading_since = None
        if self.held is not None:
            self._release(answer=True)

    def _release(self, answer: bool) -> None:
        """Answer the held request at once, or start its app."""
        assert self.held is not None
        (cycle, app), self.held = self.held, None
        if answer and self.now is not None and self._may_answer(cycle) \
                and self._answered(self.now, cycle, bytes(cycle.body)):
            return
        self._start(cycle, app)

    def connection_lost(self, exc: Exception | None) -> None:
        self.held = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.refused:
            return
        super().data_received(data)
        if self.in_head and not self.transport.is_closing():
            self.head_bytes += len(data)
            if self.head_bytes > self.max_head:
                self.refuse_head()

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to a request its parser refuses, as problem+json: 501 for a
        method llhttp does not know (RFC 9110 §9.1), 400 for the rest."""
        cause = getattr(self.parser, "failure", None)
        error: HttpError
        if isinstance(cause, httptools.HttpParserInvalidMethodError):
            error = MethodNotImplemented("The request's method is not one this server knows; "
                                         "it answers GET, HEAD, POST and OPTIONS.")
        elif isinstance(cause, httptools.HttpParserCallbackError) and \
                isinstance(cause.__context__, _NoHost):
            error = BadRequest("An HTTP/1.1 request must have a Host header (RFC 9112 §3.2).")
        else:
            error = BadRequest("The request is not valid HTTP/1.1.")
        self.logger.warning("%s", error.detail)
        self._write_problem(error)
        self.transport.close()

    def _write_problem(self, error: HttpError) -> None:
        """The whole answer to a request the app never sees: the server's default headers,
        problem+json, ``Connection: close``."""
        settings = getattr(getattr(self.app, "state", None), "settings", None)
        body = json.dumps(error.problem(base=getattr(settings, "base", None))).encode()
        head = [f"HTTP/1.1 {error.status} {_REASONS[error.status]}\r\n".encode()]
        head += [name + b": " + value + b"\r\n"
                 for name, value in self.server_state.default_headers]
        head += [b"content-type: ", PROBLEM_JSON, b"\r\n",
                 b"content-length: ", str(len(body)).encode(), b"\r\n",
                 b"cache-control: no-store\r\nconnection: close\r\n\r\n", body]
        self.transport.write(b"".join(head))

    def read_timed_out(self) -> None:
        """A request that has not arrived whole within ``read_timeout``: 408 if it has begun
        and nothing has been answered to it, and the connection is closed at once, its slot
        freed. A connection that never sent a byte is closed without a word."""
        self.reading_since, self.held = None, None
        if self.transport.is_closing():
            return
        begun = self.in_head or (self.cycle is not None and not self.cycle.response_complete)
        if begun and (self.cycle is None or self.in_head or not self.cycle.response_started):
            self.refused = True
            if self.cycle is not None:
                self.cycle.disconnected = True  # an app reading its body stops there
            self.logger.warning("Request not received within %g s; closed.", self.read_timeout)
            self._write_problem(RequestTimeout(
                f"The request did not arrive whole within {self.read_timeout:g} seconds.",
                limit=self.read_timeout))
        self.transport.close()  # (after the answer is written; a client that has stalled
        # has nothing more in flight, so unlike ``refuse_head`` there is no input to drain)

    def refuse_head(self) -> None:
        """Answer 431 (or 414 while the request line has not ended: the target alone is
        too long), end this side of the connection and close it after ``LINGER`` seconds
        (or when the client does)."""
        self.in_head, self.refused = False, True
        error: HttpError
        if not self.headers:  # no header line yet: still in the request line
            error = UriTooLong(f"The request target is longer than the limit of "
                               f"{self.max_head} bytes; send a long query with POST.",
                               limit=self.max_head)
        else:
            error = HeadersTooLarge(f"The request target and headers are larger than the "
                                    f"limit of {self.max_head} bytes.", limit=self.max_head)
        self.logger.warning("Request head over %d bytes refused.", self.max_head)
        self._write_problem(error)
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(LINGER, self.transport.close)


def _sweep(loop: asyncio.AbstractEventLoop, connections: set[Any]) -> None:
    """Refuse every request that has been arriving for longer than its ``read_timeout``
    (``BoundedHttpTools.read_timed_out``), then look again in ``SWEEP`` seconds. One timer
    a server instead of one a request: a request pays two attribute writes for its deadline.
    Without it a client could hold every connection slot with heads it never finishes
    (slowloris): 260 such sockets kept every other request at 503 for as long as they
    stayed open."""
    now = loop.time()
    for protocol in list(connections):
        since = getattr(protocol, "reading_since", None)
        if since is not None and now - since > protocol.read_timeout:
            protocol.read_timed_out()
    if loop.is_closed():
        return
    loop.call_later(SWEEP, _sweep, loop, connections)


class _HeadHeld:
    """The transport as one response's cycle sees it: the head of an answer of known length
    is held and written with the first body bytes, or when the response ends without any
    (HEAD: uvicorn writes no body then), or at a close (see the module's docstring)."""

    __slots__ = ("held", "on_response", "started", "transport")

    def __init__(self, transport: asyncio.Transport, on_response: Callable[[], None]) -> None:
        self.transport, self.on_response = transport, on_response
        self.held, self.started = b"", False

    def write(self, data: bytes) -> None:
        if self.held:
            data, self.held = self.held + data, b""
        elif not self.started and not data.startswith(b"HTTP/1.1 100 "):
            self.started = True  # the response head
            if b"\r\ncontent-length: " in data:  # an answer of known length: held
                self.held = data
                return
        self.transport.write(data)

    def finished(self) -> None:
        """The cycle's ``on_response``: the response is complete."""
        self._flush()
        self.on_response()

    def close(self) -> None:
        self._flush()
        self.transport.close()

    def is_closing(self) -> bool:
        return self.transport.is_closing()

    def _flush(self) -> None:
        if self.held:
            self.transport.write(self.held)
            self.held = b""
