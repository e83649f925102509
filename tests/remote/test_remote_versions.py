"""What the routes keep per data version follows the remote store's version, which changes
under the Runtime: after a push, sitemap.xml, robots.txt and /catalog/check are those of the
new data within ``store_version_ttl``, and every instance in front of the store agrees on
them (the same ETag for the same URL, whenever it was started)."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from publisher.app import create_app
from publisher.config import Settings
from tests.remote.conftest import Virtuoso
from tests.support import copy_of_sources, fixture_settings

pytestmark = pytest.mark.slow
BASE = "http://versions.test/"


def _client(settings: Settings) -> TestClient:
    return TestClient(create_app(settings), base_url=BASE[:-1])


def _pushed(virtuoso: Virtuoso, *args: str) -> None:
    """Push, then wait out the instances' ``store_version_ttl`` (0.3 s)."""
    virtuoso.push(BASE, *args)
    time.sleep(0.4)


def test_sitemap_and_robots_follow_a_push(virtuoso: Virtuoso, tmp_path: Path) -> None:
    settings = fixture_settings(base=BASE, store=virtuoso.store, store_version_ttl=0.3)
    _pushed(virtuoso, "--data-dir", str(settings.data_dir),
            "--ontology-dir", str(settings.ontology_dir))
    new = tmp_path / "new.ttl"
    new.write_text(f"<{BASE}id/thing/new> <http://www.w3.org/2000/01/rdf-schema#label> "
                   '"new"@en .\n')
    with _client(settings) as first:
        before = {name: first.get(name) for name in ("/sitemap.xml", "/robots.txt")}
        assert f"{BASE}doc/thing/new" not in before["/sitemap.xml"].text
        _pushed(virtuoso, str(new))
        after = {name: first.get(name) for name in before}
        stale = first.get("/sitemap.xml",
                          headers={"If-None-Match": before["/sitemap.xml"].headers["etag"]})
    assert re.findall(r"<loc>(.*?)</loc>", after["/sitemap.xml"].text) == [
        BASE, f"{BASE}doc/thing/new"]
    assert stale.status_code == 200
    with _client(settings) as started_later:
        for name, answer in after.items():
            assert answer.headers["etag"] != before[name].headers["etag"], name
            assert started_later.get(name).headers["etag"] == answer.headers["etag"], name


def _descriptions(report: dict[str, Any]) -> list[str]:
    found: list[str] = next(c["items"] for c in report["checks"] if c["name"] == "descriptions")
    return found


def test_the_catalog_check_follows_a_push(virtuoso: Virtuoso, tmp_path: Path) -> None:
    copy_of_sources(tmp_path)
    folders = ("--data-dir", str(tmp_path / "data"), "--ontology-dir", str(tmp_path / "ontology"))
    settings = Settings(base=BASE, store=virtuoso.store, store_version_ttl=0.3)
    _pushed(virtuoso, *folders)
    with _client(settings) as first:
        assert _descriptions(first.get("/catalog/check").json()) == []
        dataset = tmp_path / "data" / "dataset.ttl"
        text = dataset.read_text()
        description = text.split('dcterms:description "', 1)[1].split('"@sv', 1)[0]
        dataset.write_text(text.replace(description, "Kort.", 1))
        _pushed(virtuoso, *folders)
        changed = first.get("/catalog/check").json()
    assert _descriptions(changed) == [
        f"<{BASE}id/dataset/internationella-relationer> @sv: 5 characters"]
    with _client(settings) as started_later:
        assert started_later.get("/catalog/check").json() == changed
