"""The measurements: wrk for throughput, a sequential keep-alive client for latency, a raw
socket for time to first byte, /proc for memory. Used by bench/run.py; no peer logic here."""

from __future__ import annotations

import http.client
import os
import re
import shutil
import statistics
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

WRK = shutil.which("wrk")
#: wrk runs on CPU 1, every server on CPU 0 (see bench/README.md, "Pinning").
WRK_CPU, SERVER_CPU = "1", "0"


Request = tuple[str, str, dict[str, str], str]  # method, path, headers, body ("" for none)


@contextmanager
def on_client_cpu() -> Iterator[None]:
    """Run this process on wrk's CPU meanwhile: the latency and first-byte clients then
    never share the server's core (the scheduler would otherwise put them on either)."""
    if not hasattr(os, "sched_setaffinity"):
        yield
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {int(WRK_CPU)})
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def lua_script(folder: Path, name: str, requests: list[Request]) -> Path:
    """A wrk script cycling through (method, path, headers, body) requests."""
    def quote(text: str) -> str:
        return "[==[" + text + "]==]"

    def row(method: str, path: str, headers: dict[str, str], body: str) -> str:
        fields = ", ".join(f"[ {quote(k)} ] = {quote(v)}" for k, v in headers.items())
        return f"{{{quote(method)}, {quote(path)}, {{{fields}}}, {quote(body) if body else 'nil'}}}"

    rows = ",\n".join(row(*request) for request in requests)
    script = folder / f"{name}.lua"
    script.write_text(f"""local reqs = {{
{rows}
}}
local i = 0
request = function()
  i = i % #reqs + 1
  local r = reqs[i]
  return wrk.format(r[1], r[2], r[3], r[4])
end
""")
    return script


@dataclass
class WrkResult:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    wrk_cpu: float  # CPU seconds wrk used per wall second (is the generator the bottleneck?)

    def __str__(self) -> str:
        return f"{self.rps:,.0f}/s" + (f" ({self.errors} errors)" if self.errors else "")


def wrk(port: int, script: Path, connections: int, seconds: float, threads: int = 1,
        pin: bool = True) -> WrkResult | str:
    if WRK is None:
        return "wrk not installed"
    duration = f"{max(1, round(seconds))}s"
    command = ["wrk", "-t", str(threads), "-c", str(connections), "-d", duration,
               "--latency", "-s", str(script), f"http://127.0.0.1:{port}"]
    if pin and shutil.which("taskset"):
        command = ["taskset", "-c", WRK_CPU, *command]
    started = os.times()
    wall = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    ended = os.times()
    cpu = (ended.children_user - started.children_user + ended.children_system
           - started.children_system) / (time.perf_counter() - wall)
    out = done.stdout
    if done.stderr.strip():
        return f"wrk failed: {done.stderr.strip()}"[:200]
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if rps is None:
        return f"wrk failed: {done.stderr.strip() or out.strip()}"[:200]
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors += int(non2xx.group(1)) if non2xx else 0
    return WrkResult(float(rps.group(1)), _ms(out, "50%"), _ms(out, "99%"), errors, cpu)


def _ms(out: str, label: str) -> float:
    found = re.search(rf"{re.escape(label)}\s+([\d.]+)(us|ms|s)", out)
    if not found:
        return float("nan")
    value, unit = float(found.group(1)), found.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


class Client:
    """One keep-alive HTTP/1.1 connection, timed per request (body read to the end)."""

    def __init__(self, port: int, timeout: float = 300) -> None:
        self.port, self.timeout = port, timeout
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

    def request(self, method: str, path: str, headers: dict[str, str],
                body: str | None = None) -> tuple[int, bytes, float]:
        started = time.perf_counter()
        try:
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            raise
        if response.getheader("connection", "").lower() == "close":
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        return response.status, data, (time.perf_counter() - started) * 1000

    def close(self) -> None:
        self.conn.close()


@dataclass
class Latency:
    median: float
    p95: float
    runs: int
    status: int
    size: int

    def __str__(self) -> str:
        return f"{millis(self.median)}/{millis(self.p95)}"


def millis(value: float) -> str:
    """Milliseconds to the microsecond under 1 ms (a replayed answer takes 0.1 ms)."""
    return f"{value:.3f}" if value < 1 else f"{value:.2f}"


def latency(port: int, method: str, path: str, headers: dict[str, str], body: str | None,
            runs: int = 30, budget: float = 8.0, warmup: int = 2) -> Latency | str:
    """Median and p95 (ms) over up to ``runs`` sequential requests within ``budget`` s,
    from wrk's CPU."""
    with on_client_cpu():
        return _latency(port, method, path, headers, body, runs, budget, warmup)


def _latency(port: int, method: str, path: str, headers: dict[str, str], body: str | None,
             runs: int, budget: float, warmup: int) -> Latency | str:
    client = Client(port)
    try:
        times: list[float] = []
        status, size = 0, 0
        started = time.perf_counter()
        for i in range(runs + warmup):
            status, data, ms = client.request(method, path, headers, body)
            size = len(data)
            if status >= 400:
                return f"HTTP {status}: {data[:120]!r}"
            if i >= warmup or time.perf_counter() - started > budget:
                times.append(ms)
            if time.perf_counter() - started > budget and times:
                break
        times.sort()
        p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
        return Latency(statistics.median(times), p95, len(times), status, size)
    except (OSError, http.client.HTTPException) as exc:
        return f"{type(exc).__name__}: {exc}"[:200]
    finally:
        client.close()


def form(query: str) -> str:
    return urlencode({"query": query})


# -- memory ----------------------------------------------------------------------------------

def tree(pid: int) -> list[int]:
    """pid and all its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry))
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        queue.extend(children.get(current, []))
    return found


def _status_kb(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def peak_rss_mb(pid: int) -> tuple[float, float]:
    """(peak RSS of the main process, sum of the peaks of the whole process tree) in MB."""
    pids = tree(pid)
    main = _status_kb(pid, "VmHWM") / 1024
    return main, sum(_status_kb(p, "VmHWM") for p in pids) / 1024


def pss_mb(pid: int) -> float:
    """Proportional set size of the process tree now, in MB: pages shared between processes
    (the engine's library, the store's files, a forked parent's heap) counted once, split
    among them, where a sum of RSS counts them once per process."""
    total = 0
    for p in tree(pid):
        try:
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def rss_mb(pid: int) -> float:
    return sum(_status_kb(p, "VmRSS") for p in tree(pid)) / 1024


class RssSampler:
    """Samples the RSS of a process tree every 20 ms while active."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self._stop = pid, 0.0, threading.Event()
        self.base = rss_mb(pid)
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_mb(self.pid))
            time.sleep(0.02)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@dataclass
class Stream:
    first_byte_ms: float
    total_s: float
    rows_bytes: int
    rss_growth_mb: float

    def __str__(self) -> str:
        return f"{self.first_byte_ms:.0f} ms / {self.total_s:.1f} s / +{self.rss_growth_mb:.0f} MB"


def stream(port: int, path: str, headers: dict[str, str], pid: int,
           timeout: float = 600) -> Stream | str:
    """Time to the first byte of the answer, total time, and the server's RSS growth
    (from wrk's CPU)."""
    with on_client_cpu():
        return _stream(port, path, headers, pid, timeout)


def _stream(port: int, path: str, headers: dict[str, str], pid: int,
            timeout: float) -> Stream | str:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        with RssSampler(pid) as sampler:
            started = time.perf_counter()
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()  # the status line and headers: the first bytes
            first = (time.perf_counter() - started) * 1000
            size = 0
            while chunk := response.read(1 << 16):
                size += len(chunk)
            total = time.perf_counter() - started
        if response.status >= 400:
            return f"HTTP {response.status}"
        return Stream(first, total, size, max(0.0, sampler.peak - sampler.base))
    except (OSError, http.client.HTTPException) as exc:
        return f"{type(exc).__name__}: {exc}"[:200]
    finally:
        conn.close()


def wait_ready(port: int, path: str, process: subprocess.Popen[bytes] | None,
               timeout: float = 600, headers: dict[str, str] | None = None) -> float:
    """Seconds until ``path`` answers 2xx (raises RuntimeError if the process dies)."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"exited with {process.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", path, headers=headers or {})
            response = conn.getresponse()
            response.read()
            conn.close()
            if response.status < 300:
                return time.perf_counter() - started
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(0.02)
    raise RuntimeError(f"not ready after {timeout:.0f} s")
