"""The SPARQL suite against Virtuoso: the protocol, format, refusal and limit tests of
tests/routes/test_sparql.py (over the same fixture graph, pushed to Virtuoso), the named-query
API tests of tests/routes/test_queries.py (over the Uppsala graph) and the real clients
(SPARQLWrapper, rdflib's SPARQLStore) against a real server in front of Virtuoso."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from publisher.app import create_app
from publisher.config import Settings
from tests.remote.conftest import Virtuoso
from tests.remote.reuse import reusing
from tests.routes import test_queries, test_sparql

pytestmark = pytest.mark.slow

#: Tests left out because Virtuoso answers differently from the embedded engine, with why
#: (none at present: every reused test passes).
DIFFERENT: dict[str, str] = {}


def _client(virtuoso: Virtuoso, settings: Settings) -> Iterator[TestClient]:
    """The app in-process over Virtuoso (reading needs no credentials)."""
    with TestClient(create_app(settings.replace(store=virtuoso.store, store_version_ttl=0.3)),
                    base_url=settings.base[:-1]) as client:
        yield client


# Both graphs are served under https://data.uppsala.se/, so each fixture pushes its own when
# it starts: the fixture graph's tests come first in this module, the Uppsala graph's after.
@pytest.fixture(scope="module")
def sparql(virtuoso: Virtuoso) -> Iterator[TestClient]:
    settings = test_sparql.fixture_settings(max_rows=50)
    virtuoso.push(settings.base, "--data-dir", str(settings.data_dir),
                  "--ontology-dir", str(settings.ontology_dir))
    yield from _client(virtuoso, settings)


@pytest.fixture(scope="module")
def api(virtuoso: Virtuoso) -> Iterator[TestClient]:
    settings = Settings()
    virtuoso.push(settings.base)
    yield from _client(virtuoso, settings)


globals().update(reusing(test_sparql, {"sparql"}, skip=DIFFERENT))
globals().update(reusing(test_queries, {"api", "server"}, skip=DIFFERENT))
