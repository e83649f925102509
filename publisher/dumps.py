"""The whole dataset as files: one dump per format, written once per store version. Pure.

A dump is every triple the store holds (data + ontology, the union of the named graphs,
each triple once), its blank nodes named by RDF Dataset Canonicalization (RDFC-1.0: each
load of the same files gives them new labels), serialized deterministically by
render/rdf.py, so the bytes depend on the data alone: the same in every process and after
a restart while the data is unchanged. N-Triples is also written gzipped with a fixed
header (no file name, mtime 0), so its bytes are reproducible too. JSON-LD is compacted
against our context up to ``COMPACT_JSONLD_MAX`` triples; a larger graph gets the engine's
expanded JSON-LD, which takes milliseconds where compaction would take minutes.

Files live in ``<cache dir>/dumps-<store version>/``; a new version of the data writes a
new folder, so a file is never rewritten under a reader. Each file's byte size and
SHA-256 are recorded in ``manifest.json`` next to it: the catalogue declares exactly those
numbers, and the dump route serves exactly those bytes (with the hash as a strong ETag).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tempfile
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import pyoxigraph as ox

from publisher.config import Settings
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


#: Above this many triples the JSON-LD dump is the engine's expanded JSON-LD (full IRIs, no
#: context) instead of the document compacted against our context: pyld's compaction, pure
#: Python, grows with the square of the graph (0.3 s for 2,000 triples, 1.7 s for 5,000,
#: 29 s for 20,000; the engine 1-11 ms), and the catalogue's first request waits for it.
COMPACT_JSONLD_MAX = 5000


def serialize_dump(triples: Sequence[ox.Triple], dump: DumpFormat, base: str) -> bytes:
    """The bytes of one dump. Deterministic: sorted triples, fixed gzip header."""
    fmt = dump.rdf_format
    if fmt.name == "jsonld" and len(triples) > COMPACT_JSONLD_MAX:
        body = cast(bytes, ox.serialize(sorted(triples, key=str), format=ox.RdfFormat.JSON_LD))
    else:
        body = rdf.serialize(triples, fmt, base)
        if fmt.name == "jsonld":
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
    """Writes and remembers the dumps of one store (thread-safe, once per version)."""

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
                progress: Callable[[str], None] | None = None) -> DumpSet:
    """Write every dump of ``store`` (or reuse the ones already on disk for its version)."""
    folder = cache_root(settings) / f"dumps-{store.version}"
    modified = store.version_time()
    manifest = folder / "manifest.json"
    found = _read_manifest(manifest, folder)
    if found is None:
        folder.mkdir(parents=True, exist_ok=True)
        triples = canonical(store.all_triples())
        found = []
        for dump in DUMP_FORMATS:
            if progress is not None:
                progress(dump.filename)
            body = serialize_dump(triples, dump, settings.base)
            path = folder / dump.filename
            _write_atomic(path, body)
            found.append(DumpFile(dump, path, len(body), hashlib.sha256(body).hexdigest()))
        _write_atomic(manifest, json.dumps(
            {f.format.filename: {"size": f.size, "sha256": f.sha256} for f in found},
            indent=2, sort_keys=True).encode())
    for dump_file in found:
        os.utime(dump_file.path, (modified, modified))  # Last-Modified is the data's time
    return DumpSet(store.version, modified, tuple(found))


def _read_manifest(manifest: Path, folder: Path) -> list[DumpFile] | None:
    """The dumps already written for this version, if all are there and intact in size."""
    try:
        table = json.loads(manifest.read_text())
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


__all__ = ["DUMP_FORMATS", "DumpFile", "DumpFormat", "DumpSet", "Dumps", "write_dumps"]
