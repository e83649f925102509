"""``store_in_memory`` (``publisher serve --store DIR --in-memory``): an on-disk store copied
into memory at start, the folder closed again, and the query workers forked to share the
copy, as they are for data/ loaded into memory."""

from __future__ import annotations

import _thread
import asyncio
import logging
import os
import threading
import time
from pathlib import Path

import httpx
import pytest

from publisher.config import Settings
from publisher.errors import ConfigError, DataError
from publisher.evaluate import Job
from publisher.store import OxigraphStore, in_own_arena
from publisher.workers import WorkerPool
from tests.conftest import Server
from tests.support import child_pids, command_line, spawned_servers

ASK_ALL = "ASK { ?s ?p ?o }"


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings naming an on-disk store that ``publisher load`` has filled."""
    settings = Settings(store=str(tmp_path_factory.mktemp("in-memory") / "db"))
    OxigraphStore.open(settings)
    return settings


def _quads(store: OxigraphStore) -> set[str]:
    return {str(quad) for quad in store.engine.quads_for_pattern(None, None, None, None)}


def _open_files_under(folder: Path) -> list[str]:
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # closed meanwhile (listdir's own descriptor)
            continue
        if target.startswith(str(folder.resolve())):
            found.append(target)
    return found


def test_the_copy_holds_every_quad_of_the_disk_store_and_closes_its_folder(
        loaded: Settings, caplog: pytest.LogCaptureFixture) -> None:
    disk = OxigraphStore.open(loaded, read_only=True)
    expected = _quads(disk)
    assert not disk.in_memory and _open_files_under(Path(loaded.store))
    del disk

    with caplog.at_level(logging.INFO, logger="publisher"):
        copy = OxigraphStore.open(loaded.replace(store_in_memory=True), read_only=True)
    assert "copied the store into memory in" in caplog.text  # a long start says why
    assert copy.in_memory and copy.path == Path(loaded.store)  # its load's dumps stay found
    assert len(expected) > 1000 and _quads(copy) == expected
    assert copy.version == OxigraphStore.open(loaded, read_only=True).version
    assert _open_files_under(Path(loaded.store)) == []  # no RocksDB left open to fork


def _first_answer(store: OxigraphStore) -> tuple[bool, bytes]:
    """Whether the pool's worker was forked (no process object of its own), and its answer."""
    async def run() -> tuple[bool, bytes]:
        pool = WorkerPool(store, Settings(query_workers=1))
        pool.start()
        try:
            forked = pool.workers[0].process is None
            evaluation = await pool.evaluate(Job(ASK_ALL, "json", 10,
                                                 {"use_default_graph_as_union": True}))
            return forked, b"".join([chunk async for chunk in evaluation.chunks()])
        finally:
            await pool.close()

    with asyncio.Runner() as runner:
        return runner.run(run())


def test_workers_are_forked_from_a_copy_and_spawned_for_the_disk(loaded: Settings) -> None:
    copy = OxigraphStore.open(loaded.replace(store_in_memory=True), read_only=True)
    forked, body = _first_answer(copy)
    assert forked and b"true" in body
    del copy
    forked, body = _first_answer(OxigraphStore.open(loaded, read_only=True))
    assert not forked and b"true" in body


def test_a_remote_store_cannot_be_copied() -> None:
    with pytest.raises(ConfigError, match="store_in_memory"):
        Settings(store="sparql+http://127.0.0.1:8890/sparql", store_in_memory=True)


@pytest.mark.slow
def test_serve_in_memory_answers_and_replaces_a_worker_past_its_deadline(
        loaded: Settings) -> None:
    server = Server("--store", loaded.store, "--in-memory",
                    env={"PUBLISHER_QUERY_TIMEOUT": "1", "PUBLISHER_QUERY_WORKERS": "1"})
    try:
        children = [command_line(pid) for pid in child_pids(server.process.pid)]
        assert children and not any("publisher.evaluate" in c for c in children)  # forked
        with httpx.Client(timeout=30) as http:
            document = http.get(server.url("doc/place/tartu"), headers={"Accept": "text/turtle"})
            assert document.status_code == 200 and "Tartu" in document.text
            slow = http.post(server.url("sparql"), data={"query": (
                "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }")},
                headers={"Accept": "application/sparql-results+json"})
            assert slow.status_code == 503
            assert slow.headers["content-type"] == "application/problem+json"
            again = http.post(server.url("sparql"), data={"query": ASK_ALL},
                              headers={"Accept": "application/sparql-results+json"})
            assert again.status_code == 200 and again.json()["boolean"] is True
    finally:
        server.stop()


@pytest.mark.slow
def test_each_of_several_server_processes_serves_its_own_copy(loaded: Settings) -> None:
    server = Server("--workers", "2", "--store", loaded.store, "--in-memory")
    try:
        servers = spawned_servers(server.process.pid)
        assert len(servers) == 2
        for _ in range(6):  # new connections land on either process
            with httpx.Client(timeout=30) as fresh:
                answer = fresh.post(server.url("sparql"), data={"query": ASK_ALL},
                                    headers={"Accept": "application/sparql-results+json"})
                assert answer.status_code == 200 and answer.json()["boolean"] is True
        workers = [command_line(child) for pid in servers for child in child_pids(pid)]
        assert workers and not any("publisher.evaluate" in c for c in workers)  # forked
    finally:
        server.stop()



def test_a_fill_runs_in_a_thread_of_its_own_and_its_error_is_raised_here() -> None:
    seen: list[str] = []

    def fill() -> None:
        seen.append(threading.current_thread().name)
        raise DataError("data/x.ttl:3:1: no")

    with pytest.raises(DataError, match="x.ttl:3:1"):
        in_own_arena(fill)
    assert seen == ["fill-store"]


def test_ctrl_c_stops_the_caller_while_a_fill_still_runs() -> None:
    threading.Timer(0.2, _thread.interrupt_main).start()
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        in_own_arena(lambda: time.sleep(5))
    assert time.monotonic() - started < 2
