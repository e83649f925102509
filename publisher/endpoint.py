"""HTTP to a remote SPARQL endpoint, for RemoteStore (publisher.remote) and ``publisher push``.

One pooled ``httpx.Client`` (routes run in the threadpool), timeouts on every call, retries
with exponential backoff for reads that failed to connect or got 502/503/504, and a circuit
breaker: after ``store_breaker_failures`` consecutive failures every call fails at once with
ServiceUnavailable (503, Retry-After) for ``store_breaker_seconds``. Credentials come only
from the environment (PUBLISHER_STORE_USER, PUBLISHER_STORE_PASSWORD) and are never logged.

Answers can be parsed as they stream in: ``Reader`` is a file over the body for pyoxigraph's
parsers that rewrites blank node ids pyoxigraph would refuse (Virtuoso writes
``nodeID://b1001``). Only the store's 400 to a query a client sent is the client's fault
(BadRequest with the store's own words); any other failure of the store (unreachable, a 5xx,
a wrong address, our credentials refused, an answer that does not parse) is StoreFailed: 503
with Retry-After and no word of the store's, logged in one line, and counted by the breaker
unless a client's query may have provoked it (so no client can open it for everyone).
"""

from __future__ import annotations

import io
import logging
import math
import os
import random
import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx

from publisher import __version__
from publisher.config import Settings
from publisher.errors import BadRequest, ConfigError, QueryTimeout, ServiceUnavailable

log = logging.getLogger("publisher.remote")  # one logger for the remote store, HTTP included

GATEWAY_ERRORS = (502, 503, 504)


def http_url(url: str) -> str:
    """``sparql+https://h/p`` -> ``https://h/p`` (plain http(s) URLs are kept)."""
    return url.removeprefix("sparql+")


def checked_url(url: str, setting: str) -> str:
    """``http_url(url)``, or ConfigError naming the setting when it is no http(s) URL with a
    host: a typo there is a configuration error, not a store that is "not answering"."""
    plain = http_url(url)
    try:
        parsed = httpx.URL(plain)
    except httpx.InvalidURL:
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        raise ConfigError(f"{setting} {url!r} is not an http(s) URL")
    return plain


class StoreFailed(ServiceUnavailable):
    """The store failed to answer (503: the store is the one at fault, never the client).
    ``detail`` is what a client reads; ``cause`` (one line: the status or the network
    error) is for the log and for ``publisher push``, which names it."""

    def __init__(self, cause: str,
                 detail: str = "The data store is not answering; try again shortly.") -> None:
        super().__init__(detail)
        self.cause = cause


# -- timeouts, retries, circuit breaker -----------------------------------------------------

class Breaker:
    """Open after ``threshold`` consecutive failures; then every call fails at once for
    ``seconds``, after which calls go through again (one more failure re-opens it)."""

    def __init__(self, threshold: int, seconds: float) -> None:
        self.threshold, self.seconds = threshold, seconds
        self.failures = 0
        self.open_until = 0.0
        self._lock = threading.Lock()

    def check(self) -> None:
        remaining = self.open_until - time.monotonic()
        if remaining > 0:
            error = ServiceUnavailable("The data store is not answering; try again shortly.")
            error.retry_after = max(1, math.ceil(remaining))
            raise error

    def success(self) -> None:
        with self._lock:
            self.failures = 0

    def failure(self) -> None:
        with self._lock:
            self.failures += 1
            if self.failures >= self.threshold:
                self.open_until = time.monotonic() + self.seconds
                log.warning("remote store: %d failures in a row, circuit open for %g s",
                            self.failures, self.seconds)


def credentials(scheme: str, environ: Any = None) -> httpx.Auth | None:
    """Basic or digest auth from PUBLISHER_STORE_USER / PUBLISHER_STORE_PASSWORD."""
    environ = os.environ if environ is None else environ
    user = environ.get("PUBLISHER_STORE_USER")
    if not user:
        return None
    password = environ.get("PUBLISHER_STORE_PASSWORD", "")
    return httpx.DigestAuth(user, password) if scheme == "digest" else httpx.BasicAuth(
        user, password)


class Endpoint:
    """The HTTP side of a remote store, shared by every request of one process."""

    def __init__(self, settings: Settings, transport: httpx.BaseTransport | None = None,
                 quiet: bool = False) -> None:
        self.quiet = quiet  # ``publisher push`` reports each failure itself, in its one line
        self.retries = settings.store_retries
        self.breaker = Breaker(settings.store_breaker_failures, settings.store_breaker_seconds)
        self.client = httpx.Client(
            auth=credentials(settings.store_auth), timeout=settings.store_timeout,
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=50),
            headers={"User-Agent": f"publisher/{__version__}"}, transport=transport)

    def send(self, method: str, url: str, *, retry: bool = True, stream: bool = False,
             read_timeout: float | None = None, timeouts_fail: bool = True,
             confirm_later: bool = False, **kwargs: Any) -> httpx.Response:
        """One request, retried (reads only) on connection errors and 502/503/504, then
        StoreFailed. Returns any other answer: the caller checks 4xx/5xx (``refused``). A
        read past ``read_timeout`` is QueryTimeout, and counts as a store failure only when
        ``timeouts_fail``. A 2xx counts as a success at once, or with ``confirm_later`` only
        when the caller has read the body (``confirm``), so that answers that never parse
        add up to an open breaker instead of each resetting its count."""
        attempts = 1 + (self.retries if retry else 0)
        cause = ""
        timeout = httpx.Timeout(self.client.timeout.connect,
                                read=read_timeout or self.client.timeout.read)
        for attempt in range(attempts):
            self.breaker.check()
            if attempt:
                time.sleep(min(2.0, 0.1 * 2 ** (attempt - 1)) * (0.5 + random.random()))
            try:
                request = self.client.build_request(method, url, timeout=timeout, **kwargs)
                response = self.client.send(request, stream=stream)
            except httpx.ReadTimeout:
                if timeouts_fail:
                    self.breaker.failure()
                raise QueryTimeout(f"The data store did not answer within "
                                   f"{timeout.read:g} s.", timeout=timeout.read) from None
            except httpx.TransportError as exc:
                self.breaker.failure()
                cause = f"{type(exc).__name__}: {first_line(str(exc))}".removesuffix(": ")
                self._log(logging.WARNING, "%s %s failed: %s", method, url, cause)
                continue
            if response.status_code in GATEWAY_ERRORS:
                response.close()
                self.breaker.failure()
                cause = f"answered {response.status_code} {response.reason_phrase}"
                self._log(logging.WARNING, "%s %s %s", method, url, cause)
                continue
            if response.is_success and not confirm_later:
                self.breaker.success()
            return response
        raise StoreFailed(cause)

    def confirm(self) -> None:
        """A 2xx sent with ``confirm_later`` has been read whole: the store works."""
        self.breaker.success()

    def failed(self, url: str, cause: str, count: bool = True) -> StoreFailed:
        """The store's answer was no answer: logged in one line, counted by the breaker
        when ``count``, and for the client a 503 without the store's words."""
        if count:
            self.breaker.failure()
        cause = first_line(cause)
        self._log(logging.ERROR, "%s %s", url, cause)
        return StoreFailed(cause)

    def refused(self, response: httpx.Response, theirs: bool = False) -> Exception:
        """The error for a store's non-2xx answer to a query. A 400 to a query a client sent
        (``theirs``) is the client's (the store's first line, e.g. its syntax error); every
        other answer is the store failing. What a client's query may provoke (a 400, a 5xx:
        Virtuoso answers 500 to a division by zero) never counts toward the breaker."""
        status = f"{response.status_code} {response.reason_phrase}".strip()
        text = first_line(response.text)
        if theirs and response.status_code == 400:
            self.breaker.success()
            return BadRequest(f"The query could not be evaluated: {text or status}")
        if response.status_code in (401, 403):
            return self.failed(str(response.url), f"refused the publisher's credentials "
                               f"({status})")
        html = "html" in response.headers.get("content-type", "")
        return self.failed(str(response.url), f"answered {status}"
                           + (f": {text}" if text and not html else ""),
                           count=not (theirs and response.status_code >= 500))

    def _log(self, level: int, message: str, *args: Any) -> None:
        if not self.quiet:
            log.log(level, "remote store: " + message, *args)

    def close(self) -> None:
        self.client.close()


def form_data(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    """Form fields for httpx, repeated names kept in order."""
    data: dict[str, list[str]] = {}
    for name, value in pairs:
        data.setdefault(name, []).append(value)
    return data


def first_line(text: str) -> str:
    """The first line of a message, shortened (a store's error page stays out of logs)."""
    text = text.strip()
    return text.splitlines()[0][:300] if text else ""


# -- reading what the store answers ---------------------------------------------------------

_BNODE = re.compile(rb"<bnode>([^<]*)</bnode>")
_BNODE_ID = re.compile(rb"[A-Za-z0-9_][A-Za-z0-9_.-]*\Z")


def _bnode(match: re.Match[bytes]) -> bytes:
    """Blank node ids as pyoxigraph accepts them (Virtuoso writes ``nodeID://b1001``)."""
    value = match.group(1)
    return match.group(0) if _BNODE_ID.match(value) else b"<bnode>x" + value.hex().encode() \
        + b"</bnode>"


def bnodes(xml: bytes) -> bytes:
    """SPARQL XML results (whole elements only) with blank node ids pyoxigraph accepts."""
    return _BNODE.sub(_bnode, xml)


class Reader(io.RawIOBase):
    """A file over an HTTP body for pyoxigraph's parsers, rewriting blank node ids of XML
    results on the way (never across an unfinished element), checking ``cancelled``."""

    def __init__(self, chunks: Iterator[bytes], xml: bool, cancelled: Any = None) -> None:
        self.chunks, self.xml, self.cancelled = chunks, xml, cancelled
        self.pending = bytearray()  # rewritten, ready
        self.held = b""             # not yet safe to rewrite
        self.done = False

    def readable(self) -> bool:
        return True

    def _fill(self) -> None:
        if self.cancelled is not None and self.cancelled.is_set():
            raise QueryTimeout("The query was cancelled.")
        chunk = next(self.chunks, None)
        if chunk is None:
            self.done = True
            self.pending += bnodes(self.held) if self.xml else self.held
            self.held = b""
            return
        if not self.xml:
            self.pending += chunk
            return
        buffer = self.held + chunk
        opened, closed = buffer.rfind(b"<bnode>"), buffer.rfind(b"</bnode>")
        cut = opened if opened > closed else buffer.rfind(b">") + 1
        self.pending += bnodes(buffer[:cut])
        self.held = buffer[cut:]

    def readinto(self, target: Any) -> int:
        while not self.pending and not self.done:
            self._fill()
        size = min(len(target), len(self.pending))
        target[:size] = self.pending[:size]
        del self.pending[:size]
        return size
