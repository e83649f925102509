"""What serves one version of the graph: the store, its documents and its query workers.

A Runtime is opened once at start-up (app.py's lifespan) and can be replaced whole by a
newer one, so a reload swaps store, rendered-document cache and worker pool together and
no request ever mixes two versions of the data. Nothing here knows HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from publisher.config import Settings
from publisher.documents import Documents
from publisher.store import OxigraphStore, Store
from publisher.workers import WorkerPool


@dataclass
class Runtime:
    settings: Settings
    store: Store
    documents: Documents
    pool: WorkerPool
    #: per-version caches of the routes (catalogue renderings, graph lists, ...)
    caches: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def open(cls, settings: Settings) -> Runtime:
        """Load the store, then fork the query workers so they share the loaded data."""
        store = OxigraphStore.open(settings)
        pool = WorkerPool(store, settings)
        pool.start()
        return cls(settings, store, Documents(store, settings), pool)

    async def close(self) -> None:
        await self.pool.close()
