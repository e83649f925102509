"""The graph as edited: which files make it, and how they become quads.

Every RDF file under ontology/ and data/ becomes one named graph,
``<base>graph/<folder>/<file stem>``. Files under ``data/personal/`` hold everything
about named people and are skipped entirely when ``withhold_personal_data`` is set,
so no trace of them can reach any response.

The files are written with IRIs under CANONICAL_BASE; when the publisher serves another
base, every IRI that starts with CANONICAL_BASE is rewritten here, once, at load time.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from publisher.config import CANONICAL_BASE, Settings
from publisher.errors import DataError, DataSyntaxError

RDF_SUFFIXES = {".ttl": ox.RdfFormat.TURTLE, ".nt": ox.RdfFormat.N_TRIPLES,
                ".rdf": ox.RdfFormat.RDF_XML, ".jsonld": ox.RdfFormat.JSON_LD,
                # datasets: their named graphs keep their names (the W3C protocol tests use it)
                ".trig": ox.RdfFormat.TRIG, ".nq": ox.RdfFormat.N_QUADS}
PERSONAL_FOLDER = "personal"


@dataclass(frozen=True)
class SourceFile:
    path: Path
    graph: str  # the named graph IRI (already under the serving base)

    @property
    def format(self) -> ox.RdfFormat:
        return RDF_SUFFIXES[rdf_suffix(self.path)]


def rdf_suffix(path: Path) -> str:
    """The RDF suffix of a file name, looking through a ``.gz`` (``x.nt.gz`` -> ``.nt``)."""
    return Path(path.stem).suffix if path.suffix == ".gz" else path.suffix


def source_files(settings: Settings) -> list[SourceFile]:
    """The files that make the published graph, in a stable order."""
    found: list[SourceFile] = []
    for folder in (settings.ontology_dir, settings.data_dir):
        if not folder.is_dir():
            raise DataError(f"{folder}: no such directory")
        for path in sorted(folder.rglob("*")):
            if rdf_suffix(path) not in RDF_SUFFIXES:
                continue
            if path.is_symlink() and not path.exists():  # dangling, or a loop: not skipped
                raise DataError(f"{path}: a symbolic link to nothing that can be read")
            if not path.is_file():
                continue
            relative = path.relative_to(folder)
            if settings.withhold_personal_data and relative.parts[0] == PERSONAL_FOLDER:
                continue
            name = f"{folder.name}/{relative.with_suffix('').as_posix()}"
            name = name.removesuffix(rdf_suffix(path))  # x.nt.gz -> x
            found.append(SourceFile(path, settings.iri(f"graph/{name}")))
    return found


def _rebase_term(term: ox.NamedNode, base: str) -> ox.NamedNode:
    value = term.value
    if value.startswith(CANONICAL_BASE):
        return ox.NamedNode(base + value[len(CANONICAL_BASE):])
    return term


_IRI_LITERAL_TYPES = {"http://www.w3.org/2001/XMLSchema#string",
                      "http://www.w3.org/2001/XMLSchema#anyURI"}


def _rebase(term, base):  # type: ignore[no-untyped-def]
    """Rewrite IRIs (and IRI-valued literals such as void:uriSpace) under CANONICAL_BASE."""
    if isinstance(term, ox.NamedNode):
        return _rebase_term(term, base)
    if isinstance(term, ox.Literal):
        datatype = term.datatype
        if datatype.value.startswith(CANONICAL_BASE):
            return ox.Literal(term.value, datatype=_rebase_term(datatype, base))
        if (datatype.value in _IRI_LITERAL_TYPES and term.language is None
                and term.value.startswith(CANONICAL_BASE)):
            return ox.Literal(base + term.value[len(CANONICAL_BASE):], datatype=datatype)
    return term


def read_quads(source: SourceFile, base: str) -> Iterator[ox.Quad]:
    """Parse one file into quads of its named graph, raising DataSyntaxError with position."""
    graph = ox.NamedNode(source.graph)
    try:
        if source.path.suffix == ".gz":
            with gzip.open(source.path, "rb") as unzipped:
                # a GzipFile is a binary file, but typeshed doesn't type it as IO[bytes]
                yield from _quads(ox.parse(input=unzipped,  # type: ignore[arg-type]
                                           format=source.format,
                                           base_iri=CANONICAL_BASE), graph, base)
            return
        triples = ox.parse(path=source.path, format=source.format, base_iri=CANONICAL_BASE)
        yield from _quads(triples, graph, base)
    except SyntaxError as exc:
        raise syntax_error(source, exc) from None
    except OSError as exc:
        raise DataError(f"{source.path}: {exc.strerror or exc}") from None


def _quads(triples: Iterator[Any], graph: ox.NamedNode, base: str) -> Iterator[ox.Quad]:
    for triple in triples:
        s, p, o = triple.subject, triple.predicate, triple.object
        named = getattr(triple, "graph_name", None)
        target = graph if named is None or isinstance(named, ox.DefaultGraph) else named
        if base != CANONICAL_BASE:
            s, p, o = _rebase(s, base), _rebase(p, base), _rebase(o, base)
            target = _rebase(target, base)
        yield ox.Quad(s, p, o, target)


def syntax_error(source: SourceFile, exc: SyntaxError) -> DataSyntaxError:
    """The engine's syntax error, located, in the editor's words: a file saved with a
    byte-order mark (Windows Notepad does) fails at 1:1 on an invisible character."""
    message = plain_message(exc.msg)
    if (exc.lineno or 0) <= 1 and (exc.offset or 0) <= 1:
        with contextlib.suppress(OSError), open(source.path, "rb") as start:
            if start.read(3) == b"\xef\xbb\xbf":
                message = ("the file starts with a byte-order mark (U+FEFF); save it as "
                           "UTF-8 without one")
    return DataSyntaxError(str(source.path), exc.lineno or 0, exc.offset or 0, message)


def plain_message(message: str) -> str:
    """Drop oxigraph's 'Parser error between ...:' prefix; the position is reported apart."""
    head, sep, rest = message.partition(": ")
    return rest if sep and head.startswith("Parser error") else message


def fingerprint(files: list[SourceFile], settings: Settings) -> str:
    """A short digest of the source bytes and the settings that shape the graph.

    It changes exactly when what is served changes, so it is the cache key and ETag seed.
    """
    digest = hashlib.sha256(f"{settings.base}|{settings.withhold_personal_data}".encode())
    for source in files:
        digest.update(source.graph.encode())
        digest.update(source.path.read_bytes())
    return digest.hexdigest()[:20]


def signature(files: list[SourceFile], settings: Settings) -> str:
    """A digest of what the file system says about the source files (inode, size, mtime and
    ctime in nanoseconds; ctime cannot be set back by any tool), and of the settings that
    shape the graph: equal signatures mean the fingerprint is still the same."""
    digest = hashlib.sha256(f"{settings.base}|{settings.withhold_personal_data}".encode())
    for source in files:
        st = source.path.stat()
        digest.update(f"{source.graph}|{source.path.resolve()}|{st.st_dev}|{st.st_ino}|"
                      f"{st.st_size}|{st.st_mtime_ns}|{st.st_ctime_ns}\n".encode())
    return digest.hexdigest()[:20]


def last_modified(files: list[SourceFile]) -> float:
    """The newest modification time of the source files (the data's real change time)."""
    return max((source.path.stat().st_mtime for source in files), default=0.0)
