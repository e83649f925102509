"""`publisher serve --workers N`: several uvicorn workers on one port share one on-disk store,
opened read-only after the starting process brought it up to date."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from publisher import cli
from tests.conftest import Server

pytestmark = pytest.mark.slow


def test_two_workers_share_one_store(tmp_path: Path) -> None:
    store = tmp_path / "db"
    server = Server("--workers", "2", "--store", str(store))
    try:
        assert store.with_name("db.version").is_file()
        with httpx.Client(timeout=30) as http:
            for _ in range(6):  # connections land on either worker
                with httpx.Client(timeout=30) as fresh:
                    answer = fresh.get(server.url("doc/place/tartu"),
                                       headers={"Accept": "text/turtle"})
                    assert answer.status_code == 200 and "Tartu" in answer.text
            ask = http.get(server.url("sparql"), params={"query": "ASK { ?s ?p ?o }"},
                           headers={"Accept": "application/sparql-results+json"})
            assert ask.json()["boolean"] is True
    finally:
        server.stop()


def test_reload_is_for_one_worker(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["serve", "--workers", "2", "--reload", "--store",
                     str(tmp_path / "db")]) == 2
    assert "--workers 1" in capsys.readouterr().err
