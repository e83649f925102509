"""Time to the first byte of a large streamed SELECT, repeated: ours against Oxigraph server.

    python bench/ttfb.py --triples 1000000 --runs 11

run.py measures each stream once, which on a shared machine is noisy at the millisecond
scale; this takes the median of ``--runs`` for both servers, started as run.py starts them
(pinned to one core) on the stores run.py already loaded for that scale.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))

import peers
import workload as w
from peers import JSON_RESULTS
from run import DATA, WORK


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--triples", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--in-memory", action="store_true",
                        help="also ours with --in-memory (the store copied into memory)")
    args = parser.parse_args()
    data = DATA / f"d{args.triples}"
    work = WORK / str(args.triples)
    servers = {"publisher": (lambda: peers.ours_start(data, work), "/sparql?query="),
               "oxigraph": (lambda: peers.oxigraph_start(work), "/query?query=")}
    if args.in_memory:
        servers["in memory"] = (lambda: peers.ours_start(data, work, in_memory=True),
                                "/sparql?query=")
    for rows in (100_000, 1_000_000):
        text = quote(f"SELECT ?s ?p ?o WHERE {{ ?s ?p ?o }} LIMIT {rows}")
        for name, (start, prefix) in servers.items():
            running = start()
            try:
                found = [w.stream(running.port, prefix + text, {"Accept": JSON_RESULTS},
                                  running.process.pid) for _ in range(args.runs)]
            finally:
                running.stop()
            ms = [f.first_byte_ms for f in found if isinstance(f, w.Stream)]
            print(f"{rows:>9,} rows  {name:<10} first byte median {statistics.median(ms):.1f} ms"
                  f"  (min {min(ms):.1f}, max {max(ms):.1f}, {len(ms)} runs)", flush=True)


if __name__ == "__main__":
    main()
