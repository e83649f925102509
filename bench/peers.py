"""The servers compared, each installed into a throwaway place, loaded, started on loopback
and stopped: ours, the FastAPI ceiling, nginx, Oxigraph server, rdflib-endpoint, Trifid (in
front of Oxigraph server) and Virtuoso. Used by bench/run.py."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import string
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from workload import SERVER_CPU, wait_ready

ROOT = Path(__file__).resolve().parent.parent
PEERS = ROOT / "bench" / ".peers"          # throwaway installs (gitignored)
VENV = PEERS / "venv"                       # rdflib-endpoint, oxigraph (server binary)
NODE = PEERS / "trifid"                     # npm install trifid
BASE = "https://data.uppsala.se/"
JSON_RESULTS = "application/sparql-results+json"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pinned(command: list[str], cpus: str = SERVER_CPU) -> list[str]:
    return ["taskset", "-c", cpus, *command] if shutil.which("taskset") and cpus else command


def run(command: list[str], timeout: float = 3600, **kwargs: object) -> float:
    """Run a command to the end; its wall time in seconds (raises on failure)."""
    return run_output(command, timeout, **kwargs)[0]


def run_output(command: list[str], timeout: float = 3600,
               **kwargs: object) -> tuple[float, str]:
    """``run``, and what the command printed on stdout."""
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, **kwargs)  # type: ignore[call-overload]
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:3])}: {(done.stderr or done.stdout)[-300:]}")
    return time.perf_counter() - started, done.stdout


def install() -> dict[str, str]:
    """Install the peers into bench/.peers (Debian packages system-wide); returns errors."""
    errors: dict[str, str] = {}
    PEERS.mkdir(parents=True, exist_ok=True)
    if not (VENV / "bin" / "rdflib-endpoint").exists() or not (VENV / "bin" / "oxigraph").exists():
        try:
            run([sys.executable, "-m", "venv", str(VENV)])
            run([str(VENV / "bin" / "pip"), "install", "-q", "rdflib-endpoint", "uvicorn",
                 "oxigraph"])
        except RuntimeError as exc:
            errors["pip"] = str(exc)
    if not (NODE / "node_modules" / "trifid").exists():
        try:
            NODE.mkdir(parents=True, exist_ok=True)
            (NODE / "package.json").write_text('{"name": "bench-trifid", "private": true}\n')
            run(["npm", "install", "--no-audit", "--no-fund", "trifid"], cwd=NODE)
        except (RuntimeError, FileNotFoundError) as exc:
            errors["npm"] = str(exc)
    missing = [p for p, exe in (("nginx", "nginx"), ("wrk", "wrk"),
                                ("virtuoso-opensource", "virtuoso-t")) if not shutil.which(exe)]
    if missing:
        try:
            run(["apt-get", "install", "-y", "-qq", *missing],
                env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        except (RuntimeError, FileNotFoundError) as exc:
            errors["apt"] = str(exc)
    return errors


@dataclass
class Running:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    ready_seconds: float
    extra: list[subprocess.Popen[bytes]] = field(default_factory=list)
    on_stop: Callable[[], None] | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        if self.on_stop is not None:
            self.on_stop()
        for process in (self.process, *self.extra):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def launch(name: str, command: list[str], port: int, ready: str, log: Path,
           env: dict[str, str] | None = None, cwd: Path | None = None,
           headers: dict[str, str] | None = None, timeout: float = 900) -> Running:
    with open(log, "wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=cwd,
                                   env={**os.environ, **(env or {})}, start_new_session=True)
    try:
        seconds = wait_ready(port, ready, process, timeout, headers)
    except RuntimeError as exc:
        if process.poll() is None:
            process.kill()
        raise RuntimeError(f"{name} {exc}: {log.read_text(errors='replace')[-400:]}") from None
    return Running(name, port, process, seconds)


# -- the publisher -----------------------------------------------------------------------------

def ours_env(work: Path) -> dict[str, str]:
    return {"PUBLISHER_MAX_ROWS": "1000000", "PUBLISHER_QUERY_TIMEOUT": "300",
            "PUBLISHER_MAX_RESPONSE_BYTES": "4000000000", "PUBLISHER_MAX_CONNECTIONS": "2048",
            "PUBLISHER_CACHE_DIR": str(work / "cache")}


def ours_args(data: Path, work: Path) -> list[str]:
    empty = work / "no-ontology"
    empty.mkdir(exist_ok=True)
    return ["--data-dir", str(data), "--ontology-dir", str(empty), "--store",
            str(work / "ours.db")]


def ours_load(data: Path, work: Path) -> tuple[float, float]:
    """`publisher load`: the seconds it took to fill and compact the store (what `oxigraph
    load` and `optimize` do), and the seconds it then took to write the dumps and
    statistics into it (which Oxigraph does not do), as its last line reports them."""
    shutil.rmtree(work / "ours.db", ignore_errors=True)
    (work / "ours.db.version").unlink(missing_ok=True)
    seconds, out = run_output([sys.executable, "-m", "publisher", "load",
                               *ours_args(data, work)], env={**os.environ, **ours_env(work)},
                              cwd=ROOT)
    described = re.search(r"; ([0-9.]+) s of it wrote the dumps", out)
    if described is None:
        raise RuntimeError(f"publisher load did not report its descriptions: {out[-300:]}")
    return seconds - float(described[1]), float(described[1])


def ours_start(data: Path, work: Path, workers: int = 1, cpus: str = SERVER_CPU,
               in_memory: bool = False) -> Running:
    """``publisher serve --store`` over the store ours_load filled; ``in_memory``: with
    ``--in-memory``, which copies that store into memory at start."""
    port = free_port()
    command = pinned([sys.executable, "-m", "publisher", "serve", "--port", str(port),
                      "--log-level", "warning", "--workers", str(workers),
                      *ours_args(data, work), *(["--in-memory"] if in_memory else [])], cpus)
    return launch("publisher", command, port, "/sparql?query=ASK%7B%7D", work / "ours.log",
                  ours_env(work), ROOT)


# -- the FastAPI ceiling and nginx ---------------------------------------------------------------

def ceiling_start(bodies: Path, work: Path) -> Running:
    port = free_port()
    command = pinned([sys.executable, str(ROOT / "bench" / "serve_asgi.py"),
                      "ceiling:create_app", "--factory", "--port", str(port),
                      "--http", "publisher"])  # the publisher's own protocol
    return launch("fastapi", command, port, "/" + sorted(os.listdir(bodies))[0],
                  work / "ceiling.log", {"BENCH_CEILING_DIR": str(bodies),
                                         "PYTHONPATH": str(ROOT / "bench")}, ROOT / "bench")


def nginx_start(site_root: Path, work: Path) -> Running:
    """nginx (one worker) with the shipped deploy/nginx/publisher-export.conf over ``site_root``;
    the single-file ceiling is any one file of it, asked for by its full name."""
    port = free_port()
    folder = work / "nginx"
    (folder / "tmp").mkdir(parents=True, exist_ok=True)
    site = (ROOT / "deploy" / "nginx" / "publisher-export.conf").read_text()
    site = site.replace("root /srv/publisher;", f"root {site_root};")
    site = site.replace("listen 8080;", f"listen 127.0.0.1:{port};")
    (folder / "site.conf").write_text(site)
    user = "user root;\n" if os.geteuid() == 0 else ""  # workers can read what root wrote
    main = string.Template((ROOT / "deploy" / "nginx" / "local-main.conf").read_text())
    (folder / "nginx.conf").write_text(main.substitute(dir=folder, user=user, connections=4096))
    command = pinned(["nginx", "-c", str(folder / "nginx.conf"), "-p", str(folder)])
    return launch("nginx", command, port, "/index.html", folder / "out.log")


# -- Oxigraph server -----------------------------------------------------------------------------

def oxigraph_load(data_file: Path, work: Path) -> float:
    """`oxigraph load`, then `oxigraph optimize`, which Oxigraph advises for a read-only
    endpoint (it is served read-only below) and which `publisher load` does too."""
    shutil.rmtree(work / "oxigraph.db", ignore_errors=True)
    oxigraph, location = str(VENV / "bin" / "oxigraph"), str(work / "oxigraph.db")
    return run([oxigraph, "load", "--location", location, "--file", str(data_file),
                "--graph", BASE + "graph/bench"]) + run([oxigraph, "optimize", "--location",
                                                         location])


def oxigraph_start(work: Path) -> Running:
    port = free_port()
    command = pinned([str(VENV / "bin" / "oxigraph"), "serve-read-only", "--location",
                      str(work / "oxigraph.db"), "--bind", f"127.0.0.1:{port}",
                      "--union-default-graph"])
    return launch("oxigraph", command, port, "/query?query=ASK%7B%7D", work / "oxigraph.log",
                  headers={"Accept": JSON_RESULTS})


# -- rdflib-endpoint -----------------------------------------------------------------------------

def rdflib_start(data_file: Path, work: Path) -> Running:
    port = free_port()
    command = pinned([str(VENV / "bin" / "rdflib-endpoint"), "serve", "--host", "127.0.0.1",
                      "--port", str(port), str(data_file)])
    return launch("rdflib-endpoint", command, port, "/?query=ASK%7B%7D",  # served at /
                  work / "rdflib.log", headers={"Accept": JSON_RESULTS}, timeout=1800)


# -- Trifid in front of Oxigraph server -----------------------------------------------------------

TRIFID_CONFIG = """server:
  listener:
    port: {port}
  logLevel: warn
globals:
  datasetBaseUrl: {base}
  endpoints:
    default:
      url: /query
plugins:
  entity-renderer:
    module: "@zazuko/trifid-entity-renderer"
    config:
      labelLoader:
        chunkSize: 30
        concurrency: 2
        timeout: 4000
  sparql-proxy:
    module: "@zazuko/trifid-plugin-sparql-proxy"
    paths: /query
    config:
      endpointUrl: {endpoint}
"""


def trifid_start(oxigraph: Running, work: Path) -> Running:
    port = free_port()
    config = work / "trifid.yaml"
    config.write_text(TRIFID_CONFIG.format(port=port, base=BASE,
                                           endpoint=f"http://127.0.0.1:{oxigraph.port}/query"))
    command = pinned(["node", str(NODE / "node_modules" / "trifid" / "server.js"), "-c",
                      str(config)])
    return launch("trifid", command, port, "/id/country/c1", work / "trifid.log", cwd=NODE,
                  headers={"Accept": "text/turtle"})


# -- Virtuoso ----------------------------------------------------------------------------------

VIRTUOSO_INI = """[Database]
DatabaseFile = {dir}/virtuoso.db
ErrorLogFile = {dir}/virtuoso.log
LockFile = {dir}/virtuoso.lck
TransactionFile = {dir}/virtuoso.trx
xa_persistent_file = {dir}/virtuoso.pxa
[TempDatabase]
DatabaseFile = {dir}/virtuoso-temp.db
TransactionFile = {dir}/virtuoso-temp.trx
[Parameters]
ServerPort = {sql_port}
DirsAllowed = ., {data}, /usr/share/virtuoso-opensource-7/vad
NumberOfBuffers = 170000
MaxDirtyBuffers = 130000
ServerThreads = 20
CheckpointInterval = 0
[HTTPServer]
ServerPort = 127.0.0.1:{port}
ServerRoot = /usr/share/virtuoso-opensource-7/vsp
MaxClientConnections = 40
ServerThreads = 40
[SPARQL]
ResultSetMaxRows = 2000000
MaxQueryExecutionTime = 600
MaxQueryCostEstimationTime = 0
DefaultGraph = {base}graph/bench
"""


class Virtuoso:
    def __init__(self, data_file: Path, work: Path) -> None:
        self.data_file, self.dir = data_file, work / "virtuoso"
        self.port, self.sql_port = free_port(), free_port()

    def _ini(self) -> Path:
        ini = self.dir / "virtuoso.ini"
        ini.write_text(VIRTUOSO_INI.format(dir=self.dir, data=self.data_file.parent,
                                           port=self.port, sql_port=self.sql_port, base=BASE))
        return ini

    def start(self) -> Running:
        command = pinned(["virtuoso-t", "-f", "-c", str(self._ini())])
        running = launch("virtuoso", command, self.port, "/sparql?query=ASK%7B%7D",
                         self.dir / "out.log", cwd=self.dir,
                         headers={"Accept": JSON_RESULTS})
        running.on_stop = self._shutdown
        return running

    def _isql(self, statement: str, timeout: float = 7200) -> float:
        return run(["isql-vt", str(self.sql_port), "dba", "dba", f"exec={statement}"],
                   timeout=timeout)

    def _shutdown(self) -> None:
        try:
            self._isql("shutdown();", timeout=120)
        except (RuntimeError, subprocess.TimeoutExpired):
            pass

    def load(self) -> tuple[Running, float]:
        """A fresh database, bulk-loaded with ld_dir + rdf_loader_run + checkpoint."""
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir(parents=True)
        running = self.start()
        folder, name = self.data_file.parent, self.data_file.name
        seconds = self._isql(f"ld_dir('{folder}', '{name}', '{BASE}graph/bench'); "
                             "rdf_loader_run(); checkpoint;")
        return running, seconds


def virtuoso_query_path(query: str) -> str:
    return "/sparql?query=" + quote(query, safe="") + "&format=" + quote(JSON_RESULTS, safe="")
