"""What only a remote store has: the atomic push, the version learned from the store, the
circuit breaker and 503s when the store is down, cached documents served meanwhile, and
IRIs that are validated before they reach a query."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from publisher.app import create_app
from publisher.config import Settings
from publisher.documents import Documents
from publisher.endpoint import Endpoint
from publisher.errors import ServiceUnavailable
from publisher.negotiation import BY_NAME
from publisher.query_text import with_values
from publisher.remote import RemoteStore, meta_graph
from tests.conftest import free_port
from tests.remote.conftest import Virtuoso
from tests.support import fixture_settings

pytestmark = pytest.mark.slow
BASE = "http://remote.test/"


def _graphs(virtuoso: Virtuoso) -> set[str]:
    response = httpx.post(f"{virtuoso.url}/sparql", data={
        "query": "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"},
        headers={"Accept": "text/csv"}, timeout=30)
    return {line.strip('"') for line in response.text.splitlines()[1:]}


def _settings(virtuoso: Virtuoso, **changes: object) -> Settings:
    return fixture_settings(base=BASE, store=virtuoso.store, store_version_ttl=0.3,
                            **changes)


class Switch(httpx.BaseTransport):
    """A transport to the real store that can be cut, as a network or store failure is."""

    def __init__(self) -> None:
        self.up, self.real = True, httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if not self.up:
            raise httpx.ConnectError("store down", request=request)
        return self.real.handle_request(request)

    def close(self) -> None:
        self.real.close()


def test_push_swaps_whole_loads_in(virtuoso: Virtuoso, tmp_path: Path) -> None:
    settings = _settings(virtuoso)
    virtuoso.push(BASE, "--data-dir", str(settings.data_dir),
                  "--ontology-dir", str(settings.ontology_dir))
    store = RemoteStore(settings)
    first = store.meta()
    assert not first.swapping and first.triples > 0
    assert set(first.graphs) <= _graphs(virtuoso)
    # a different load under the same base: one file only
    only = tmp_path / "only.ttl"
    only.write_text(f"<{BASE}id/thing/new> <http://www.w3.org/2000/01/rdf-schema#label> "
                    '"new"@en .\n')
    virtuoso.push(BASE, str(only))
    time.sleep(0.4)
    second = store.meta()
    assert second.version != first.version and second.graphs == (BASE + "graph/only",)
    assert second.triples == 1
    left = _graphs(virtuoso)
    assert not any(g.startswith("urn:x-publisher:staging") for g in left), left
    assert not set(first.graphs) & left  # graphs of the old load are dropped
    assert store.describe(BASE + "id/thing/new", 10) is not None
    store.close()


def test_swapping_serves_the_cache_and_503_for_the_rest(virtuoso: Virtuoso) -> None:
    settings = _settings(virtuoso)
    virtuoso.push(BASE, "--data-dir", str(settings.data_dir),
                  "--ontology-dir", str(settings.ontology_dir))
    with TestClient(create_app(settings), base_url=BASE[:-1]) as client:
        cached = client.get("/doc/thing/one.ttl")
        assert cached.status_code == 200
        meta = meta_graph(BASE)
        state = "<urn:x-publisher:state>"
        update = (f'DELETE WHERE {{ GRAPH <{meta}> {{ <{meta}> {state} ?o }} }} ; INSERT DATA '
                  f'{{ GRAPH <{meta}> {{ <{meta}> {state} "swapping" }} }}')
        response = httpx.post(f"{virtuoso.url}/sparql-auth", content=update.encode(),
                              headers={"Content-Type": "application/sparql-update"},
                              auth=httpx.DigestAuth("dba", "dba"), timeout=30)
        assert response.status_code == 200, response.text
        time.sleep(0.4)
        again = client.get("/doc/thing/one.ttl")
        assert again.status_code == 200 and again.content == cached.content
        other = client.get("/doc/thing/two.ttl")
        assert other.status_code == 503 and other.headers["retry-after"]
        query = client.get("/sparql", params={"query": "ASK { ?s ?p ?o }"})
        assert query.status_code == 503 and query.headers["retry-after"]
    virtuoso.push(BASE, "--data-dir", str(settings.data_dir),  # back to ready
                  "--ontology-dir", str(settings.ontology_dir))


def test_store_down_cached_documents_serve_and_the_breaker_opens(virtuoso: Virtuoso) -> None:
    settings = _settings(virtuoso, store_retries=1, store_breaker_failures=3,
                         store_breaker_seconds=30)
    virtuoso.push(BASE, "--data-dir", str(settings.data_dir),
                  "--ontology-dir", str(settings.ontology_dir))
    switch = Switch()
    store = RemoteStore(settings, Endpoint(settings, transport=switch))
    documents = Documents(store, settings)
    turtle = BY_NAME["turtle"]
    kept = documents.get("doc/thing/one", turtle)
    switch.up = False
    time.sleep(0.4)  # the version may be re-read now: it fails, the last one stays
    assert documents.get("doc/thing/one", turtle) is kept
    with pytest.raises(ServiceUnavailable):
        documents.get("doc/thing/two", turtle)
    started = time.monotonic()
    for _ in range(3):
        with pytest.raises(ServiceUnavailable) as caught:
            documents.get("doc/thing/two", turtle)
    assert time.monotonic() - started < 1.0  # open: no waiting on the network at all
    assert caught.value.retry_after > 1
    store.close()


def test_unreachable_store_is_503_with_retry_after_never_a_hang() -> None:
    settings = Settings(store=f"sparql+http://127.0.0.1:{free_port()}/sparql",
                        store_timeout=1.0, store_retries=1)
    with TestClient(create_app(settings), base_url="https://data.uppsala.se") as client:
        started = time.monotonic()
        for path in ("/doc/place/tartu.ttl", "/sparql?query=ASK%7B%7D"):
            response = client.get(path)
            assert response.status_code == 503, response.text
            assert int(response.headers["retry-after"]) >= 1
            assert response.headers["content-type"].startswith("application/problem+json")
        assert time.monotonic() - started < 10


def test_iris_are_validated_and_values_written_safely(virtuoso: Virtuoso) -> None:
    store = RemoteStore(_settings(virtuoso))
    assert store.describe(BASE + "id/x> } ; DROP ALL ; #", 10) is None
    assert store.describe(BASE + "id/x y", 10) is None
    import pyoxigraph as ox  # noqa: PLC0415

    text = with_values("SELECT ?s WHERE { ?s ?p ?text }",
                       {ox.Variable("text"): ox.Literal('a" } DROP ALL {\n')})
    assert 'VALUES (?text) { ("a\\" } DROP ALL {\\n") }' in text
    ox.Store().query(text)  # still one well-formed query
    store.close()
