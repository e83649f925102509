"""Reloading the data without a restart: validate first, swap the Runtime only when valid.

Triggers: SIGHUP (always, when serving in the main thread) and, with ``settings.reload``,
a change under data_dir or ontology_dir, seen by polling modification times every
``POLL_SECONDS`` (no file-watching dependency) and acted on once the files have been still
for one more poll, so an editor's half-written save is not loaded.

A reload runs ``validate(settings)`` (syntax with file:line:column, SHACL, ...). If
anything blocks, the report is logged, ``status`` says why, and the last good graph keeps
serving. Otherwise a new Runtime (store, documents, workers) is built off the event loop and
swapped in with one assignment; requests already running finish on the runtime they were
pinned to (routes/ops.py), and the old one is closed once none is left (or after
``query_timeout + shutdown_grace`` seconds). One reload runs at a time.

An on-disk store (``settings.store``) is not reloaded in place: its folder is in use by
the running workers. The reload is refused with that reason; restart the server instead
(the load is atomic, store.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from publisher.config import Settings
from publisher.runtime import Runtime

log = logging.getLogger("publisher.reload")
POLL_SECONDS = 1.0


@dataclass
class Status:
    state: str = "ok"            # ok | loading | failed
    version: str = ""            # the version being served
    at: str = ""                 # when the last reload finished (UTC, ISO 8601)
    trigger: str = "start"       # start | SIGHUP | change | request
    problems: list[str] = field(default_factory=list)  # file:line:column: message, ...

    def to_json(self) -> dict[str, Any]:
        return {"state": self.state, "version": self.version, "at": self.at,
                "trigger": self.trigger, "problems": self.problems}


def snapshot(settings: Settings) -> dict[str, tuple[int, int]]:
    """Path -> (mtime_ns, size) of every file under data_dir and ontology_dir."""
    found: dict[str, tuple[int, int]] = {}
    for folder in (settings.data_dir, settings.ontology_dir):
        for path in Path(folder).rglob("*"):
            with contextlib.suppress(OSError):
                if path.is_file():
                    info = path.stat()
                    found[str(path)] = (info.st_mtime_ns, info.st_size)
    return found


class Reloader:
    """Owns reloading for one app: ``holder.runtime`` is what gets swapped."""

    def __init__(self, holder: Any, settings: Settings, metrics: Any = None) -> None:
        self.holder, self.settings, self.metrics = holder, settings, metrics
        self.status = Status(version=holder.runtime.store.version, at=_now())
        #: cache hits and misses of closed runtimes, by cache ("documents", "responses")
        self.retired_counts = {"documents": [0, 0], "responses": [0, 0]}
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._signal = False

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            loop.add_signal_handler(signal.SIGHUP, self._spawn, "SIGHUP")
            self._signal = True
        except (ValueError, RuntimeError, NotImplementedError):
            pass  # not the main thread (TestClient): reload() is still callable
        if self.settings.reload:
            self._keep(loop.create_task(self._watch()))

    async def close(self) -> None:
        if self._signal:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task

    def _keep(self, task: asyncio.Task[Any]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _spawn(self, trigger: str) -> None:
        self._keep(asyncio.get_running_loop().create_task(self.reload(trigger)))

    async def _watch(self) -> None:
        seen = await asyncio.to_thread(snapshot, self.settings)
        while True:
            await asyncio.sleep(POLL_SECONDS)
            now = await asyncio.to_thread(snapshot, self.settings)
            if now == seen:
                continue
            while True:  # wait until the editor has finished writing
                await asyncio.sleep(POLL_SECONDS)
                later = await asyncio.to_thread(snapshot, self.settings)
                if later == now:
                    break
                now = later
            seen = now
            await self.reload("change")

    async def reload(self, trigger: str = "request") -> bool:
        """Validate and, if valid, swap in a new runtime. True when the new data serves."""
        async with self._lock:
            previous = self.status
            self.status = Status("loading", previous.version, previous.at, trigger)
            try:
                ok = await self._reload(trigger, previous)
            except Exception as exc:  # noqa: BLE001  (the old graph keeps serving)
                log.exception("reload (%s) failed; still serving version %s", trigger,
                              previous.version)
                self.status = Status("failed", previous.version, _now(), trigger,
                                     [f"{type(exc).__name__}: {exc}"])
                ok = False
            if self.metrics is not None:
                self.metrics.reloads.labels("ok" if ok else self.status.state).inc()
            return ok

    async def _reload(self, trigger: str, previous: Status) -> bool:
        if self.settings.store:
            self.status = Status("failed", previous.version, _now(), trigger, [
                "an on-disk store is not reloaded while serving; restart the server"])
            log.warning("reload (%s) refused: %s", trigger, self.status.problems[0])
            return False
        started = time.monotonic()
        # imported here: SHACL and rdflib's SPARQL cost a server that never reloads ~20 MB
        from publisher.validate import validate  # noqa: PLC0415

        report = await asyncio.to_thread(validate, self.settings)
        if not report.ok:
            problems = [f.to_text() for f in report.findings if f.severity in ("error",
                                                                                "violation")]
            self.status = Status("failed", previous.version, _now(), trigger, problems)
            log.error("reload (%s) refused, the data does not validate; still serving "
                      "version %s:\n%s", trigger, previous.version, report.to_text())
            return False
        fresh = await Runtime.load(self.settings)
        old, self.holder.runtime = self.holder.runtime, fresh
        self.status = Status("ok", fresh.store.version, _now(), trigger)
        log.info("reload (%s): now serving version %s (%.1f s)", trigger,
                 fresh.store.version, time.monotonic() - started)
        if old is not fresh:
            self._keep(asyncio.get_running_loop().create_task(self._retire(old)))
        return True

    async def _retire(self, old: Runtime) -> None:
        """Close a replaced runtime once no request is using it any more."""
        deadline = time.monotonic() + self.settings.query_timeout + self.settings.shutdown_grace
        while old.in_flight > 0 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        for name, counts in self.retired_counts.items():
            cache = getattr(old, name)
            if cache is not None:
                counts[0] += cache.hits
                counts[1] += cache.misses
        await old.close()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
