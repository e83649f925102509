"""publisher/diskstore.py: loading into the on-disk store is atomic. A load killed at any
moment leaves the previous store intact and served (for real: a server killed -9 in the
middle of loading generated data), and the cut points in between are recovered."""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest

from publisher import diskstore
from publisher.config import CANONICAL_BASE, Settings
from publisher.errors import DataError
from publisher.store import OxigraphStore
from tests.conftest import ROOT, Server
from tests.support import copy_of_sources


def _data(root: Path, big: bool) -> Path:
    copy_of_sources(root)
    if big:  # ~300,000 triples in our model: a load that takes a few seconds
        subprocess.run([sys.executable, str(ROOT / "bench" / "generate.py"), "--triples",
                        "300000", "--out", str(root / "data" / "generated.nt")], check=True)
    return root


def _count(path: Path) -> int:
    store = ox.Store.read_only(str(path))
    n = len(store)
    del store
    gc.collect()
    return n


def _bytes_in(folder: Path) -> int:
    """The bytes of the files in a folder being loaded; a file the loader renames or
    deletes between the listing and its stat (its bulk-*.sst files) counts nothing."""
    total = 0
    for file in folder.iterdir() if folder.is_dir() else ():
        with contextlib.suppress(FileNotFoundError):
            total += file.stat().st_size if file.is_file() else 0
    return total


def _open_and_close(settings: Settings) -> str:
    store = OxigraphStore.open(settings)
    version = store.version
    del store
    gc.collect()
    return version


@pytest.mark.slow
def test_a_server_killed_mid_load_leaves_the_previous_store_intact_and_served(
        tmp_path: Path) -> None:
    store = tmp_path / "store"
    small = _data(tmp_path / "small", big=False)
    version = _open_and_close(Settings(store=str(store), data_dir=small / "data",
                                       ontology_dir=small / "ontology"))
    before = _count(store)
    big = _data(tmp_path / "big", big=True)
    command = [sys.executable, "-m", "publisher", "serve", "--port", "1", "--store",
               str(store), "--data-dir", str(big / "data"), "--ontology-dir",
               str(big / "ontology")]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    loading = store.with_name(f"store.loading-{process.pid}")
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            if _bytes_in(loading) > 2_000_000:
                break  # well into the load: RocksDB files are being written
            time.sleep(0.02)
        assert process.poll() is None, "the load finished before it could be killed"
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert loading.is_dir()  # it really was cut in the middle
    assert diskstore.holds(store, version) and _count(store) == before
    served = Server("--store", str(store), "--data-dir", str(small / "data"),
                    "--ontology-dir", str(small / "ontology"),
                    "--base", CANONICAL_BASE)  # the base it was loaded with: no reload
    try:
        assert httpx.get(served.url("readyz")).json()["version"] == version
        assert httpx.get(served.url("doc/place/tartu")).status_code == 200
    finally:
        served.stop()
    assert not loading.exists()  # the half-loaded folder was cleaned up


def test_a_swap_cut_between_its_renames_is_undone(tmp_path: Path) -> None:
    store = tmp_path / "store"
    settings = Settings(store=str(store))
    version = _open_and_close(settings)
    os.rename(store, tmp_path / "store.old-999999")  # killed after the first rename
    diskstore.recover(store)
    assert diskstore.holds(store, version) and not (tmp_path / "store.old-999999").exists()
    assert _open_and_close(settings) == version


def test_a_folder_that_does_not_hold_the_stamped_version_is_reloaded(tmp_path: Path) -> None:
    store = tmp_path / "store"
    settings = Settings(store=str(store))
    version = _open_and_close(settings)
    (store / diskstore.INNER_STAMP).write_text("something-else\n")  # cut before the stamp
    assert not diskstore.holds(store, version)
    assert _open_and_close(settings) == version
    assert diskstore.holds(store, version)


def test_a_load_that_fails_to_parse_leaves_the_store_alone(tmp_path: Path) -> None:
    root = _data(tmp_path / "src", big=False)
    store = tmp_path / "store"
    settings = Settings(store=str(store), data_dir=root / "data",
                        ontology_dir=root / "ontology")
    version = _open_and_close(settings)
    before = _count(store)
    (root / "data" / "broken.ttl").write_text("<a> <b> .\n")
    with pytest.raises(Exception):
        _open_and_close(settings)
    assert diskstore.holds(store, version) and _count(store) == before
    assert list(tmp_path.glob("store.loading-*")) == []


def test_a_folder_or_file_that_is_not_a_store_is_never_replaced(tmp_path: Path) -> None:
    """``--store data`` by mistake: the load was swapped in over the editor's data/ and the
    folder deleted, with exit 0."""
    folder = tmp_path / "thesis"
    (folder / "docs").mkdir(parents=True)
    (folder / "docs" / "thesis.txt").write_text("important")
    plain = tmp_path / "notes.txt"
    plain.write_text("notes")
    for path in (folder, plain):
        with pytest.raises(DataError, match="exists and is not a store"):
            OxigraphStore.open(Settings(store=str(path)))
    assert (folder / "docs" / "thesis.txt").read_text() == "important"
    assert plain.read_text() == "notes"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", "thesis"]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert diskstore.holds(empty, _open_and_close(Settings(store=str(empty))))
    reloaded = Settings(store=str(empty), withhold_personal_data=True)  # a store: replaced
    assert diskstore.holds(empty, _open_and_close(reloaded))
