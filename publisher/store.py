"""The Store interface the web layer reads through, and its Oxigraph implementation.

``Store`` is a Protocol: describe(), query(), stats(), version and a few look-ups. A
remote SPARQL store can implement it later without touching routes/ or render/.
``OxigraphStore`` holds the graph in pyoxigraph, in memory (default) or on disk
(``--store PATH``). On disk, a store that already holds the current data (same
fingerprint) is reopened as it is, without reloading.

A disk store is filled only in a folder of its own (diskstore.replace), which also gets
the dumps and statistics that describe the data (descriptions.py), and is opened
read-only everywhere it is read: by the server and by every query worker. A read-write
open would let RocksDB compact what the bulk loader wrote and delete the files it replaced,
while the workers' read-only views of the folder still list them: at 10^7 triples, a
worker then failed with "No such file or directory: .../000019.sst" (bench/RESULTS.md).

With ``store_in_memory`` (``serve --store PATH --in-memory``) a disk store is opened so,
copied into an in-memory engine and closed again: the same answers, evaluated without
RocksDB's reads, and query workers forked to share the copy (workers.py).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pyoxigraph as ox

from publisher import diskstore
from publisher.bulkload import Progress, load_files
from publisher.config import Settings
from publisher.errors import DataError
from publisher.source import fingerprint, last_modified, signature, source_files

log = logging.getLogger("publisher")

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
SCHEMA = "http://schema.org/"
SKOS = "http://www.w3.org/2004/02/skos/core#"
RDFS_LABEL = ox.NamedNode(RDFS + "label")
RDFS_IS_DEFINED_BY = ox.NamedNode(RDFS + "isDefinedBy")
LABEL_PREDICATES = (RDFS_LABEL, ox.NamedNode(SKOS + "prefLabel"), ox.NamedNode(SCHEMA + "name"))


@dataclass(frozen=True)
class Description:
    """What one document says about one resource: bounded, with labels of what it mentions."""

    iri: str
    triples: tuple[ox.Triple, ...]
    truncated: bool = False  # more incoming links exist than were included


@dataclass(frozen=True)
class Stats:
    triples: int
    graphs: tuple[str, ...]
    last_modified: float
    extra: dict[str, Any] = field(default_factory=dict)


class Store(Protocol):
    """What the web layer needs from a store."""

    @property
    def version(self) -> str:
        """The data version: a fingerprint of what the store holds."""

    def describe(self, iri: str, max_links: int) -> Description | None: ...

    def query(self, text: str, **options: Any) -> Any: ...

    def stats(self) -> Stats: ...

    def subjects_with_prefix(self, prefix: str) -> list[str]: ...

    def all_triples(self) -> Iterator[ox.Triple]: ...

    def version_time(self) -> float: ...


class OxigraphStore:
    """pyoxigraph behind the Store interface; the default graph is the union of all graphs."""

    def __init__(self, store: ox.Store, version: str, modified: float, path: Path | None,
                 in_memory: bool = False) -> None:
        self._store = store
        self.version = version
        self.modified = modified
        #: the on-disk store's folder (its engine, or the one copied from: ``in_memory``,
        #: and what ``publisher load`` wrote beside it: dumps.prepared_folder); None for
        #: data/ loaded into memory
        self.path = path
        #: whether the engine is in this process's memory, which forked query workers can
        #: share (workers.py); a disk store's RocksDB must not be forked
        self.in_memory = path is None or in_memory
        #: what opening it took, if it was (re)filled: "described" = seconds spent writing
        #: the descriptions (descriptions.py), for `publisher load`'s report
        self.timings: dict[str, float] = {}

    # -- loading -----------------------------------------------------------------------

    @classmethod
    def open(cls, settings: Settings, read_only: bool = False,
             progress: Progress | None = None,
             stage: Callable[[str], None] | None = None,
             refill: bool = False) -> OxigraphStore:
        """Load data/ and ontology/ into memory, or open (and if stale or without its
        descriptions, first refill) a disk store, read-only (see the module's docstring).

        ``read_only``: never refill: open a disk store that ``publisher load`` (or the
        process that started this one) has filled; a stale store is an error then.
        ``progress`` is told the source bytes read while (re)filling (bulkload.py), and
        ``stage`` what a refill does after that: "compacting", then "writing <file>" for
        each dump (the statistics are counted beside them). ``refill``: refill a disk store
        even when it is current (``publisher load --force``); until the new one is swapped
        in, the old one and its stamp stay as they were."""
        files = source_files(settings)
        path = Path(settings.store) if settings.store else None
        stamp = path.with_name(path.name + ".version") if path is not None else None
        version = _stamped_version(stamp, files, settings) or fingerprint(files, settings)
        modified = last_modified(files)
        if path is None or stamp is None:
            store = ox.Store()
            in_own_arena(lambda: load_files(store, files, settings.base, progress))
            return cls(store, version, modified, None)
        from publisher import descriptions  # noqa: PLC0415  (not in query workers)

        timings: dict[str, float] = {}
        try:
            if not read_only:
                diskstore.recover(path)  # after a killed load (diskstore.py)
            if refill or _stamp_lines(stamp)[:1] != [version] \
                    or not diskstore.holds(path, version) or not descriptions.complete(path):
                if read_only:
                    raise DataError(f"store {settings.store} does not hold the current data; "
                                    "run `publisher load` first")
                if not diskstore.replaceable(path):
                    raise DataError(f"{settings.store} exists and is not a store: a load "
                                    "would replace it, so it is left as it is. Give --store "
                                    "a new folder, or an existing store's.")

                def describe(fresh: ox.Store, folder: Path) -> None:
                    started = time.perf_counter()
                    descriptions.write(cls(fresh, version, modified, None), settings, folder,
                                       None if stage is None else
                                       lambda name: stage(f"writing {name}"))
                    timings["described"] = time.perf_counter() - started

                # loaded beside the old folder and swapped in whole: a kill loses nothing
                diskstore.replace(
                    path, lambda fresh: load_files(fresh, files, settings.base, progress),
                    describe, version, stamp, f"{version}\n{signature(files, settings)}\n",
                    stage)
            store = ox.Store.read_only(str(path))
            if settings.store_in_memory:
                started = time.perf_counter()
                log.info("copying the store %s into memory", path)
                store = _copied_to_memory(store)
                log.info("copied the store into memory in %.1f s", time.perf_counter() - started)
        except OSError as exc:
            raise DataError(f"cannot open store {settings.store if read_only else path}: "
                            f"{exc}") from None
        opened = cls(store, version, modified, path, in_memory=settings.store_in_memory)
        opened.timings = timings
        return opened

    # -- reading -----------------------------------------------------------------------

    @property
    def engine(self) -> ox.Store:
        """The pyoxigraph store itself, for what the engine streams (dumps.py)."""
        return self._store

    def query(self, text: str, **options: Any) -> Any:
        options.setdefault("use_default_graph_as_union", "default_graph" not in options)
        return self._store.query(text, **options)

    def _triples(self, s: Any = None, p: Any = None, o: Any = None) -> Iterator[ox.Triple]:
        for quad in self._store.quads_for_pattern(s, p, o, None):
            yield quad.triple

    def describe(self, iri: str, max_links: int) -> Description | None:
        """The resource's own triples (with blank-node closure), what defines itself by it
        (hash terms of a vocabulary), incoming links up to ``max_links``, and labels."""
        try:
            node = ox.NamedNode(iri)
        except ValueError:  # not an IRI (a path with spaces, quotes, ...): nothing is known
            return None
        own = _unique(self._closure(self._triples(node)))
        if not own:
            return None
        for term in self._subjects(self._triples(None, RDFS_IS_DEFINED_BY, node)):
            own.extend(self._closure(self._triples(term)))
        incoming: list[ox.Triple] = []
        truncated = False
        for triple in self._triples(None, None, node):
            if len(incoming) >= max_links:
                truncated = True
                break
            incoming.append(triple)
        triples = _unique([*own, *incoming])
        mentioned = {t.object for t in own if isinstance(t.object, ox.NamedNode)}
        mentioned |= {t.subject for t in incoming if isinstance(t.subject, ox.NamedNode)}
        mentioned |= {t.predicate for t in triples}
        mentioned.discard(node)
        labels = [t for term in sorted(mentioned, key=str) for p in LABEL_PREDICATES
                  for t in self._triples(term, p)]
        return Description(iri, tuple(_unique([*triples, *labels])), truncated)

    def _closure(self, triples: Iterable[ox.Triple]) -> list[ox.Triple]:
        out, queue, seen = [], list(triples), set()
        while queue:
            triple = queue.pop(0)
            out.append(triple)
            if isinstance(triple.object, ox.BlankNode) and triple.object not in seen:
                seen.add(triple.object)
                queue.extend(self._triples(triple.object))
        return out

    @staticmethod
    def _subjects(triples: Iterable[ox.Triple]) -> list[Any]:
        return [t.subject for t in triples]

    def subjects_with_prefix(self, prefix: str) -> list[str]:
        found = self.query(
            # ?prefix is projected because pyoxigraph substitutes projected variables only
            "SELECT DISTINCT ?s ?prefix WHERE { ?s ?p ?o "
            "FILTER(isIRI(?s) && STRSTARTS(STR(?s), ?prefix)) } ORDER BY ?s",
            substitutions={ox.Variable("prefix"): ox.Literal(prefix)},
        )
        return [row["s"].value for row in found]

    def all_triples(self) -> Iterator[ox.Triple]:
        seen: set[ox.Triple] = set()
        for triple in self._triples():
            if triple not in seen:
                seen.add(triple)
                yield triple

    def version_time(self) -> float:
        """When the data last changed (the Last-Modified of every document)."""
        return self.modified

    def graph_names(self) -> tuple[str, ...]:
        """The named graphs, without counting triples (stats() scans the whole store)."""
        return tuple(sorted(g.value for g in self._store.named_graphs()
                            if isinstance(g, ox.NamedNode)))

    def stats(self) -> Stats:
        graphs = self.graph_names()
        count = next(iter(self.query(
            "SELECT (COUNT(*) AS ?n) WHERE { SELECT DISTINCT ?s ?p ?o WHERE { ?s ?p ?o } }")))
        return Stats(int(count["n"].value), graphs, self.modified)


def _copied_to_memory(disk: ox.Store) -> ox.Store:
    """An in-memory engine holding every quad of ``disk`` (``store_in_memory``). RocksDB
    reads each term and index block through its caches, several times the work of a look-up
    in memory (bench/RESULTS.md); the copy costs some 450 bytes a triple and, at 10^6
    triples, 7-8 s at start. ``disk`` is closed when the last reference to it goes, here."""
    memory = ox.Store()
    # the iterator is made in the arena's thread too: pyoxigraph's may not change threads
    in_own_arena(lambda: memory.bulk_extend(disk.quads_for_pattern(None, None, None, None)))
    return memory


def in_own_arena(fill: Callable[[], Any]) -> None:
    """Run ``fill``, which fills an in-memory engine, in a thread of its own, so that
    glibc's malloc gives it an arena of its own; its errors are raised here.

    The engine's data, and the holes its growing tables leave, are then not in the heap the
    server's own thread allocates from. In that heap, after the query workers were forked
    (they share the engine's pages, workers.py), each request's allocations landed on pages
    shared with them, each one a copy-on-write fault: at 10^6 triples 60-100 faults a
    request, and a look-up took 0.6-1.0 ms instead of 0.3, for its first thousand or so
    requests (bench/RESULTS.md)."""
    failed: list[BaseException] = []

    def run() -> None:
        try:
            fill()
        except BaseException as exc:  # noqa: BLE001  (raised again in the caller's thread)
            failed.append(exc)

    # a daemon, joined in short waits: Ctrl-C stops the caller at once, not after the fill
    thread = threading.Thread(target=run, name="fill-store", daemon=True)
    thread.start()
    while thread.is_alive():
        thread.join(0.1)
    if failed:
        raise failed[0]


def _stamp_lines(stamp: Path) -> list[str]:
    try:
        return stamp.read_text().split()
    except OSError:
        return []


def _stamped_version(stamp: Path | None, files: list[Any], settings: Settings) -> str | None:
    """The version recorded next to a disk store, if the source files are exactly the ones it
    was computed from (same inode, size, mtime and ctime: see source.signature), so a large
    store reopens without hashing every source byte again."""
    lines = _stamp_lines(stamp) if stamp is not None else []
    if len(lines) == 2 and lines[1] == signature(files, settings):
        return lines[0]
    return None


def _unique(triples: Iterable[ox.Triple]) -> list[ox.Triple]:
    seen: set[ox.Triple] = set()
    out = []
    for triple in triples:
        if triple not in seen:
            seen.add(triple)
            out.append(triple)
    return out

