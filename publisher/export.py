"""``publisher export DIR``: the whole site as static files, so nginx (or any file server)
can host the dataset. Every file comes from the same app the server runs, in-process:

    DIR/index.html                              the landing page
    DIR/catalog.{ttl,rdf,jsonld,nt,html}        the catalogue; DIR/datasets/dcat is RDF/XML
    DIR/dumps/internationella-relationer.*      the dumps (byte-identical to the served ones)
    DIR/.well-known/void.{ttl,rdf,jsonld,nt}    the VoID description
    DIR/doc/place/tartu.{ttl,rdf,jsonld,nt,html}  every resource document in every format
    DIR/def/...                                 the vocabulary and shapes, likewise
    DIR/sitemap.xml, DIR/robots.txt
    DIR/.publisher-export.json                  the manifest: data version, time, every file

A web server maps extensionless URLs to these by Accept (see README, "Harvesting").

DIR must be empty unless ``force``. A forced export over an earlier one removes the files the
earlier manifest lists and this export did not write: withholding personal data is how a person
who leaves or objects is taken off the site, so their pages must not outlive the export that
dropped them. A file that no manifest of ours lists is the user's and is never deleted; without
an earlier manifest nothing is deleted, and the files this export did not write are reported,
so that stale pages can be seen. Folders are never removed.

The order makes a cut export (Ctrl-C, a full disk) look cut, not whole: first the pending list
(``.publisher-export.pending.json``: every file this and earlier exports may have written)
replaces the manifest; then the dumps and documents; then the entry points that lead to them
(robots.txt, sitemap.xml, datasets/dcat, catalog.*, .well-known/void.*, index.html); then the
stale files are removed, and the manifest comes last. A cut export leaves the files written so
far, no new entry points, no manifest, and the pending list, from which the next forced export
removes what it no longer writes. Every file is written beside itself and renamed into place,
so a server reading DIR meanwhile gets the old file or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from publisher.config import Settings
from publisher.documents import SPACES
from publisher.dumps import DUMP_FORMATS, DUMPS_PATH
from publisher.errors import ConfigError
from publisher.negotiation import DOCUMENT_FORMATS, RDF_FORMATS

Fetch = Callable[[str], bytes]

#: what this export wrote, written last: a folder without it is not a finished export
MANIFEST = ".publisher-export.json"
#: what this and earlier exports may have written, kept while an export runs (and after a cut)
PENDING = ".publisher-export.pending.json"
#: how many of the files an export did not write its warning names
NAMED = 3


@dataclass(frozen=True)
class Exported:
    """What an export did, for the command to report."""

    root: Path
    written: int
    #: files an earlier export's manifest listed that this one did not write, now deleted
    removed: int
    #: files in DIR this export did not write, when no earlier manifest says whose they are
    unlisted: tuple[str, ...]

    def summary(self) -> str:
        removed = (f" and removed {self.removed} that an earlier export wrote and this one "
                   "did not" if self.removed else "")
        return f"wrote {self.written} files to {self.root}{removed}"

    def warning(self) -> str | None:
        """The files kept that may be stale pages (a person since withheld), or None."""
        if not self.unlisted:
            return None
        named = ", ".join(self.unlisted[:NAMED])
        if len(self.unlisted) > NAMED:
            named += f" and {len(self.unlisted) - NAMED} more"
        return (f"warning: {len(self.unlisted)} files in {self.root} were not written by this "
                "export and are kept (no manifest of an earlier export says whose they are; "
                f"delete any stale ones): {named}")


def planned_paths(settings: Settings, subjects: Callable[[str], list[str]]) -> Iterator[str]:
    """Every URL path (with suffix) to write, in the order written: the dumps and documents
    first, the entry points that lead to them after, so that a cut export has none new."""
    yield from (DUMPS_PATH + d.filename for d in DUMP_FORMATS)
    for doc_prefix, topic_prefix in SPACES.items():
        space = settings.iri(topic_prefix)
        for iri in subjects(space):
            rest = iri[len(space):]
            if rest and "#" not in rest:
                yield from (f"{doc_prefix}{rest}.{f.extension}" for f in DOCUMENT_FORMATS)
    yield from ("robots.txt", "sitemap.xml", "datasets/dcat")
    yield from (f"catalog.{f.extension}" for f in DOCUMENT_FORMATS)
    yield from (f".well-known/void?format={f.name}" for f in RDF_FORMATS)
    yield ""


def relative(path: str) -> str:
    """The file a URL path is written to, relative to DIR: ``?format=x`` becomes the suffix
    ``.ext``, and the landing page ``""`` is ``index.html``."""
    path = path or "index.html"
    if "?format=" in path:
        stem, _, name = path.partition("?format=")
        extension = next(f.extension for f in RDF_FORMATS if f.name == name)
        path = f"{stem}.{extension}"
    return path


def target(root: Path, path: str) -> Path:
    """Where a URL path is written (see ``relative``), never outside ``root``."""
    out = (root / relative(path)).resolve()
    if root.resolve() not in out.parents:
        raise ConfigError(f"refusing to write outside {root}: {path}")
    return out


@contextlib.contextmanager
def _failing(verb: str, path: Path) -> Iterator[None]:
    """An OSError (no permission, a full disk) as one line naming the file, not a traceback."""
    try:
        yield
    except OSError as exc:
        raise ConfigError(f"cannot {verb} {path}: {exc.strerror or exc}") from exc


def check_target(root: Path, force: bool) -> None:
    """Refuse, before the app is built, a DIR that is a file or (without ``force``) has files."""
    with _failing("read", root):
        if root.exists() and not root.is_dir():
            raise ConfigError(f"{root} exists and is not a directory")
        if root.is_dir() and any(root.iterdir()) and not force:
            raise ConfigError(f"{root} is not empty; use --force to write into it (files are "
                              "added or overwritten; of the rest, only files an earlier export "
                              "wrote are removed)")


def _write(out: Path, data: bytes) -> None:
    """Write beside ``out`` and rename into place. (Path.write_bytes, unlike tempfile, gives
    the file the permissions of the umask, so the web server can read it.)"""
    partial = out.with_name(f".{out.name}.partial")
    with _failing("write", out):
        out.parent.mkdir(parents=True, exist_ok=True)
        try:
            partial.write_bytes(data)
            os.replace(partial, out)
        except BaseException:
            with contextlib.suppress(OSError):
                partial.unlink(missing_ok=True)
            raise


def _manifest(files: Iterable[str], version: str | None) -> bytes:
    exported = datetime.now(UTC).isoformat(timespec="seconds")
    return json.dumps({"version": version, "exported": exported, "files": sorted(files)},
                      indent=1).encode()


def _listed(root: Path, name: str) -> set[str] | None:
    """The files a manifest (or the pending list) in ``root`` names; None without one. One
    that cannot be read stops the export: which files are stale would be unknown."""
    file = root / name
    try:
        data = json.loads(file.read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read {file}: {getattr(exc, 'strerror', None) or exc}; "
                          "remove it to export without removing stale files") from exc
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, list) or not all(_ours(f) for f in files):
        raise ConfigError(f"{file} is not a manifest of publisher export; remove it to export "
                          "without removing stale files")
    return set(files)


def _ours(file: object) -> bool:
    """Whether a manifest's entry could be a file an export wrote: a path inside DIR."""
    if not isinstance(file, str) or not file:
        return False
    parts = PurePosixPath(file).parts
    return not PurePosixPath(file).is_absolute() and ".." not in parts \
        and file not in (MANIFEST, PENDING)


def _remove(root: Path, stale: Iterable[str]) -> int:
    """Delete the stale files (not folders); a folder that now leads out of DIR is not
    followed. Returns how many were there."""
    home, removed = root.resolve(), 0
    for file in sorted(stale):
        out = root / file
        with _failing("remove", out):
            folder = out.parent.resolve()
            if folder != home and home not in folder.parents:
                continue
            if out.is_symlink() or out.is_file():
                out.unlink()
                removed += 1
    return removed


def _unlisted(root: Path, written: set[str]) -> tuple[str, ...]:
    found = []
    for folder, _, files in os.walk(root):
        for name in files:
            file = (Path(folder) / name).relative_to(root).as_posix()
            if file not in written and file not in (MANIFEST, PENDING):
                found.append(file)
    return tuple(sorted(found))


def export(root: Path, settings: Settings, fetch: Fetch, paths: list[str],
           progress: Callable[[list[str]], Iterator[str]] = iter,
           version: str | None = None) -> Exported:
    """Write each path's bytes (from ``fetch``) under ``root``, in the order given, then
    remove what an earlier export wrote and this one did not, then write the manifest (with
    the data ``version``). The order, and what a cut export leaves, are in the module
    docstring."""
    with _failing("create", root):
        root.mkdir(parents=True, exist_ok=True)
    earlier = [files for files in (_listed(root, MANIFEST), _listed(root, PENDING))
               if files is not None]
    known: set[str] = set().union(*earlier)
    targets = {path: target(root, path) for path in paths}  # all checked before any write
    plan = {relative(path) for path in paths}
    _write(root / PENDING, _manifest(known | plan, version))
    with _failing("remove", root / MANIFEST):
        (root / MANIFEST).unlink(missing_ok=True)
    written = 0
    for path in progress(paths):
        _write(targets[path], fetch(path))
        written += 1
    removed = _remove(root, known - plan)
    unlisted = () if earlier else _unlisted(root, plan)
    _write(root / MANIFEST, _manifest(plan, version))
    with _failing("remove", root / PENDING):
        (root / PENDING).unlink(missing_ok=True)
    return Exported(root, written, removed, unlisted)
