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


@pytest.fixture(params=["here", "elsewhere"])
def by_engine(store_settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request):  # type: ignore[no-untyped-def]
    """The municipality's graph written as a large one is: by the engine (ENGINE_ABOVE
    lowered below its size), twice, into two fresh folders; the other syntaxes written in
    this process, or in processes of their own (ELSEWHERE_ABOVE lowered too)."""
    store, settings = store_settings
    monkeypatch.setattr(dumps, "ENGINE_ABOVE", 10)
    elsewhere: list[str] = []
    convert_elsewhere = dumps._convert_elsewhere

    def counted(*args):  # type: ignore[no-untyped-def]
        elsewhere.append(args[1].name)
        convert_elsewhere(*args)

    if request.param == "elsewhere":
        monkeypatch.setattr(dumps, "ELSEWHERE_ABOVE", 10)
        monkeypatch.setattr(dumps, "_convert_elsewhere", counted)
        monkeypatch.setattr(dumps, "_convert", None)  # not in this process
    monkeypatch.setattr(dumps, "_write_by_python", None)  # it must not be called
    written = [write_dumps(store, settings.replace(cache_dir=str(tmp_path / n)))
               for n in ("a", "b")]
    assert len(elsewhere) == (6 if request.param == "elsewhere" else 0)
    return store, settings, written


@pytest.mark.parametrize("dump", DUMP_FORMATS, ids=lambda d: d.key)
def test_the_engines_dumps_hold_exactly_the_store(by_engine, dump) -> None:  # type: ignore[no-untyped-def]
    """Above ENGINE_ABOVE quads the engine streams the dumps (the Python writer took hours
    and tens of GB at 10^7 triples): each still holds exactly the store, and writing the
    same store again gives the same bytes."""
    store, settings, (first, second) = by_engine
    found, again = first.get(dump.filename), second.get(dump.filename)
    assert found is not None and again is not None
    body = found.path.read_bytes()
    assert body == again.path.read_bytes()
    assert (found.size, found.sha256) == (len(body), hashlib.sha256(body).hexdigest())
    if dump.gzipped:
        assert body[4:8] == b"\0\0\0\0" and not body[3] & 0x08  # mtime 0, no file name
        body = gzip.decompress(body)
    parsed = rdflib.Graph().parse(data=body, format=RDFLIB_FORMATS[dump.rdf_format.name],
                                  publicID=settings.base)
    assert isomorphic(parsed, _graph(store))
    if dump.key == "turtle":  # our prefixes, their lines in a stable order
        header = [line for line in body.split(b"\n") if line.startswith(b"@prefix ")]
        assert len(header) > 5 and header == sorted(header)
    if dump.key == "jsonld":  # expanded: no context
        assert isinstance(json.loads(body), list) and b"@context" not in body


def test_a_conversion_that_fails_elsewhere_says_which(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match=r"writing out\.ttl from .*missing\.nt failed: "):
        dumps._convert_elsewhere(tmp_path / "missing.nt", tmp_path / "out.ttl",
                                 dumps.BY_NAME["turtle"], "http://example.org/")


def test_the_engine_writes_each_triple_of_the_union_once(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A triple in several graphs (or in the default graph and a named one) is one triple of
    the dataset's union, and one line of the dump; no query keeps a set of what it saw."""
    monkeypatch.setattr(dumps, "ENGINE_ABOVE", 0)
    engine = ox.Store()
    a, b, c = (ox.NamedNode(f"http://example.org/{x}") for x in "abc")
    shared, blank = ox.Triple(a, b, c), ox.BlankNode()
    for graph in (ox.DefaultGraph(), ox.NamedNode("http://example.org/g2"),
                  ox.NamedNode("http://example.org/g1")):
        engine.add(ox.Quad(*shared, graph))
    engine.add(ox.Quad(a, b, ox.Literal("only in g2"), ox.NamedNode("http://example.org/g2")))
    engine.add(ox.Quad(blank, b, c, ox.NamedNode("http://example.org/g1")))
    engine.add(ox.Quad(blank, b, c, ox.NamedNode("http://example.org/g2")))
    store = OxigraphStore(engine, "v1", 0.0, None)
    written = write_dumps(store, Settings(cache_dir=str(tmp_path))).get(
        "internationella-relationer.nt")
    assert written is not None
    lines = written.path.read_bytes().decode().splitlines()
    assert sorted(lines) == sorted({*lines}) and len(lines) == 3
    assert {str(t) + " ." for t in ox.parse(input="\n".join(lines),
                                            format=ox.RdfFormat.N_TRIPLES)} == {*lines}


def test_two_processes_never_mix_their_dumps(store_settings, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """Each writer writes into a folder of its own and renames it into place whole: a writer
    that comes second keeps the first one's complete set, files and manifest together."""
    store, settings = store_settings
    settings = settings.replace(cache_dir=str(tmp_path))
    folder = tmp_path / f"dumps-{store.version}"
    real = dumps._write

    def meanwhile_another_process(*args):  # type: ignore[no-untyped-def]
        found = real(*args)
        if not folder.exists():  # the other one finishes first, with other bytes
            other = folder.with_name("other")
            real(store, settings, other, None)
            (other / "internationella-relationer.ttl").write_bytes(b"# the other one\n")
            (other / "manifest.json").write_text(json.dumps({
                f.format.filename: {"size": (other / f.format.filename).stat().st_size,
                                    "sha256": "other"} for f in found}))
            other.rename(folder)
        return found

    monkeypatch.setattr(dumps, "_write", meanwhile_another_process)
    kept = write_dumps(store, settings)
    assert {f.sha256 for f in kept.files} == {"other"}
    assert (folder / "internationella-relationer.ttl").read_bytes() == b"# the other one\n"
    assert [p.name for p in tmp_path.iterdir()] == [folder.name]  # its own folder is gone


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


def test_the_union_leaves_out_empty_graphs_and_dumps_the_first_whole() -> None:
    """The first graph with triples is written as the store dumps it (nothing earlier to
    leave out); each later one leaves out what the earlier non-empty graphs hold."""
    engine = ox.Store()
    a, b, c = (ox.NamedNode(f"http://example.org/{x}") for x in "abc")
    g1, g2, g3 = (ox.NamedNode(f"http://example.org/g{i}") for i in (1, 2, 3))
    engine.add(ox.Quad(a, b, c, g1))
    engine.add(ox.Quad(a, b, c, g3))
    engine.add(ox.Quad(a, b, ox.Literal("x"), g2))
    engine.remove(ox.Quad(a, b, ox.Literal("x"), g2))  # g2: named, now empty
    parts = dumps.union_parts(engine)
    assert [(graph, query is None) for graph, query in parts] == [(g1, True), (g3, False)]
    assert parts[1][1] is not None and "GRAPH <http://example.org/g1>" in parts[1][1] \
        and "g2" not in parts[1][1] and "{ ?s ?p ?o } UNION" not in parts[1][1]
    engine.add(ox.Quad(a, b, ox.Literal("y")))  # the default graph comes first
    assert [query is None for _, query in dumps.union_parts(engine)] == [True, False, False]
