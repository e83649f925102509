"""``publisher export DIR``: the whole site as static files, so nginx (or any file server)
can host the dataset. Every file comes from the same app the server runs, in-process:

    DIR/index.html                              the landing page
    DIR/catalog.{ttl,rdf,jsonld,nt,html}        the catalogue; DIR/datasets/dcat is RDF/XML
    DIR/dumps/internationella-relationer.*      the dumps (byte-identical to the served ones)
    DIR/.well-known/void.{ttl,rdf,jsonld,nt}    the VoID description
    DIR/doc/place/tartu.{ttl,rdf,jsonld,nt,html}  every resource document in every format
    DIR/def/...                                 the vocabulary and shapes, likewise
    DIR/sitemap.xml, DIR/robots.txt

A web server maps extensionless URLs to these by Accept (see README, "Harvesting").
DIR must be empty unless ``force``; even then nothing is deleted, only files written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from publisher.config import Settings
from publisher.documents import SPACES
from publisher.dumps import DUMP_FORMATS, DUMPS_PATH
from publisher.errors import ConfigError
from publisher.negotiation import DOCUMENT_FORMATS, RDF_FORMATS

Fetch = Callable[[str], bytes]


def planned_paths(settings: Settings, subjects: Callable[[str], list[str]]) -> Iterator[str]:
    """Every URL path (with suffix) to write, in a stable order."""
    yield from ("", "robots.txt", "sitemap.xml", "datasets/dcat")
    yield from (f"catalog.{f.extension}" for f in DOCUMENT_FORMATS)
    yield from (f".well-known/void?format={f.name}" for f in RDF_FORMATS)
    yield from (DUMPS_PATH + d.filename for d in DUMP_FORMATS)
    for doc_prefix, topic_prefix in SPACES.items():
        space = settings.iri(topic_prefix)
        for iri in subjects(space):
            rest = iri[len(space):]
            if rest and "#" not in rest:
                yield from (f"{doc_prefix}{rest}.{f.extension}" for f in DOCUMENT_FORMATS)


def target(root: Path, path: str) -> Path:
    """Where a URL path is written: ``?format=x`` becomes the suffix ``.ext``, and the
    landing page ``""`` is ``index.html``."""
    path = path or "index.html"
    if "?format=" in path:
        stem, _, name = path.partition("?format=")
        extension = next(f.extension for f in RDF_FORMATS if f.name == name)
        path = f"{stem}.{extension}"
    out = (root / path).resolve()
    if root.resolve() not in out.parents:
        raise ConfigError(f"refusing to write outside {root}: {path}")
    return out


def check_target(root: Path, force: bool) -> None:
    if root.exists() and not root.is_dir():
        raise ConfigError(f"{root} exists and is not a directory")
    if root.is_dir() and any(root.iterdir()) and not force:
        raise ConfigError(f"{root} is not empty; use --force to write into it "
                          "(files are added or overwritten, nothing is deleted)")


def export(root: Path, settings: Settings, fetch: Fetch, paths: list[str],
           progress: Callable[[list[str]], Iterator[str]] = iter) -> int:
    """Write each path's bytes (from ``fetch``) under ``root``; returns the file count."""
    root.mkdir(parents=True, exist_ok=True)
    written = 0
    for path in progress(paths):
        out = target(root, path)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(fetch(path))
        written += 1
    return written
