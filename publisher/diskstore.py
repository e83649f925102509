"""Replacing an on-disk store folder atomically, so a killed load never loses the old data.

``replace(path, fill, describe, version, stamp, stamp_text)``: the new data is loaded into
a sibling folder ``<name>.loading-<pid>`` (``fill`` does the loading) and compacted,
``describe`` writes what describes it into the folder (descriptions.py), its version is
written inside it (``publisher.version``) once it is complete, then two renames swap it in
(the old folder goes to ``<name>.old-<pid>``, deleted after), and the stamp next to the
folder (store.py's, with the source signature) is replaced last, by rename.

Compacted: ``Store.optimize``, as pyoxigraph advises after a bulk load. A large load leaves
RocksDB many overlapping files, which a store opened read-only (as every process serving it
opens it, store.py) never merges: at 10^7 triples the look-ups and joins of bench/run.py ran
1.4-5x slower on them (bench/RESULTS.md). There it adds some 6 s to a load of a minute,
and the compacted files take more disk (3.3 GB against 1.9 GB; while it runs, the folder
holds both).

Killed while loading: the old folder and stamp were never touched, and the next open
deletes the half-loaded sibling. Killed between the two renames: the next open renames the
old folder back (``recover``). Killed after them but before the outer stamp: the folder's
inner version no longer matches the stamp, so ``holds`` says no and the next open reloads;
a folder is never served as a version it does not hold.
"""

from __future__ import annotations

import gc
import os
import shutil
import traceback
from collections.abc import Callable
from pathlib import Path

import pyoxigraph as ox

INNER_STAMP = "publisher.version"


def holds(path: Path, version: str) -> bool:
    """Whether the folder completed a load of ``version`` (its inner stamp says so)."""
    try:
        return (path / INNER_STAMP).read_text().strip() == version
    except OSError:
        return False


def replaceable(path: Path) -> bool:
    """Whether ``replace`` may put a store at ``path``: nothing is there, or an empty
    folder, or a store (a folder with our inner stamp, or RocksDB's ``CURRENT``: a load
    that never finished, or an Oxigraph store). Anything else is somebody's folder or file
    (``--store data`` by mistake), which a swap would delete."""
    if not os.path.lexists(path):
        return True
    if not path.is_dir() or path.is_symlink():
        return False
    return not any(path.iterdir()) or (path / INNER_STAMP).is_file() \
        or (path / "CURRENT").is_file()


def replace(path: Path, fill: Callable[[ox.Store], None],
            describe: Callable[[ox.Store, Path], None], version: str, stamp: Path,
            stamp_text: str, stage: Callable[[str], None] | None = None) -> None:
    """See the module's docstring; ``stage`` is told "compacting" when the fill is done."""
    temp = path.with_name(f"{path.name}.loading-{os.getpid()}")
    path.parent.mkdir(parents=True, exist_ok=True)  # RocksDB makes only the last folder
    shutil.rmtree(temp, ignore_errors=True)
    try:
        loading = ox.Store(str(temp))
        fill(loading)
        loading.flush()
        if stage is not None:
            stage("compacting")
        loading.optimize()
        describe(loading, temp)
        del loading  # closes RocksDB before its folder moves
        gc.collect()
        _write_synced(temp / INNER_STAMP, version + "\n")
    except BaseException as exc:
        traceback.clear_frames(exc.__traceback__)  # they hold the half-filled store open
        gc.collect()
        shutil.rmtree(temp, ignore_errors=True)
        raise
    old = path.with_name(f"{path.name}.old-{os.getpid()}")
    if path.exists():
        os.rename(path, old)
    os.rename(temp, path)
    _sync_dir(path.parent)
    shutil.rmtree(old, ignore_errors=True)
    _write_synced(stamp.with_name(stamp.name + ".tmp"), stamp_text)
    os.replace(stamp.with_name(stamp.name + ".tmp"), stamp)
    _sync_dir(path.parent)


def recover(path: Path) -> None:
    """Undo what a killed load left: the old folder goes back if the swap was cut between
    its renames; loading folders of processes that are gone, and old folders, are deleted."""
    olds = sorted(path.parent.glob(f"{path.name}.old-*"), key=lambda p: p.stat().st_mtime)
    if not path.exists() and olds:
        os.rename(olds.pop(), path)
    for leftover in olds:
        shutil.rmtree(leftover, ignore_errors=True)
    for leftover in path.parent.glob(f"{path.name}.loading-*"):
        pid = leftover.name.rpartition("-")[2]
        if not (pid.isdigit() and int(pid) != os.getpid() and _alive(int(pid))):
            shutil.rmtree(leftover, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _write_synced(file: Path, text: str) -> None:
    with open(file, "w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def _sync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
