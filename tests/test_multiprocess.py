"""publisher/multiprocess.py through real ``publisher serve --workers 2`` processes: the port
is refused when another process holds it, signals reach the workers (SIGHUP reloads each,
SIGTERM and SIGINT stop them and exit 0, a crashed worker is named and exits non-zero), and
the workers log as a single process does (JSON, the access log)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, Server
from tests.support import copy_of_sources, spawned_servers, wait_for

pytestmark = pytest.mark.slow

#: about a second of evaluation on the real data (as in test_shutdown.py)
SLOW = ("SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . "
        "VALUES ?x { 1 2 3 4 5 } }")


def _workers(server: Server) -> list[int]:
    """The pids of the server's worker processes (not multiprocessing's resource tracker)."""
    return spawned_servers(server.process.pid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (ended, not yet reaped by its parent) has ended too
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"


@pytest.fixture()
def workers_server() -> Iterator[Server]:
    """Two workers; whatever a test does to the parent, no worker outlives the test."""
    server = Server("--workers", "2")
    pids = _workers(server)
    assert len(pids) == 2
    try:
        yield server
    finally:
        server.stop()
        for pid in pids:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


@pytest.fixture()
def reuse_port_listener() -> Iterator[int]:
    """A port held by a server of another program that also sets SO_REUSEPORT."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


@pytest.mark.parametrize("holder", ["another publisher", "another program"])
def test_a_port_another_process_holds_is_refused(holder: str,
                                                 request: pytest.FixtureRequest) -> None:
    """Not shared with it: the kernel would spread the connections over both, and half
    the answers would come from a server with other settings (here: personal data)."""
    if holder == "another publisher":
        first = request.getfixturevalue("workers_server")
        port = first.port
    else:
        port = request.getfixturevalue("reuse_port_listener")
    second = subprocess.Popen(
        [sys.executable, "-m", "publisher", "serve", "--host", "127.0.0.1", "--port",
         str(port), "--workers", "2", "--withhold-personal-data"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = second.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        second.terminate()  # it serves: its workers go with it
        second.communicate(timeout=30)
        raise AssertionError(f"a second server started on port {port}") from None
    assert second.returncode == 3  # as with --workers 1
    assert out == "" and len(err.splitlines()) == 1, err
    assert f"('127.0.0.1', {port})" in err and "address already in use" in err


@pytest.fixture()
def copy(tmp_path: Path) -> Path:
    return copy_of_sources(tmp_path)


def test_sighup_reloads_every_worker_and_the_server_lives_on(copy: Path) -> None:
    server = Server("--workers", "2", "--data-dir", str(copy / "data"), "--ontology-dir",
                    str(copy / "ontology"))
    pids = _workers(server)
    try:
        def every_worker_serves() -> bool:  # (a worker still starting ignores SIGHUP)
            for _ in range(20):  # a fresh connection lands on either worker's socket
                with httpx.Client(timeout=30) as fresh:
                    if fresh.get(server.url("readyz")).status_code != 200:
                        return False
            return True

        wait_for(every_worker_serves)
        twins = copy / "data" / "twin-cities.ttl"
        twins.write_text(twins.read_text().replace('"Tartu"@en', '"Tartu (edited)"@en', 1))
        server.process.send_signal(signal.SIGHUP)

        def every_worker_reloaded() -> bool:
            for _ in range(20):  # a fresh connection lands on either worker
                with httpx.Client(timeout=30) as fresh:
                    if "Tartu (edited)" not in fresh.get(server.url("doc/place/tartu")).text:
                        return False
            return True

        wait_for(every_worker_reloaded)
        with httpx.Client(timeout=30) as fresh:
            assert fresh.get(server.url("readyz")).json()["reload"]["trigger"] == "SIGHUP"
        assert server.process.poll() is None
        assert all(_alive(pid) for pid in pids)
    finally:
        server.stop()
        for pid in pids:  # orphans, if the parent died of the signal
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_graceful_stop_finishes_the_request_in_flight_and_exits_0(
        workers_server: Server, signum: int) -> None:
    pids = _workers(workers_server)
    answers: list[int] = []
    client = threading.Thread(target=lambda: answers.append(httpx.get(
        workers_server.url("sparql"), params={"query": SLOW}, timeout=60).status_code))
    client.start()
    time.sleep(0.3)  # the query is running
    workers_server.process.send_signal(signum)
    assert workers_server.process.wait(30) == 0
    client.join(30)
    assert answers == [200]
    assert not any(_alive(pid) for pid in pids)


def test_a_crashed_worker_is_named_and_makes_the_exit_status_1(
        workers_server: Server) -> None:
    crashed = _workers(workers_server)[0]
    os.kill(crashed, signal.SIGKILL)
    wait_for(lambda: f"(pid {crashed}) ended with exit code -9" in workers_server.log.read_text())
    for _ in range(10):  # the other worker takes every connection; none waits for the dead
        with httpx.Client(timeout=10) as fresh:
            assert fresh.get(workers_server.url("robots.txt")).status_code == 200
    workers_server.process.terminate()
    assert workers_server.process.wait(30) == 1


def test_workers_write_the_access_log_in_the_log_format_asked_for() -> None:
    server = Server("--workers", "2", "--log-format", "json", "--log-level", "info")
    ids = set()
    try:
        for path in ("robots.txt", "doc/place/tartu", "sparql?query=ASK%7B%7D"):
            for _ in range(3):  # fresh connections: both workers answer some
                with httpx.Client(timeout=30) as fresh:
                    ids.add(fresh.get(server.url(path)).headers["X-Request-ID"])
    finally:
        server.stop()
    records = [json.loads(line) for line in server.log.read_text().splitlines() if line]
    logged = {r["request_id"] for r in records if r["logger"] == "publisher.access"}
    assert ids <= logged
    started = {r["message"] for r in records if r["message"].startswith("Started server")}
    assert len(started) == 2  # uvicorn's own records too, one per worker
