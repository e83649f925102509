"""What serves one version of the graph: the store, its documents and its query workers.

A Runtime is opened once at start-up (app.py's lifespan) and can be replaced whole by a
newer one, so a reload swaps store, rendered-document cache and worker pool together and
no request ever mixes two versions of the data. Nothing here knows HTTP.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from publisher.config import Settings, is_remote
from publisher.documents import Documents
from publisher.executor import QueryExecutor
from publisher.result_cache import ResponseCache, ResultCache
from publisher.store import OxigraphStore, Store
from publisher.workers import WorkerPool


@dataclass
class Runtime:
    settings: Settings
    store: Store
    documents: Documents
    pool: QueryExecutor  # worker processes, or the remote store's query slots
    #: per-version caches of the routes (catalogue renderings, graph lists, ...)
    caches: dict[str, Any] = field(default_factory=dict)
    #: answers to repeated SPARQL queries of this version (publisher.result_cache)
    results: ResultCache = field(default_factory=ResultCache)
    #: whole responses replayed to repeated GETs (routes/replay.py); None over a remote
    #: store, whose version changes under the Runtime
    responses: ResponseCache | None = None
    #: requests being answered from this runtime (routes/ops.py); a replaced runtime is
    #: closed when it reaches 0 (publisher/reload.py)
    in_flight: int = 0

    @classmethod
    def open(cls, settings: Settings, store: OxigraphStore | None = None) -> Runtime:
        """Load the store (unless given), then fork the query workers so they share the
        loaded data."""
        if store is None and is_remote(settings.store):  # no local data, no workers
            # imported here: a server over local data never loads httpx and the remote client
            from publisher.passthrough import RemoteExecutor
            from publisher.remote import RemoteStore

            remote = RemoteStore.open(settings)
            return cls(settings, remote, Documents(remote, settings),
                       RemoteExecutor(remote, settings),
                       results=ResultCache(settings.result_cache_bytes))
        store = OxigraphStore.open(settings) if store is None else store
        pool = WorkerPool(store, settings)
        pool.start()
        return cls(settings, store, Documents(store, settings), pool,
                   results=ResultCache(settings.result_cache_bytes),
                   responses=ResponseCache(settings.response_cache_bytes)
                   if settings.response_cache_bytes > 0 else None)

    @classmethod
    async def load(cls, settings: Settings) -> Runtime:
        """``open`` for a running server: the store loads in a thread, off the event loop."""
        if is_remote(settings.store):
            return cls.open(settings)
        return cls.open(settings, await asyncio.to_thread(OxigraphStore.open, settings))

    async def close(self) -> None:
        await self.pool.close()
