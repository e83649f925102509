"""The query evaluation pool: worker processes that can be killed at the deadline.

pyoxigraph cannot cancel a query, so queries do not run in the server process (except
look-ups of one triple pattern, which need no cancelling: publisher.lookup). Each of
``settings.query_workers`` workers is a process that receives a ``Job`` over a socket
pair, evaluates it and streams the serialized result back in chunks:

    ("head", truncated) ("data", bytes)+ ("end", None)      or      ("error", kind, message)
    or, for an answer that fits in one chunk,      ("all", truncated, bytes)

* In-memory store: workers are ``os.fork()``-ed from the server after the store is loaded,
  so they share its pages copy-on-write; a replacement can be forked at any time, because
  the server's store is read-only after loading. A forked child first closes every socket
  it inherited (clients, the listener, other workers' pipes) and then only evaluates.
* On-disk store: forking a live RocksDB is unsafe, so workers are fresh interpreters
  (``python -m publisher.workers``) that open the folder with ``Store.read_only``.

The server side is asynchronous: it waits for a worker's socket with ``loop.add_reader``,
never blocking the event loop. A worker still busy at the deadline is SIGKILLed (its CPU
stops at once) and replaced; a watchdog does the same for any worker whose reader has gone.
Row limits: see ``bounded``. Nothing here knows HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import stat
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from itertools import chain, islice
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Protocol

import pyoxigraph as ox

from publisher import lookup, results
from publisher.config import Settings
from publisher.errors import HttpError, QueryTimeout, ServiceUnavailable
from publisher.namespaces import prefixes as rdf_prefixes
from publisher.sparql import star_order, syntax_error, top_level_limit
from publisher.store import OxigraphStore

BUFFER_ROWS = 10_000        # rows held before the response head is sent (see bounded)
CHUNK_BYTES = 256 * 1024    # bytes per message from a worker; a smaller answer is one message
STREAM_ROWS = 10_000        # a LIMIT above this: the answer is sent from its first rows (run_job)
NATIVE_WRITE_BYTES = 8192   # pyoxigraph writes in pieces of this size; a smaller write ends it
RDF_FORMATS = {"turtle": ox.RdfFormat.TURTLE, "ntriples": ox.RdfFormat.N_TRIPLES,
               "rdfxml": ox.RdfFormat.RDF_XML, "jsonld": ox.RdfFormat.JSON_LD}


@dataclass(frozen=True)
class Job:
    query: str
    format: str                      # a result or RDF format name of negotiation.FORMATS
    max_rows: int
    options: dict[str, Any] = field(default_factory=dict)  # sparql.ParsedQuery.options()
    substitutions: dict[str, Any] = field(default_factory=dict)  # variable name -> term
    base: str = ""                   # for Turtle/RDF/XML prefixes
    max_bytes: int = 0               # of the serialized answer; 0: the pool sets
                                     # settings.max_response_bytes (past it the stream is cut)
    here: bool = True                # the server may evaluate it itself (publisher.lookup);
                                     # False once that has been tried


class QueryEvaluation(Protocol):
    """A running query whose head has arrived (``Evaluation``; passthrough's
    ``RemoteEvaluation``)."""

    truncated: bool

    @property
    def whole(self) -> bytes | None:
        """The whole body when it came at once, else None (then ``chunks`` streams it)."""

    def chunks(self) -> AsyncIterator[bytes]:
        """The body, once."""


class QueryExecutor(Protocol):
    """What the routes run queries with: ``WorkerPool`` over a local store,
    passthrough's ``RemoteExecutor`` over a remote one."""

    @property
    def workers(self) -> Sequence[Any]:
        """One entry per query slot (what /readyz counts)."""

    @property
    def pids(self) -> list[int]: ...

    def start(self) -> None: ...

    async def close(self) -> None: ...

    async def evaluate(self, job: Job) -> QueryEvaluation: ...


# -- the worker side -----------------------------------------------------------------------

def bounded(first: Iterator[Any], again: Callable[[], Iterator[Any]], max_rows: int,
            buffer_rows: int = BUFFER_ROWS) -> tuple[bool, Iterator[Any]]:
    """At most ``max_rows`` items of ``first``, and whether more existed, holding at most
    ``buffer_rows`` items: if the buffer fills before the answer is known, the query is
    evaluated ``again`` and ``max_rows`` items are skipped to see whether one more exists."""
    wanted = min(max_rows + 1, buffer_rows)
    head = list(islice(first, wanted))
    if len(head) < wanted:
        return False, iter(head)
    if max_rows < buffer_rows:
        return True, iter(head[:max_rows])
    more = next(islice(again(), max_rows, None), None) is not None
    return more, chain(head, islice(first, max_rows - len(head)))


class _Sink:
    """A file-like object that sends what is written in CHUNK_BYTES pieces (pyoxigraph's
    serializers write to it), the first piece once ``first_chunk`` bytes are written."""

    def __init__(self, conn: Connection, limit: int = 0, whole: bool = False) -> None:
        self.conn, self.buffer, self.limit, self.written = conn, bytearray(), limit, 0
        self.whole = whole  # may send ("all", ...) (the pool's workers; see finish)
        #: ("head", truncated), sent just before the first chunk, or with the whole answer
        #: as one ("all", truncated, body) message when it fits in a chunk (one wake-up of
        #: the server instead of three for a small answer)
        self.head: tuple[str, bool] | None = None
        #: CHUNK_BYTES: an answer smaller than that goes in one message; run_job lowers it
        #: for a long answer, so that its first rows are sent at once
        self.first_chunk = CHUNK_BYTES

    def write(self, data: bytes) -> int:
        self.written += len(data)
        if self.limit and self.written > self.limit:
            raise ServiceUnavailable(f"The answer is larger than the limit of {self.limit} "
                                     "bytes. Narrow the query or use LIMIT.")
        self.buffer += data
        if len(self.buffer) >= (CHUNK_BYTES if self.head is None else self.first_chunk):
            self.send()  # the first chunk is smaller: the client sees the answer begin sooner
        return len(data)

    def flush(self) -> None:
        """Nothing: pyoxigraph's serializers call it when they are done, and what they wrote
        is sent by ``write`` and ``finish`` (which keeps a small answer in one message)."""

    def send(self) -> None:
        """Send the head if not yet sent, and what is buffered."""
        first = self.head is not None
        if first:
            self.conn.send(self.head)
            self.head = None
        if self.buffer:
            self.conn.send(("data", bytes(self.buffer)))
            self.buffer.clear()
        if first and hasattr(os, "sched_yield"):
            # let the server send the response head now: on a busy core the worker would
            # otherwise keep it waiting for the rest of its time slice (milliseconds)
            os.sched_yield()

    def finish(self) -> None:
        if self.head is not None and self.whole:
            self.conn.send(("all", self.head[1], bytes(self.buffer)))
            self.head = None
            self.buffer.clear()
            return
        self.send()
        self.conn.send(("end", None))


def run_job(store: OxigraphStore, job: Job, conn: Connection, buffer_rows: int,
            whole: bool = False) -> None:
    """Evaluate one job and send its messages; errors become an ("error", ...) message."""
    options = lookup.engine_options(job.options, job.base, job.substitutions)

    def evaluate() -> Any:
        return store.query(job.query, **options)

    sink = _Sink(conn, job.max_bytes, whole)
    limit = top_level_limit(job.query)
    limited = limit is not None and limit <= job.max_rows
    streams = limit is not None and STREAM_ROWS < limit <= job.max_rows  # a long answer
    try:
        found = evaluate()
        if isinstance(found, ox.QueryBoolean):
            sink.head = ("head", False)
            sink.write(results.boolean(bool(found), job.format))
        elif isinstance(found, ox.QuerySolutions):
            columns = [v.value for v in found.variables]
            order = star_order(job.query)
            names = sorted(columns, key=lambda n: order.index(n) if n in order else len(order))
            if limited and job.format in results.NATIVE_FORMATS and names == columns:
                # the whole answer, in the engine's column order: written by pyoxigraph,
                # 2-3 times faster than results.py (and the same data)
                sink.head = ("head", False)
                if streams:  # sent from pyoxigraph's first write; a small answer is one shorter
                    sink.first_chunk = NATIVE_WRITE_BYTES  # write, so still one message
                # _Sink is duck-typed: it has the write() pyoxigraph calls
                found.serialize(sink, results.NATIVE_FORMATS[job.format])  # type: ignore[arg-type]
                sink.finish()
                return
            if limited:  # a SELECT's LIMIT counts rows: within max_rows, no second pass
                truncated, rows = False, iter(found)
            else:
                truncated, rows = bounded(iter(found), lambda: iter(evaluate()), job.max_rows,
                                          buffer_rows)
            sink.head = ("head", truncated)
            pieces = results.solutions(names, rows, job.format)
            sink.write(next(pieces))  # the format's head: no row is evaluated before it
            if streams:  # sent from the first row (an unlimited answer's rows are counted
                sink.first_chunk = 1  # before its head anyway: see bounded)
            for piece in pieces:
                sink.write(piece)
        else:
            # (a CONSTRUCT's LIMIT counts solutions, not triples: always counted here)
            truncated, triples = bounded(iter(found), lambda: iter(evaluate()), job.max_rows,
                                         buffer_rows)
            sink.head = ("head", truncated)
            # _Sink is duck-typed: it has the write() pyoxigraph calls
            ox.serialize(triples, sink, RDF_FORMATS[job.format],  # type: ignore[arg-type]
                         prefixes=rdf_prefixes(job.base) if job.base else None)
        sink.finish()
    except SyntaxError as exc:
        conn.send(("error", "syntax", exc.msg))
    except HttpError as exc:  # from a remote store (publisher.passthrough): keep its status
        conn.send(("error", "http", exc))
    except Exception as exc:  # noqa: BLE001  (reported to the client; the worker lives on)
        conn.send(("error", "evaluation", str(exc)))


def _serve(store: OxigraphStore, conn: Connection, buffer_rows: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server decides when workers stop
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return  # the server has gone
        run_job(store, job, conn, buffer_rows, whole=True)


def _close_inherited_sockets(keep: int) -> None:
    with contextlib.suppress(OSError):
        signal.set_wakeup_fd(-1)
    for name in os.listdir("/proc/self/fd") if os.path.isdir("/proc/self/fd") else ():
        fd = int(name)
        with contextlib.suppress(OSError):
            if fd != keep and fd > 2 and stat.S_ISSOCK(os.fstat(fd).st_mode):
                os.close(fd)


def main(argv: list[str]) -> None:
    """Entry of an on-disk worker: ``python -m publisher.workers FD PATH VERSION MODIFIED
    BUFFER_ROWS``."""
    fd, path, version, modified, buffer_rows = argv
    store = OxigraphStore(ox.Store.read_only(path), version, float(modified), Path(path))
    _serve(store, Connection(int(fd)), int(buffer_rows))


# -- the server side -----------------------------------------------------------------------

class _Worker:
    def __init__(self, conn: Connection, pid: int, process: subprocess.Popen[bytes] | None):
        self.conn, self.pid, self.process = conn, pid, process
        self.deadline: float | None = None  # set while busy
        self.reading = False                # a request is waiting on its socket
        self.retired = False                # killed


class Evaluation:
    """A running query whose head has arrived; ``chunks()`` yields the body once."""

    def __init__(self, pool: WorkerPool, worker: _Worker | None, truncated: bool,
                 first: tuple[Any, ...] | None = None) -> None:
        self.pool, self.worker, self.truncated = pool, worker, truncated
        self.first = first  # the first body message, already received (see evaluate)

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
        finished = False
        try:
            while True:
                message, self.first = self.first or await self.pool._receive(self.worker), None
                if message[0] == "data":
                    yield message[1]
                elif message[0] == "end":
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
        if self.store.path is None:
            pid = os.fork()
            if pid == 0:  # the child: evaluate until the server goes away
                code = 0
                try:
                    _close_inherited_sockets(theirs.fileno())
                    _serve(self.store, Connection(theirs.detach()), self.buffer_rows)
                except BaseException:  # noqa: BLE001
                    code = 1
                finally:
                    os._exit(code)
            process = None
        else:
            process = subprocess.Popen(
                [sys.executable, "-m", "publisher.workers", str(theirs.fileno()),
                 str(self.store.path), self.store.version, str(self.store.modified),
                 str(self.buffer_rows)], pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL)
            pid = process.pid
        theirs.close()
        worker = _Worker(Connection(ours.detach()), pid, process)
        self.workers.append(worker)
        return worker

    def _kill(self, worker: _Worker) -> None:
        """SIGKILL a worker (its CPU stops now) and reap it; its socket then reads EOF."""
        if worker.retired:
            return
        worker.retired = True
        with contextlib.suppress(ProcessLookupError):
            os.kill(worker.pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            if worker.process is not None:
                worker.process.wait()
            else:
                os.waitpid(worker.pid, 0)

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
        loop = asyncio.get_running_loop()
        try:
            worker = await asyncio.wait_for(self._idle.get(), self.settings.query_queue_wait)
        except TimeoutError:
            raise ServiceUnavailable("All query workers are busy; try again in a moment.") \
                from None
        worker.deadline = loop.time() + self.settings.query_timeout
        try:
            worker.conn.send(job)
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
                raise error_from(first)
            return Evaluation(self, worker, bool(message[1]), first)
        self._done(worker, healthy=message[0] == "error")
        raise error_from(message)

    def evaluate_here(self, job: Job) -> lookup.Answer | None:
        """The whole answer when the server evaluates the job itself (a short look-up:
        publisher.lookup), else None (a worker evaluates it)."""
        return lookup.answer_here(self.store, job.query, job.format, job.max_rows,
                                  job.max_bytes or self.settings.max_response_bytes,
                                  lookup.engine_options(job.options, job.base,
                                                        job.substitutions))

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
                loop.add_reader(fd, lambda: None if ready.done() else ready.set_result(None))
                try:
                    await asyncio.wait_for(ready, remaining)
                except TimeoutError:
                    pass
                finally:
                    loop.remove_reader(fd)
            if worker.retired:
                raise self._timeout()
            try:
                message: tuple[Any, ...] = worker.conn.recv()
            except (EOFError, OSError):
                raise ServiceUnavailable("The query worker stopped unexpectedly.") from None
            return message
        finally:
            worker.reading = False

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


def error_from(message: tuple[Any, ...]) -> Exception:
    """The HttpError for a worker's ("error", kind, text) message."""
    from publisher.errors import BadRequest  # noqa: PLC0415

    if message[1] == "http":
        error: Exception = message[2]
        return error
    if message[1] == "syntax":
        return syntax_error(message[2])
    return BadRequest(f"The query could not be evaluated: {message[2]}")


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


if __name__ == "__main__":
    # jobs arrive pickled as publisher.workers.Job: import this file under that name now, at
    # start-up, rather than while the first job waits for it (run as __main__ it is not that)
    from publisher.workers import main as run_worker

    run_worker(sys.argv[1:])
