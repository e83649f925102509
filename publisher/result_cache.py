"""Answers to repeated SPARQL queries, kept in memory and bounded by bytes. Pure.

A key names everything an answer depends on: the data version (``Store.version``, the
fingerprint of the source files), the query text normalised (comments dropped, runs of
white space made one space, nothing else touched: ``sparql_tokens.squeeze``), the engine
options (the protocol dataset), the substitutions of a named query, the result format and the row limit. A data
change gives a new version, so an old answer can never match a new request; a reload also
replaces the whole cache with the Runtime that holds it.

Only complete answers are kept: not truncated by ``max_rows``, streamed to the end, and no
larger than a fraction of the cache. The routes decide what is cacheable (GET and HEAD,
never POST) and send the key's digest as the ETag, so a CDN can keep the answer too.

The same bounded LRU (``BytesLRU``) keeps whole recorded HTTP responses for the replay
middleware (``ResponseCache``, publisher/routes/replay.py).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Hashable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from cachetools import LRUCache

from publisher.sparql_tokens import squeeze


def normalise(query: str) -> str:
    """The query with comments dropped and white space collapsed outside strings, IRIs and
    escaped characters, by the lexer's own terminals (``sparql_tokens.squeeze``): two texts
    normalise alike only when the engine reads them alike."""
    return squeeze(query)


def cache_key(version: str, query: str, options: Mapping[str, Any], fmt: str, max_rows: int,
              substitutions: Mapping[str, Any] | None = None) -> str:
    """A digest of everything the answer depends on; also the answer's ETag."""
    bound = sorted((name, str(term)) for name, term in (substitutions or {}).items())
    text = json.dumps([version, normalise(query), options, bound, fmt, max_rows],
                      sort_keys=True, default=str)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def etag(key: str) -> str:
    return f'W/"q-{key}"'


@dataclass(frozen=True)
class Answer:
    body: bytes
    content_type: str


@dataclass(frozen=True)
class Recorded:
    """A whole HTTP response, to be replayed (publisher/routes/replay.py)."""

    status: int
    headers: tuple[tuple[bytes, bytes], ...]  # without X-Request-ID; with Content-Length
    body: bytes
    route: str                                # the route template, for the metrics
    head: bytes                               # ``headers`` as header lines (replay.py)


class _HasBody(Protocol):
    @property
    def body(self) -> bytes: ...


K = TypeVar("K", bound=Hashable)
V = TypeVar("V", bound=_HasBody)


class BytesLRU(Generic[K, V]):
    """An LRU bounded by the sum of its entries' sizes in bytes; an entry larger than
    ``max_bytes // max_entry_fraction`` is not kept."""

    def __init__(self, max_bytes: int = 64_000_000, max_entry_fraction: int = 8) -> None:
        self.max_bytes = max_bytes
        self.max_entry = max_bytes // max_entry_fraction
        self._kept: LRUCache[K, V] = LRUCache(
            max(max_bytes, 1), getsizeof=lambda v: len(v.body) + 200)
        self.hits = 0
        self.misses = 0

    def get(self, key: K) -> V | None:
        found = self.peek(key)
        self.count(hit=found is not None)
        return found

    def peek(self, key: K) -> V | None:
        """``get`` without counting a hit or a miss (the caller counts, with ``count``)."""
        return self._kept.get(key)

    def count(self, hit: bool) -> None:
        if hit:
            self.hits += 1
        else:
            self.misses += 1

    def put(self, key: K, value: V) -> None:
        if self.max_bytes > 0 and len(value.body) <= self.max_entry:
            self._kept[key] = value

    @property
    def size(self) -> int:
        return int(self._kept.currsize)

    def __len__(self) -> int:
        return len(self._kept)


#: recorded responses of one data version, by request key (publisher/routes/replay.py)
ResponseCache = BytesLRU[tuple[bytes, ...], Recorded]


class ResultCache(BytesLRU[str, Answer]):
    """Complete SPARQL answers, by ``cache_key``."""

    async def keep(self, key: str, chunks: AsyncIterator[bytes],
                   content_type: str) -> AsyncIterator[bytes]:
        """Pass ``chunks`` through and keep the whole answer if it streamed to the end
        (a cut stream or a client that went away leaves nothing behind)."""
        parts: list[bytes] | None = []
        size = 0
        async for chunk in chunks:
            if parts is not None:
                size += len(chunk)
                if size > self.max_entry:
                    parts = None
                else:
                    parts.append(chunk)
            yield chunk
        if parts is not None:
            self.put(key, Answer(b"".join(parts), content_type))


__all__ = ["Answer", "BytesLRU", "Recorded", "ResponseCache", "ResultCache", "cache_key", "etag",
           "normalise"]
