"""routes/catalog.py's /catalog/check: the harvest check of the instance's own catalogue
runs once per data version, in a thread, shared by the requests that come while it runs.
(That its report agrees with ``publisher check-harvest``: tests/routes/test_catalog.py.)"""

from __future__ import annotations

import asyncio
import shutil
import threading
from pathlib import Path
from typing import Any

import anyio.to_thread
import httpx
import pytest
import rdflib
from fastapi.testclient import TestClient

from publisher import harvest
from publisher.app import create_app
from publisher.config import Settings
from tests.conftest import ROOT
from tests.routes.conftest import mini_settings
from tests.support import assert_problem

BASE = "https://data.uppsala.se"


def test_requests_during_a_check_share_it_and_the_server_answers_meanwhile(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The check's parsing and SHACL are held in their thread until /healthz has been
    answered: on the event loop, they would hold the loop, and /healthz with it."""
    started, answered = threading.Event(), threading.Event()
    answered_during: list[bool] = []  # one entry per check run
    real = harvest.check_graph

    def held(graph: rdflib.Graph, report: harvest.Report) -> None:
        started.set()
        answered_during.append(answered.wait(10))
        real(graph, report)

    monkeypatch.setattr(harvest, "check_graph", held)

    async def meanwhile(app: Any) -> tuple[httpx.Response, list[httpx.Response]]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url=BASE) as http:
            checks = [asyncio.ensure_future(http.get("/catalog/check")) for _ in range(4)]
            await anyio.to_thread.run_sync(started.wait, 30)
            health = await http.get("/healthz")
            answered.set()
            return health, list(await asyncio.gather(*checks))

    with TestClient(create_app(mini_settings()), base_url=BASE) as client:
        assert client.portal is not None
        health, reports = client.portal.call(meanwhile, client.app)
        later = client.get("/catalog/check")
    assert health.status_code == 200
    assert answered_during == [True]
    assert all(r.status_code == 200 for r in [*reports, later])
    assert len({r.content for r in [*reports, later]}) == 1


def test_a_check_that_failed_is_run_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """Not kept: else every request would get the same 500 until the data changes."""
    failures = [RuntimeError("a bug in a check")]
    real = harvest.check_graph

    def failing_once(graph: rdflib.Graph, report: harvest.Report) -> None:
        if failures:
            raise failures.pop()
        real(graph, report)

    monkeypatch.setattr(harvest, "check_graph", failing_once)
    with TestClient(create_app(mini_settings()), base_url=BASE,
                    raise_server_exceptions=False) as client:
        assert_problem(client.get("/catalog/check"), 500)
        assert client.get("/catalog/check").status_code == 200


@pytest.fixture()
def copy(tmp_path: Path) -> Path:
    for folder in ("data", "ontology"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    return tmp_path


def _descriptions(report: dict[str, Any]) -> list[str]:
    found: list[str] = next(c["items"] for c in report["checks"] if c["name"] == "descriptions")
    return found


def test_the_report_is_kept_until_the_data_changes(copy: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    runs: list[rdflib.Graph] = []
    real = harvest.check_graph

    def counted(graph: rdflib.Graph, report: harvest.Report) -> None:
        runs.append(graph)
        real(graph, report)

    monkeypatch.setattr(harvest, "check_graph", counted)
    settings = Settings(data_dir=copy / "data", ontology_dir=copy / "ontology")
    with TestClient(create_app(settings), base_url=BASE) as client:
        first = client.get("/catalog/check").json()
        assert client.get("/catalog/check").json() == first
        assert client.head("/catalog/check").status_code == 200
        assert len(runs) == 1
        dataset = copy / "data" / "dataset.ttl"
        text = dataset.read_text()
        description = text.split('dcterms:description "', 1)[1].split('"@sv', 1)[0]
        dataset.write_text(text.replace(description, "Kort.", 1))
        state = client.app.state  # type: ignore[attr-defined]
        assert client.portal is not None
        assert client.portal.call(state.reloader.reload, "request") is True
        changed = client.get("/catalog/check").json()
        assert client.get("/catalog/check").json() == changed
    assert len(runs) == 2
    assert _descriptions(first) == []
    dataset_iri = f"{BASE}/id/dataset/internationella-relationer"
    assert _descriptions(changed) == [f"<{dataset_iri}> @sv: 5 characters"]
