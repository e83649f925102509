"""The engine's own time: each query of run.py's set through pyoxigraph, in this process.

    python bench/engine.py --triples 1000000

No server and no HTTP: the store run.py loaded for that scale (``bench/.work/N/ours.db``,
opened read-only as the publisher's query workers open it) answers each query of the set,
written as SPARQL JSON by pyoxigraph, ``--runs`` times; the median and p95 per query are
printed in milliseconds. Set beside run.py's table, it splits the publisher's latency into
what the engine library costs (here) and what the server adds, and shows how the pyoxigraph
wheel compares with the Oxigraph server binary on the same queries (bench/RESULTS.md).
Run it pinned like the servers: ``taskset -c 0 python bench/engine.py``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import pyoxigraph as ox

sys.path.insert(0, str(Path(__file__).resolve().parent))

from peers import BASE
from run import QUERIES, WORK, Bench, query


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--triples", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    cities = Bench(args.triples, set(), 0).cities
    store = ox.Store.read_only(str(WORK / str(args.triples) / "ours.db"))
    for name in QUERIES:
        text = query(name, cities)
        times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            body = store.query(text, use_default_graph_as_union=True,
                               base_iri=BASE + "sparql").serialize(
                format=ox.QueryResultsFormat.JSON)
            times.append((time.perf_counter() - started) * 1000)
        times.sort()
        p95 = times[min(len(times) - 1, int(0.95 * len(times)))]
        print(f"q {name:<16} pyoxigraph {statistics.median(times):8.2f}/{p95:.2f} ms"
              f"  ({len(body):,} bytes)", flush=True)


if __name__ == "__main__":
    main()
