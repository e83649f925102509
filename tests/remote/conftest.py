"""A throwaway Virtuoso on loopback, and publishers in front of it.

``virtuoso`` starts Debian's virtuoso-t (package virtuoso-opensource, which .ci/run installs)
with its own virtuoso.ini in a temporary folder: free loopback ports, no demo data, results
up to a million rows (Virtuoso's default of 10,000 would cut answers silently), no query
time limit of its own (the publisher's applies). Tests are skipped, saying why, only where
the binary is absent. ``server`` overrides the root fixture of the same name: the Uppsala
graph pushed with ``publisher push`` under the server's own base, served with
``--store sparql+http://...``, so the Linked Data, SPARQL and harvest tests imported into
this folder run unchanged against the remote store.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, Server, free_port

VIRTUOSO_INI = """\
[Database]
DatabaseFile = {dir}/virtuoso.db
ErrorLogFile = {dir}/virtuoso.log
LockFile = {dir}/virtuoso.lck
TransactionFile = {dir}/virtuoso.trx
xa_persistent_file = {dir}/virtuoso.pxa
TempStorage = TempDatabase
[TempDatabase]
DatabaseFile = {dir}/virtuoso-temp.db
TransactionFile = {dir}/virtuoso-temp.trx
[Parameters]
ServerPort = 127.0.0.1:{sql_port}
DisableUnixSocket = 1
CheckpointInterval = 60
CaseMode = 2
DirsAllowed = ., {dir}
NumberOfBuffers = {buffers}
MaxDirtyBuffers = {dirty}
ThreadsPerQuery = 2
[HTTPServer]
ServerPort = 127.0.0.1:{http_port}
ServerRoot = {dir}
ServerThreads = 20
MaxClientConnections = 20
MaxKeepAlives = 20
KeepAliveTimeout = 10
Charset = UTF-8
EnabledGzipContent = 0
[SPARQL]
ResultSetMaxRows = 1000000
MaxQueryExecutionTime = 0
MaxQueryCostEstimationTime = 0
"""
#: The throwaway database's own administrator (loopback only, deleted afterwards).
CREDENTIALS = {"PUBLISHER_STORE_USER": "dba", "PUBLISHER_STORE_PASSWORD": "dba",
               "PUBLISHER_STORE_AUTH": "digest", "PUBLISHER_STORE_VERSION_TTL": "0.3"}


def virtuoso_binary() -> str | None:
    return shutil.which("virtuoso-t") or next(
        (p for p in ("/usr/bin/virtuoso-t", "/usr/local/bin/virtuoso-t") if Path(p).is_file()),
        None)


@dataclass
class Virtuoso:
    process: subprocess.Popen[bytes]
    folder: Path
    http_port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def store(self) -> str:
        return f"sparql+{self.url}/sparql"

    def store_args(self) -> list[str]:
        return ["--store", self.store]

    def push_args(self) -> list[str]:
        return [*self.store_args(), "--store-update", f"{self.url}/sparql-auth",
                "--store-gsp", f"{self.url}/sparql-graph-crud-auth"]

    def push(self, base: str, *args: str) -> subprocess.CompletedProcess[str]:
        """``publisher push`` as a user runs it, credentials in the environment only."""
        done = subprocess.run(
            [sys.executable, "-m", "publisher", "push", *self.push_args(), "--base", base,
             *args], cwd=ROOT, env={**os.environ, **CREDENTIALS}, capture_output=True,
            text=True, timeout=600)
        assert done.returncode == 0, done.stderr
        return done

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_virtuoso(folder: Path, buffers: int = 20_000) -> Virtuoso:
    """Start virtuoso-t on free loopback ports with a fresh database in ``folder``."""
    binary = virtuoso_binary()
    if binary is None:
        pytest.skip("Virtuoso is not installed (no virtuoso-t): `apt-get install "
                    "virtuoso-opensource` (Debian), as .ci/run does, to run the remote-store "
                    "tests")
    folder.mkdir(parents=True, exist_ok=True)
    http_port = free_port()
    (folder / "virtuoso.ini").write_text(VIRTUOSO_INI.format(
        dir=folder, sql_port=free_port(), http_port=http_port, buffers=buffers,
        dirty=buffers * 3 // 4))
    with open(folder / "stdout.log", "wb") as log:
        process = subprocess.Popen([binary, "+foreground", "+configfile", "virtuoso.ini"],
                                   cwd=folder, stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL)
    running = Virtuoso(process, folder, http_port)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"virtuoso-t exited: {(folder / 'virtuoso.log').read_text()}")
        try:
            if httpx.get(f"{running.url}/sparql", params={"query": "ASK {}"},
                         timeout=2).status_code == 200:
                return running
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    running.stop()
    raise RuntimeError("virtuoso-t did not answer within 120 s")


@pytest.fixture(scope="session")
def virtuoso(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Virtuoso]:
    running = start_virtuoso(tmp_path_factory.mktemp("virtuoso"))
    yield running
    running.stop()


def remote_server(virtuoso: Virtuoso, *args: str, push: tuple[str, ...] = (),
                  env: dict[str, str] | None = None) -> Server:
    """A publisher on a free port over Virtuoso, its data pushed under its own base first."""
    port = free_port()
    virtuoso.push(f"http://127.0.0.1:{port}/", *push)
    return Server(*virtuoso.store_args(), *args, port=port, env={**CREDENTIALS, **(env or {})})


@pytest.fixture(scope="session")
def server(virtuoso: Virtuoso) -> Iterator[Server]:
    running = remote_server(virtuoso)
    yield running
    running.stop()
