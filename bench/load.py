"""Mixed load with and without a runaway client: does overload degrade gracefully?

    python bench/load.py [--seconds 60] [--concurrency 64] [--out bench/.results/load.json]

Starts ``publisher serve`` on a free loopback port (nothing leaves the machine), then runs
two phases of the same mixed traffic, each ``--seconds`` long, from ``--concurrency``
asyncio clients (httpx, keep-alive):

    baseline   the mixed traffic alone
    runaway    the same, while one more client sends runaway SPARQL back to back (a
               cross product that runs into query_timeout every time)

Mixed traffic, picked round-robin: dereferencing /id -> /doc in Turtle, JSON-LD, RDF/XML,
N-Triples and HTML; named queries (/api/queries/...); ad-hoc SPARQL (small SELECT, ASK,
CONSTRUCT); the catalogue; the dumps. Reported per phase: requests, failures (anything
that is not 2xx/3xx, other than a 503 with Retry-After, which is the intended answer to a
saturated query pool and is counted apart), p50/p99 latency of the normal traffic, the
runaway client's answers, the server's peak memory (RSS of the server and its query
workers, sampled from /proc every 0.2 s) and the load generator's own CPU time, to show
whether it, not the server, was the limit.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
THINGS = ["place/tartu", "organization/uppsala-kommun", "organization/eurocities",
          "country/ee", "twinning/uppsala-tartu", "focus-area/bevakning-och-paverkan"]
FORMATS = ["text/turtle", "application/ld+json", "application/rdf+xml",
           "application/n-triples", "text/html"]
QUERIES = [
    "SELECT ?s ?label WHERE { ?s <http://www.w3.org/2000/01/rdf-schema#label> ?label } LIMIT 50",
    "ASK { ?s a <http://schema.org/City> }",
    "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o } LIMIT 100",
    "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }",
]
RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
DUMPS = ["internationella-relationer.ttl", "internationella-relationer.nt.gz"]


def requests(base: str) -> list[tuple[str, str, dict[str, str], dict[str, str]]]:
    """(kind, url, params, headers) of the normal traffic, one round."""
    plan = [("document", f"{base}id/{t}", {}, {"accept": f}) for t in THINGS for f in FORMATS]
    plan += [("named-query", f"{base}api/queries/{name}", {}, {})
             for name in ("twin-cities", "contacts")]
    plan += [("sparql", f"{base}sparql", {"query": q}, {"accept": "*/*"}) for q in QUERIES]
    plan += [("catalog", f"{base}catalog", {}, {"accept": "text/turtle"})]
    plan += [("dump", f"{base}dumps/{d}", {}, {}) for d in DUMPS]
    return plan


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tree_rss(pid: int) -> int:
    """RSS in bytes of a process and its children (the query workers)."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            if int(entry) == pid or int(fields[1]) == pid:
                total += int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, IndexError):
            continue
    return total


async def phase(base: str, seconds: float, concurrency: int, runaway: bool,
                server_pid: int) -> dict[str, Any]:
    plan = requests(base)
    latencies: dict[str, list[float]] = {}
    statuses: Counter[str] = Counter()
    failures: list[str] = []
    runaway_answers: Counter[str] = Counter()
    peak = 0
    stop = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=concurrency + 2, max_keepalive_connections=concurrency)

    async with httpx.AsyncClient(timeout=60, limits=limits, follow_redirects=True) as client:
        async def normal(index: int) -> None:
            i = index
            while time.monotonic() < stop:
                kind, url, params, headers = plan[i % len(plan)]
                i += concurrency
                started = time.perf_counter()
                try:
                    response = await client.get(url, params=params, headers=headers)
                    await response.aread()
                    status = response.status_code
                except httpx.HTTPError as exc:
                    failures.append(f"{kind}: {type(exc).__name__}")
                    continue
                elapsed = time.perf_counter() - started
                statuses[str(status)] += 1
                if status == 503 and "retry-after" in response.headers:
                    continue  # the intended answer of a saturated pool, counted apart
                if status >= 400:
                    failures.append(f"{kind}: {status}")
                    continue
                latencies.setdefault(kind, []).append(elapsed)

        async def runaway_client() -> None:
            async with httpx.AsyncClient(timeout=60) as own:
                while time.monotonic() < stop:
                    try:
                        response = await own.get(f"{base}sparql", params={"query": RUNAWAY})
                        runaway_answers[str(response.status_code)] += 1
                    except httpx.HTTPError as exc:
                        runaway_answers[type(exc).__name__] += 1

        async def sample() -> None:
            nonlocal peak
            while time.monotonic() < stop:
                peak = max(peak, tree_rss(server_pid))
                await asyncio.sleep(0.2)

        cpu = time.process_time()
        tasks = [normal(i) for i in range(concurrency)] + [sample()]
        if runaway:
            tasks.append(runaway_client())
        await asyncio.gather(*tasks)
        client_cpu = time.process_time() - cpu

    every = sorted(x for values in latencies.values() for x in values)
    return {
        "phase": "runaway" if runaway else "baseline",
        "seconds": seconds, "concurrency": concurrency,
        "requests": sum(statuses.values()) + len(failures),
        "throughput_rps": round((sum(statuses.values())) / seconds, 1),
        "statuses": dict(statuses), "failures": len(failures),
        "failure_kinds": dict(Counter(failures)),
        "p50_ms": round(1000 * statistics.median(every), 1) if every else None,
        "p99_ms": round(1000 * every[int(0.99 * (len(every) - 1))], 1) if every else None,
        "by_kind_p50_ms": {k: round(1000 * statistics.median(v), 1)
                           for k, v in sorted(latencies.items())},
        "runaway_answers": dict(runaway_answers),
        "server_peak_rss_mb": round(peak / 2**20, 1),
        "client_cpu_s": round(client_cpu, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--out", help="write the figures as JSON here too")
    args = parser.parse_args()
    port = free_port()
    base = f"http://127.0.0.1:{port}/"
    server = subprocess.Popen(
        [sys.executable, "-m", "publisher", "serve", "--port", str(port), "--base", base,
         "--log-level", "warning"], cwd=ROOT, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(base + "readyz", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        httpx.get(base + "dumps/" + DUMPS[0], timeout=60)  # written once, before timing
        figures = [asyncio.run(phase(base, args.seconds, args.concurrency, runaway, server.pid))
                   for runaway in (False, True)]
        figures.append({"client_maxrss_mb": round(resource.getrusage(
                            resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                        "cpus": os.cpu_count()})
    finally:
        server.terminate()
        server.wait(30)
    text = json.dumps(figures, indent=2)
    print(text)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
