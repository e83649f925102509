"""The query workers' answers: which serializer writes a SELECT (pyoxigraph's own for a
whole answer in JSON or XML, results.py otherwise) and the messages a job is sent in."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import pyoxigraph as ox
import pytest

from publisher import evaluate, results
from publisher.config import Settings
from publisher.errors import QueryOutOfMemory, ServiceUnavailable
from publisher.evaluate import BUFFER_ROWS, CHUNK_BYTES, NATIVE_WRITE_BYTES, Job, run_job
from publisher.executor import error_from
from publisher.store import OxigraphStore
from publisher.workers import WorkerPool

EX = "http://example.org/"
XSD = "http://www.w3.org/2001/XMLSchema#"
SUBJECTS = 300
#: every kind of term a binding can hold (not a single triple pattern: that is answered
#: without a worker, publisher.lookup), and unbound ?n where the OPTIONAL has no match
SELECT = f"SELECT ?s ?p ?o ?n WHERE {{ ?s ?p ?o OPTIONAL {{ ?s <{EX}node> ?n }} }} " \
         "ORDER BY ?s ?p ?o"
MAX_ROWS = 10_000


def _store() -> ox.Store:
    store = ox.Store()

    def add(s: Any, p: str, o: Any) -> None:
        store.add(ox.Quad(s, ox.NamedNode(EX + p), o))

    for i in range(SUBJECTS):
        s = ox.NamedNode(f"{EX}thing/{i:03}")
        add(s, "label", ox.Literal(f"sak {i}", language="sv"))
        add(s, "label", ox.Literal(f'thing "{i}" <&> \t\n ünïcødé ☃', language="en-GB"))
        add(s, "plain", ox.Literal(f"plain {i}"))
        add(s, "number", ox.Literal(str(i), datatype=ox.NamedNode(XSD + "integer")))
        add(s, "when", ox.Literal("2024-01-31", datatype=ox.NamedNode(XSD + "date")))
        add(s, "code", ox.Literal(f"c-{i}", datatype=ox.NamedNode(EX + "Code")))
        if i % 3 == 0:
            add(s, "node", ox.BlankNode(f"b{i}"))
        if i % 5 == 0:  # an RDF-star triple term
            quoted = ox.Triple(s, ox.NamedNode(EX + "p"), ox.Literal("quoted", language="en"))
            add(s, "said", quoted)
    return store


@pytest.fixture(autouse=True)
def short_streams(monkeypatch: pytest.MonkeyPatch) -> None:
    """An answer of more than 100 rows counts as long here (the default is 10,000)."""
    monkeypatch.setattr(evaluate, "STREAM_ROWS", 100)


@pytest.fixture(scope="module")
def store() -> OxigraphStore:
    return OxigraphStore(_store(), "test", 0.0, None)


class Messages(list[tuple[Any, ...]]):
    """What run_job sends, kept in order (in place of a worker's socket)."""

    def send(self, message: tuple[Any, ...]) -> None:
        self.append(message)


def _run(store: OxigraphStore, query: str, fmt: str, max_bytes: int = 0) -> Messages:
    messages = Messages()
    job = Job(query, fmt, MAX_ROWS, {"use_default_graph_as_union": True}, max_bytes=max_bytes)
    run_job(store, job, messages, BUFFER_ROWS, whole=True)  # type: ignore[arg-type]
    return messages


def _body(messages: Messages) -> bytes:
    return b"".join(m[2] if m[0] == "all" else m[1] for m in messages if m[0] in ("all", "data"))


@pytest.fixture
def ours(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The formats results.py was asked to write (pyoxigraph wrote the others)."""
    asked: list[str] = []
    solutions = results.solutions

    def counting(variables: Any, rows: Any, name: str) -> Iterator[bytes]:
        asked.append(name)
        return solutions(variables, rows, name)

    monkeypatch.setattr(results, "solutions", counting)
    return asked


# -- the same data from both serializers, through the worker pool ---------------------------

def _pool_answers(store: OxigraphStore, queries: list[tuple[str, str]],
                  loop_factory: Any = None) -> list[bytes]:
    async def run() -> list[bytes]:
        pool = WorkerPool(store, Settings(query_workers=1))
        pool.start()
        try:
            bodies = []
            for query, fmt in queries:
                evaluation = await pool.evaluate(Job(query, fmt, MAX_ROWS,
                                                     {"use_default_graph_as_union": True}))
                assert not evaluation.truncated
                bodies.append(b"".join([chunk async for chunk in evaluation.chunks()]))
            return bodies
        finally:
            await pool.close()

    with asyncio.Runner(loop_factory=loop_factory) as runner:
        return runner.run(run())


def test_long_answers_arrive_whole_on_uvloop(store: OxigraphStore) -> None:
    """The server runs on uvloop (cli.py), whose add_reader leaves a worker's socket
    non-blocking: a message that has only partly arrived must still be read whole."""
    uvloop = pytest.importorskip("uvloop")
    queries = [(f"{SELECT} LIMIT {n}", fmt) for n in (2000, 1500) for fmt in ("json", "xml")]
    expected = _pool_answers(store, queries)
    assert min(len(body) for body in expected) > evaluate.CHUNK_BYTES  # several messages
    for _ in range(3):
        assert _pool_answers(store, queries, uvloop.new_event_loop) == expected


def _xml(body: bytes) -> tuple[list[str], list[list[Any]]]:
    """Variables and results of an XML answer, each binding as (name, its term's element
    as nested tuples): what a client reads, not how it was written."""
    ns = "{" + results.RESULTS_NS + "}"

    def element(e: ET.Element) -> tuple[Any, ...]:
        return e.tag, sorted(e.attrib.items()), e.text or "", tuple(element(c) for c in e)

    root = ET.fromstring(body)
    variables = [v.attrib["name"] for v in root.iter(ns + "variable")]
    rows = [[(b.attrib["name"], element(b[0])) for b in result]
            for result in root.iter(ns + "result")]
    return variables, rows


#: how each kind of term shows in the parsed rows of a format
KINDS = {"json": ("'uri'", "'bnode'", "'triple'", "'literal'", "'xml:lang'", "'datatype'"),
         "xml": ("}uri'", "}bnode'", "}triple'", "}literal'", "XML/1998/namespace}lang'",
                 "'datatype'")}


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_limited_select_has_the_same_data_as_the_counted_one(store: OxigraphStore,
                                                               fmt: str) -> None:
    """LIMIT within max_rows: pyoxigraph writes the answer; without it, results.py does."""
    limited, counted = _pool_answers(store, [(f"{SELECT} LIMIT {MAX_ROWS}", fmt), (SELECT, fmt)])
    assert limited != counted  # two serializers ...
    if fmt == "json":          # ... and the same data
        native, ours = json.loads(limited), json.loads(counted)
        assert native == ours
        rows = ours["results"]["bindings"]
    else:
        native_xml, ours_xml = _xml(limited), _xml(counted)
        assert native_xml == ours_xml
        rows = ours_xml[1]
    assert len(rows) == SUBJECTS * 6 + SUBJECTS // 3 + SUBJECTS // 5
    text = repr(rows)  # every kind of term was compared, and unbound ?n
    kinds = KINDS[fmt]
    assert all(kind in text for kind in kinds)
    assert any(len(row) == 3 for row in rows) and any(len(row) == 4 for row in rows)


@pytest.mark.parametrize(("query", "fmt", "native"), [
    (f"{SELECT} LIMIT 50", "json", True),
    (f"{SELECT} LIMIT 50", "xml", True),
    (f"{SELECT} LIMIT 50", "csv", False),   # pyoxigraph writes quoted triples otherwise
    (f"{SELECT} LIMIT 50", "tsv", False),
    (SELECT, "json", False),                # no LIMIT: the rows are counted (bounded)
    (f"{SELECT} LIMIT {MAX_ROWS + 1}", "json", False),
])
def test_which_serializer_writes_a_select(store: OxigraphStore, ours: list[str], query: str,
                                          fmt: str, native: bool) -> None:
    assert _body(_run(store, query, fmt))
    assert ours == ([] if native else [fmt])


def test_select_star_keeps_the_order_of_appearance(store: OxigraphStore,
                                                   ours: list[str]) -> None:
    """pyoxigraph orders the columns of SELECT * by name; ours follow the query, so its
    serializer is used only when the two agree."""
    reordered = _run(store, f"SELECT * WHERE {{ ?s ?p ?o OPTIONAL {{ ?s <{EX}node> ?b }} }} "
                            "LIMIT 5", "json")
    assert json.loads(_body(reordered))["head"]["vars"] == ["s", "p", "o", "b"]
    assert ours == ["json"]
    agreeing = _run(store, f"SELECT * WHERE {{ ?a <{EX}label> ?b OPTIONAL {{ ?a <{EX}node> ?c }} "
                           "} LIMIT 5", "json")
    assert json.loads(_body(agreeing))["head"]["vars"] == ["a", "b", "c"]
    assert ours == ["json"]  # not asked again


# -- messages ------------------------------------------------------------------------------

@pytest.mark.parametrize(("query", "fmt"), [
    (f"{SELECT} LIMIT 20", "json"),                                      # pyoxigraph
    (f"{SELECT} LIMIT 20", "csv"),                                       # results.py
    (f"SELECT ?s WHERE {{ ?s <{EX}nothing> ?o }} ORDER BY ?s LIMIT 1000", "json"),  # empty
    (f"SELECT ?s WHERE {{ ?s <{EX}nothing> ?o }} ORDER BY ?s LIMIT 1000", "csv"),
    (f"SELECT ?s WHERE {{ ?s <{EX}number> ?n FILTER(?n < 20) }} ORDER BY ?s LIMIT 1000", "xml"),
    (f"SELECT ?s WHERE {{ ?s <{EX}number> 7 }} ORDER BY ?s", "xml"),     # counted
    (f"CONSTRUCT {{ ?s <{EX}number> 7 }} WHERE {{ ?s <{EX}number> 7 }}", "turtle"),
])
def test_a_small_answer_is_one_message(store: OxigraphStore, query: str, fmt: str) -> None:
    messages = _run(store, query, fmt)
    assert [m[:2] for m in messages] == [("all", False)]
    assert len(messages[0][2]) < CHUNK_BYTES


@pytest.mark.parametrize(("limit", "fmt"), [(800, "json"), (2000, "csv"), (2000, "json")])
def test_an_answer_up_to_whole_bytes_is_one_message_and_a_longer_one_begins_with_that_much(
        store: OxigraphStore, monkeypatch: pytest.MonkeyPatch, limit: int, fmt: str) -> None:
    """Not a stream (a LIMIT up to STREAM_ROWS): an answer of more than CHUNK_BYTES but no
    more than WHOLE_BYTES wakes the server once; a longer one comes as WHOLE_BYTES, then
    CHUNK_BYTES pieces."""
    monkeypatch.setattr(evaluate, "STREAM_ROWS", 10_000)
    messages = _run(store, f"{SELECT} LIMIT {limit}", fmt)
    body = _body(messages)
    assert len(body) > CHUNK_BYTES
    if len(body) <= evaluate.WHOLE_BYTES:
        assert [m[:2] for m in messages] == [("all", False)]
        return
    assert messages[0] == ("head", False) and messages[-1] == ("end", None)
    sizes = [len(m[1]) for m in messages[1:-1]]
    assert evaluate.WHOLE_BYTES <= sizes[0] < evaluate.WHOLE_BYTES + NATIVE_WRITE_BYTES
    assert all(CHUNK_BYTES <= size < CHUNK_BYTES + NATIVE_WRITE_BYTES for size in sizes[1:-1])


def test_a_long_answer_is_sent_from_its_first_row(store: OxigraphStore) -> None:
    """results.py's rows: the head and first row at once, then CHUNK_BYTES pieces."""
    messages = _run(store, f"{SELECT} LIMIT 1000", "csv")
    assert messages[0] == ("head", False) and messages[-1] == ("end", None)
    first = messages[1][1].decode()
    assert first.startswith("s,p,o,n\r\n") and first.count("\r\n") == 2
    chunks = [m[1] for m in messages[2:-1]]
    assert all(m[0] == "data" for m in messages[1:-1])
    assert all(CHUNK_BYTES <= len(c) < CHUNK_BYTES + 1000 for c in chunks[:-1])
    assert _body(messages).decode().count("\r\n") == 1001


def test_pyoxigraph_writes_through_the_same_chunks(store: OxigraphStore) -> None:
    """A long answer: sent from pyoxigraph's first write, then in CHUNK_BYTES pieces."""
    messages = _run(store, f"{SELECT} LIMIT 2000", "json")
    assert messages[0] == ("head", False) and messages[-1] == ("end", None)
    chunks = [m[1] for m in messages[1:-1]]
    assert NATIVE_WRITE_BYTES <= len(chunks[0]) < CHUNK_BYTES
    assert all(CHUNK_BYTES <= len(c) for c in chunks[1:-1])
    assert b"".join(chunks) == store.query(f"{SELECT} LIMIT 2000").serialize(
        format=ox.QueryResultsFormat.JSON)


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_max_bytes_before_the_first_message_is_an_error_of_its_own(store: OxigraphStore,
                                                                   fmt: str) -> None:
    messages = _run(store, f"{SELECT} LIMIT 2000", fmt, max_bytes=30)  # < the first row
    assert [m[:2] for m in messages] == [("error", "http")]
    assert isinstance(messages[0][2], ServiceUnavailable)


def test_max_bytes_after_the_first_message_cuts_the_stream(store: OxigraphStore) -> None:
    messages = _run(store, f"{SELECT} LIMIT 2000", "json", max_bytes=3 * NATIVE_WRITE_BYTES)
    assert messages[0] == ("head", False) and messages[1][0] == "data"
    assert messages[-1][:2] == ("error", "http")


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_an_evaluation_error_before_the_first_row_is_an_error_of_its_own(
        store: OxigraphStore, fmt: str) -> None:
    """(pyoxigraph refuses port 9 without connecting: the error comes with the first row)"""
    messages = _run(store, "SELECT ?s WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } } "
                           "LIMIT 1000", fmt)
    assert [m[:2] for m in messages] == [("error", "evaluation")]


# -- start-up ------------------------------------------------------------------------------

def test_a_worker_imports_no_web_framework() -> None:
    """An on-disk store's workers are fresh interpreters (``python -m publisher.evaluate``),
    started (and restarted after a timeout) faster and smaller when importing
    publisher.evaluate imports neither the app nor the pool."""
    heavy = ("fastapi", "starlette", "uvicorn", "rdflib", "pyld", "pyshacl", "jinja2", "httpx")
    code = ("import sys, publisher.evaluate; "
            "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in sys.argv[1:] "
            "or m in ('publisher.app', 'publisher.workers'))))")
    found = subprocess.run([sys.executable, "-c", code, *heavy], capture_output=True,
                           text=True, check=True)
    assert found.stdout.split() == []
    code = "from publisher import create_app, Settings, load_settings; " \
           "print(create_app.__module__, Settings.__module__)"
    names = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True)
    assert names.stdout.split() == ["publisher.app", "publisher.config"]


def test_the_worker_that_answered_last_takes_the_next_job(store: OxigraphStore) -> None:
    """Sequential queries go to one warm worker; the other works only alongside it."""
    job = Job("SELECT ?s WHERE { ?s ?p ?o . ?s ?q ?r } LIMIT 3", "json", MAX_ROWS,
              {"use_default_graph_as_union": True})  # two patterns: a worker's job

    async def answer(pool: WorkerPool) -> None:
        evaluation = await pool.evaluate(job)
        async for _chunk in evaluation.chunks():
            pass

    async def run() -> list[list[int]]:
        pool = WorkerPool(store, Settings(query_workers=2))
        pool.start()
        jobs = {worker.pid: 0 for worker in pool.workers}
        late = False  # jobs reach their worker a turn of the loop after they are sent

        for worker in pool.workers:
            def counting(message: Any, pid: int = worker.pid, send: Any = worker.conn.send) -> None:
                jobs[pid] += isinstance(message, Job)
                if late:
                    asyncio.get_running_loop().call_soon(send, message)
                else:
                    send(message)
            worker.conn.send = counting  # type: ignore[method-assign, assignment]
        try:
            seen = []
            for _ in range(4):
                await answer(pool)
            seen.append(sorted(jobs.values()))
            # alongside: the first job's answer cannot be in before the second job starts
            # (a worker woken on the server's own core can otherwise answer before the
            # server next looks, and the first job ends without ever waiting)
            late = True
            await asyncio.gather(answer(pool), answer(pool))
            seen.append(sorted(jobs.values()))
            return seen
        finally:
            await pool.close()

    assert asyncio.run(run()) == [[0, 4], [1, 5]]


# -- memory --------------------------------------------------------------------------------------

def test_limit_memory_bounds_what_the_process_may_allocate_from_now() -> None:
    code = ("import sys; from publisher.evaluate import limit_memory; "
            "limit_memory(int(sys.argv[1])); held = bytearray(200 * 1024 * 1024); print('ok')")
    bounded = subprocess.run([sys.executable, "-c", code, "100"], capture_output=True,
                             text=True, check=False)
    assert bounded.returncode != 0 and "MemoryError" in bounded.stderr
    unbounded = subprocess.run([sys.executable, "-c", code, "0"], capture_output=True,
                               text=True, check=True)
    assert unbounded.stdout.strip() == "ok"
    roomy = subprocess.run([sys.executable, "-c", code, "400"], capture_output=True,
                           text=True, check=True)
    assert roomy.stdout.strip() == "ok"


def test_a_memory_error_in_a_worker_is_reported_with_the_bound() -> None:
    error = error_from(("error", "memory", ""), 64)
    assert isinstance(error, QueryOutOfMemory) and error.status == 503
    assert "limit of 64 MB" in error.detail


def test_a_large_message_goes_in_one_write_that_recv_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Connection.send writes a message over 16 kB as its length, then its bytes: two
    wake-ups of the server for one piece of an answer."""
    import os  # noqa: PLC0415
    import socket  # noqa: PLC0415
    from multiprocessing.connection import Connection  # noqa: PLC0415

    ours, theirs = socket.socketpair()
    sender, receiver = Connection(ours.detach()), Connection(theirs.detach())
    writes: list[int] = []
    write = os.write

    def counted(fd: int, data: Any) -> int:
        writes.append(len(data))
        return write(fd, data)

    monkeypatch.setattr(os, "write", counted)
    message = ("all", False, b"x" * 100_000)
    evaluate.send_at_once(sender, message)
    assert len(writes) == 1
    assert receiver.recv() == message
    sender.close()
    receiver.close()
