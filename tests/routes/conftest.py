"""Fixtures for route tests: an ASGI client over the tiny fixture graph."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from publisher.app import create_app
from publisher.config import Settings

MINI = Path(__file__).resolve().parent.parent / "fixtures" / "mini"


def mini_settings(**changes: object) -> Settings:
    return Settings(data_dir=MINI / "data", ontology_dir=MINI / "ontology").replace(**changes)


@pytest.fixture(scope="module")
def mini() -> Iterator[TestClient]:
    with TestClient(create_app(mini_settings()), base_url="https://data.uppsala.se") as client:
        yield client
