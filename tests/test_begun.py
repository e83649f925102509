"""Long look-ups begun in the server (publisher.lookup.begin_here): the server writes the
answer's head and first rows, a worker the rest (evaluate.Job.skip); together they are the
answer a worker alone gives, in every result format, and the worker is sent its part only
once the first rows have gone."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pyoxigraph as ox
import pytest

from publisher import lookup, results
from publisher.config import Settings
from publisher.errors import ServiceUnavailable
from publisher.evaluate import BUFFER_ROWS, Job, _Rest, _Sink, run_job
from publisher.routes.replay import send_stream
from publisher.store import OxigraphStore
from publisher.workers import WorkerPool
from tests.test_workers import EX, MAX_ROWS, Messages, _body, _store

OPTIONS = {"use_default_graph_as_union": True}
FORMATS = {"json": ox.QueryResultsFormat.JSON, "xml": ox.QueryResultsFormat.XML}
ALL = "SELECT ?s ?p ?o WHERE { ?s ?p ?o } LIMIT 5000"
ZERO = f"SELECT ?p ?o WHERE {{ <{EX}thing/000> ?p ?o }} LIMIT 1000"  # exactly 8 rows


@pytest.fixture(scope="module")
def store() -> OxigraphStore:
    return OxigraphStore(_store(), "test", 0.0, None)


def _rows(body: bytes, fmt: str) -> tuple[list[str], list[tuple[str, ...]]]:
    """Columns and rows, in their order, as a client parses them (CSV and TSV by their lines:
    pyoxigraph reads no triple term in TSV)."""
    if fmt in ("csv", "tsv"):
        head, *lines = body.decode().split("\r\n" if fmt == "csv" else "\n")
        return [head], [(line,) for line in lines]
    found = ox.parse_query_results(body, format=FORMATS[fmt])
    assert isinstance(found, ox.QuerySolutions)
    names = [v.value for v in found.variables]
    return names, [tuple(str(row[n]) for n in names) for row in found]


Run = Callable[[WorkerPool], Awaitable[Any]]


def _with_pool(store: OxigraphStore, run: Run) -> Any:
    async def main() -> Any:
        pool = WorkerPool(store, Settings(query_workers=1))
        pool.start()
        try:
            return await run(pool)
        finally:
            await pool.close()

    return asyncio.run(main())


def _spy(pool: WorkerPool) -> list[Job]:
    """The jobs the pool's worker is sent, in order."""
    sent: list[Job] = []
    for worker in pool.workers:
        def recording(message: Any, send: Any = worker.conn.send) -> None:
            if isinstance(message, Job):
                sent.append(message)
            send(message)
        worker.conn.send = recording  # type: ignore[method-assign, assignment]
    return sent


async def _answer(pool: WorkerPool, job: Job) -> bytes:
    evaluation = await pool.evaluate(job)
    return b"".join([chunk async for chunk in evaluation.chunks()])


@pytest.mark.parametrize("query", ["SELECT ?s ?p ?o WHERE { ?s ?p ?o } LIMIT 257",
                                   "SELECT ?p ?o WHERE { ?s ?p ?o } LIMIT 10000",
                                   f"SELECT * WHERE {{ ?s <{EX}label> ?o }} LIMIT 999"])
def test_long_look_ups_are_begun(query: str) -> None:
    assert lookup.long_lookup(query, MAX_ROWS)


@pytest.mark.parametrize("query", [
    "SELECT ?s ?p ?o WHERE { ?s ?p ?o } LIMIT 256",  # short: answered here whole
    "SELECT ?s ?p ?o WHERE { ?s ?p ?o }",            # no LIMIT: max_rows may cut it
    "SELECT ?s ?p ?o WHERE { ?s ?p ?o } LIMIT 10001",  # over max_rows, likewise
    "SELECT ?s WHERE { ?s ?p ?o . ?o ?q ?r } LIMIT 1000",  # two patterns
    "SELECT DISTINCT ?s WHERE { ?s ?p ?o } LIMIT 1000",
])
def test_other_queries_are_not(query: str) -> None:
    assert not lookup.long_lookup(query, MAX_ROWS)


@pytest.mark.parametrize("fmt", ["json", "xml", "csv", "tsv"])
@pytest.mark.parametrize("query", [
    ALL,
    "SELECT * WHERE { ?s ?p ?o } LIMIT 1000",             # results.py's column order
    "SELECT ?o ?s WHERE { ?s ?p ?o } LIMIT 1000",
    f"SELECT ?s ?o WHERE {{ ?s <{EX}label> ?o }} LIMIT 300",  # the rest ends at its LIMIT
    ZERO,                                                  # the rest has no row
])
def test_a_begun_answer_is_the_one_a_worker_gives(store: OxigraphStore, fmt: str,
                                                  query: str) -> None:
    async def run(pool: WorkerPool) -> tuple[bytes, bytes, list[Job]]:
        sent = _spy(pool)
        begun = await _answer(pool, Job(query, fmt, MAX_ROWS, OPTIONS))
        whole = await _answer(pool, Job(query, fmt, MAX_ROWS, OPTIONS, here=False))
        return begun, whole, sent

    begun, whole, sent = _with_pool(store, run)
    assert sent[0].skip == lookup.FIRST_ROWS and not sent[0].here  # begun, then the rest
    assert sent[1].skip == 0  # the worker alone
    names, rows = _rows(begun, fmt)
    assert (names, rows) == _rows(whole, fmt)  # the same rows in the same order
    assert len(rows) >= lookup.FIRST_ROWS


def test_an_answer_of_fewer_rows_is_written_here_whole(store: OxigraphStore) -> None:
    query = f"SELECT ?p ?o WHERE {{ <{EX}thing/001> ?p ?o }} LIMIT 1000"  # 6 rows

    async def run(pool: WorkerPool) -> tuple[bytes, list[Job]]:
        sent = _spy(pool)
        return await _answer(pool, Job(query, "json", MAX_ROWS, OPTIONS)), sent

    body, sent = _with_pool(store, run)
    assert sent == []  # no worker was needed
    assert len(_rows(body, "json")[1]) == 6


def test_the_worker_is_sent_the_rest_once_the_first_rows_are_out(
        store: OxigraphStore) -> None:
    async def run(pool: WorkerPool) -> list[int]:
        sent = _spy(pool)
        evaluation = await pool.evaluate(Job(ALL, "json", MAX_ROWS, OPTIONS))
        chunks = evaluation.chunks()
        counts = [len(sent)]
        first = await anext(chunks)
        counts.append(len(sent))  # the first rows are on their way: still nothing sent
        await anext(chunks)
        counts.append(len(sent))
        await chunks.aclose()  # type: ignore[attr-defined]
        assert first.startswith(b'{"head":')
        return counts

    assert _with_pool(store, run) == [0, 0, 1]


def test_a_stream_closed_after_the_first_rows_keeps_its_worker(store: OxigraphStore) -> None:
    async def run(pool: WorkerPool) -> tuple[list[int], list[int], int]:
        before = pool.pids
        evaluation = await pool.evaluate(Job(ALL, "json", MAX_ROWS, OPTIONS))
        chunks = evaluation.chunks()
        await anext(chunks)
        await chunks.aclose()  # type: ignore[attr-defined]  # the client went away
        return before, pool.pids, pool._idle.qsize()

    before, after, idle = _with_pool(store, run)
    assert after == before and idle == 1  # not killed: it had been sent nothing


def test_the_rest_counts_against_max_bytes_with_the_first_rows(
        store: OxigraphStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lookup, "MIN_BYTES", 10_000)

    async def run(pool: WorkerPool) -> tuple[int, list[Job]]:
        sent = _spy(pool)
        evaluation = await pool.evaluate(Job(ALL, "json", MAX_ROWS, OPTIONS,
                                             max_bytes=20_000))
        got = 0
        with pytest.raises(ServiceUnavailable):
            async for chunk in evaluation.chunks():
                got += len(chunk)
        return got, sent

    got, sent = _with_pool(store, run)
    assert got <= 20_000  # what reached the client before the cut
    assert 0 < sent[0].max_bytes < 20_000  # the rest's share: what the first rows left


def test_a_small_max_bytes_leaves_the_whole_answer_to_a_worker(store: OxigraphStore) -> None:
    """Under ``lookup.MIN_BYTES`` the first rows alone could pass it, and the limit's error
    would come after the head: the worker answers, with the error of its own status."""
    async def run(pool: WorkerPool) -> None:
        await pool.evaluate(Job(ALL, "json", MAX_ROWS, OPTIONS, max_bytes=300))

    with pytest.raises(ServiceUnavailable):
        _with_pool(store, run)


def test_a_syntax_error_is_raised_before_anything_is_sent(store: OxigraphStore) -> None:
    async def run(pool: WorkerPool) -> list[int]:
        with pytest.raises(Exception, match="(?i)syntax|prefix"):
            await pool.evaluate(Job("SELECT ?o WHERE { nope:x ?p ?o } LIMIT 1000", "json",
                                    MAX_ROWS, OPTIONS))
        return [pool._idle.qsize(), len(pool.workers)]

    assert _with_pool(store, run) == [1, 1]


# -- the worker's part ------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["json", "xml", "csv", "tsv"])
def test_the_rest_has_no_head_and_follows_the_first_rows(store: OxigraphStore,
                                                         fmt: str) -> None:
    messages = Messages()
    job = Job(ALL, fmt, MAX_ROWS, OPTIONS, skip=3)
    run_job(store, job, messages, BUFFER_ROWS, whole=True)  # type: ignore[arg-type]
    rest = _body(messages)
    found = store.query(ALL, **OPTIONS)
    assert isinstance(found, ox.QuerySolutions)
    rows = list(found)
    head_and_three = b"".join(list(results.solutions(["s", "p", "o"], rows[:3], fmt))[:4])
    assert _rows(head_and_three + rest, fmt) == _rows(
        b"".join(results.solutions(["s", "p", "o"], rows, fmt)), fmt)
    if fmt == "json":
        assert rest.startswith(b",")


def test_pyoxigraphs_head_is_dropped_however_it_is_written() -> None:
    """(pyoxigraph writes 8 KB at a time; a head split over two writes is dropped too)"""
    for fmt, written, expected in [
            ("json", b'{"head":{"vars":["s"]},"results":{"bindings":[{"s":1}]}}', b',{"s":1}]}}'),
            ("json", b'{"head":{"vars":["s"]},"results":{"bindings":[]}}', b"]}}"),
            ("xml", (b'<?xml version="1.0"?><sparql><head><variable name="s"/></head>'
                     b"<results><result/></results></sparql>"),
             b"<result/></results></sparql>")]:
        sink = _Sink(Messages(), 0)  # type: ignore[arg-type]
        rest = _Rest(sink, fmt)
        for i in range(len(written)):
            rest.write(written[i:i + 1])
        assert bytes(sink.buffer) == expected


# -- sent from the door ---------------------------------------------------------------------

class _App:
    class state:  # what send_stream reads: no metrics here
        metrics = None


def test_a_stream_stops_when_the_client_goes() -> None:
    """send_stream closes the chunks (and so what produces them) once the client is gone."""
    produced: list[int] = []
    closed: list[bool] = []

    async def chunks() -> AsyncIterator[bytes]:
        try:
            for i in range(1000):
                produced.append(i)
                await asyncio.sleep(0)
                yield b"x"
        finally:
            closed.append(True)

    async def run() -> list[dict[str, Any]]:
        sent: list[dict[str, Any]] = []
        gone = asyncio.Event()

        async def receive() -> dict[str, Any]:
            await gone.wait()
            return {"type": "http.disconnect"}

        async def send(message: Any) -> None:
            sent.append(message)
            if len(sent) == 3:
                gone.set()

        scope = {"type": "http", "method": "GET", "headers": [], "app": _App(), "state": {}}
        await send_stream(scope, receive, send, [], chunks(), "/sparql", 0.0)
        return sent

    sent = asyncio.run(run())
    assert closed == [True] and len(produced) < 10
    assert sent[0]["type"] == "http.response.start"
    assert all(m.get("more_body") for m in sent[1:])  # cut: never a last body message
