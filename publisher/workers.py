"""The query evaluation pool: worker processes that can be killed at the deadline.

pyoxigraph cannot cancel a query, so queries do not run in the server process (except
look-ups of one triple pattern, and the first rows of long ones, which need no cancelling:
publisher.lookup). Each of ``settings.query_workers`` workers is a process that receives a
``Job`` over a socket pair, evaluates it and streams the serialized result back in chunks
(what a worker does, and the messages it sends: publisher.evaluate).

* In-memory store: workers are ``os.fork()``-ed from the server after the store is loaded,
  so they share its pages copy-on-write; a replacement can be forked at any time, because
  the server's store is read-only after loading. A forked child first closes every socket
  it inherited (clients, the listener, other workers' pipes) and then only evaluates.
  So are an on-disk store's, when it is served from a copy in memory (``store_in_memory``).
  The pages stay shared until a worker's query reads them: the engine locks each quad it
  reads, and that write copies the page (bench/RESULTS.md measures what that comes to).
* On-disk store: forking a live RocksDB is unsafe, so workers are fresh interpreters
  (``python -m publisher.evaluate``) that open the folder with ``Store.read_only``.

The server side is asynchronous: it waits for a worker's socket with ``loop.add_reader``,
never blocking the event loop. A worker still busy at the deadline is SIGKILLed (its CPU
stops at once) and replaced; a watchdog does the same for any worker whose reader has gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterable
from dataclasses import replace
from multiprocessing.connection import Connection
from typing import Any

from publisher import lookup
from publisher.config import Settings
from publisher.errors import QueryTimeout, ServiceUnavailable
from publisher.evaluate import BUFFER_ROWS, Job, close_inherited_sockets, serve
from publisher.executor import error_from, out_of_memory
from publisher.store import OxigraphStore


class _Worker:
    def __init__(self, conn: Connection, pid: int, process: subprocess.Popen[bytes] | None):
        self.conn, self.pid, self.process = conn, pid, process
        self.deadline: float | None = None  # set while busy
        self.reading = False                # a request is waiting on its socket
        self.retired = False                # killed


class Evaluation:
    """A running query whose head has arrived; ``chunks()`` yields the body once."""

    def __init__(self, pool: WorkerPool, worker: _Worker | None, truncated: bool,
                 first: tuple[Any, ...] | None = None, begun: lookup.Begun | None = None,
                 job: Job | None = None) -> None:
        self.pool, self.worker, self.truncated = pool, worker, truncated
        self.first = first  # the first body message, already received (see evaluate)
        #: a long look-up begun here (lookup.begin_here) and its job: ``worker`` is sent the
        #: rest once the first rows have gone out, so that it does not take the core before
        self.begun, self.job = begun, job

    @property
    def whole(self) -> bytes | None:
        """The whole body when it came in one message (then nothing is left to stream)."""
        if self.worker is None:
            return self.first[1] if self.first is not None else b""
        return None

    async def chunks(self) -> AsyncIterator[bytes]:
        if self.worker is None:  # the whole answer came in one message, the worker is free
            if self.first is not None and self.first[1]:
                yield self.first[1]
            return
        finished = self.begun is not None  # the worker has nothing to stop until sent a job
        try:
            if self.begun is not None and self.job is not None:
                body, skip, complete = self.begun.first()
                self.begun = None  # (and the engine's iterator with it)
                limit = self.job.max_bytes
                if limit and len(body) > limit:
                    raise ServiceUnavailable(f"The answer is larger than the limit of {limit} "
                                             "bytes. Narrow the query or use LIMIT.")
                yield body
                if complete:
                    return
                finished = False
                self.pool._dispatch(self.worker, replace(
                    self.job, skip=skip, here=False, max_bytes=limit - len(body)))
            while True:
                message, self.first = self.first or await self.pool._receive(self.worker), None
                if message[0] == "data":
                    yield message[1]
                elif message[0] == "end":
                    finished = True
                    return
                elif message[0] == "head":  # the rest of a begun answer (lookup.begin_here)
                    continue
                elif message[0] == "all":  # likewise, in one message
                    yield message[2]
                    finished = True
                    return
                else:  # an error after the head: the stream can only be cut
                    raise ServiceUnavailable(f"The query failed while streaming: {message[2]}")
        finally:
            self.pool._done(self.worker, healthy=finished)


class WorkerPool:
    def __init__(self, store: OxigraphStore, settings: Settings,
                 buffer_rows: int = BUFFER_ROWS) -> None:
        self.store, self.settings, self.buffer_rows = store, settings, buffer_rows
        self.workers: list[_Worker] = []
        #: last in, first out: the worker that answered last (its caches warm) takes the
        #: next job, and under light load the others stay idle and small
        self._idle: asyncio.LifoQueue[_Worker] = asyncio.LifoQueue()
        self._watchdog: asyncio.Task[None] | None = None

    @property
    def pids(self) -> list[int]:
        return [w.pid for w in self.workers]

    def start(self) -> None:
        for _ in range(self.settings.query_workers):
            self._idle.put_nowait(self._start_worker())
        self._watchdog = asyncio.get_running_loop().create_task(self._watch())

    async def close(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
        for worker in list(self.workers):
            self._kill(worker)
            worker.conn.close()
        self.workers.clear()

    def _start_worker(self) -> _Worker:
        ours, theirs = socket.socketpair()
        if self.store.in_memory:
            pid = os.fork()
            if pid == 0:  # the child: evaluate until the server goes away
                code = 0
                try:
                    close_inherited_sockets(theirs.fileno())
                    serve(self.store, Connection(theirs.detach()), self.buffer_rows,
                          self.settings.query_memory_mb)
                except BaseException:  # noqa: BLE001
                    code = 1
                finally:
                    os._exit(code)
            process = None
        else:
            process = subprocess.Popen(
                [sys.executable, "-m", "publisher.evaluate", str(theirs.fileno()),
                 str(self.store.path), self.store.version, str(self.store.modified),
                 str(self.buffer_rows), str(self.settings.query_memory_mb)],
                pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL)
            pid = process.pid
        theirs.close()
        worker = _Worker(Connection(ours.detach()), pid, process)
        self.workers.append(worker)
        return worker

    def _kill(self, worker: _Worker) -> int | None:
        """SIGKILL a worker (its CPU stops now) and reap it; its socket then reads EOF.
        Returns how it ended, as a returncode (minus the signal that ended it: -9 for this
        kill, or the signal of an end it had already met), or None if it was reaped before."""
        if worker.retired:
            return None
        worker.retired = True
        with contextlib.suppress(ProcessLookupError):
            os.kill(worker.pid, signal.SIGKILL)  # a worker that has already ended is a zombie
        with contextlib.suppress(ChildProcessError):  # until reaped: no effect on it
            if worker.process is not None:
                return worker.process.wait()
            status = os.waitpid(worker.pid, 0)[1]
            return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        return None

    def _replace(self, worker: _Worker) -> None:
        if worker not in self.workers:
            return  # already replaced
        self._kill(worker)
        self.workers.remove(worker)
        worker.conn.close()
        self._idle.put_nowait(self._start_worker())

    def _done(self, worker: _Worker, healthy: bool) -> None:
        """A job is over: the worker goes back to the idle queue, or is replaced."""
        worker.deadline = None
        if healthy and not worker.retired:
            self._idle.put_nowait(worker)
        else:
            self._replace(worker)

    async def evaluate(self, job: Job) -> Evaluation:
        """Run a job; returns once the head is known. Raises QueryTimeout, ServiceUnavailable
        (all workers busy) or the error the worker reported (see ``error_from``)."""
        if not job.max_bytes:
            job = replace(job, max_bytes=self.settings.max_response_bytes)
        here = self.evaluate_here(job) if job.here else None
        if here is not None:  # a single-pattern look-up: no worker needed (publisher.lookup)
            return Evaluation(self, None, here.truncated, ("data", here.body))
        try:
            worker = self._idle.get_nowait()  # no task to wait in when one is idle
        except asyncio.QueueEmpty:
            try:
                worker = await asyncio.wait_for(self._idle.get(),
                                                self.settings.query_queue_wait)
            except TimeoutError:
                raise ServiceUnavailable("All query workers are busy; try again in a "
                                         "moment.") from None
        try:
            begun = self.begin_here(job) if job.here else None
        except BaseException:  # a syntax error: the worker has done nothing
            self._done(worker, healthy=True)
            raise
        if begun is not None:  # the server sends the first rows, the worker the rest
            # the watchdog's deadline, should the rest never be asked for (_dispatch sets
            # it again when it is)
            worker.deadline = asyncio.get_running_loop().time() + self.settings.query_timeout
            return Evaluation(self, worker, False, begun=begun, job=job)
        try:
            self._dispatch(worker, job)
            message = await self._receive(worker)
            # and the first body message: an error in it (max_bytes, a failing evaluation)
            # still gets its own status, since nothing has been sent to the client yet
            first = await self._receive(worker) if message[0] == "head" else None
        except BaseException:
            self._done(worker, healthy=False)
            raise
        if message[0] == "all":
            self._done(worker, healthy=True)
            return Evaluation(self, None, bool(message[1]), ("data", message[2]))
        if message[0] == "head" and first is not None:
            if first[0] == "error":
                self._done(worker, healthy=True)
                raise error_from(first, self.settings.query_memory_mb)
            return Evaluation(self, worker, bool(message[1]), first)
        self._done(worker, healthy=message[0] == "error")
        raise error_from(message, self.settings.query_memory_mb)

    def _dispatch(self, worker: _Worker, job: Job) -> None:
        worker.deadline = asyncio.get_running_loop().time() + self.settings.query_timeout
        worker.conn.send(job)

    def evaluate_here(self, job: Job) -> lookup.Answer | None:
        """The whole answer when the server evaluates the job itself (a short look-up:
        publisher.lookup), else None (a worker evaluates it)."""
        return lookup.answer_here(self.store, job.query, job.format, job.max_rows,
                                  job.max_bytes or self.settings.max_response_bytes,
                                  lookup.engine_options(job.options, job.base,
                                                        job.substitutions))

    def begin_here(self, job: Job) -> lookup.Begun | None:
        """A long look-up begun here (publisher.lookup.begin_here), else None."""
        options = lookup.engine_options(job.options, job.base, job.substitutions)
        return lookup.begin_here(self.store, job.query, job.format, job.max_rows,
                                 job.max_bytes, options)

    async def _receive(self, worker: _Worker) -> tuple[Any, ...]:
        loop = asyncio.get_running_loop()
        worker.reading = True
        try:
            while not worker.retired and not worker.conn.poll():
                remaining = (worker.deadline or loop.time()) - loop.time()
                if remaining <= 0:
                    self._kill(worker)
                    break
                ready = loop.create_future()
                fd = worker.conn.fileno()
                loop.add_reader(fd, _wake, ready)
                try:
                    await asyncio.wait_for(ready, remaining)
                except TimeoutError:
                    pass
                finally:
                    loop.remove_reader(fd)
                    os.set_blocking(fd, True)  # uvloop's add_reader made it non-blocking
            if worker.retired:
                raise self._timeout()
            try:
                message: tuple[Any, ...] = worker.conn.recv()
            except (EOFError, OSError):
                raise self._ended(worker) from None
            return message
        finally:
            worker.reading = False

    def _ended(self, worker: _Worker) -> ServiceUnavailable:
        """The error for a worker whose socket closed during a job: out of memory when the
        engine aborted it under ``query_memory_mb`` (an allocation that fails in Rust aborts
        the process), else it stopped for a reason of its own."""
        if self._kill(worker) == -signal.SIGABRT and self.settings.query_memory_mb:
            return out_of_memory(self.settings.query_memory_mb)
        return ServiceUnavailable("The query worker stopped unexpectedly.")

    def _timeout(self) -> QueryTimeout:
        seconds = self.settings.query_timeout
        return QueryTimeout(f"The query ran longer than the limit of {seconds:g} s and was "
                            "stopped. Narrow it down (LIMIT, more specific patterns) and try "
                            "again.", timeout=seconds)

    async def _watch(self) -> None:
        """Kill workers busy past their deadline even when nobody is reading them."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(0.25)
            for worker in list(self.workers):
                if worker.deadline is not None and loop.time() > worker.deadline + 0.5:
                    if worker.reading:
                        self._kill(worker)  # the reader sees it and replaces the worker
                    else:
                        self._replace(worker)  # nobody is reading (e.g. a stalled client)


def _wake(ready: asyncio.Future[None]) -> None:
    if not ready.done():
        ready.set_result(None)


def live(pids: Iterable[int]) -> list[int]:
    """Which of these processes still exist (for tests and diagnostics)."""
    alive = []
    for pid in pids:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            continue
        alive.append(pid)
    return alive

