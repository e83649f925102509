"""publisher/export.py keeps a re-export honest and a cut one visibly cut: a forced export
removes what the earlier export wrote and this one did not (a withheld person's pages), never a
file that no manifest lists; the entry points and the manifest come last, so an interrupted
export has neither; a file that cannot be written is one line naming it, not a traceback."""

from __future__ import annotations

import errno
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from publisher import cli
from publisher.config import Settings
from publisher.errors import ConfigError
from publisher.export import MANIFEST, PENDING, Exported, export, planned_paths

ENTRY_POINTS = ("index.html", "robots.txt", "sitemap.xml", "datasets/dcat", "catalog.ttl",
                "catalog.html", ".well-known/void.ttl")


def plan(settings: Settings, *people: str) -> list[str]:
    """The paths of a small site: one place and the given people, in the order written."""
    def subjects(space: str) -> list[str]:
        ids = sorted(["place/tartu", *(f"person/{p}" for p in people)])  # as the store does
        return [space + i for i in ids] if space == settings.iri("id/") else []
    return list(planned_paths(settings, subjects))


def fetch(path: str) -> bytes:
    return f"<{path}>".encode()


def files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def manifest(root: Path) -> Any:
    return json.loads((root / MANIFEST).read_text())


@pytest.mark.slow
def test_withholding_personal_data_removes_the_exported_people(tmp_path: Path) -> None:
    root = tmp_path / "site"
    assert cli.main(["export", str(root)]) == 0
    people = {f for f in files(root) if f.startswith("doc/person/")}
    assert len(people) >= 5
    (root / "notes.txt").write_text("the editor's own file")
    (root / "doc" / "person" / "README").write_text("also the editor's")

    assert cli.main(["export", str(root), "--force", "--withhold-personal-data"]) == 0
    assert not people & files(root)
    assert (root / "notes.txt").exists() and (root / "doc" / "person" / "README").exists()
    assert set(manifest(root)["files"]) == files(root) - {MANIFEST, "notes.txt", "doc/person/README"}


def test_a_forced_export_removes_only_what_a_manifest_lists(tmp_path: Path,
                                                           settings: Settings) -> None:
    first = export(tmp_path, settings, fetch, plan(settings, "anna", "bo"), version="v1")
    assert first == Exported(tmp_path, len(plan(settings, "anna", "bo")), 0, ())
    assert first.summary() == f"wrote {first.written} files to {tmp_path}"
    (tmp_path / "doc" / "person" / "own.html").write_text("the editor's")

    second = export(tmp_path, settings, fetch, plan(settings, "bo"), version="v2")
    anna = {f for f in files(tmp_path) if "anna" in f}
    assert not anna and (tmp_path / "doc" / "person" / "own.html").exists()
    assert second.removed == 5 and second.unlisted == () and second.warning() is None
    assert second.summary() == (f"wrote {second.written} files to {tmp_path} and removed 5 "
                                "that an earlier export wrote and this one did not")
    written = manifest(tmp_path)
    assert written["version"] == "v2" and written["files"] == sorted(
        files(tmp_path) - {MANIFEST, "doc/person/own.html"})
    assert datetime.fromisoformat(str(written["exported"])).tzinfo is not None
    assert not (tmp_path / PENDING).exists()


def test_without_a_manifest_nothing_is_deleted_and_the_rest_is_named(
        tmp_path: Path, settings: Settings) -> None:
    for old in ("doc/person/anna.html", "doc/person/anna.ttl", "notes.txt", "z/1", "z/2"):
        (tmp_path / old).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / old).write_text("from before")
    done = export(tmp_path, settings, fetch, plan(settings))
    assert {"doc/person/anna.html", "notes.txt", "z/2"} <= files(tmp_path)
    assert done.removed == 0
    assert done.unlisted == ("doc/person/anna.html", "doc/person/anna.ttl", "notes.txt",
                             "z/1", "z/2")
    warning = done.warning()
    assert warning is not None and warning.startswith(f"warning: 5 files in {tmp_path} ")
    assert warning.endswith(": doc/person/anna.html, doc/person/anna.ttl, notes.txt and 2 more")
    # the next export has this one's manifest: it neither removes nor reports them again
    again = export(tmp_path, settings, fetch, plan(settings))
    assert again.unlisted == () and again.removed == 0 and "notes.txt" in files(tmp_path)


def test_a_manifest_naming_a_file_outside_dir_is_refused(tmp_path: Path,
                                                         settings: Settings) -> None:
    root, outside = tmp_path / "site", tmp_path / "precious.txt"
    outside.write_text("keep me")
    root.mkdir()
    (root / MANIFEST).write_text(json.dumps({"files": ["../precious.txt"]}))
    with pytest.raises(ConfigError, match="not a manifest"):
        export(root, settings, fetch, plan(settings))
    assert outside.read_text() == "keep me"
    assert files(root) == {MANIFEST}


def test_a_cut_export_has_no_manifest_nor_entry_points(tmp_path: Path,
                                                       settings: Settings) -> None:
    def cut(path: str) -> bytes:
        if path.startswith("doc/place/"):
            raise KeyboardInterrupt  # Ctrl-C: left to cli.main, which prints one line
        return fetch(path)

    with pytest.raises(KeyboardInterrupt):
        export(tmp_path, settings, cut, plan(settings, "anna"))
    left = files(tmp_path)
    assert "doc/person/anna.ttl" in left and MANIFEST not in left
    assert not left & set(ENTRY_POINTS)
    assert not [f for f in left if f.endswith(".partial")]
    # the next forced export, without anna, still removes what the cut one wrote of her
    done = export(tmp_path, settings, fetch, plan(settings))
    assert done.removed == 5 and not [f for f in files(tmp_path) if "anna" in f]
    assert set(ENTRY_POINTS) <= files(tmp_path)


def test_a_cut_re_export_no_longer_looks_finished(tmp_path: Path, settings: Settings) -> None:
    export(tmp_path, settings, fetch, plan(settings, "anna"))

    def failing(path: str) -> bytes:
        if path.startswith("doc/place/"):
            raise ConfigError("/doc/place/tartu answered 500")
        return fetch(path)

    with pytest.raises(ConfigError):
        export(tmp_path, settings, failing, plan(settings, "anna"))
    assert not (tmp_path / MANIFEST).exists()
    # what the finished export wrote is still known, so a withholding export removes anna
    assert export(tmp_path, settings, fetch, plan(settings)).removed == 5
    assert not [f for f in files(tmp_path) if "anna" in f]


@pytest.mark.slow
def test_a_folder_that_cannot_be_written_is_one_line(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "dumps").write_text("a file where the export needs a folder")
    assert cli.main(["export", str(tmp_path), "--force"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"publisher: cannot write {tmp_path / 'dumps'}/") and \
        err.count("\n") == 1
    assert not (tmp_path / MANIFEST).exists() and not (tmp_path / "index.html").exists()


@pytest.mark.slow
def test_a_full_disk_is_one_line_naming_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    real, calls = Path.write_bytes, []

    def write_bytes(self: Path, data: bytes) -> int:
        calls.append(self)
        if len(calls) == 40:  # the disk fills up halfway through a file
            real(self, data[:10])
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", write_bytes)
    assert cli.main(["export", str(tmp_path / "site")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"publisher: cannot write {tmp_path / 'site'}/")
    assert err.endswith(": No space left on device\n") and err.count("\n") == 1
    assert not [f for f in files(tmp_path) if f.endswith(".partial")]
