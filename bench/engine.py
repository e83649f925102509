"""The engine's own time: each query of run.py's set through pyoxigraph, in this process.

    python bench/engine.py --triples 1000000

No server and no HTTP: the store run.py loaded for that scale (``bench/.work/N/ours.db``,
opened read-only as the publisher's query workers open it) answers each query of the set,
written as SPARQL JSON by pyoxigraph, ``--runs`` times; the median and p95 per query are
printed in milliseconds. Set beside run.py's table, it splits the publisher's latency into
what the engine library costs (here) and what the server adds, and shows how the pyoxigraph
wheel compares with the Oxigraph server binary on the same queries (bench/RESULTS.md).
Run it pinned like the servers: ``taskset -c 0 python bench/engine.py``. With
``--in-memory`` the same store is also copied into an in-memory engine, as ``publisher serve
--in-memory`` does, and each query is timed on both, alternately.
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
    parser.add_argument("--in-memory", action="store_true",
                        help="also time each query on the store copied into memory")
    args = parser.parse_args()
    cities = Bench(args.triples, set(), 0).cities
    stores = {"pyoxigraph": ox.Store.read_only(str(WORK / str(args.triples) / "ours.db"))}
    if args.in_memory:
        started = time.perf_counter()
        memory = ox.Store()
        memory.bulk_extend(stores["pyoxigraph"].quads_for_pattern(None, None, None, None))
        stores["in memory"] = memory
        print(f"copied into memory in {time.perf_counter() - started:.1f} s", flush=True)
    for name in QUERIES:
        text = query(name, cities)
        times: dict[str, list[float]] = {kind: [] for kind in stores}
        for _ in range(args.runs):
            for kind, store in stores.items():  # alternately, so that drift hits both
                started = time.perf_counter()
                body = store.query(text, use_default_graph_as_union=True,
                                   base_iri=BASE + "sparql").serialize(
                    format=ox.QueryResultsFormat.JSON)
                times[kind].append((time.perf_counter() - started) * 1000)
        cells = []
        for kind, kept in times.items():
            kept.sort()
            p95 = kept[min(len(kept) - 1, int(0.95 * len(kept)))]
            cells.append(f"{kind} {statistics.median(kept):8.2f}/{p95:.2f} ms")
        print(f"q {name:<16} " + "  ".join(cells) + f"  ({len(body):,} bytes)", flush=True)


if __name__ == "__main__":
    main()
