"""routes/ops.py, publisher/metrics.py and publisher/logs.py: health, readiness, metrics and
the access log."""

from __future__ import annotations

import json
import logging

import pytest
from fastapi.testclient import TestClient

from publisher import logs
from publisher.app import create_app
from tests.routes.conftest import mini_settings


@pytest.fixture(scope="module")
def fresh() -> TestClient:
    with TestClient(create_app(mini_settings()), base_url="https://data.uppsala.se") as c:
        yield c


def _metric(text: str, name: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def _sample(text: str, line_start: str) -> float:
    found = [line for line in text.splitlines() if line.startswith(line_start)]
    return float(found[0].rsplit(" ", 1)[1]) if found else 0.0


def test_healthz_and_readyz(fresh: TestClient) -> None:
    assert fresh.get("/healthz").json() == {"status": "alive"}
    ready = fresh.get("/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "ready" and body["store"] == "answers" and body["workers"] >= 1
    assert body["reload"]["state"] == "ok" and body["reload"]["version"] == body["version"]
    assert ready.headers["cache-control"] == "no-store"


def test_readyz_is_503_when_the_store_does_not_answer(fresh: TestClient) -> None:
    runtime = fresh.app.state.runtime  # type: ignore[attr-defined]
    real = runtime.store.query

    def broken(*args: object, **kwargs: object) -> None:
        raise OSError("disk gone")

    runtime.store.query = broken
    try:
        response = fresh.get("/readyz")
    finally:
        runtime.store.query = real
    assert response.status_code == 503 and response.headers["retry-after"]
    assert response.json()["store"] == "fails: OSError"


def test_metrics_count_requests_by_route_template_problems_and_cache(fresh: TestClient) -> None:
    before = fresh.get("/metrics").text
    fresh.get("/doc/place/alpha")
    fresh.get("/doc/place/alpha")  # replayed (routes/replay.py)
    fresh.head("/doc/place/alpha")  # replayed
    fresh.get("/doc/place/alpha", headers={"If-None-Match": '"other"'})  # full path: cached
    fresh.get("/no/such/thing")
    fresh.get("/sparql", params={"query": "SELECT * WHERE { SERVICE <http://x/> { ?s ?p ?o } }"})
    fresh.get("/sparql", params={"query": "SELEC"})
    response = fresh.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    after = response.text
    doc = 'publisher_requests_total{method="GET",route="/doc/{path:path}",status="200"}'
    assert _sample(after, doc) - _sample(before, doc) == 3
    head = 'publisher_requests_total{method="HEAD",route="/doc/{path:path}",status="200"}'
    assert _sample(after, head) - _sample(before, head) == 1
    assert 'route="unmatched"' in after and "/no/such/thing" not in after
    assert _sample(after, 'publisher_queries_rejected_total{reason="refused"}') >= 1
    assert _sample(after, 'publisher_queries_rejected_total{reason="syntax"}') >= 1
    assert _sample(after, 'publisher_problems_total{type="not-found"}') >= 1
    hits = 'publisher_document_cache_total{result="hit"}'
    assert _sample(after, hits) - _sample(before, hits) == 1
    replayed = 'publisher_response_cache_total{result="hit"}'
    assert _sample(after, replayed) - _sample(before, replayed) == 2
    assert _metric(after, "publisher_request_seconds_count") > 0


def test_saturation_and_timeouts_are_counted() -> None:
    settings = mini_settings(query_timeout=0.5, query_workers=1, query_queue_wait=0.1)
    slow = ("SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . "
            "?m ?n2 ?o }")
    with TestClient(create_app(settings)) as client:
        response = client.get("/sparql", params={"query": slow})
        assert response.status_code == 503
        text = client.get("/metrics").text
    assert _sample(text, "publisher_query_timeouts_total") == 1
    assert _sample(text, 'publisher_queries_rejected_total{reason="timeout"}') == 1


def test_json_access_log_carries_the_request_id(fresh: TestClient,
                                                caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="publisher.access"):
        response = fresh.get("/doc/place/alpha?lang=en", headers={"X-Request-ID": "abc-123",
                                                                  "User-Agent": "probe"})
    assert response.headers["x-request-id"] == "abc-123"
    record = next(r for r in caplog.records if r.name == "publisher.access")
    line = json.loads(logs.JsonFormatter().format(record))
    assert line["request_id"] == "abc-123" and line["status"] == 200
    assert line["method"] == "GET" and line["path"] == "/doc/place/alpha"
    assert line["query"] == "lang=en" and line["user_agent"] == "probe"
    assert line["bytes"] > 0 and line["duration_ms"] >= 0 and line["logger"] == "publisher.access"


def test_text_log_format_is_one_line() -> None:
    record = logging.LogRecord("publisher.access", logging.INFO, __file__, 1, "x", None, None)
    assert "\n" not in logs.TextFormatter().format(record)
