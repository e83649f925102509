"""Scale-out: 1, 2 and 4 stateless publishers over one Virtuoso holding 10^6 triples.

    python bench/scaleout.py --triples 1000000 --seconds 20 --concurrency 32

Generates the data (bench/generate.py), starts a throwaway Virtuoso on loopback
(tests/remote/conftest.py's), loads it with ``publisher push``, then for N in 1, 2, 4 starts
N ``publisher serve --store sparql+http://...`` instances on loopback ports and drives them
with the same load for the same time: asyncio httpx clients spreading requests round-robin
over the instances (the load balancer), 90 % documents of distinct resources in Turtle
(mostly cache misses: each is a bounded CONSTRUCT plus a label query on the store), 10 % a
small SPARQL SELECT. Prints one Markdown table row per N. Loopback only; bounded in time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.remote.conftest import CREDENTIALS, start_virtuoso  # noqa: E402

BASE = "https://data.uppsala.se/"
QUERY = ("SELECT ?s ?label WHERE { ?s <http://www.w3.org/2000/01/rdf-schema#label> ?label } "
         "LIMIT 20")


def free_port() -> int:
    import socket  # noqa: PLC0415

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(store: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PUBLISHER_QUERY_WORKERS": "16"}
    with open(log, "wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "publisher", "serve", "--port", str(port), "--base", BASE,
             "--store", store, "--log-level", "warning"], cwd=ROOT, stdout=out,
            stderr=subprocess.STDOUT, env=env)


def wait(port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/robots.txt", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"instance on {port} did not start")


async def drive(ports: list[int], paths: list[str], seconds: float,
                concurrency: int) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    stop = time.monotonic() + seconds
    counter = iter(range(10**9))

    async def client(http: httpx.AsyncClient, rng: random.Random) -> None:
        nonlocal errors
        while time.monotonic() < stop:
            port = ports[next(counter) % len(ports)]
            if rng.random() < 0.1:
                url, params = f"http://127.0.0.1:{port}/sparql", {"query": QUERY}
                accept = "application/sparql-results+json"
            else:
                url, params = f"http://127.0.0.1:{port}/{rng.choice(paths)}", None
                accept = "text/turtle"
            started = time.monotonic()
            try:
                response = await http.get(url, params=params, headers={"Accept": accept})
                ok = response.status_code == 200
            except httpx.HTTPError:
                ok = False
            latencies.append(time.monotonic() - started)
            errors += not ok

    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(timeout=30, limits=limits) as http:
        await asyncio.gather(*(client(http, random.Random(n)) for n in range(concurrency)))
    latencies.sort()
    return {"requests": len(latencies), "errors": errors,
            "throughput": len(latencies) / seconds,
            "p50": statistics.median(latencies) * 1000,
            "p99": latencies[int(len(latencies) * 0.99)] * 1000}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--triples", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--instances", default="1,2,4")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="scaleout-"))
    data = work / "data.nt"
    subprocess.run([sys.executable, "bench/generate.py", "--triples", str(args.triples),
                    "--out", str(data)], cwd=ROOT, check=True)
    virtuoso = start_virtuoso(work / "virtuoso", buffers=100_000)
    try:
        started = time.monotonic()
        subprocess.run([sys.executable, "-m", "publisher", "push", *virtuoso.push_args(),
                        "--base", BASE, str(data)], cwd=ROOT, check=True,
                       env={**os.environ, **CREDENTIALS})
        print(f"push: {time.monotonic() - started:.1f} s", file=sys.stderr)
        found = httpx.post(f"{virtuoso.url}/sparql", timeout=120, headers={"Accept": "text/csv"},
                           data={"query": "SELECT DISTINCT ?s WHERE { ?s a ?t } LIMIT 20000"})
        paths = [line.strip('"').replace(BASE + "id/", "doc/")
                 for line in found.text.splitlines()[1:] if line.startswith(f'"{BASE}id/')]
        print(f"{len(paths)} distinct documents in the mix", file=sys.stderr)
        print("| instances | requests | errors | throughput | p50 | p99 |")
        print("|---|---|---|---|---|---|")
        for count in (int(n) for n in args.instances.split(",")):
            ports = [free_port() for _ in range(count)]
            servers = [serve(virtuoso.store, p, work / f"serve-{p}.log") for p in ports]
            try:
                for port in ports:
                    wait(port)
                result = asyncio.run(drive(ports, paths, args.seconds, args.concurrency))
            finally:
                for server in servers:
                    server.terminate()
                    server.wait(30)
            print(f"| {count} | {result['requests']} | {result['errors']} | "
                  f"{result['throughput']:.0f} req/s | {result['p50']:.0f} ms | "
                  f"{result['p99']:.0f} ms |", flush=True)
    finally:
        virtuoso.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
