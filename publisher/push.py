"""``publisher push``: load data/ and ontology/ (or any RDF files) into a remote store.

Readers must never see half a load, and a store may not run a multi-operation update as
one transaction (Virtuoso 7.2 does not: an operation that fails leaves the ones before it
applied — docs/deployment.md). So the load never depends on that:

1. Every file is parsed first (a syntax error stops the push before the store is touched).
2. Each graph is uploaded into a new staging graph ``urn:x-publisher:staging:<tag>:<n>``
   with the Graph Store Protocol (PUT, then POST in slices; triples with blank nodes go in
   one slice so their identity holds). Readers never see staging graphs: every query of the
   publisher names our graphs, listed in the meta graph, as its dataset.
3. The meta graph's state becomes ``swapping``, and the push waits ``store_version_ttl``
   (plus a margin) so every instance has seen it. From then on instances answer what they
   have cached and 503 + Retry-After for the rest — never a mix of two loads.
4. One update request MOVEs every staging graph onto its graph and DROPs graphs no longer
   published; then the meta graph gets the new version, time, triple count and graph list
   and state ``ready``, last. A push that fails in 4 leaves state ``swapping`` (instances
   keep serving their caches and 503 otherwise); pushing again completes it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import httpx
import pyoxigraph as ox

from publisher.config import Settings, is_remote
from publisher.endpoint import Endpoint, http_url
from publisher.errors import ConfigError, DataError
from publisher.query_text import iri
from publisher.remote import (
    META_GRAPH,
    META_MODIFIED,
    META_STATE,
    META_TRIPLES,
    META_VERSION,
    RemoteStore,
    meta_graph,
)
from publisher.source import (
    RDF_SUFFIXES,
    SourceFile,
    fingerprint,
    last_modified,
    rdf_suffix,
    read_quads,
    source_files,
)

SLICE = 100_000  # triples per upload request
XSD = "http://www.w3.org/2001/XMLSchema#"


@dataclass(frozen=True)
class Pushed:
    version: str
    graphs: int
    triples: int
    seconds: float


def files_for(settings: Settings, paths: Iterable[str]) -> list[SourceFile]:
    """data/ and ontology/, or the given RDF files (each its graph ``<base>graph/<stem>``)."""
    paths = list(paths)
    if not paths:
        return source_files(settings)
    found = []
    for name in paths:
        path = Path(name)
        if not path.is_file():
            raise DataError(f"{path}: no such file")
        if rdf_suffix(path) not in RDF_SUFFIXES:
            raise DataError(f"{path}: not an RDF file ({', '.join(sorted(RDF_SUFFIXES))})")
        stem = path.name.removesuffix(".gz").removesuffix(rdf_suffix(path))
        found.append(SourceFile(path, settings.iri(f"graph/{stem}")))
    return found


def push(settings: Settings, paths: Iterable[str] = (),
         say: Callable[[str], None] = print) -> Pushed:
    if not is_remote(settings.store) or not settings.store_update:
        raise ConfigError("push needs --store sparql+http(s)://... and --store-update URL")
    started = time.monotonic()
    files = files_for(settings, paths)
    graphs: dict[str, list[ox.Triple]] = {}
    for source in files:  # parse everything before touching the store
        for quad in read_quads(source, settings.base):
            assert not isinstance(quad.graph_name, ox.DefaultGraph)  # read_quads names every graph
            graphs.setdefault(quad.graph_name.value, []).append(quad.triple)
    version = fingerprint(files, settings)
    store = RemoteStore(settings)
    loader = _Loader(settings, store.endpoint)
    tag = f"{version}-{int(time.time())}"
    staging = {graph: f"urn:x-publisher:staging:{tag}:{n}" for n, graph in enumerate(graphs)}
    try:
        for graph, triples in graphs.items():
            loader.upload(staging[graph], triples)
            say(f"uploaded {len(triples)} triples of <{graph}>")
        count = loader.count(list(staging.values()))
    except BaseException:
        loader.update(" ; ".join(f"DROP SILENT GRAPH {iri(g)}" for g in staging.values()))
        raise
    meta = meta_graph(settings.base)
    previous = _published(store, meta)
    loader.update(_set_state(meta, "swapping"))
    if previous:  # let every instance see "swapping" before the data changes
        time.sleep(settings.store_version_ttl + 0.5)
    gone = [g for g in previous if g not in graphs]
    loader.update(" ;\n".join(
        [f"MOVE SILENT {iri(staging[g])} TO {iri(g)}" for g in graphs]
        + [f"DROP SILENT GRAPH {iri(g)}" for g in gone]))
    loader.update(_meta_update(meta, version, last_modified(files), count, sorted(graphs)))
    seconds = time.monotonic() - started
    say(f"pushed version {version}: {count} triples in {len(graphs)} graphs ({seconds:.1f} s)")
    return Pushed(version, len(graphs), count, seconds)


def _published(store: RemoteStore, meta: str) -> list[str]:
    rows = store._select(f"SELECT ?g FROM {iri(meta)} WHERE {{ {iri(meta)} <{META_GRAPH}> ?g }}")
    return [row["g"].value for row in rows]


def _set_state(graph: str, state: str) -> str:
    meta, prop = iri(graph), iri(META_STATE)
    # not DELETE/INSERT ... WHERE { OPTIONAL ... }: Virtuoso 7.2 finds no solution in an
    # empty graph there, and would insert nothing
    return (f"DELETE WHERE {{ GRAPH {meta} {{ {meta} {prop} ?old }} }} ;\n"
            f"INSERT DATA {{ GRAPH {meta} {{ {meta} {prop} {ox.Literal(state)} }} }}")


def _meta_update(graph: str, version: str, modified: float, triples: int,
                 graphs: list[str]) -> str:
    """The whole meta graph replaced, state ``ready``. Between the two operations a reader
    may find no version; it then keeps the one it had, as while swapping (remote.py)."""
    meta = iri(graph)
    new = [(META_VERSION, ox.Literal(version)),
           (META_MODIFIED, ox.Literal(repr(modified), datatype=ox.NamedNode(XSD + "double"))),
           (META_TRIPLES, ox.Literal(str(triples), datatype=ox.NamedNode(XSD + "integer"))),
           (META_STATE, ox.Literal("ready")),
           *[(META_GRAPH, ox.NamedNode(g)) for g in graphs]]
    body = " ".join(f"{meta} {iri(p)} {o} ." for p, o in new)
    return (f"DELETE WHERE {{ GRAPH {meta} {{ {meta} ?p ?o }} }} ;\n"
            f"INSERT DATA {{ GRAPH {meta} {{ {body} }} }}")


class _Loader:
    """Writes through the Update endpoint and (for uploads) the Graph Store Protocol."""

    def __init__(self, settings: Settings, endpoint: Endpoint) -> None:
        self.settings, self.endpoint, self.store = settings, endpoint, http_url(settings.store)
        self.update_url = http_url(settings.store_update)
        self.gsp_url = http_url(settings.store_gsp) if settings.store_gsp else ""

    def update(self, text: str) -> None:
        response = self.endpoint.send(
            "POST", self.update_url, retry=False, read_timeout=600.0,
            content=text.encode(), headers={"Content-Type": "application/sparql-update"})
        _check(response, "update")

    def upload(self, graph: str, triples: list[ox.Triple]) -> None:
        """PUT the first slice, POST (add) the others; blank-node triples share one slice."""
        plain = [t for t in triples if not _has_blank(t)]
        blank = [t for t in triples if _has_blank(t)]
        slices = [plain[i:i + SLICE] for i in range(0, len(plain), SLICE)] or [[]]
        slices[-1] = slices[-1] + blank
        for number, part in enumerate(slices):
            body = ox.serialize(part, format=ox.RdfFormat.N_TRIPLES) or b""
            if self.gsp_url:
                response = self.endpoint.send(
                    "PUT" if number == 0 else "POST", self.gsp_url, retry=False,
                    read_timeout=600.0, params={"graph": graph}, content=body,
                    headers={"Content-Type": "application/n-triples"})
                _check(response, f"upload of <{graph}>")
            else:
                self.update(f"INSERT DATA {{ GRAPH {iri(graph)} {{ {body.decode()} }} }}")

    def count(self, graphs: list[str]) -> int:
        response = self.endpoint.send(
            "POST", self.store, read_timeout=600.0,
            data={"query": "SELECT (COUNT(*) AS ?n) WHERE { SELECT DISTINCT ?s ?p ?o "
                  "WHERE { ?s ?p ?o } }", "default-graph-uri": graphs},
            headers={"Accept": "application/sparql-results+xml"})
        _check(response, "count")
        # a SELECT's results are solutions, not a boolean
        rows = list(cast(ox.QuerySolutions,
                         ox.parse_query_results(response.content, ox.QueryResultsFormat.XML)))
        return int(rows[0]["n"].value)


def _has_blank(triple: ox.Triple) -> bool:
    return isinstance(triple.subject, ox.BlankNode) or isinstance(triple.object, ox.BlankNode)


def _check(response: httpx.Response, what: str) -> None:
    if response.status_code >= 300:
        text = response.text.strip().splitlines()[0][:300] if response.text.strip() else ""
        raise DataError(f"the store refused the {what}: {response.status_code} {text}")
