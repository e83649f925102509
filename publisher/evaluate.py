"""What a query worker does: evaluate a ``Job`` and send its answer back in messages.

A worker (started by the pool, publisher.workers: forked from the server, or run as
``python -m publisher.evaluate`` for an on-disk store) receives a ``Job`` over a socket pair,
evaluates it and streams the serialized result back in chunks:

    ("head", truncated) ("data", bytes)+ ("end", None)      or      ("error", kind, message)
    or, for an answer that fits in one chunk,      ("all", truncated, bytes)

publisher.passthrough runs the same ``run_job`` in a thread over a remote store. Row limits:
see ``bounded``. Nothing here knows HTTP. Light to import: a fresh worker loads pyoxigraph and
a few small modules of ours, never the pool (publisher.workers) nor the web application, so it
starts (and restarts after a timeout) fast and small (tests/test_workers.py checks it).
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import stat
import struct
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import chain, islice
from multiprocessing.connection import Connection
from multiprocessing.reduction import ForkingPickler
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from publisher import lookup, results
from publisher.errors import HttpError, ServiceUnavailable
from publisher.namespaces import prefixes as rdf_prefixes
from publisher.sparql_tokens import result_columns, top_level_limit
from publisher.store import OxigraphStore

BUFFER_ROWS = 10_000        # rows held before the response head is sent (see bounded)
#: bytes per message from a worker, once its answer has begun. Below the socket pair's
#: buffer (208 kB by default), so the worker never waits for the server to drain a message:
#: the 10,000-row SELECT (2 MB) took 1.4-3.3 ms less than with 256 kB (bench/RESULTS.md)
CHUNK_BYTES = 64 * 1024
#: an answer up to this many bytes is sent whole, in one message (still below that buffer);
#: a longer one begins with a message of this size. Sent in 64 kB pieces, an answer of
#: 107 kB took 0.3-0.5 ms longer in-process, about 0.1 ms over HTTP (the server woken
#: twice more between the worker's rows; bench/RESULTS.md)
WHOLE_BYTES = 192 * 1024
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
    skip: int = 0                    # rows the server has sent itself (lookup.begin_here):
                                     # the rest is sent, without the format's head


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
        #: as one ("all", truncated, body) message when it fits in the first (one wake-up
        #: of the server instead of three or more)
        self.head: tuple[str, bool] | None = None
        #: WHOLE_BYTES: an answer up to that goes in one message; run_job lowers it for a
        #: long answer, so that its first rows are sent at once
        self.first_chunk = WHOLE_BYTES

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
            send_at_once(self.conn, ("data", bytes(self.buffer)))
            self.buffer.clear()
        if first and hasattr(os, "sched_yield"):
            # let the server send the response head now: on a busy core the worker would
            # otherwise keep it waiting for the rest of its time slice (milliseconds)
            os.sched_yield()

    def finish(self) -> None:
        if self.head is not None and self.whole:
            send_at_once(self.conn, ("all", self.head[1], bytes(self.buffer)))
            self.head = None
            self.buffer.clear()
            return
        self.send()
        self.conn.send(("end", None))


def send_at_once(conn: Any, message: tuple[Any, ...]) -> None:
    """``conn.send(message)`` in one write. A Connection sends a message of over 16 kB in
    two, its length and then its bytes; the server, woken by the first on the same core,
    read the length and waited for the rest: more switches between the processes for every
    large piece of an answer (path+ at 10^7, 78 kB: 3.8 switches of the server a request,
    2.6 in one write; bench/RESULTS.md). The same bytes, as Connection.recv reads them."""
    if not isinstance(conn, Connection):  # (publisher.passthrough's queue in a thread)
        conn.send(message)
        return
    data = ForkingPickler.dumps(message)
    whole = memoryview(struct.pack("!i", len(data)) + bytes(data))
    while whole:
        whole = whole[os.write(conn.fileno(), whole):]


#: the end of pyoxigraph's head, per native format (the rest of a begun answer starts after it)
_HEAD_END = {"json": b'"bindings":[', "xml": b"<results>"}


class _Rest:
    """What pyoxigraph writes, passed on to ``sink`` without the format's head, which the
    server has sent with the first rows (Job.skip); in JSON a comma goes before the first row
    that follows theirs."""

    def __init__(self, sink: _Sink, fmt: str) -> None:
        self.sink, self.head_end, self.pending = sink, _HEAD_END[fmt], bytearray()
        self.comma = fmt == "json"
        self.headless = False  # the head is dropped
        self.passing = False   # and the first byte after it was seen: all else passes

    def write(self, data: bytes) -> int:
        if self.passing:
            return self.sink.write(data)
        self.pending += data
        if not self.headless:
            end = self.pending.find(self.head_end)
            if end < 0:
                return len(data)
            del self.pending[:end + len(self.head_end)]
            self.headless = True
        if self.pending:
            if self.comma and self.pending[:1] == b"{":  # a row, not the tail
                self.sink.write(b",")
            self.passing = True
            self.sink.write(bytes(self.pending))
            self.pending.clear()
        return len(data)

    def flush(self) -> None:
        pass


def _send_rest(found: ox.QuerySolutions, names: list[str], columns: list[str], job: Job,
               sink: _Sink) -> None:
    """The rows after the first ``job.skip`` and the format's tail (lookup.begin_here)."""
    for _ in islice(found, job.skip):
        pass
    sink.head = ("head", False)
    sink.first_chunk = NATIVE_WRITE_BYTES  # the server is already sending: no first wait
    if job.format in results.NATIVE_FORMATS and names == columns:
        # _Rest is duck-typed: it has the write() pyoxigraph calls
        found.serialize(results.native_writer(_Rest(sink, job.format), job.format),
                        results.NATIVE_FORMATS[job.format])
        return
    pieces = results.solutions(names, found, job.format)
    next(pieces)  # the head: sent by the server
    for index, piece in enumerate(pieces):
        if index == 0 and job.format == "json" and piece.startswith(b"\n{"):
            piece = b",\n" + piece[1:]  # a row: it follows the server's
        sink.write(piece)


def run_job(store: OxigraphStore, job: Job, conn: Connection, buffer_rows: int,
            whole: bool = False) -> None:
    """Evaluate one job and send its messages; errors become an ("error", ...) message."""
    options = lookup.engine_options(job.options, job.base, job.substitutions)

    def evaluate() -> Any:
        return store.query(job.query, **options)

    sink = _Sink(conn, job.max_bytes, whole)
    try:
        found = evaluate()
        if isinstance(found, ox.QueryBoolean):
            sink.head = ("head", False)
            sink.write(results.boolean(bool(found), job.format))
        elif isinstance(found, ox.QuerySolutions):
            _send_solutions(found, evaluate, job, sink, buffer_rows)
        else:
            # (a CONSTRUCT's LIMIT counts solutions, not triples: always counted here)
            truncated, triples = bounded(iter(found), lambda: iter(evaluate()), job.max_rows,
                                         buffer_rows)
            sink.head = ("head", truncated)
            target: Any = sink
            if job.format == "rdfxml":  # what RDF/XML can carry (results.XmlChecked)
                triples, target = results.xml_named(triples), results.XmlChecked(sink)
            # _Sink is duck-typed: it has the write() pyoxigraph calls
            ox.serialize(triples, target, RDF_FORMATS[job.format],
                         prefixes=rdf_prefixes(job.base) if job.base else None)
        sink.finish()
    except SyntaxError as exc:
        conn.send(("error", "syntax", exc.msg))
    except MemoryError:  # past limit_memory in Python's own objects (the engine's: see there)
        conn.send(("error", "memory", ""))
    except HttpError as exc:  # from a remote store (publisher.passthrough): keep its status
        conn.send(("error", "http", exc))
    except Exception as exc:  # noqa: BLE001  (reported to the client; the worker lives on)
        conn.send(("error", "evaluation", str(exc)))


def _send_solutions(found: ox.QuerySolutions, evaluate: Callable[[], Any], job: Job,
                    sink: _Sink, buffer_rows: int) -> None:
    """A SELECT's answer into ``sink`` (``run_job`` finishes it)."""
    limit = top_level_limit(job.query)
    limited = limit is not None and limit <= job.max_rows
    streams = limit is not None and STREAM_ROWS < limit <= job.max_rows  # a long answer
    columns = [v.value for v in found.variables]
    names = result_columns(columns, job.query)
    if job.skip:
        _send_rest(found, names, columns, job, sink)
        return
    if limited and job.format in results.NATIVE_FORMATS and names == columns:
        # the whole answer, in the engine's column order: written by pyoxigraph,
        # 2-3 times faster than results.py (and the same data)
        sink.head = ("head", False)
        if streams:  # sent from pyoxigraph's first write; a small answer is one shorter
            sink.first_chunk = NATIVE_WRITE_BYTES  # write, so still one message
        # _Sink is duck-typed: it has the write() pyoxigraph calls
        found.serialize(results.native_writer(sink, job.format),  # type: ignore[arg-type]
                        results.NATIVE_FORMATS[job.format])
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


def serve(store: OxigraphStore, conn: Connection, buffer_rows: int,
          memory_mb: int = 0) -> None:
    """A worker's loop: evaluate each job that arrives on ``conn`` until the server goes,
    each within ``memory_mb`` (``limit_memory``)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server decides when workers stop
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    limit_memory(memory_mb)
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return  # the server has gone
        run_job(store, job, conn, buffer_rows, whole=True)


def limit_memory(megabytes: int) -> None:
    """Let this process's data (its heap and private mappings: what evaluating a query
    allocates) grow by at most ``megabytes`` from what it holds now (RLIMIT_DATA; 0: no
    bound). Past it an allocation fails: in Python a MemoryError (reported as such), in the
    engine an abort of the worker, which the pool reports as the same error
    (``workers.WorkerPool``). Without it, a 200-character query of nested REPLACEs took 2 GB
    in under 2 s. Where the limit cannot be read or set (not Linux), nothing is bounded."""
    if megabytes <= 0:
        return
    try:
        status = Path("/proc/self/status").read_text()
        held = int(status.split("VmData:", 1)[1].split()[0]) * 1024
        _, hard = resource.getrlimit(resource.RLIMIT_DATA)
        wanted = held + megabytes * 1024 * 1024
        if hard != resource.RLIM_INFINITY:
            wanted = min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_DATA, (wanted, hard))
    except (OSError, IndexError, ValueError):
        return


def close_inherited_sockets(keep: int) -> None:
    """In a forked worker: close every socket inherited from the server but ``keep``."""
    with contextlib.suppress(OSError):
        signal.set_wakeup_fd(-1)
    for name in os.listdir("/proc/self/fd") if os.path.isdir("/proc/self/fd") else ():
        fd = int(name)
        with contextlib.suppress(OSError):
            if fd != keep and fd > 2 and stat.S_ISSOCK(os.fstat(fd).st_mode):
                os.close(fd)


def main(argv: list[str]) -> None:
    """Entry of an on-disk worker: ``python -m publisher.evaluate FD PATH VERSION MODIFIED
    BUFFER_ROWS MEMORY_MB``."""
    fd, path, version, modified, buffer_rows, memory_mb = argv
    store = OxigraphStore(ox.Store.read_only(path), version, float(modified), Path(path))
    serve(store, Connection(int(fd)), int(buffer_rows), int(memory_mb))


if __name__ == "__main__":
    # jobs arrive pickled as publisher.evaluate.Job: import this file under that name now, at
    # start-up, rather than while the first job waits for it (run as __main__ it is not that)
    from publisher.evaluate import main as run_worker

    run_worker(sys.argv[1:])
