"""Bulk loading of the source files into a store, at the engine's own speed.

``load_files`` hands each file to pyoxigraph's ``Store.bulk_load`` (the Rust parser and
loader, no Python per triple): by its path, or, for a progress bar, through a reader that
counts bytes; ``.gz`` files are decompressed on the way. Two cases cannot go straight to the
engine and take the slower per-quad path of ``source.read_quads``: a serving base other
than the canonical one (every IRI is rewritten) and datasets (N-Quads, TriG), whose
default-graph quads belong in the file's graph. ``publisher load`` (cli.py) and the
on-disk refill in store.py use it; nothing here knows HTTP.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from functools import partial
from typing import IO

import pyoxigraph as ox

from publisher.config import CANONICAL_BASE
from publisher.source import SourceFile, read_quads, syntax_error

#: Called with the number of source bytes just read (for a progress bar).
Progress = Callable[[int], object]
_TRIPLE_FORMATS = (ox.RdfFormat.N_TRIPLES, ox.RdfFormat.TURTLE, ox.RdfFormat.RDF_XML,
                   ox.RdfFormat.JSON_LD)


class _CountingReader:
    """A binary reader that reports how many bytes of the file on disk were consumed."""

    def __init__(self, raw: IO[bytes], progress: Progress | None) -> None:
        self.raw, self.progress, self.position = raw, progress, 0

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        if self.progress is not None:
            # compressed files report the compressed offset, so the bar matches the file size
            offset = self.raw.fileobj.tell() if isinstance(self.raw, gzip.GzipFile) \
                else self.position + len(data)
            self.progress(offset - self.position)
            self.position = offset
        return data

    def readable(self) -> bool:
        return True


def open_source(source: SourceFile) -> IO[bytes]:
    if source.path.suffix == ".gz":
        # a GzipFile is a binary file, but typeshed doesn't type it as IO[bytes]
        return gzip.open(source.path, "rb")  # type: ignore[return-value]
    return open(source.path, "rb")


def load_files(store: ox.Store, files: list[SourceFile], base: str,
               progress: Progress | None = None) -> None:
    """Add every file to ``store``, each in its named graph (see source.py)."""
    for source in files:
        if base == CANONICAL_BASE and source.format in _TRIPLE_FORMATS:
            try:
                _bulk_load(store, source, progress)
            except SyntaxError as exc:
                raise syntax_error(source, exc) from None
        else:
            store.bulk_extend(read_quads(source, base))
            if progress is not None:
                progress(source.path.stat().st_size)


def _bulk_load(store: ox.Store, source: SourceFile, progress: Progress | None) -> None:
    """One file by the engine's loader: read by the engine itself, no Python between it and
    the file, unless a progress bar counts the bytes (or the file is gzipped)."""
    load = partial(store.bulk_load, format=source.format, base_iri=CANONICAL_BASE,
                   to_graph=ox.NamedNode(source.graph))
    if progress is None and source.path.suffix != ".gz":
        load(path=source.path)
        return
    with open_source(source) as raw:
        # _CountingReader is duck-typed: it has the read() pyoxigraph calls
        load(input=_CountingReader(raw, progress))  # type: ignore[arg-type]


__all__ = ["load_files", "open_source"]
