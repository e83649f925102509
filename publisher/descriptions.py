"""What describes the whole dataset, written when a disk store is loaded so that no server
has to compute it: the five dumps (dumps.py) and the statistics that VoID, the catalogue and
the service description give (void.Statistics).

At 10^7 triples they take minutes (bench/RESULTS.md). A server that computed them on the
first request for /catalog, /.well-known/void or the service description held that request,
and through the GIL its neighbours, for as long. So diskstore.replace calls ``write`` on the
freshly loaded store, before its folder is swapped in, and writes into
``<store>/descriptions/``. The folder's inner stamp is written after that, so a folder that
holds a version holds its descriptions too. store.py treats a folder without them (as an
older publisher left it) as stale. A server only reads them (``statistics_of``,
dumps.write_dumps). An in-memory store computes them on first use, once per data version.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from publisher import void
from publisher.config import Settings
from publisher.dumps import PREPARED, prepared_folder, read_manifest, write_dumps
from publisher.store import Store

STATISTICS = "statistics.json"
log = logging.getLogger(__name__)


def write(store: Store, settings: Settings, store_folder: Path,
          progress: Callable[[str], None] | None = None) -> None:
    """Write the dumps and the statistics of ``store`` into ``<store_folder>/descriptions``
    (``progress`` is told the name of each dump as it is begun).
    The statistics are counted in a thread beside the dumps: the engine evaluates without
    the GIL, and the two take 8.0 s together at 10^6 triples, about what the dumps take
    alone (7.7 s; the statistics alone 3.4 s)."""
    folder = store_folder / PREPARED
    folder.mkdir()
    with ThreadPoolExecutor(1) as pool:
        counted = pool.submit(void.statistics, settings, store)
        write_dumps(store, settings, progress, folder=folder)
        (folder / STATISTICS).write_bytes(counted.result().to_json())


def complete(store_folder: Path) -> bool:
    """Whether a store folder holds its descriptions, in the form this publisher reads: the
    statistics, and every dump of the manifest at the size it records (a file cut short
    or gone would otherwise send a server to write the dumps itself, for minutes)."""
    folder = store_folder / PREPARED
    return read_manifest(folder) is not None and _read(folder / STATISTICS) is not None


def statistics_of(state: Any, settings: Settings, store: Store) -> void.Statistics:
    """The statistics of the store's data version, kept in ``state`` (the app's): read from
    the store's folder if they were written at load, else computed, once per version. Two
    first requests at once may both compute them; either result is the same."""
    kept: tuple[str, void.Statistics] | None = getattr(state, "statistics", None)
    if kept is None or kept[0] != store.version:
        kept = (store.version, prepared(store) or void.statistics(settings, store))
        state.statistics = kept
    return kept[1]


def prepared(store: Store) -> void.Statistics | None:
    """The statistics written when the store was loaded, if it has them."""
    folder = prepared_folder(store)
    return _read(folder / STATISTICS) if folder is not None else None


def _read(file: Path) -> void.Statistics | None:
    try:
        return void.Statistics.from_json(file.read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("ignoring %s (%s)", file, exc)
        return None
