"""Fixtures for render tests: the tiny hostile graph in tests/fixtures/html, and the real data."""

from __future__ import annotations

from pathlib import Path

import pytest

from publisher.config import Settings
from publisher.store import OxigraphStore

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "html"


@pytest.fixture(scope="session")
def tiny_settings() -> Settings:
    return Settings(data_dir=FIXTURE / "data", ontology_dir=FIXTURE / "ontology")


@pytest.fixture(scope="session")
def tiny_store(tiny_settings: Settings) -> OxigraphStore:
    return OxigraphStore.open(tiny_settings)


@pytest.fixture(scope="session")
def real_settings() -> Settings:
    return Settings()


@pytest.fixture(scope="session")
def real_store(real_settings: Settings) -> OxigraphStore:
    return OxigraphStore.open(real_settings)
