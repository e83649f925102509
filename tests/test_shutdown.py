"""Graceful: on SIGTERM the request in flight finishes, the process exits 0 and its query
workers are gone (a real server)."""

from __future__ import annotations

import signal
import threading
import time

import httpx
import pytest

from publisher.workers import live
from tests.conftest import Server
from tests.support import child_pids

#: about a second of evaluation on the real data (4 million rows, times five)
SLOW = ("SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . "
        "VALUES ?x { 1 2 3 4 5 } }")


def _worker_pids(server: Server) -> list[int]:
    return child_pids(server.process.pid)


@pytest.mark.slow
def test_sigterm_lets_the_request_in_flight_finish_and_exits_cleanly() -> None:
    server = Server()
    try:
        workers = _worker_pids(server)
        assert workers
        answers: list[httpx.Response] = []
        thread = threading.Thread(target=lambda: answers.append(httpx.get(
            server.url("sparql"), params={"query": SLOW}, timeout=30)))
        started = time.monotonic()
        thread.start()
        time.sleep(0.4)  # the query is running in a worker
        server.process.send_signal(signal.SIGTERM)
        thread.join(30)
        assert answers and answers[0].status_code == 200, answers
        assert answers[0].elapsed.total_seconds() > 0.5  # it was in flight at SIGTERM
        assert int(answers[0].json()["results"]["bindings"][0]["n"]["value"]) > 0
        assert server.process.wait(15) == 0
        assert time.monotonic() - started < 15
        assert live(workers) == []
    finally:
        if server.process.poll() is None:
            server.stop()
