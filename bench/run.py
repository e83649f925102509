"""One command: the publisher against its peers, same machine, same data, same workload.

    python bench/run.py --scales 1e3,1e5,1e6 --peers all

For each scale it generates the data (bench/generate.py, cached in bench/.data/), installs
the peers into bench/.peers/ (pip, npm) or from Debian (nginx, wrk, virtuoso-opensource),
loads the same triples into each, starts each on loopback (pinned to CPU 0; wrk on CPU 1),
runs the workload, stops it, and prints one table per scale with our figure, each peer's and
the ratios the targets ask for. Raw numbers go to bench/.results/<scale>.json and the table
to bench/.results/<scale>.md. See bench/README.md for what is measured and how.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))

import peers  # noqa: E402
import workload as w  # noqa: E402
from peers import BASE, JSON_RESULTS, ROOT  # noqa: E402

DATA = ROOT / "bench" / ".data"
WORK = ROOT / "bench" / ".work"
RESULTS = ROOT / "bench" / ".results"
#: "memory" is the publisher again, serving the same store from a copy in memory (--in-memory)
ALL_PEERS = ("memory", "fastapi", "nginx", "oxigraph", "trifid", "virtuoso", "rdflib")
IN_MEMORY = "publisher (in memory)"
PREFIXES = (f"PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> PREFIX schema: "
            f"<http://schema.org/> PREFIX intl: <{BASE}def/intl#> PREFIX org: "
            f"<http://www.w3.org/ns/org#> PREFIX time: <http://www.w3.org/2006/time#> ")
#: The query set: the kinds researchers run. {c} is a city, {m} a municipality.
QUERIES = {
    "lookup": "SELECT ?p ?o WHERE {{ <{BASE}id/place/{c}> ?p ?o }}",
    "join+labels": "SELECT ?city ?label ?twin ?twinLabel WHERE {{ ?city intl:twinnedWith ?twin . "
                   "?city rdfs:label ?label . ?twin rdfs:label ?twinLabel . "
                   "FILTER(lang(?label) = 'en' && lang(?twinLabel) = 'en') }} LIMIT 200",
    "optional+lang": "SELECT ?org ?sv ?en WHERE {{ ?org a schema:GovernmentOrganization . "
                     "OPTIONAL {{ ?org rdfs:label ?sv FILTER(lang(?sv) = 'sv') }} "
                     "OPTIONAL {{ ?org rdfs:label ?en FILTER(lang(?en) = 'en') }} }} LIMIT 500",
    "group-by": "SELECT ?country (COUNT(?city) AS ?cities) WHERE {{ ?city a schema:City ; "
                "schema:containedInPlace ?country }} GROUP BY ?country ORDER BY DESC(?cities)",
    "path": "SELECT (COUNT(DISTINCT ?far) AS ?n) WHERE {{ <{BASE}id/place/{c}> "
            "intl:twinnedWith/intl:twinnedWith/intl:twinnedWith ?far }}",
    "path+": "SELECT ?unit WHERE {{ ?unit org:unitOf/schema:location/"
             "schema:containedInPlace <{BASE}id/country/c3> }} LIMIT 1000",
    "text": "SELECT ?city ?name WHERE {{ ?city a schema:City ; schema:name ?name . "
            "FILTER(CONTAINS(LCASE(?name), 'borgvik')) }}",
    "ask": "ASK {{ ?twin intl:twinnedWith <{BASE}id/place/{c}> }}",
    "large": "SELECT ?s ?p ?o WHERE {{ ?s ?p ?o }} LIMIT 10000",
    "members": "SELECT ?network (COUNT(?m) AS ?members) (MIN(?d) AS ?first) WHERE {{ "
               "?m org:organization ?network ; org:memberDuring/time:hasBeginning/"
               "time:inXSDDate ?d }} GROUP BY ?network",
}
SMALL = "lookup"
FORMATS = {"turtle": "text/turtle", "jsonld": "application/ld+json", "html": "text/html"}


def query(name: str, n_cities: int) -> str:
    return PREFIXES + QUERIES[name].format(BASE=BASE, c=f"c{7 % n_cities}")


def ours_post(text: str) -> w.Request:
    """A query to ours by POST (always evaluated: the replay layer answers GET only)."""
    return ("POST", "/sparql", {"Accept": JSON_RESULTS,
                                "Content-Type": "application/x-www-form-urlencoded"}, w.form(text))


def scale(text: str) -> int:
    return int(float(text))


def label(n: int) -> str:
    return f"1e{len(str(n)) - 1}" if str(n).strip("0") == "1" else f"{n:,}"


def data_file(n: int) -> Path:
    folder = DATA / f"d{n}"
    path = folder / f"{n}.nt"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        peers.run([sys.executable, str(ROOT / "bench" / "generate.py"), "--triples", str(n),
                   "--out", str(path)])
    return path


def doc_paths(n_cities: int, count: int = 50) -> list[str]:
    kinds = ("place/c{i}", "organization/m{i}", "unit/m{i}-intl")
    return [kinds[k % 3].format(i=(k * 7919) % n_cities) for k in range(count)]


class Bench:
    def __init__(self, n: int, selected: set[str], seconds: float) -> None:
        self.n, self.selected, self.seconds = n, selected, seconds
        self.data = data_file(n)
        self.work = WORK / str(n)
        self.work.mkdir(parents=True, exist_ok=True)
        self.scripts = self.work / "lua"
        self.scripts.mkdir(exist_ok=True)
        self.cities = max(1, (n - 400) // 75)  # municipalities complete in the data
        self.r: dict[str, dict[str, Any]] = {}

    # -- recording -------------------------------------------------------------------------

    def put(self, measure: str, peer: str, value: Any) -> None:
        self.r.setdefault(measure, {})[peer] = value
        print(f"  {measure:<32} {peer:<18} {value}", flush=True)

    def attempt(self, peer: str, measure: str, action: Callable[[], Any]) -> Any:
        try:
            return action()
        except Exception as exc:  # noqa: BLE001  (the table says what failed)
            self.put(measure, peer, f"failed: {str(exc)[:160]}")
            return None

    def wrk(self, port: int, name: str, requests: list[w.Request],
            connections: int, pin: bool = True) -> w.WrkResult | str:
        script = w.lua_script(self.scripts, name, requests)
        w.wrk(port, script, connections, 1, pin=pin)  # warm-up: caches, JIT, connections
        return w.wrk(port, script, connections, self.seconds, pin=pin)

    # -- the workload -------------------------------------------------------------------------

    def deref(self, peer: str, port: int, path_for: Callable[[str], str],
              fmts: tuple[str, ...] = tuple(FORMATS)) -> None:
        for fmt in fmts:
            requests = [("GET", path_for(p), {"Accept": FORMATS[fmt]}, "")
                        for p in doc_paths(self.cities)]
            for c in (1, 32):
                self.put(f"deref {fmt} c{c}", peer, self.wrk(port, f"{peer}-{fmt}-{c}",
                                                            requests, c))

    def sparql_set(self, peer: str, port: int, how: Callable[[str], w.Request],
                   runs: int = 30, budget: float = 6.0) -> None:
        for name in QUERIES:
            method, path, headers, body = how(query(name, self.cities))
            self.put(f"q {name} (ms med/p95)", peer,
                     w.latency(port, method, path, headers, body or None, runs, budget))

    def small_select(self, peer: str, port: int,
                     how: Callable[[str], w.Request]) -> None:
        request = how(query(SMALL, self.cities))
        self.put("small SELECT c32", peer, self.wrk(port, f"{peer}-small", [request], 32))

    def streaming(self, peer: str, port: int, pid: int, path_for: Callable[[str], str]) -> None:
        if self.n < 1_000_000:
            return
        for rows in (100_000, 1_000_000):
            text = f"SELECT ?s ?p ?o WHERE {{ ?s ?p ?o }} LIMIT {rows}"
            self.put(f"stream {rows // 1000}k rows (ttfb/total/+rss)", peer,
                     w.stream(port, path_for(text), {"Accept": JSON_RESULTS}, pid))

    def memory(self, peer: str, pid: int) -> None:
        main, total = w.peak_rss_mb(pid)
        self.put("peak RSS MB (main/all)", peer, f"{main:.0f}/{total:.0f}")
        self.r.setdefault("_rss_total", {})[peer] = total
        pss = w.pss_mb(pid)  # after the whole workload, large answers included
        self.put("PSS MB at end (all)", peer, f"{pss:.0f}")
        self.r.setdefault("_pss", {})[peer] = pss

    # -- the peers ---------------------------------------------------------------------------

    def ours_load(self) -> None:
        """`publisher load`: "load s" is the store (filled and compacted, as Oxigraph's load
        and optimize), "descriptions s" the dumps and statistics it then writes, which no
        peer's load does (the first request for /catalog would otherwise wait for them)."""
        loaded = self.attempt("publisher", "load s", lambda: peers.ours_load(
            self.data.parent, self.work))
        if loaded is not None:
            seconds, described = loaded
            self.put("load s", "publisher", f"{seconds:.2f}")
            self.put("descriptions s", "publisher", f"{described:.2f}")
            self.r.setdefault("_load_rate", {})["publisher"] = self.n / seconds

    def ours(self) -> None:
        self.ours_load()
        running = self.attempt("publisher", "restart s", lambda: peers.ours_start(
            self.data.parent, self.work))
        if running is None:
            return
        try:
            self.put("restart s", "publisher", f"{running.ready_seconds:.2f}")
            self.descriptions(running.port)
            self.deref("publisher", running.port, lambda p: f"/doc/{p}")
            self._ceiling_bodies(running.port)

            def get(text: str) -> w.Request:
                return ("GET", "/sparql?" + w.form(text), {"Accept": JSON_RESULTS}, "")

            self.sparql_set("publisher", running.port, ours_post)
            self.sparql_set("publisher (repeat)", running.port, get)
            self.small_select("publisher", running.port, ours_post)
            self.small_select("publisher (repeat)", running.port, get)
            self.streaming("publisher", running.port, running.pid,
                           lambda text: "/sparql?" + w.form(text))
            self.memory("publisher", running.pid)
        finally:
            running.stop()
        self.workers()

    def ours_in_memory(self) -> None:
        """The same store served with --in-memory: its start (the copy), the evaluated
        queries and memory; what does not touch the engine is the same as above."""
        running = self.attempt(IN_MEMORY, "restart s", lambda: peers.ours_start(
            self.data.parent, self.work, in_memory=True))
        if running is None:
            return
        try:
            self.put("restart s", IN_MEMORY, f"{running.ready_seconds:.2f}")
            self.sparql_set(IN_MEMORY, running.port, ours_post)
            self.small_select(IN_MEMORY, running.port, ours_post)
            self.streaming(IN_MEMORY, running.port, running.pid,
                           lambda text: "/sparql?" + w.form(text))
            self.memory(IN_MEMORY, running.pid)
        finally:
            running.stop()

    def descriptions(self, port: int) -> None:
        """The first answer of each description of the whole dataset, right after the
        restart: the catalogue (which declares the dumps), VoID and the service description.
        Their numbers scan the whole store; `publisher load` wrote them, so this measures
        reading them (no peer publishes these)."""
        for measure, path in (("first /catalog ms", "/catalog.ttl"),
                              ("first VoID ms", "/.well-known/void"),
                              ("first service description ms", "/sparql")):
            client = w.Client(port, timeout=900)
            try:
                status, _, millis = client.request("GET", path, {"Accept": "text/turtle"})
            except (OSError, http.client.HTTPException) as exc:
                self.put(measure, "publisher", f"failed: {exc}")
                continue
            finally:
                client.close()
            self.put(measure, "publisher", f"{millis:.1f}" if status == 200
                     else f"failed: HTTP {status}")

    def workers(self) -> None:
        """1 and 2 uvicorn workers sharing the on-disk store; server and wrk unpinned, so
        wrk takes its share of the same two cores: measured with documents (replayed, little
        server work a request, so wrk's share is large) and with the small SELECT (evaluated,
        several times the server work a request)."""
        kinds = {"turtle": [("GET", f"/doc/{p}", {"Accept": "text/turtle"}, "")
                            for p in doc_paths(self.cities)],
                 "small SELECT": [ours_post(query(SMALL, self.cities))]}
        for count in (1, 2):
            running = self.attempt("publisher", f"workers={count} turtle c32",
                                   lambda n=count: peers.ours_start(
                                       self.data.parent, self.work, workers=n, cpus=""))
            if running is None:
                continue
            try:
                for kind, requests in kinds.items():
                    self.put(f"workers={count} {kind} c32", "publisher",
                             self.wrk(running.port, f"workers-{count}-{kind.split()[-1]}",
                                      requests, 32, pin=False))
            finally:
                running.stop()

    def _ceiling_bodies(self, port: int) -> None:
        folder = self.work / "ceiling"
        folder.mkdir(exist_ok=True)
        client = w.Client(port)
        for fmt, ext in (("turtle", "ttl"), ("jsonld", "jsonld"), ("html", "html")):
            _, body, _ = client.request("GET", f"/doc/{doc_paths(self.cities)[0]}",
                                        {"Accept": FORMATS[fmt]})
            (folder / f"doc.{ext}").write_bytes(body)
        _, body, _ = client.request("GET", "/sparql?" + w.form(query(SMALL, self.cities)),
                                    {"Accept": JSON_RESULTS})
        (folder / "small.srj").write_bytes(body)
        client.close()

    def ceiling(self) -> None:
        running = self.attempt("fastapi", "deref turtle c1", lambda: peers.ceiling_start(
            self.work / "ceiling", self.work))
        if running is None:
            return
        try:
            for fmt, ext in (("turtle", "ttl"), ("jsonld", "jsonld"), ("html", "html")):
                for c in (1, 32):
                    self.put(f"deref {fmt} c{c}", "fastapi", self.wrk(
                        running.port, f"ceiling-{fmt}-{c}",
                        [("GET", f"/doc.{ext}", {"Accept": FORMATS[fmt]}, "")], c))
            self.put("small SELECT c32", "fastapi", self.wrk(
                running.port, "ceiling-small", [("GET", "/small.srj", {}, "")], 32))
            self.memory("fastapi", running.pid)
        finally:
            running.stop()

    def nginx(self) -> None:
        """The shipped conneg config over `publisher export` of the 1e3 graph, and one file."""
        site = WORK / "export-1000"
        if not (site / "index.html").exists():
            small = data_file(1000).parent
            empty = self.work / "no-ontology"
            empty.mkdir(exist_ok=True)
            peers.run([sys.executable, "-m", "publisher", "export", str(site), "--force",
                       "--data-dir", str(small), "--ontology-dir", str(empty)], cwd=ROOT)
        running = self.attempt("nginx", "deref turtle c32", lambda: peers.nginx_start(
            site, self.work))
        if running is None:
            return
        try:
            paths = doc_paths((1000 - 400) // 75)
            for fmt in FORMATS:
                for c in (1, 32):
                    self.put(f"deref {fmt} c{c}", "nginx export", self.wrk(
                        running.port, f"nginx-{fmt}-{c}",
                        [("GET", f"/doc/{p}", {"Accept": FORMATS[fmt]}, "") for p in paths], c))
                    ext = {"turtle": "ttl", "jsonld": "jsonld", "html": "html"}[fmt]
                    self.put(f"deref {fmt} c{c}", "nginx 1 file", self.wrk(
                        running.port, f"nginx-file-{fmt}-{c}",
                        [("GET", f"/doc/{paths[0]}.{ext}", {"Accept": FORMATS[fmt]}, "")], c))
        finally:
            running.stop()

    def oxigraph(self) -> None:
        seconds = self.attempt("oxigraph", "load s", lambda: peers.oxigraph_load(
            self.data, self.work))
        if seconds is None:
            return
        self.put("load s", "oxigraph", f"{seconds:.2f}")
        self.r.setdefault("_load_rate", {})["oxigraph"] = self.n / seconds
        running = self.attempt("oxigraph", "restart s", lambda: peers.oxigraph_start(self.work))
        if running is None:
            return
        try:
            self.put("restart s", "oxigraph", f"{running.ready_seconds:.2f}")

            def post(text: str) -> w.Request:
                return ("POST", "/query", {"Accept": JSON_RESULTS,
                        "Content-Type": "application/sparql-query"}, text)

            self.sparql_set("oxigraph", running.port, post)
            self.small_select("oxigraph", running.port, post)
            self.streaming("oxigraph", running.port, running.pid,
                           lambda text: "/query?query=" + quote(text, safe=""))
            self.memory("oxigraph", running.pid)
            if "trifid" in self.selected:
                self.trifid(running)
        finally:
            running.stop()

    def trifid(self, oxigraph: peers.Running) -> None:
        running = self.attempt("trifid", "deref turtle c1", lambda: peers.trifid_start(
            oxigraph, self.work))
        if running is None:
            return
        try:
            self.deref("trifid", running.port, lambda p: f"/id/{p}")
            self.memory("trifid", running.pid)
        finally:
            running.stop()

    def virtuoso(self) -> None:
        virtuoso = peers.Virtuoso(self.data, self.work)
        loaded = self.attempt("virtuoso", "load s", virtuoso.load)
        if loaded is None:
            return
        running, seconds = loaded
        running.stop()
        self.put("load s", "virtuoso", f"{seconds:.2f}")
        self.r.setdefault("_load_rate", {})["virtuoso"] = self.n / seconds
        running = self.attempt("virtuoso", "restart s", virtuoso.start)
        if running is None:
            return
        try:
            self.put("restart s", "virtuoso", f"{running.ready_seconds:.2f}")

            def post(text: str) -> w.Request:
                return ("POST", "/sparql", {"Accept": JSON_RESULTS,
                        "Content-Type": "application/x-www-form-urlencoded"}, w.form(text))

            self.sparql_set("virtuoso", running.port, post)
            self.small_select("virtuoso", running.port, post)
            self.streaming("virtuoso", running.port, running.pid, peers.virtuoso_query_path)
            self.memory("virtuoso", running.pid)
        finally:
            running.stop()

    def rdflib(self) -> None:
        running = self.attempt("rdflib-endpoint", "load s", lambda: peers.rdflib_start(
            self.data, self.work))
        if running is None:
            return
        try:
            self.put("load s", "rdflib-endpoint", f"{running.ready_seconds:.2f} (at start)")

            def post(text: str) -> w.Request:
                return ("POST", "/", {"Accept": JSON_RESULTS,  # `serve` answers at /
                        "Content-Type": "application/x-www-form-urlencoded"}, w.form(text))

            self.sparql_set("rdflib-endpoint", running.port, post, runs=10, budget=20.0)
            self.small_select("rdflib-endpoint", running.port, post)
            self.memory("rdflib-endpoint", running.pid)
        finally:
            running.stop()

    def load_restart(self) -> dict[str, Any]:
        """Only load, reopen (time to the first answer), one look-up and memory: a quick look
        at a large scale."""
        print(f"\n== {label(self.n)} triples, load and restart only ==", flush=True)
        self.ours_load()
        seconds = self.attempt("oxigraph", "load s",
                               lambda: peers.oxigraph_load(self.data, self.work))
        if seconds is not None:
            self.put("load s", "oxigraph", f"{seconds:.2f}")
            self.r.setdefault("_load_rate", {})["oxigraph"] = self.n / seconds
        for peer, start in (("publisher", lambda: peers.ours_start(self.data.parent, self.work)),
                            ("oxigraph", lambda: peers.oxigraph_start(self.work))):
            running = self.attempt(peer, "restart s", start)
            if running is None:
                continue
            try:
                self.put("restart s", peer, f"{running.ready_seconds:.2f}")
                path = "/sparql" if peer == "publisher" else "/query"
                self.put("q lookup (ms med/p95)", peer, w.latency(
                    running.port, "POST", path, {"Accept": JSON_RESULTS, "Content-Type":
                                                 "application/sparql-query"},
                    query(SMALL, self.cities), 20, 5.0))
                self.memory(peer, running.pid)
            finally:
                running.stop()
        return self.r

    def run(self) -> dict[str, Any]:
        print(f"\n== {label(self.n)} triples ({self.data}) ==", flush=True)
        self.ours()
        order = (("memory", self.ours_in_memory), ("fastapi", self.ceiling),
                 ("nginx", self.nginx), ("oxigraph", self.oxigraph),
                 ("virtuoso", self.virtuoso), ("rdflib", self.rdflib))
        for name, action in order:
            if name in self.selected or (name == "oxigraph" and "trifid" in self.selected):
                action()
        return self.r


# -- the table ---------------------------------------------------------------------------------

COLUMNS = ("publisher", "publisher (repeat)", IN_MEMORY, "fastapi", "nginx export", "nginx 1 file",
           "oxigraph", "trifid", "virtuoso", "rdflib-endpoint")


def _num(value: Any, attr: str = "rps") -> float | None:
    if isinstance(value, w.WrkResult):
        return value.rps
    if isinstance(value, w.Latency):
        return value.median
    if isinstance(value, dict):
        return value.get(attr)
    try:
        return float(str(value).split()[0].split("/")[0].replace(",", ""))
    except (ValueError, IndexError):
        return None


def ratios(measure: str, row: dict[str, Any]) -> str:
    def get(peer: str) -> float | None:
        return _num(row.get(peer)) if peer in row else None

    ours, repeat, memory = get("publisher"), get("publisher (repeat)"), get(IN_MEMORY)
    out = []
    if measure.startswith("deref") and ours:
        for peer, short in (("fastapi", "FastAPI"), ("trifid", "Trifid")):
            if get(peer):
                out.append(f"{ours / get(peer):.2f}× {short}")  # type: ignore[operator]
    if measure.startswith("deref") and get("nginx export") and get("nginx 1 file"):
        out.append(f"export {get('nginx export') / get('nginx 1 file'):.2f}× 1 file")  # type: ignore[operator]
    if measure == "small SELECT c32":
        for mine, tag in ((ours, ""), (memory, " (in memory)"), (repeat, " (repeat)")):
            for peer, short in (("fastapi", "FastAPI"), ("virtuoso", "Virtuoso"),
                                ("rdflib-endpoint", "rdflib"), ("oxigraph", "Oxigraph")):
                if mine and get(peer):
                    out.append(f"{mine / get(peer):.2f}× {short}{tag}")  # type: ignore[operator]
    if measure.startswith("q ") and ours and get("oxigraph"):
        ox = get("oxigraph")
        out.append(f"{ours - ox:+.2f} ms vs Oxigraph ({ours / ox:.2f}×)")  # type: ignore[operator]
        if memory:
            out.append(f"in memory {memory - ox:+.2f} ms ({memory / ox:.2f}×)")  # type: ignore[operator]
        if repeat:
            fastest = min(v for v in (get("virtuoso"), ox, get("rdflib-endpoint")) if v)
            out.append(f"repeat {w.millis(repeat)} ms vs best peer {w.millis(fastest)}")
        if get("rdflib-endpoint"):
            out.append(f"rdflib {get('rdflib-endpoint') / ours:.1f}× ours")  # type: ignore[operator]
    if measure.startswith("stream") and get("oxigraph"):
        for mine, tag in ((ours, ""), (memory, " (in memory)")):
            if mine:
                out.append(f"ttfb{tag} {mine / get('oxigraph'):.2f}× Oxigraph")  # type: ignore[operator]
    return "; ".join(out)


def table(n: int, r: dict[str, Any]) -> str:
    present = [c for c in COLUMNS if any(c in row for k, row in r.items() if not k.startswith("_"))]
    lines = [f"### {label(n)} triples", "",
             "| measure | " + " | ".join(present) + " | ratios |",
             "|---|" + "---|" * len(present) + "---|"]
    for measure, row in r.items():
        if measure.startswith("_"):
            continue
        cells = [str(row.get(c, "")) for c in present]
        lines.append(f"| {measure} | " + " | ".join(cells) + f" | {ratios(measure, row)} |")
    rates = r.get("_load_rate", {})
    if rates.get("publisher") and rates.get("oxigraph"):
        lines.append("")
        lines.append(f"Load rate: publisher {rates['publisher']:,.0f} triples/s, Oxigraph "
                     f"{rates['oxigraph']:,.0f} triples/s "
                     f"({rates['publisher'] / rates['oxigraph']:.2f}×).")
    for kind in ("turtle", "small SELECT"):
        one, two = (_num(r.get(f"workers={k} {kind} c32", {}).get("publisher"))
                    for k in (1, 2))
        if one and two:
            lines.append(f"Workers ({kind}): 2 give {two / one:.2f}× the throughput of 1.")
    rss, pss = r.get("_rss_total", {}), r.get("_pss", {})
    for mine in ("publisher", IN_MEMORY):
        if rss.get(mine) and rss.get("oxigraph"):
            lines.append(f"Peak RSS (all processes): {mine} {rss[mine]:.0f} MB, Oxigraph "
                         f"{rss['oxigraph']:.0f} MB ({rss[mine] / rss['oxigraph']:.2f}×).")
        if pss.get(mine) and pss.get("oxigraph"):
            lines.append(f"PSS at the end (all processes): {mine} {pss[mine]:.0f} MB, "
                         f"Oxigraph {pss['oxigraph']:.0f} MB.")
    return "\n".join(lines) + "\n"


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
               platform.processor())
    mem = int(Path("/proc/meminfo").read_text().split()[1]) / 1024 / 1024
    return (f"{os.cpu_count()} × {cpu}, {mem:.0f} GB RAM, {platform.system()} "
            f"{platform.release()}, Python {platform.python_version()}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="1e3,1e5,1e6",
                        help="triples per run, comma-separated (default 1e3,1e5,1e6)")
    parser.add_argument("--peers", default="all",
                        help=f"'all' or a comma-separated subset of {','.join(ALL_PEERS)}")
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds per wrk run")
    parser.add_argument("--no-install", action="store_true", help="use what is installed")
    parser.add_argument("--load-only", action="store_true",
                        help="only load, restart, one look-up and memory (quick, for 1e7)")
    args = parser.parse_args(argv)
    selected = set(ALL_PEERS) if args.peers == "all" else set(args.peers.split(","))
    if not args.no_install:
        for what, error in peers.install().items():
            print(f"install {what}: {error}", file=sys.stderr)
    RESULTS.mkdir(parents=True, exist_ok=True)
    started = time.strftime("%Y-%m-%d %H:%M %Z")
    load_before = os.getloadavg()
    print(f"{started}; {machine()}; load average {load_before[0]:.2f}")
    tables = []
    for text in args.scales.split(","):
        n = scale(text)
        bench = Bench(n, selected - ({"nginx"} if n != scale(args.scales.split(",")[0])
                                    else set()), args.seconds)
        r = bench.load_restart() if args.load_only else bench.run()
        tables.append(table(n, r))
        (RESULTS / f"{n}.md").write_text(tables[-1])
        (RESULTS / f"{n}.json").write_text(json.dumps(r, default=str, indent=1))
    print("\n" + "\n".join(tables))
    print(f"load average before {load_before[0]:.2f}, after {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
