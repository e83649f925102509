"""publisher/descriptions.py: a disk store gets its dumps and statistics when it is loaded,
and what serves it only reads them; a store without them is loaded again, and a changed file
gets new ones (never a stale number)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest
import rdflib

from publisher import cli, descriptions, void
from publisher.config import Settings
from publisher.dumps import DUMP_FORMATS, PREPARED, write_dumps
from publisher.errors import DataError
from publisher.store import OxigraphStore
from tests.conftest import Server, free_port
from tests.test_bulkload import _triples, _write

VOID = rdflib.Namespace("http://rdfs.org/ns/void#")


def _load(tmp_path: Path, base: str,
          seeds: tuple[int, ...] = (1,)) -> tuple[OxigraphStore, Settings]:
    """`publisher load` of generated data under ``base``; the store as a server opens it."""
    data, ontology = tmp_path / "data", tmp_path / "ontology"
    data.mkdir(exist_ok=True)
    ontology.mkdir(exist_ok=True)
    for seed in seeds:
        _write(data / f"part{seed}.nt", _triples(6000, seed=seed))
    args = ["--store", str(tmp_path / "db"), "--data-dir", str(data), "--ontology-dir",
            str(ontology), "--base", base]
    assert cli.main(["load", *args]) == 0
    settings = Settings(store=str(tmp_path / "db"), data_dir=data, ontology_dir=ontology,
                        base=base)
    return OxigraphStore.open(settings, read_only=True), settings


def test_a_load_writes_the_descriptions_of_what_it_loaded(tmp_path: Path) -> None:
    store, settings = _load(tmp_path, "https://data.uppsala.se/")
    assert store.path is not None and descriptions.complete(store.path)
    folder = store.path / PREPARED
    kept = void.Statistics.from_json((folder / descriptions.STATISTICS).read_bytes())
    assert kept == void.statistics(settings, store)  # the same numbers, counted now
    assert kept.counts["triples"] > 5000  # large enough for the engine's writer
    dumps = write_dumps(store, settings.replace(cache_dir=str(tmp_path / "cache")))
    assert [f.path.parent for f in dumps.files] == [folder] * len(DUMP_FORMATS)
    assert not (tmp_path / "cache").exists()  # found, not written
    nt = dumps.get("internationella-relationer.nt")
    assert nt is not None
    assert {q.triple for q in ox.parse(path=nt.path, format=ox.RdfFormat.N_TRIPLES)} == \
        set(store.all_triples())


def test_a_server_only_reads_them(tmp_path: Path) -> None:
    """What a server answers about the dataset comes from the files of the load: changed
    there, the change is what it says (so it did not count again), and it writes nothing."""
    port = free_port()
    store, _ = _load(tmp_path, f"http://127.0.0.1:{port}/")
    assert store.path is not None
    folder = store.path / PREPARED
    kept = json.loads((folder / descriptions.STATISTICS).read_bytes())
    kept["counts"]["triples"] = 123456789
    kept["graphs"] = {name: 987654321 for name in kept["graphs"]}
    kept["first_year"] = "1066"
    (folder / descriptions.STATISTICS).write_text(json.dumps(kept))
    manifest = json.loads((folder / "manifest.json").read_text())
    cache = tmp_path / "cache"
    server = Server("--store", str(store.path), "--data-dir", str(tmp_path / "data"),
                    "--ontology-dir", str(tmp_path / "ontology"), port=port,
                    env={"PUBLISHER_CACHE_DIR": str(cache)})
    try:
        described = rdflib.Graph().parse(server.url(".well-known/void"), format="turtle")
        assert 123456789 in {o.toPython() for o in described.objects(None, VOID.triples)}
        service = httpx.get(server.url("sparql"), headers={"Accept": "text/turtle"})
        assert service.status_code == 200 and "987654321" in service.text
        catalogue = httpx.get(server.url("catalog.ttl"))
        assert catalogue.status_code == 200 and '"1066"^^xsd:gYear' in catalogue.text
        page = httpx.get(server.url("catalog.html"))  # its schema.org Dataset
        assert page.status_code == 200 and "1066/.." in page.text
        for dump in DUMP_FORMATS:
            assert str(manifest[dump.filename]["size"]) in catalogue.text
            body = httpx.get(server.url(f"dumps/{dump.filename}")).content
            assert hashlib.sha256(body).hexdigest() == manifest[dump.filename]["sha256"]
    finally:
        server.stop()
    assert not cache.exists()


@pytest.mark.parametrize("left", ["none", "unreadable", "a dump cut short", "a dump gone"])
def test_a_store_without_them_is_loaded_again(tmp_path: Path, left: str) -> None:
    """A folder an older publisher loaded has no descriptions, or statistics in a form this
    one does not read, or a dump that is not the size its manifest records: readers
    refuse it as they refuse a stale one (a server would otherwise count or write for
    minutes), and the next load writes them."""
    store, settings = _load(tmp_path, "https://data.uppsala.se/")
    del store
    folder = tmp_path / "db" / PREPARED
    if left == "none":
        shutil.rmtree(folder)
    elif left == "unreadable":
        (folder / descriptions.STATISTICS).write_text('{"counts": {}}')
    elif left == "a dump cut short":
        dump = folder / DUMP_FORMATS[0].filename
        dump.write_bytes(dump.read_bytes()[:100])
    else:
        (folder / DUMP_FORMATS[-1].filename).unlink()
    with pytest.raises(DataError, match="does not hold the current data"):
        OxigraphStore.open(settings, read_only=True)
    assert descriptions.complete(OxigraphStore.open(settings).path)  # type: ignore[arg-type]


def test_a_changed_file_gets_new_descriptions(tmp_path: Path) -> None:
    first, _ = _load(tmp_path, "https://data.uppsala.se/")
    assert first.path is not None
    before = (first.path / PREPARED / descriptions.STATISTICS).read_bytes()
    manifest = (first.path / PREPARED / "manifest.json").read_bytes()
    del first
    again, _ = _load(tmp_path, "https://data.uppsala.se/", seeds=(1, 2))
    assert again.path is not None
    after = void.Statistics.from_json((again.path / PREPARED / descriptions.STATISTICS)
                                      .read_bytes())
    assert after.counts["triples"] > void.Statistics.from_json(before).counts["triples"]
    assert (again.path / PREPARED / "manifest.json").read_bytes() != manifest
    assert after.counts["triples"] == len(set(again.all_triples()))


def test_a_refill_tells_what_it_does_after_the_fill(tmp_path: Path) -> None:
    """What follows the fill takes minutes at 10^7 triples: `publisher load` shows each step
    beside its full progress bar (cli.py), from these."""
    data, ontology = tmp_path / "data", tmp_path / "ontology"
    data.mkdir()
    ontology.mkdir()
    _write(data / "part.nt", _triples(6000, seed=1))
    settings = Settings(store=str(tmp_path / "db"), data_dir=data, ontology_dir=ontology)
    stages: list[str] = []
    read: list[int] = []
    OxigraphStore.open(settings, progress=read.append, stage=stages.append)
    assert sum(read) == (data / "part.nt").stat().st_size
    assert stages[0] == "compacting"  # then each dump, N-Triples first (its gzip beside)
    assert stages[1:] == [f"writing {d.filename}" for d in sorted(
        (d for d in DUMP_FORMATS if d.key != "ntriples-gzip"), key=lambda d: d.key != "ntriples")]
    stages.clear()
    OxigraphStore.open(settings, stage=stages.append)  # up to date: nothing to do
    assert stages == []
