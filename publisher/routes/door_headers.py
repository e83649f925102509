"""The door's headers (routes/lookups.py): the app's own, kept as templates per kind of
request.

The first answer the full path gives to a request of a kind is kept as a template, without
the headers of that one answer (length, truncation, ETag, request id, date). A kind is the
method, the headers a representation varies on (``replay.VARY_ON``, of which
Accept-Encoding only as whether it takes gzip) and whether the body is gzipped. Until a
template exists a request of its kind takes the full path, which records it
(``recorder``); the templates live on the Runtime, so a reload starts with none.
"""

from __future__ import annotations

import gzip
from typing import Any

from starlette.types import Message, Send

from publisher import negotiation
from publisher.routes.replay import VARY_ON, Header

TEMPLATES = 64      # header templates kept per Runtime (one per kind of client, in practice)
_ACCEPT_ENCODING = VARY_ON.index(b"accept-encoding")
#: headers of one answer, not of its kind
_OWN = frozenset({b"content-length", b"x-sparql-truncated", b"etag", b"x-request-id",
                  b"date", b"server", b"transfer-encoding"})
Templates = dict[tuple[Any, ...], tuple[Header, ...]]


def takes_gzip(key: tuple[bytes, ...]) -> bool:
    """Whether the request of Replay's ``key`` takes gzip (as GZipWhenAsked reads it)."""
    return negotiation.takes_gzip(key[2 + _ACCEPT_ENCODING])


def kind(method: str, key: tuple[bytes, ...], compressed: bool) -> tuple[Any, ...]:
    """The kind of request whose answers share a template. ``key`` is Replay's: path,
    query string, VARY_ON; of Accept-Encoding only whether gzip is taken matters (clients
    send none, "identity", "gzip, deflate", "br;q=1, gzip;q=0.8"...)."""
    vary: list[Any] = list(key[2:])
    vary[_ACCEPT_ENCODING] = takes_gzip(key)
    return (method, *vary, compressed)


def templates(runtime: Any) -> Templates:
    """The Runtime's templates."""
    kept: Templates = runtime.caches.setdefault("lookup_headers", {})
    return kept


def recorder(send: Send, kept: Templates, kind_: tuple[Any, ...]) -> Send:
    """``send`` that keeps a 200 answer's headers as the template of ``kind_`` (without
    whether it is compressed, which the answer says)."""
    async def recording(message: Message) -> None:
        if message["type"] == "http.response.start" and message["status"] == 200:
            raw = message.get("headers", ())
            compressed = any(name == b"content-encoding" for name, _ in raw)
            if len(kept) >= TEMPLATES:
                kept.clear()
            kept[(*kind_, compressed)] = tuple((bytes(name), bytes(value))
                                               for name, value in raw if name not in _OWN)
        await send(message)

    return recording


def whole(template: tuple[Header, ...], body: bytes, truncated: bool, tag: str | None,
          compressed: bool) -> tuple[bytes, list[Header]]:
    """The body of a whole answer (gzipped if ``compressed``), and its headers."""
    if compressed:
        body = gzip.compress(body, compresslevel=9)
    return body, [*answer_headers(template, truncated, tag),
                  (b"content-length", str(len(body)).encode())]


def answer_headers(template: tuple[Header, ...], truncated: bool,
                   tag: str | None) -> list[Header]:
    """A kind's headers with those of this one answer (but its length)."""
    headers = [*template, (b"x-sparql-truncated", b"true" if truncated else b"false")]
    if tag is not None:
        headers.append((b"etag", tag.encode("latin-1")))
    return headers
