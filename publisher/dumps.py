"""The whole dataset as files: one dump per format, written once per store version. Pure.

A dump is every triple the store holds (data + ontology, the union of the named graphs,
each triple once). Two writers, chosen by the store's size:

- up to ``ENGINE_ABOVE`` quads (the municipality's graph: about 2,000), the triples are
  gathered in Python, their blank nodes named by RDF Dataset Canonicalization (RDFC-1.0:
  each load of the same files gives them new labels) and serialized sorted by
  render/rdf.py, JSON-LD compacted against our context: the bytes depend on the data alone,
  the same in every process and after a restart;
- above it, the engine streams them: one pass over the store writes the N-Triples (graph by
  graph, each triple once), which the engine then turns into the other syntaxes, expanded
  JSON-LD included, in processes of their own when the store is large. Nothing holds the
  graph in Python, so 10^7 triples take a minute and a half where the first writer would
  take hours and tens of GB. The order is the store's index order and blank nodes keep the
  store's labels: the bytes are the same for the same load.

N-Triples is also written gzipped with a fixed header (no file name, mtime 0).

Where they live: a disk store gets its dumps when it is loaded (descriptions.py: in the
store's folder, before the folder is swapped in), and a server only reads them. Other stores
write theirs on first use into ``<cache dir>/dumps-<store version>/``, in a folder of the
process's own, renamed into place whole: a new version writes a new folder, a file is never
rewritten under a reader, and two processes never mix their files. Each file's byte size and
SHA-256 are recorded in ``manifest.json`` next to it: the catalogue declares exactly those
numbers, and the dump route serves exactly those bytes (with the hash as a strong ETag).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from publisher.config import Settings
from publisher.namespaces import prefixes
from publisher.negotiation import BY_NAME, Format
from publisher.render import rdf
from publisher.store import Store

DUMP_NAME = "internationella-relationer"
DUMPS_PATH = "dumps/"
FILE_TYPE = "http://publications.europa.eu/resource/authority/file-type/"
IANA = "https://www.iana.org/assignments/media-types/"


@dataclass(frozen=True)
class DumpFormat:
    """One downloadable serialization of the whole dataset."""

    key: str            # short name, also the distribution's fragment
    extension: str      # file suffix after DUMP_NAME
    rdf_format: Format  # the RDF syntax inside
    label: str
    gzipped: bool = False

    @property
    def filename(self) -> str:
        return f"{DUMP_NAME}.{self.extension}"

    @property
    def media_type(self) -> str:
        """The Content-Type the file is served with."""
        return "application/gzip" if self.gzipped else self.rdf_format.content_type

    @property
    def file_type(self) -> str:
        """The EU file-type authority IRI of the syntax (dct:format)."""
        names = {"turtle": "RDF_TURTLE", "ntriples": "RDF_N_TRIPLES", "jsonld": "JSON_LD",
                 "rdfxml": "RDF_XML"}
        return FILE_TYPE + names[self.rdf_format.name]

    @property
    def iana_media_type(self) -> str:
        """The IANA media type IRI of the syntax (dcat:mediaType)."""
        return IANA + self.rdf_format.media_type


DUMP_FORMATS: tuple[DumpFormat, ...] = (
    DumpFormat("turtle", "ttl", BY_NAME["turtle"], "Turtle"),
    DumpFormat("ntriples", "nt", BY_NAME["ntriples"], "N-Triples"),
    DumpFormat("ntriples-gzip", "nt.gz", BY_NAME["ntriples"], "N-Triples (gzip)", gzipped=True),
    DumpFormat("jsonld", "jsonld", BY_NAME["jsonld"], "JSON-LD"),
    DumpFormat("rdfxml", "rdf", BY_NAME["rdfxml"], "RDF/XML"),
)
BY_FILENAME = {d.filename: d for d in DUMP_FORMATS}
GZIP_MEDIA_TYPE = IANA + "application/gzip"
MANIFEST = "manifest.json"
#: The folder inside a disk store that holds what was written at load (descriptions.py).
PREPARED = "descriptions"


@dataclass(frozen=True)
class DumpFile:
    format: DumpFormat
    path: Path
    size: int
    sha256: str

    @property
    def etag(self) -> str:
        """A strong validator from the content, the same in every process and on every disk."""
        return f'"{self.sha256[:32]}"'

    def url(self, settings: Settings) -> str:
        return settings.iri(DUMPS_PATH + self.format.filename)


@dataclass(frozen=True)
class DumpSet:
    version: str
    modified: float  # the data's change time (Last-Modified, dcterms:modified)
    files: tuple[DumpFile, ...]

    def get(self, filename: str) -> DumpFile | None:
        return next((f for f in self.files if f.format.filename == filename), None)


def cache_root(settings: Settings) -> Path:
    """Where dumps are written: ``cache_dir``, or a folder in the system's temp dir."""
    return Path(settings.cache_dir) if settings.cache_dir else \
        Path(tempfile.gettempdir()) / "publisher-cache"


def canonical(triples: Iterable[ox.Triple]) -> list[ox.Triple]:
    """The triples with their blank nodes renamed by RDFC-1.0 (the W3C's RDF Dataset
    Canonicalization), so that their labels depend on the graph, not on the load."""
    dataset = ox.Dataset(ox.Quad(t.subject, t.predicate, t.object) for t in triples)
    dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    return [quad.triple for quad in dataset]


#: Above this many quads the engine writes the dumps (see the module's docstring). The
#: Python writer grows faster than the graph: pyld's compaction of the JSON-LD dump alone
#: took 0.3 s for 2,000 triples, 1.7 s for 5,000, 29 s for 20,000 and over ten minutes for
#: 10^5; the engine writes all five dumps of 10^6 triples in about 8 s.
ENGINE_ABOVE = 5000
#: Above this many quads the engine's writer turns the N-Triples into the other syntaxes in
#: processes of their own, as many at once as there are cores (_write_by_engine), each
#: started afresh (0.1 s).
ELSEWHERE_ABOVE = 100_000


def serialize_dump(triples: Sequence[ox.Triple], dump: DumpFormat, base: str) -> bytes:
    """The bytes of one dump by the Python writer. Deterministic: sorted triples, fixed
    gzip header."""
    body = rdf.serialize(triples, dump.rdf_format, base)
    if dump.rdf_format.name == "jsonld":
        body = _inline_context(body, base)
    return deterministic_gzip(body) if dump.gzipped else body


def _inline_context(body: bytes, base: str) -> bytes:
    """A dump stands alone: its JSON-LD context is written into it, not linked."""
    document = json.loads(body)
    document["@context"] = rdf.context(base)["@context"]
    return json.dumps(document, ensure_ascii=False, indent=2).encode()


def deterministic_gzip(body: bytes) -> bytes:
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, compresslevel=9,
                       mtime=0) as handle:
        handle.write(body)
    return buffer.getvalue()


class Dumps:
    """Finds or writes, and remembers, the dumps of one store (thread-safe, once per
    version)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._current: DumpSet | None = None

    def ensure(self, store: Store,
               progress: Callable[[str], None] | None = None) -> DumpSet:
        with self._lock:
            if self._current is not None and self._current.version == store.version:
                return self._current
            self._current = write_dumps(store, self.settings, progress)
            return self._current


def write_dumps(store: Store, settings: Settings,
                progress: Callable[[str], None] | None = None,
                folder: Path | None = None) -> DumpSet:
    """The dumps of ``store``: the ones written when it was loaded, or else the ones already
    in the cache for its version, or else written there now. With ``folder``, written into
    that new folder (descriptions.py, at load time)."""
    modified = store.version_time()
    if folder is not None:
        return DumpSet(store.version, modified, tuple(_write(store, settings, folder, progress)))
    loaded = prepared_folder(store)
    found = read_manifest(loaded) if loaded is not None else None
    if found is not None:
        return DumpSet(store.version, modified, tuple(found))
    folder = cache_root(settings) / f"dumps-{store.version}"
    found = read_manifest(folder)
    if found is None:
        found = _publish(folder, lambda own: _write(store, settings, own, progress))
    for dump_file in found:
        os.utime(dump_file.path, (modified, modified))  # Last-Modified is the data's time
    return DumpSet(store.version, modified, tuple(found))


def prepared_folder(store: Store) -> Path | None:
    """Where a disk store keeps what was written when it was loaded (descriptions.py)."""
    path = getattr(store, "path", None)
    return Path(path) / PREPARED if path is not None else None


def _publish(folder: Path, write: Callable[[Path], list[DumpFile]]) -> list[DumpFile]:
    """Write into a folder of this process's own, then rename it into place whole. If
    another process got there first, its complete set is used and this one discarded."""
    own = folder.with_name(f"{folder.name}.tmp-{os.getpid()}-{threading.get_ident()}")
    shutil.rmtree(own, ignore_errors=True)
    own.parent.mkdir(parents=True, exist_ok=True)
    try:
        write(own)
        if folder.exists() and read_manifest(folder) is None:  # left incomplete by a crash
            shutil.rmtree(folder, ignore_errors=True)
        try:
            os.rename(own, folder)
        except OSError:  # another process renamed its own first
            pass
    finally:
        shutil.rmtree(own, ignore_errors=True)
    found = read_manifest(folder)
    if found is None:
        raise OSError(f"the dumps in {folder} could not be written")
    return found


def _write(store: Store, settings: Settings, folder: Path,
           progress: Callable[[str], None] | None) -> list[DumpFile]:
    """Write the five dumps and their manifest into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    engine: ox.Store | None = getattr(store, "engine", None)
    quads = len(engine) if engine is not None else 0
    if engine is not None and quads > ENGINE_ABOVE:
        written = _write_by_engine(engine, quads, settings.base, folder, progress)
    else:
        written = _write_by_python(store, settings.base, folder, progress)
    found = [DumpFile(dump, folder / dump.filename, size, digest)
             for dump, (size, digest) in zip(DUMP_FORMATS, written, strict=True)]
    _write_atomic(folder / MANIFEST, json.dumps(
        {f.format.filename: {"size": f.size, "sha256": f.sha256} for f in found},
        indent=2, sort_keys=True).encode())
    return found


def _write_by_python(store: Store, base: str, folder: Path,
                     progress: Callable[[str], None] | None) -> list[tuple[int, str]]:
    triples = canonical(store.all_triples())
    written = []
    for dump in DUMP_FORMATS:
        if progress is not None:
            progress(dump.filename)
        body = serialize_dump(triples, dump, base)
        _write_atomic(folder / dump.filename, body)
        written.append((len(body), hashlib.sha256(body).hexdigest()))
    return written


def _write_by_engine(engine: ox.Store, quads: int, base: str, folder: Path,
                     progress: Callable[[str], None] | None) -> list[tuple[int, str]]:
    """One pass over the store into N-Triples, then each other syntax from that file; the
    gzip runs in a thread beside them (zlib releases the GIL). Above ``ELSEWHERE_ABOVE``
    quads the other syntaxes are written by processes of their own, side by side: each
    triple passes through Python on its way from the parser to the serializer, under the
    GIL, so threads would take turns (at 10^6 triples the three took 4.7 s one after the
    other; bench/RESULTS.md)."""
    paths = {dump.key: folder / dump.filename for dump in DUMP_FORMATS}
    if progress is not None:
        progress(paths["ntriples"].name)
    with open(paths["ntriples"], "wb") as out:
        for graph, query in union_parts(engine):
            if query is None:  # no triple of it is in an earlier graph
                engine.dump(out, ox.RdfFormat.N_TRIPLES, from_graph=graph)
                continue
            triples = engine.query(query, use_default_graph_as_union=False)
            assert isinstance(triples, ox.QueryTriples)  # a CONSTRUCT's answer
            triples.serialize(out, ox.RdfFormat.N_TRIPLES)
    others = [d for d in DUMP_FORMATS if d.key not in ("ntriples", "ntriples-gzip")]
    cores = min(len(others), os.cpu_count() or 1)
    elsewhere = quads > ELSEWHERE_ABOVE and cores > 1
    with ThreadPoolExecutor(1) as pool, ThreadPoolExecutor(cores) as waiting:
        gzipped = pool.submit(_gzip_file, paths["ntriples"], paths["ntriples-gzip"])
        converted = []
        for dump in others:
            if progress is not None:
                progress(dump.filename)
            job = (paths["ntriples"], paths[dump.key], dump.rdf_format, base)
            if elsewhere:  # a thread waits for each process
                converted.append(waiting.submit(_convert_elsewhere, *job))
            else:
                _convert(*job)
        for each in converted:
            each.result()
        gzipped.result()
    return [(paths[d.key].stat().st_size, sha256_file(paths[d.key])) for d in DUMP_FORMATS]


def _convert_elsewhere(source: Path, target: Path, fmt: Format, base: str) -> None:
    """``_convert`` in a process of its own: ``python -m publisher.dumps`` (not
    multiprocessing, which would import the caller's main module again in it)."""
    done = subprocess.run([sys.executable, "-m", "publisher.dumps", str(source), str(target),
                           fmt.name, base], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        said = done.stderr.strip().splitlines() or [f"exit status {done.returncode}"]
        raise RuntimeError(f"writing {target.name} from {source} failed: {said[-1]}")


def union_parts(engine: ox.Store) -> list[tuple[ox.NamedNode | ox.DefaultGraph, str | None]]:
    """What together gives every triple of the store once, graph by graph: the default
    graph's, then each named graph's (in IRI order) that no earlier graph holds, as a
    CONSTRUCT query; None for a graph whose triples are all written (the earlier graphs
    are empty: the store's own dump of it is faster). Empty graphs are left out. No query
    keeps a set of what it has seen, so memory stays flat however large the store."""
    named = sorted((g for g in engine.named_graphs() if isinstance(g, ox.NamedNode)),
                   key=lambda g: g.value)
    graphs: list[ox.NamedNode | ox.DefaultGraph] = [ox.DefaultGraph(), *named]
    parts: list[tuple[ox.NamedNode | ox.DefaultGraph, str | None]] = []
    for graph in graphs:
        if not next(engine.quads_for_pattern(None, None, None, graph), None):
            continue  # empty
        if not parts or isinstance(graph, ox.DefaultGraph):  # (which comes first)
            parts.append((graph, None))
            continue
        earlier = " UNION ".join("{ ?s ?p ?o }" if isinstance(g, ox.DefaultGraph)
                                 else f"{{ GRAPH <{g.value}> {{ ?s ?p ?o }} }}"
                                 for g, _ in parts)
        query = (f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{graph.value}> {{ ?s ?p ?o }} "
                 f"FILTER NOT EXISTS {{ {earlier} }} }}")
        parts.append((graph, query))
    return parts


def _convert(source: Path, target: Path, fmt: Format, base: str) -> None:
    """The N-Triples file in another syntax, by the engine. Turtle gets our prefixes, whose
    lines are then sorted (pyoxigraph writes them in hash order, which varies)."""
    rdf_format = ox.RdfFormat.from_media_type(fmt.media_type)
    triples = ox.parse(path=source, format=ox.RdfFormat.N_TRIPLES)
    if fmt.name != "turtle":
        ox.serialize(triples, target, rdf_format)
        return
    unsorted = target.with_name(target.name + ".unsorted")
    ox.serialize(triples, unsorted, rdf_format, prefixes=prefixes(base))
    with open(unsorted, "rb") as raw, open(target, "wb") as out:
        header = []
        line = raw.readline()
        while line.startswith(b"@prefix "):
            header.append(line)
            line = raw.readline()
        out.writelines(sorted(header))
        out.write(line)
        shutil.copyfileobj(raw, out, 1 << 20)
    unsorted.unlink()


def _gzip_file(source: Path, target: Path) -> None:
    """A file gzipped as ``deterministic_gzip`` does (no file name, mtime 0), streamed, at
    zlib's default level 6 rather than 9: these files run to gigabytes."""
    with open(source, "rb") as raw, open(target, "wb") as out, \
            gzip.GzipFile(filename="", mode="wb", fileobj=out, compresslevel=6,
                          mtime=0) as packed:
        shutil.copyfileobj(raw, packed, 1 << 20)


def read_manifest(folder: Path) -> list[DumpFile] | None:
    """The dumps already written in ``folder``, if all are there and intact in size."""
    try:
        table = json.loads((folder / MANIFEST).read_text())
        files = []
        for dump in DUMP_FORMATS:
            entry = table[dump.filename]
            path = folder / dump.filename
            if path.stat().st_size != entry["size"]:
                return None
            files.append(DumpFile(dump, path, int(entry["size"]), str(entry["sha256"])))
        return files
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_atomic(path: Path, body: bytes) -> None:
    """Write to a temporary name and rename, so no reader ever sees half a file."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(body)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()


__all__ = ["DUMP_FORMATS", "DumpFile", "DumpFormat", "DumpSet", "Dumps", "prepared_folder",
           "write_dumps"]


if __name__ == "__main__":  # python -m publisher.dumps SOURCE TARGET FORMAT BASE
    _convert(Path(sys.argv[1]), Path(sys.argv[2]), BY_NAME[sys.argv[3]], sys.argv[4])
