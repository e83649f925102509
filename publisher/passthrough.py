"""SPARQL queries passed through to a remote store, answered exactly as the worker pool does.

``RemoteExecutor`` is the remote store's counterpart of ``WorkerPool`` (publisher.workers):
the same ``evaluate(job) -> evaluation`` with ``truncated`` and ``chunks()``, chosen by
Runtime.open, so routes/sparql.py and routes/queries.py do not know which one runs. The
routes have already applied our refusals and limits (publisher.sparql); here each job runs
in a thread through the worker's own ``run_job`` (publisher.evaluate): the query goes to the
store (RemoteStore.open_query: syntax checked by pyoxigraph first, our graphs as the dataset,
SPARQL XML results or N-Triples asked for), the answer is parsed as it streams in and is
re-serialized by our serializers, with the same ``max_rows`` truncation. Messages come back
as from a worker: ("head", truncated) ("data", bytes)* ("end", None) | ("error", ...).

Limits: at most ``query_workers`` queries in flight to the store per instance (a request
waits ``query_queue_wait`` for a slot, then 503), and ``query_timeout`` for the whole
answer: past it the request gets QueryTimeout (or the stream is cut) and the thread stops
reading and closes the connection to the store.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import AsyncIterator
from typing import Any

from publisher.config import Settings
from publisher.errors import QueryTimeout, ServiceUnavailable
from publisher.evaluate import BUFFER_ROWS, Job, run_job
from publisher.executor import error_from
from publisher.remote import RemoteStore


class _Cancelled(BaseException):
    """The request gave up (deadline, client gone): the job's thread stops."""


class _Channel:
    """What run_job sends to: an asyncio queue fed from the job's thread, with backpressure."""

    def __init__(self, loop: asyncio.AbstractEventLoop, cancelled: threading.Event) -> None:
        self.loop, self.cancelled = loop, cancelled
        self.queue: asyncio.Queue[tuple[Any, ...]] = asyncio.Queue(maxsize=4)

    def send(self, message: tuple[Any, ...]) -> None:
        future = asyncio.run_coroutine_threadsafe(self.queue.put(message), self.loop)
        while True:
            try:
                future.result(0.25)
                return
            except concurrent.futures.TimeoutError:
                if self.cancelled.is_set():
                    future.cancel()
                    raise _Cancelled from None


class _Store:
    """The remote store as run_job sees it: every query streams, under the deadline, sent
    as the client's (a 400 of the store's is theirs: endpoint.Endpoint.refused)."""

    def __init__(self, store: RemoteStore, timeout: float, cancelled: threading.Event) -> None:
        self.store, self.timeout, self.cancelled = store, timeout, cancelled
        self.responses: list[Any] = []

    def query(self, text: str, **options: Any) -> Any:
        if self.cancelled.is_set():
            raise _Cancelled
        found, response = self.store.open_query(text, read_timeout=self.timeout,
                                                cancelled=self.cancelled, theirs=True,
                                                **options)
        self.responses.append(response)
        return found

    def close(self) -> None:
        for response in self.responses:
            response.close()


class _Answers:
    """The channel run_job sends to, for a query the store has accepted: its syntax was
    checked before it went (RemoteStore._send), so a SyntaxError from then on is a row of the
    store's answer that does not parse; that is the store failing (503), not the client's
    malformed query (400)."""

    def __init__(self, channel: _Channel, store: _Store) -> None:
        self.channel, self.store = channel, store

    def send(self, message: tuple[Any, ...]) -> None:
        if message[:2] == ("error", "syntax") and self.store.responses:
            remote = self.store.store
            message = ("error", "http", remote.endpoint.failed(
                remote.url, f"unreadable answer: {message[2]}", count=False))
        self.channel.send(message)


class RemoteEvaluation:
    """A query whose head has arrived; ``chunks()`` yields the body once."""

    whole: bytes | None = None  # always streamed (workers.Evaluation.whole)

    def __init__(self, executor: RemoteExecutor, channel: _Channel, deadline: float,
                 truncated: bool) -> None:
        self.executor, self.channel, self.deadline = executor, channel, deadline
        self.truncated = truncated

    async def chunks(self) -> AsyncIterator[bytes]:
        try:
            while True:
                message = await self.executor._receive(self.channel, self.deadline)
                if message[0] == "data":
                    yield message[1]
                elif message[0] == "end":
                    return
                else:  # an error after the head: the stream can only be cut
                    raise ServiceUnavailable("The query failed while streaming: "
                                             f"{error_from(message)}")
        finally:
            self.executor._done(self.channel)


class RemoteExecutor:
    """Runs jobs against a RemoteStore; the WorkerPool interface (evaluate, close)."""

    def __init__(self, store: RemoteStore, settings: Settings) -> None:
        self.store, self.settings = store, settings
        self._slots = asyncio.Semaphore(settings.query_workers)
        #: one entry per query slot (what /readyz counts as workers)
        self.workers = list(range(settings.query_workers))
        self.pids: list[int] = []

    def start(self) -> None:
        """Nothing to start: the store is remote."""

    async def close(self) -> None:
        await asyncio.to_thread(self.store.close)

    async def evaluate(self, job: Job) -> RemoteEvaluation:
        """Run a job; returns once the head is known. Raises QueryTimeout, ServiceUnavailable
        (no free slot, store down) or the error the store or our parser reported."""
        try:
            await asyncio.wait_for(self._slots.acquire(), self.settings.query_queue_wait)
        except TimeoutError:
            raise ServiceUnavailable("All query slots are busy; try again in a moment.") \
                from None
        loop = asyncio.get_running_loop()
        channel = _Channel(loop, threading.Event())
        deadline = loop.time() + self.settings.query_timeout
        threading.Thread(target=self._run, args=(job, channel), daemon=True,
                         name="publisher-remote-query").start()
        try:
            message = await self._receive(channel, deadline)
        except BaseException:
            self._done(channel)
            raise
        if message[0] == "head":
            return RemoteEvaluation(self, channel, deadline, bool(message[1]))
        self._done(channel)
        raise error_from(message)

    def _run(self, job: Job, channel: _Channel) -> None:
        store = _Store(self.store, self.settings.query_timeout, channel.cancelled)
        try:
            run_job(store, job, _Answers(channel, store), BUFFER_ROWS)  # type: ignore[arg-type]
        except _Cancelled:
            pass
        finally:
            store.close()

    async def _receive(self, channel: _Channel, deadline: float) -> tuple[Any, ...]:
        remaining = deadline - asyncio.get_running_loop().time()
        try:
            return await asyncio.wait_for(channel.queue.get(), max(remaining, 0.001))
        except TimeoutError:
            seconds = self.settings.query_timeout
            raise QueryTimeout(f"The query ran longer than the limit of {seconds:g} s and "
                               "was stopped. Narrow it down (LIMIT, more specific patterns) "
                               "and try again.", timeout=seconds) from None

    def _done(self, channel: _Channel) -> None:
        """The request is over: stop the thread (if still running) and free the slot."""
        if not channel.cancelled.is_set():
            channel.cancelled.set()
            self._slots.release()
