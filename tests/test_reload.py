"""publisher/reload.py: a valid edit is swapped in whole; a broken one is reported with
file:line and the last good graph keeps serving. In-process, then a real server with
``--reload`` (polling) and SIGHUP."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from publisher.app import create_app
from publisher.config import Settings
from publisher.workers import live
from tests.conftest import Server
from tests.support import copy_of_sources, wait_for

TWINS = "data/twin-cities.ttl"
LABEL = '"Tartu"@en'


@pytest.fixture()
def copy(tmp_path: Path) -> Path:
    return copy_of_sources(tmp_path)


def _broken_line(root: Path) -> int:
    """The line ``_edit`` broke (``broken <``), counted from 1 as the report counts."""
    return next(number for number, text in enumerate(
        (root / TWINS).read_text().splitlines(), 1) if "broken <" in text)


def _edit(root: Path, old: str, new: str) -> None:
    path = root / TWINS
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


@pytest.fixture()
def app_client(copy: Path) -> Iterator[TestClient]:
    settings = Settings(data_dir=copy / "data", ontology_dir=copy / "ontology")
    with TestClient(create_app(settings), base_url="https://data.uppsala.se") as client:
        yield client


def test_a_broken_edit_is_reported_and_the_last_good_graph_keeps_serving(
        app_client: TestClient, copy: Path) -> None:
    app = app_client.app
    before = app_client.get("/readyz").json()["version"]
    _edit(copy, LABEL, '"Tartu"@en ;; broken <')
    assert app_client.portal.call(app.state.reloader.reload, "request") is False
    ready = app_client.get("/readyz")
    assert ready.status_code == 200
    status = ready.json()
    assert status["version"] == before and status["reload"]["state"] == "failed"
    line = _broken_line(copy)
    assert any(p.startswith(f"{TWINS}:{line}:") for p in status["reload"]["problems"]), status
    assert "Tartu" in app_client.get("/doc/place/tartu").text


def test_a_valid_edit_is_swapped_in_and_the_old_workers_go(app_client: TestClient,
                                                           copy: Path) -> None:
    app = app_client.app
    old_pids = list(app.state.runtime.pool.pids)
    edited = {"query": 'ASK { ?s ?p "Tartu (edited)"@en }'}
    for _ in range(2):  # recorded, then replayed (routes/replay.py) and from the result cache
        assert "Tartu (edited)" not in app_client.get("/doc/place/tartu").text
        assert app_client.get("/sparql", params=edited).json()["boolean"] is False
        # full path, then at the door (routes/lookups.py)
        assert app_client.post("/sparql", data=edited).json()["boolean"] is False
    assert app.state.runtime.responses.hits >= 2
    _edit(copy, LABEL, '"Tartu (edited)"@en')
    assert app_client.portal.call(app.state.reloader.reload, "request") is True
    assert "Tartu (edited)" in app_client.get("/doc/place/tartu").text
    assert app_client.get("/readyz").json()["reload"]["state"] == "ok"
    answer = app_client.get("/sparql", params=edited)
    assert answer.json()["boolean"] is True
    for _ in range(2):
        assert app_client.post("/sparql", data=edited).json()["boolean"] is True
    deadline = time.monotonic() + 10
    while live(old_pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert live(old_pids) == []
    assert 'publisher_reloads_total{result="ok"} 1.0' in app_client.get("/metrics").text


@pytest.mark.slow
def test_a_real_server_reloads_on_edit_and_on_sighup(copy: Path) -> None:
    server = Server("--reload", "--data-dir", str(copy / "data"), "--ontology-dir",
                    str(copy / "ontology"))
    try:
        doc = server.url("doc/place/tartu")
        # a query running across the swap finishes on the runtime it started on
        slow = ("SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . "
                "?a <http://www.w3.org/2000/01/rdf-schema#label> ?g }")
        results: list[int] = []
        worker = threading.Thread(target=lambda: results.append(httpx.get(
            server.url("sparql"), params={"query": slow}, timeout=60).status_code))
        worker.start()
        _edit(copy, LABEL, '"Tartu"@en ;; broken <')
        wait_for(lambda: httpx.get(server.url("readyz")).json()["reload"]["state"] == "failed")
        problems = httpx.get(server.url("readyz")).json()["reload"]["problems"]
        assert any(p.startswith(f"{TWINS}:{_broken_line(copy)}:") for p in problems), problems
        assert httpx.get(doc).status_code == 200
        _edit(copy, '"Tartu"@en ;; broken <', '"Tartu (edited)"@en')
        wait_for(lambda: "Tartu (edited)" in httpx.get(doc).text)
        worker.join(60)
        assert results == [200]
        server.process.send_signal(signal.SIGHUP)
        wait_for(lambda: httpx.get(server.url("readyz")).json()["reload"]
                  == {**httpx.get(server.url("readyz")).json()["reload"], "state": "ok",
                      "trigger": "SIGHUP"})
        assert server.process.poll() is None
    finally:
        server.stop()
