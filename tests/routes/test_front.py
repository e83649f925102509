"""routes/front.py: Replay and the door answer before FastAPI's own layers; what they do not
answer takes the full path; an unexpected error in the front is the app's own 500; with
OpenTelemetry configured every request is traced."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from publisher.app import create_app
from publisher.routes import replay
from tests.conftest import ROOT
from tests.routes.conftest import mini_settings

LOOKUP = "SELECT ?p ?o WHERE { <https://data.uppsala.se/id/place/alpha> ?p ?o }"
RESULTS = {"Accept": "application/sparql-results+json"}


class Counted:
    """A client, and how many requests went through FastAPI's own ``__call__``."""

    def __init__(self, client: TestClient) -> None:
        self.client, self.full = client, 0
        client.get("/healthz")  # FastAPI builds its middleware stack on its first request
        app: Any = client.app
        stack = app.middleware_stack

        async def counting(scope: Any, receive: Any, send: Any) -> None:
            self.full += 1
            await stack(scope, receive, send)

        app.middleware_stack = counting

    def took_full_path(self, method: str, path: str, **kwargs: Any) -> tuple[int, bool]:
        before = self.full
        response = self.client.request(method, path, **kwargs)
        return response.status_code, self.full == before + 1


@pytest.fixture()
def counted() -> Any:
    with TestClient(create_app(mini_settings()), base_url="https://data.uppsala.se") as client:
        yield Counted(client)


def test_the_front_answers_without_fastapi(counted: Counted) -> None:
    # a document: the first GET takes the full path and is recorded, the second is replayed
    assert counted.took_full_path("GET", "/doc/place/alpha") == (200, True)
    assert counted.took_full_path("GET", "/doc/place/alpha") == (200, False)
    # a look-up: the first of its kind takes the full path (its headers are kept), then the door
    form = {"query": LOOKUP}
    assert counted.took_full_path("POST", "/sparql", data=form, headers=RESULTS) == (200, True)
    assert counted.took_full_path("POST", "/sparql", data=form, headers=RESULTS) == (200, False)
    # what the front does not take: another route, a CONSTRUCT, a conditional GET
    assert counted.took_full_path("GET", "/api/queries") == (200, True)
    construct = {"query": "CONSTRUCT WHERE { ?s ?p ?o }"}
    assert counted.took_full_path("POST", "/sparql", data=construct,
                                  headers={"Accept": "text/turtle"}) == (200, True)
    assert counted.took_full_path("GET", "/doc/place/alpha",
                                  headers={"If-None-Match": '"x"'}) == (200, True)


def test_an_error_in_the_front_is_the_apps_500(monkeypatch: pytest.MonkeyPatch,
                                               caplog: pytest.LogCaptureFixture) -> None:
    def broken(*args: Any) -> None:
        raise RuntimeError("a secret of the server")

    monkeypatch.setattr(replay, "request_key", broken)
    app = create_app(mini_settings())
    with TestClient(app, base_url="https://data.uppsala.se",
                    raise_server_exceptions=False) as client, caplog.at_level(logging.ERROR):
        response = client.get("/doc/place/alpha")
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["status"] == 500
    assert "secret" not in response.text
    assert any("a secret of the server" in str(r.exc_info) for r in caplog.records)


TRACED = """
import json
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from fastapi.testclient import TestClient
from publisher.app import create_app
from tests.routes.conftest import mini_settings

exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(provider)
statuses = []
with TestClient(create_app(mini_settings()), base_url="https://data.uppsala.se") as client:
    for _ in range(3):
        statuses.append(client.get("/doc/place/alpha").status_code)
        statuses.append(client.post("/sparql", data={"query": %r},
                                    headers={"Accept": "application/sparql-results+json"}
                                    ).status_code)
print(json.dumps({"statuses": statuses,
                  "spans": [span.name for span in exporter.get_finished_spans()
                            if span.kind == trace.SpanKind.SERVER]}))
"""


@pytest.mark.skipif(not hasattr(FastAPI(), "_native_telemetry"),
                    reason="this FastAPI has no native OpenTelemetry instrumentation")
def test_with_opentelemetry_configured_every_request_is_traced() -> None:
    # a process of its own: OpenTelemetry's tracer provider is global and set once
    done = subprocess.run([sys.executable, "-c", TRACED % LOOKUP], cwd=ROOT, text=True,
                          capture_output=True, timeout=60, check=False,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.splitlines()[-1])
    assert found["statuses"] == [200] * 6
    # replayed documents and door answers too: one span each
    assert sorted(found["spans"]) == ["GET /doc/{path}"] * 3 + ["POST /sparql"] * 3
