"""publisher/bulkload.py and `publisher load`: N-Triples, Turtle and N-Quads, gzipped or not,
land in the on-disk store with every triple counted, each file in its own graph; a current
store is left alone, a changed file is loaded again, and a read-only opener never serves a
store older than the files. A loaded store is compacted, and serving it never writes to it."""

from __future__ import annotations

import gzip
import importlib.util
import time
from pathlib import Path

import pyoxigraph as ox
import pytest

from publisher import cli
from publisher.bulkload import load_files
from publisher.config import Settings
from publisher.errors import DataError, DataSyntaxError
from publisher.source import source_files
from publisher.store import OxigraphStore

SPEC = importlib.util.spec_from_file_location(
    "bench_generate", Path(__file__).resolve().parent.parent / "bench" / "generate.py")
assert SPEC and SPEC.loader
generate = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(generate)

BASE = "https://data.uppsala.se/"
FORMATS = {"nt": ox.RdfFormat.N_TRIPLES, "ttl": ox.RdfFormat.TURTLE, "nq": ox.RdfFormat.N_QUADS}


def _triples(count: int, seed: int = 3) -> list[ox.Triple]:
    text = "\n".join(generate.generate(count, seed=seed)) + "\n"
    return list(dict.fromkeys(ox.parse(text.encode(), format=ox.RdfFormat.N_TRIPLES)))


def _write(path: Path, triples: list[ox.Triple], graph: str | None = None) -> None:
    suffix = path.name.removesuffix(".gz").rsplit(".", 1)[1]
    if suffix == "nq":  # half in the file's own (default) graph, half in a named one
        half = len(triples) // 2
        items: list[object] = [ox.Quad(t.subject, t.predicate, t.object) for t in triples[:half]]
        items += [ox.Quad(t.subject, t.predicate, t.object, ox.NamedNode(graph or BASE + "g/x"))
                  for t in triples[half:]]
    else:
        items = list(triples)
    body = ox.serialize(items, format=FORMATS[suffix],
                        prefixes={"schema": "http://schema.org/"} if suffix == "ttl" else None)
    path.write_bytes(gzip.compress(body) if path.name.endswith(".gz") else body)


def _folders(tmp_path: Path) -> tuple[Path, Path, Path]:
    data, ontology = tmp_path / "data", tmp_path / "ontology"
    data.mkdir()
    ontology.mkdir()
    return data, ontology, tmp_path / "db"


def _load(data: Path, ontology: Path, store: Path, *extra: str) -> int:
    return cli.main(["load", "--store", str(store), "--data-dir", str(data), "--ontology-dir",
                     str(ontology), *extra])


def _count(store: Path) -> tuple[int, set[str]]:
    opened = ox.Store.read_only(str(store))
    graphs = {g.value for g in opened.named_graphs()}
    return len(opened), graphs


@pytest.mark.parametrize("name", ["part.nt", "part.nt.gz", "part.ttl", "part.ttl.gz",
                                  "part.nq", "part.nq.gz"])
def test_each_format_loads_completely(tmp_path: Path, name: str,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    data, ontology, store = _folders(tmp_path)
    triples = _triples(3000)
    _write(data / name, triples)
    assert _load(data, ontology, store) == 0
    count, graphs = _count(store)
    assert count == len(triples)
    assert BASE + "graph/data/part" in graphs  # x.nt.gz is the graph of x, as x.nt is
    if ".nq" in name:
        assert BASE + "g/x" in graphs
    assert "version" in capsys.readouterr().out


def test_a_current_store_is_kept_and_a_changed_file_reloaded(tmp_path: Path) -> None:
    data, ontology, store = _folders(tmp_path)
    _write(data / "a.nt.gz", _triples(2000))
    _write(ontology / "b.ttl", _triples(500, seed=9))
    assert _load(data, ontology, store) == 0
    stamp = store.with_name("db.version")
    first = stamp.read_text().split()
    assert len(first) == 2  # the version and the file signature it was computed from
    count, _ = _count(store)
    assert _load(data, ontology, store) == 0
    assert stamp.read_text().split() == first and _count(store)[0] == count

    more = _triples(2100)
    _write(data / "a.nt.gz", more)
    settings = Settings(data_dir=data, ontology_dir=ontology, store=str(store))
    with pytest.raises(DataError, match="does not hold the current data"):
        OxigraphStore.open(settings, read_only=True)  # readers never serve an old store
    assert _load(data, ontology, store) == 0
    assert stamp.read_text().split()[0] != first[0]
    assert _count(store)[0] == len(set(more)) + len(set(_triples(500, seed=9)))
    reader = OxigraphStore.open(settings, read_only=True)
    assert reader.version == stamp.read_text().split()[0]


def test_serving_leaves_the_store_as_its_query_workers_see_it(tmp_path: Path) -> None:
    """The server opens the store read-only, as its query workers do. A read-write open let
    RocksDB compact the files of several bulk loads and delete them under a worker's
    read-only view of the folder (at 10^7 triples: "No such file or directory: ...sst")."""
    data, ontology, store = _loaded_in_parts(tmp_path)
    loaded = _listing(store)
    worker = ox.Store.read_only(str(store))  # as publisher/evaluate.py opens it
    settings = Settings(data_dir=data, ontology_dir=ontology, store=str(store))
    server = OxigraphStore.open(settings)  # as `publisher serve` opens it
    time.sleep(0.5)  # time for a compaction in the background, were there one
    assert _listing(store) == loaded
    everything = list(worker.quads_for_pattern(None, None, None, None))  # every index read
    label = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label")
    by_predicate = list(worker.quads_for_pattern(None, label, None, None))
    assert len(everything) == len(server._store) > len(by_predicate) > 0
    for quad in by_predicate[:50]:
        assert list(worker.quads_for_pattern(None, None, quad.object, None))
    with pytest.raises(RuntimeError, match="read-write"):
        server._store.add(everything[0])  # nothing that serves can write


def test_a_loaded_store_is_compacted(tmp_path: Path) -> None:
    """``publisher load`` merges the files of its bulk loads (diskstore.replace): optimizing
    the store again has nothing left to rewrite."""
    _, _, store = _loaded_in_parts(tmp_path)
    files = {name for name in _listing(store) if name.endswith(".sst")}
    again = ox.Store(str(store))
    again.optimize()
    del again
    assert {name for name in _listing(store) if name.endswith(".sst")} == files


def _loaded_in_parts(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A store loaded from six files: a bulk load each, whose files overlap (RocksDB would
    compact them)."""
    data, ontology, store = _folders(tmp_path)
    for part in range(6):
        _write(data / f"part{part}.nt", _triples(400, seed=part))
    assert _load(data, ontology, store) == 0
    return data, ontology, store


def _listing(folder: Path) -> dict[str, tuple[int, int]]:
    """The folder's files and their sizes and times, but RocksDB's own log (``LOG``,
    ``LOG.old...``), which every opener writes, read-only ones too."""
    return {path.name: (path.stat().st_size, path.stat().st_mtime_ns)
            for path in folder.iterdir() if not path.name.startswith("LOG")}


def test_the_same_bytes_rewritten_keep_their_version(tmp_path: Path) -> None:
    data, ontology, store = _folders(tmp_path)
    _write(data / "a.nt", _triples(500))
    assert _load(data, ontology, store) == 0
    version = store.with_name("db.version").read_text().split()[0]
    (data / "a.nt").write_bytes((data / "a.nt").read_bytes())  # new mtime, same content
    settings = Settings(data_dir=data, ontology_dir=ontology, store=str(store))
    assert OxigraphStore.open(settings, read_only=True).version == version


def test_a_syntax_error_names_the_file_and_line(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    data, ontology, store = _folders(tmp_path)
    (data / "bad.nt").write_text('<http://a> <http://b> "ok" .\n<http://a> <http://b> oops .\n')
    assert _load(data, ontology, store) == 2
    assert f"{data / 'bad.nt'}:2:" in capsys.readouterr().err
    assert not store.with_name("db.version").exists()


@pytest.mark.parametrize("name", ["part.nt", "part.ttl.gz"])
def test_with_a_progress_bar_every_byte_of_the_file_is_counted(tmp_path: Path,
                                                              name: str) -> None:
    """On a terminal ``publisher load`` shows a bar: the engine then reads through
    Python, which counts (a gzipped file by its compressed bytes); elsewhere it reads the
    file itself. Both load the same triples."""
    data, ontology, _ = _folders(tmp_path)
    triples = _triples(3000)
    _write(data / name, triples)
    files = source_files(Settings(data_dir=data, ontology_dir=ontology))
    counted: list[int] = []
    with_bar, without = ox.Store(), ox.Store()
    load_files(with_bar, files, BASE, progress=counted.append)
    load_files(without, files, BASE)
    assert sum(counted) == (data / name).stat().st_size and len(counted) > 1
    assert len(with_bar) == len(without) == len(triples)
    assert set(with_bar) == set(without)


def test_with_a_progress_bar_a_syntax_error_names_the_file_and_line(tmp_path: Path) -> None:
    data, ontology, _ = _folders(tmp_path)
    (data / "bad.nt").write_text('<http://a> <http://b> "ok" .\n<http://a> <http://b> oops .\n')
    files = source_files(Settings(data_dir=data, ontology_dir=ontology))
    with pytest.raises(DataSyntaxError) as raised:
        load_files(ox.Store(), files, BASE, progress=lambda _: None)
    assert f"{data / 'bad.nt'}:2:" in str(raised.value)


def test_load_makes_the_folders_of_a_new_store(tmp_path: Path) -> None:
    data, ontology, _ = _folders(tmp_path)
    _write(data / "part.nt", _triples(50))
    store = tmp_path / "var" / "lib" / "publisher" / "db"  # none of these exists yet
    assert _load(data, ontology, store) == 0
    assert _count(store)[0] == len(set(_triples(50)))


def test_load_needs_a_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data, ontology, _ = _folders(tmp_path)
    assert cli.main(["load", "--data-dir", str(data), "--ontology-dir", str(ontology)]) == 2
    assert "--store" in capsys.readouterr().err


def test_a_forced_load_that_fails_keeps_the_store_and_its_stamp(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]
                                                                ) -> None:
    """``--force`` refills a current store; it used to delete the stamp first, so a load
    that then failed left the good store stale (and the next open refilling it)."""
    data, ontology, store = _folders(tmp_path)
    _write(data / "part.nt", _triples(50))
    assert _load(data, ontology, store) == 0
    stamp = store.with_name("db.version").read_text()
    assert _load(data, ontology, store, "--force") == 0  # refilled: the same version
    assert store.with_name("db.version").read_text() == stamp
    (data / "broken.ttl").write_text("<a> <b> .\n")
    assert _load(data, ontology, store, "--force") == 2
    assert "broken.ttl" in capsys.readouterr().err
    assert store.with_name("db.version").read_text() == stamp
    assert _count(store)[0] == len(set(_triples(50)))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "db", "db.version", "ontology"]


def test_load_refuses_a_remote_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data, ontology, _ = _folders(tmp_path)
    assert cli.main(["load", "--store", "sparql+http://127.0.0.1:9/sparql", "--data-dir",
                     str(data), "--ontology-dir", str(ontology)]) == 2
    assert "publisher push" in capsys.readouterr().err
    assert not list(Path.cwd().glob("sparql+http*"))


def test_push_to_a_store_that_is_down_is_one_line(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """It printed a 35-line traceback ending in ServiceUnavailable."""
    data, ontology, _ = _folders(tmp_path)
    _write(data / "part.nt", _triples(5))
    code = cli.main(["push", "--store", "sparql+http://127.0.0.1:9/sparql", "--store-update",
                     "http://127.0.0.1:9/update", "--data-dir", str(data), "--ontology-dir",
                     str(ontology)])
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("publisher: ") and err.count("\n") == 1
    assert "Traceback" not in err


def test_push_names_a_data_file_as_a_whole_push_does_and_refuses_two_for_one_graph(
        tmp_path: Path) -> None:
    """``push data/places.ttl`` replaced <graph/data/places> with a new <graph/places>, and
    two files called places.ttl were merged into one graph."""
    from publisher.config import Settings  # noqa: PLC0415
    from publisher.errors import DataError  # noqa: PLC0415
    from publisher.push import files_for  # noqa: PLC0415
    from publisher.source import source_files  # noqa: PLC0415

    settings = Settings()
    whole = {s.path.resolve(): s.graph for s in source_files(settings)}
    places = settings.data_dir / "places.ttl"
    one, = files_for(settings, [str(places)])
    assert one.graph == whole[places.resolve()] == settings.iri("graph/data/places")
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        _write(tmp_path / folder / "x.nt", _triples(2))
    with pytest.raises(DataError, match="would both be the graph"):
        files_for(settings, [str(tmp_path / "a" / "x.nt"), str(tmp_path / "b" / "x.nt")])
    elsewhere, = files_for(settings, [str(tmp_path / "a" / "x.nt")])
    assert elsewhere.graph == settings.iri("graph/x")
