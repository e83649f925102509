"""``publisher push``: load data/ and ontology/ (or any RDF files) into a remote store.

Readers must never see half a load, and a store may not run a multi-operation update as
one transaction (Virtuoso 7.2 does not: an operation that fails leaves the ones before it
applied — docs/deployment.md). So the load never depends on that:

1. Every file is parsed first (a syntax error stops the push before the store is touched).
2. The meta graph lists the push's staging graphs (the next push drops what a failed one left
   there). Each graph is uploaded into a new staging graph ``urn:x-publisher:staging:<tag>:<n>``
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

Whatever ends a push before its MOVE is sent (an error, Ctrl-C) has changed nothing that is
published: the state is set back to what it was and the staging graphs are dropped, best
effort, so that no instance is left answering 503. Every failure is one line naming the
endpoint and the cause; when the state stays ``swapping``, the line says so and that pushing
again is the way out.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self, cast

import httpx
import pyoxigraph as ox

from publisher.config import Settings, is_remote
from publisher.endpoint import Endpoint, StoreFailed, checked_url, first_line
from publisher.errors import ConfigError, DataError, PublisherError, ServiceUnavailable
from publisher.query_text import iri
from publisher.remote import (
    META_GRAPH,
    META_MODIFIED,
    META_STAGING,
    META_STATE,
    META_TRIPLES,
    META_VERSION,
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


@dataclass(frozen=True)
class Previous:
    """What the meta graph held when the push began."""

    graphs: tuple[str, ...]
    state: str | None         # None: no state (nothing pushed yet)
    staging: tuple[str, ...]  # staging graphs a push that failed left behind


def files_for(settings: Settings, paths: Iterable[str]) -> list[SourceFile]:
    """data/ and ontology/, or the given RDF files: each in the graph a whole push gives it
    if it is one of theirs (``push data/places.ttl`` replaced ``graph/data/places`` with a
    new ``graph/places``), else ``<base>graph/<stem>``; two files for one graph are refused
    (they were merged)."""
    paths = list(paths)
    if not paths:
        return source_files(settings)
    found: dict[str, SourceFile] = {}
    ours = {source.path.resolve(): source.graph for source in source_files(settings)} \
        if settings.data_dir.is_dir() and settings.ontology_dir.is_dir() else {}
    for name in paths:
        path = Path(name)
        if not path.is_file():
            raise DataError(f"{path}: no such file")
        if rdf_suffix(path) not in RDF_SUFFIXES:
            raise DataError(f"{path}: not an RDF file ({', '.join(sorted(RDF_SUFFIXES))})")
        # a file of data/ or ontology/ keeps the graph a whole push gives it
        stem = path.name.removesuffix(".gz").removesuffix(rdf_suffix(path))
        graph = ours.get(path.resolve()) or settings.iri(f"graph/{stem}")
        if graph in found:
            raise DataError(f"{path} and {found[graph].path} would both be the graph <{graph}>;"
                            " push one of them, or rename it")
        found[graph] = SourceFile(path, graph)
    return list(found.values())


def push(settings: Settings, paths: Iterable[str] = (),
         say: Callable[[str], None] = print) -> Pushed:
    if not is_remote(settings.store) or not settings.store_update:
        raise ConfigError("push needs --store sparql+http(s)://... and --store-update URL")
    started = time.monotonic()
    with _Loader(settings) as loader:  # (the URLs checked before any file is read)
        files = files_for(settings, paths)
        graphs: dict[str, list[ox.Triple]] = {}
        for source in files:  # parse everything before touching the store
            for quad in read_quads(source, settings.base):
                assert not isinstance(quad.graph_name, ox.DefaultGraph)  # read_quads names all
                graphs.setdefault(quad.graph_name.value, []).append(quad.triple)
        version = fingerprint(files, settings)
        count = _swap(loader, settings, graphs, version, last_modified(files), say)
    seconds = time.monotonic() - started
    say(f"pushed version {version}: {count} triples in {len(graphs)} graphs ({seconds:.1f} s)")
    return Pushed(version, len(graphs), count, seconds)


def _swap(loader: _Loader, settings: Settings, graphs: dict[str, list[ox.Triple]],
          version: str, modified: float, say: Callable[[str], None]) -> int:
    """Steps 2 to 4 of the module's docstring; the number of triples pushed."""
    meta = meta_graph(settings.base)
    previous = loader.previous(meta)
    tag = f"{version}-{int(time.time())}"
    staging = {graph: f"urn:x-publisher:staging:{tag}:{n}" for n, graph in enumerate(graphs)}
    loader.update(_begin(meta, previous.staging, list(staging.values())))
    step = "upload"  # how far it got, for _undo: "upload", "swapping", "swap"
    try:
        for graph, triples in graphs.items():
            loader.upload(staging[graph], triples)
            say(f"uploaded {len(triples)} triples of <{graph}>")
        count = loader.count(list(staging.values()))
        step = "swapping"  # (set first: an interrupt may land once the request is sent)
        loader.update(_set_state(meta, "swapping"))
        if previous.graphs:  # let every instance see "swapping" before the data changes
            time.sleep(settings.store_version_ttl + 0.5)
        step = "swap"  # from here on what is published may have changed
        gone = [g for g in previous.graphs if g not in graphs]
        if gone:  # (push FILE... publishes exactly those files: README)
            say(f"dropping {len(gone)} published graphs this push does not hold: "
                + ", ".join(f"<{g}>" for g in gone[:3]) + (" ..." if len(gone) > 3 else ""))
        loader.update(" ;\n".join(
            [f"MOVE SILENT {iri(staging[g])} TO {iri(g)}" for g in graphs]
            + [f"DROP SILENT GRAPH {iri(g)}" for g in gone]))
        loader.update(_meta_update(meta, version, modified, count, sorted(graphs)))
    except BaseException as exc:
        _undo(loader, meta, step, previous, list(staging.values()), exc)
        raise
    return count


def _undo(loader: _Loader, meta: str, step: str, previous: Previous, staging: list[str],
          exc: BaseException) -> None:
    """What ends a push before its swap changed nothing published: set the state back,
    drop the staging graphs (best effort: the meta graph lists them for the next push),
    and let ``exc`` go on. If the state stays ``swapping`` (the swap was sent, setting the
    state back failed, or an earlier push left it), raise DataError saying so and how to
    get out of it, the cause first, in one line."""
    why = ""
    if step == "swap":
        why = "the swap had been sent"
    elif step == "swapping":
        try:
            loader.update(_set_state(meta, previous.state))
        except Exception as failed:  # noqa: BLE001  (named in the one line below)
            why = f"setting it back failed ({_cause(failed)})"
        if previous.state == "swapping":
            why = why or "an earlier push left it so"
    if step != "swap":
        try:
            loader.update(_dropped(meta, staging))
        except Exception:  # noqa: BLE001, S110  (the next push drops them)
            pass
    if why:
        raise DataError(f"{_cause(exc)}; the store is left in state \"swapping\" as {why}: "
                        "instances serve what they have cached and 503 for the rest until "
                        "`publisher push` is run again and completes") from exc


def _cause(exc: BaseException) -> str:
    if isinstance(exc, PublisherError):
        return exc.detail
    if isinstance(exc, KeyboardInterrupt):
        return "push interrupted"
    return f"{type(exc).__name__}: {exc}"


def _begin(meta: str, left: tuple[str, ...], staging: list[str]) -> str:
    """Drop the staging graphs a failed push left, and list this push's in the meta graph
    before they exist, so that whatever ends this push, the next one can drop them."""
    graph, prop = iri(meta), iri(META_STAGING)
    listed = " ".join(f"{graph} {prop} {iri(g)} ." for g in staging)
    return " ;\n".join([*(f"DROP SILENT GRAPH {iri(g)}" for g in left),
                        f"DELETE WHERE {{ GRAPH {graph} {{ {graph} {prop} ?g }} }}",
                        *([f"INSERT DATA {{ GRAPH {graph} {{ {listed} }} }}"] if staging
                          else [])])


def _dropped(meta: str, staging: list[str]) -> str:
    """The staging graphs dropped, and their listing in the meta graph."""
    graph, prop = iri(meta), iri(META_STAGING)
    return " ;\n".join([*(f"DROP SILENT GRAPH {iri(g)}" for g in staging),
                        f"DELETE WHERE {{ GRAPH {graph} {{ {graph} {prop} ?g }} }}"])


def _set_state(graph: str, state: str | None) -> str:
    """The state replaced (None: removed, as it was before a first push)."""
    meta, prop = iri(graph), iri(META_STATE)
    # not DELETE/INSERT ... WHERE { OPTIONAL ... }: Virtuoso 7.2 finds no solution in an
    # empty graph there, and would insert nothing
    delete = f"DELETE WHERE {{ GRAPH {meta} {{ {meta} {prop} ?old }} }}"
    if state is None:
        return delete
    return f"{delete} ;\nINSERT DATA {{ GRAPH {meta} {{ {meta} {prop} {ox.Literal(state)} }} }}"


def _meta_update(graph: str, version: str, modified: float, triples: int,
                 graphs: list[str]) -> str:
    """The whole meta graph replaced, state ``ready``. Between the two operations a reader
    may find no version; it then keeps the one it had, as while swapping (remote.py). The
    time is an exact decimal: Virtuoso answers an xsd:double with six significant digits."""
    meta = iri(graph)
    new = [(META_VERSION, ox.Literal(version)),
           (META_MODIFIED, ox.Literal(f"{modified:.6f}", datatype=ox.NamedNode(XSD + "decimal"))),
           (META_TRIPLES, ox.Literal(str(triples), datatype=ox.NamedNode(XSD + "integer"))),
           (META_STATE, ox.Literal("ready")),
           *[(META_GRAPH, ox.NamedNode(g)) for g in graphs]]
    body = " ".join(f"{meta} {iri(p)} {o} ." for p, o in new)
    return (f"DELETE WHERE {{ GRAPH {meta} {{ {meta} ?p ?o }} }} ;\n"
            f"INSERT DATA {{ GRAPH {meta} {{ {body} }} }}")


class _Loader:
    """Reads and writes through the store's Query, Update and (for uploads) Graph Store
    endpoints. Every failure is one line naming the endpoint and the cause: DataError when
    the store answered with an error, StoreFailed when it did not answer."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.endpoint = Endpoint(settings, quiet=True)  # its failures are ours to name
        self.query_url = checked_url(settings.store, "--store")
        self.update_url = checked_url(settings.store_update, "--store-update")
        self.gsp_url = checked_url(settings.store_gsp, "--store-gsp") \
            if settings.store_gsp else ""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.endpoint.close()

    def previous(self, meta: str) -> Previous:
        rows = self.select(f"SELECT ?p ?o FROM {iri(meta)} WHERE {{ {iri(meta)} ?p ?o }}")
        values: dict[str, list[str]] = {}
        for row in rows:
            values.setdefault(row["p"].value, []).append(row["o"].value)
        return Previous(tuple(values.get(META_GRAPH, [])),
                        values[META_STATE][0] if META_STATE in values else None,
                        tuple(values.get(META_STAGING, [])))

    def update(self, text: str) -> None:
        self.send("update endpoint", "POST", self.update_url, retry=False,
                  read_timeout=600.0, content=text.encode(),
                  headers={"Content-Type": "application/sparql-update"})

    def upload(self, graph: str, triples: list[ox.Triple]) -> None:
        """PUT the first slice, POST (add) the others; blank-node triples share one slice."""
        plain = [t for t in triples if not _has_blank(t)]
        blank = [t for t in triples if _has_blank(t)]
        slices = [plain[i:i + SLICE] for i in range(0, len(plain), SLICE)] or [[]]
        slices[-1] = slices[-1] + blank
        for number, part in enumerate(slices):
            body = ox.serialize(part, format=ox.RdfFormat.N_TRIPLES) or b""
            if self.gsp_url:
                self.send("Graph Store endpoint", "PUT" if number == 0 else "POST",
                          self.gsp_url, retry=False, read_timeout=600.0,
                          params={"graph": graph}, content=body,
                          headers={"Content-Type": "application/n-triples"})
            else:
                self.update(f"INSERT DATA {{ GRAPH {iri(graph)} {{ {body.decode()} }} }}")

    def count(self, graphs: list[str]) -> int:
        rows = self.select("SELECT (COUNT(*) AS ?n) WHERE { SELECT DISTINCT ?s ?p ?o "
                           "WHERE { ?s ?p ?o } }", graphs)
        return int(rows[0]["n"].value)

    def select(self, text: str, graphs: list[str] | None = None) -> list[Any]:
        response = self.send("query endpoint", "POST", self.query_url, read_timeout=600.0,
                             data={"query": text, "default-graph-uri": graphs or []},
                             headers={"Accept": "application/sparql-results+xml"})
        try:
            found = ox.parse_query_results(response.content, ox.QueryResultsFormat.XML)
            return list(cast(ox.QuerySolutions, found))  # a SELECT's: solutions
        except (SyntaxError, ValueError, TypeError) as exc:
            raise DataError(f"the query endpoint {self.query_url} answered something that "
                            f"is not SPARQL results: {first_line(str(exc))}") from None

    def send(self, name: str, method: str, url: str, **options: Any) -> httpx.Response:
        try:
            response = self.endpoint.send(method, url, **options)
        except StoreFailed as exc:
            raise StoreFailed(exc.cause, f"the {name} {url} failed: {exc.cause}") from None
        except ServiceUnavailable as exc:  # (the read timeout)
            raise StoreFailed(exc.detail, f"the {name} {url} failed: {exc.detail}") from None
        if response.status_code >= 300:
            raise DataError(_refused(name, url, response, self.settings.store_auth))
        return response


def _refused(name: str, url: str, response: httpx.Response, auth: str) -> str:
    status = f"{response.status_code} {response.reason_phrase}".strip()
    if response.status_code in (401, 403):
        return (f"the {name} {url} refused the publisher's credentials ({status}): check "
                f"PUBLISHER_STORE_USER, PUBLISHER_STORE_PASSWORD and store_auth ({auth})")
    text = "" if "html" in response.headers.get("content-type", "") else first_line(response.text)
    return f"the {name} {url} answered {status}" + (f": {text}" if text else "")


def _has_blank(triple: ox.Triple) -> bool:
    return isinstance(triple.subject, ox.BlankNode) or isinstance(triple.object, ox.BlankNode)
