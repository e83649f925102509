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
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from publisher.errors import HeadersTooLarge

PROBLEM_JSON = b"application/problem+json"
LINGER = 2.0  # seconds a refused connection's input is read and dropped before it closes


class BoundedHttpTools(HttpToolsProtocol):
    """uvicorn's httptools protocol, refusing a request head that grows past
    ``config.h11_max_incomplete_event_size`` bytes without ending."""

    def __init__(self, config: Config, server_state: ServerState, app_state: dict[str, Any],
                 _loop: asyncio.AbstractEventLoop | None = None) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.max_head = config.h11_max_incomplete_event_size or 16 * 1024
        self.in_head = False   # a request has begun and its head has not ended
        self.head_bytes = 0    # bytes received since it began (see the module's docstring)
        self.refused = False   # answered 431: what comes is dropped until the close

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.in_head, self.head_bytes = True, 0

    def on_headers_complete(self) -> None:
        self.in_head = False
        cycle = self.cycle
        super().on_headers_complete()
        if self.cycle is not cycle:  # a request to answer (not an upgrade)
            held = _HeadHeld(self.transport, self.cycle.on_response)
            self.cycle.transport = held  # type: ignore[assignment]
            self.cycle.on_response = held.finished

    def data_received(self, data: bytes) -> None:
        if self.refused:
            return
        super().data_received(data)
        if self.in_head and not self.transport.is_closing():
            self.head_bytes += len(data)
            if self.head_bytes > self.max_head:
                self.refuse_head()

    def refuse_head(self) -> None:
        """Answer 431, end this side of the connection and close it after ``LINGER``
        seconds (or when the client does)."""
        self.in_head, self.refused = False, True
        error = HeadersTooLarge(f"The request target and headers are larger than the limit "
                                f"of {self.max_head} bytes.", limit=self.max_head)
        body = json.dumps(error.problem()).encode()
        head = [b"HTTP/1.1 431 Request Header Fields Too Large\r\n"]
        head += [name + b": " + value + b"\r\n"
                 for name, value in self.server_state.default_headers]
        head += [b"content-type: ", PROBLEM_JSON, b"\r\n",
                 b"content-length: ", str(len(body)).encode(), b"\r\n",
                 b"cache-control: no-store\r\nconnection: close\r\n\r\n", body]
        self.logger.warning("Request head over %d bytes refused.", self.max_head)
        self.transport.write(b"".join(head))
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(LINGER, self.transport.close)


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
