"""publisher/dumps.py: the whole dataset, byte-identical while the data is unchanged."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib
from rdflib.compare import isomorphic

from publisher import dumps
from publisher.config import Settings
from publisher.dumps import DUMP_FORMATS, Dumps, deterministic_gzip, write_dumps
from publisher.store import OxigraphStore

RDFLIB_FORMATS = {"turtle": "turtle", "ntriples": "nt", "jsonld": "json-ld", "rdfxml": "xml"}


@pytest.fixture(scope="module")
def store_settings(tmp_path_factory: pytest.TempPathFactory) -> tuple[OxigraphStore, Settings]:
    settings = Settings(cache_dir=str(tmp_path_factory.mktemp("cache")))
    return OxigraphStore.open(settings), settings


def _graph(store: OxigraphStore) -> rdflib.Graph:
    nt = ox.serialize(list(store.all_triples()), format=ox.RdfFormat.N_TRIPLES)
    return rdflib.Graph().parse(data=nt, format="nt")


def test_every_format_is_written_with_size_and_sha256(store_settings) -> None:  # type: ignore[no-untyped-def]
    store, settings = store_settings
    dumps = write_dumps(store, settings)
    assert [f.format.filename for f in dumps.files] == [d.filename for d in DUMP_FORMATS]
    for dump in dumps.files:
        body = dump.path.read_bytes()
        assert dump.size == len(body)
        assert dump.sha256 == hashlib.sha256(body).hexdigest()
        assert dump.etag == f'"{dump.sha256[:32]}"'
        assert int(dump.path.stat().st_mtime) == int(store.version_time())


def test_dumps_are_byte_identical_across_writes(store_settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    store, settings = store_settings
    first = write_dumps(store, settings)
    second = write_dumps(store, settings.replace(cache_dir=str(tmp_path)))  # a fresh folder
    assert [(f.size, f.sha256) for f in first.files] == [(f.size, f.sha256) for f in second.files]
    reopened = write_dumps(OxigraphStore.open(settings), settings)  # a new store, same data
    assert [f.sha256 for f in reopened.files] == [f.sha256 for f in first.files]


@pytest.mark.parametrize("dump", DUMP_FORMATS, ids=lambda d: d.key)
def test_each_dump_holds_exactly_the_store(store_settings, dump) -> None:  # type: ignore[no-untyped-def]
    store, settings = store_settings
    found = write_dumps(store, settings).get(dump.filename)
    assert found is not None
    body = found.path.read_bytes()
    if dump.gzipped:
        body = gzip.decompress(body)
    parsed = rdflib.Graph().parse(data=body, format=RDFLIB_FORMATS[dump.rdf_format.name],
                                  publicID=settings.base)
    assert isomorphic(parsed, _graph(store))


def test_jsonld_dump_carries_its_context(store_settings) -> None:  # type: ignore[no-untyped-def]
    store, settings = store_settings
    found = write_dumps(store, settings).get("internationella-relationer.jsonld")
    assert found is not None
    assert isinstance(json.loads(found.path.read_bytes())["@context"], dict)


def test_a_large_graph_gets_the_engines_expanded_jsonld(
        store_settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """Above COMPACT_JSONLD_MAX triples the JSON-LD dump is not compacted (pyld's compaction
    took minutes at 10^5 triples): expanded, it still holds exactly the store, the same
    bytes at every write."""
    store, settings = store_settings
    monkeypatch.setattr(dumps, "COMPACT_JSONLD_MAX", 10)
    written = [write_dumps(store, settings.replace(cache_dir=str(tmp_path / name)))
               .get("internationella-relationer.jsonld") for name in ("a", "b")]
    assert written[0] is not None and written[1] is not None
    body = written[0].path.read_bytes()
    assert body == written[1].path.read_bytes()
    document = json.loads(body)
    assert isinstance(document, list) and "@context" not in body.decode()  # expanded
    parsed = rdflib.Graph().parse(data=body, format="json-ld")
    assert isomorphic(parsed, _graph(store))


def test_gzip_header_is_fixed() -> None:
    body = deterministic_gzip(b"<a:b> <c:d> <e:f> .\n")
    assert body == deterministic_gzip(b"<a:b> <c:d> <e:f> .\n")
    assert body[4:8] == b"\0\0\0\0"          # mtime 0
    assert not body[3] & 0x08                # no file name
    assert gzip.GzipFile(fileobj=io.BytesIO(body)).read() == b"<a:b> <c:d> <e:f> .\n"


def test_manifest_is_reused_and_memoised(store_settings) -> None:  # type: ignore[no-untyped-def]
    store, settings = store_settings
    dumps = Dumps(settings)
    first = dumps.ensure(store)
    assert dumps.ensure(store) is first
    assert (first.files[0].path.parent / "manifest.json").is_file()


def test_a_dump_depends_on_the_data_alone(store_settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Each load of the same files gives blank nodes new labels; a dump names them by
    RDF Dataset Canonicalization, so two processes (``--workers``, a restart with an empty
    cache) write the same bytes and the catalogue declares the same checksums."""
    store, settings = store_settings
    assert any(isinstance(t.subject, ox.BlankNode) or isinstance(t.object, ox.BlankNode)
               for t in store.all_triples())  # else this proves nothing
    other = OxigraphStore.open(settings)  # the same files loaded again: other labels
    first = write_dumps(store, settings.replace(cache_dir=str(tmp_path / "a")))
    second = write_dumps(other, settings.replace(cache_dir=str(tmp_path / "b")))
    assert [f.sha256 for f in first.files] == [f.sha256 for f in second.files]
