"""What a push leaves behind when it does not finish, and how a store that fails reaches the
client: the state set back after an interrupted push, or a one-line error saying it could not
be; staging graphs of a failed push dropped by the next; the push time exact; one line per
push failure naming the endpoint; 503 without the store's words, counted by the breaker."""

from __future__ import annotations

import http.server
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from email.utils import formatdate
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from publisher import push as pushing
from publisher.app import create_app
from publisher.config import Settings
from publisher.errors import DataError
from publisher.remote import RemoteStore, meta_graph
from publisher.source import last_modified, source_files
from tests.conftest import ROOT, free_port
from tests.remote.conftest import CREDENTIALS, Virtuoso
from tests.support import assert_problem, fixture_settings

pytestmark = pytest.mark.slow
BASE = "http://push.test/"


def _settings(virtuoso: Virtuoso, **changes: object) -> Settings:
    return fixture_settings(base=BASE, store=virtuoso.store, store_version_ttl=0.3,
                            store_auth="digest", store_update=f"{virtuoso.url}/sparql-auth",
                            store_gsp=f"{virtuoso.url}/sparql-graph-crud-auth", **changes)


def _select(virtuoso: Virtuoso, query: str) -> list[str]:
    response = httpx.post(f"{virtuoso.url}/sparql", data={"query": query},
                          headers={"Accept": "text/csv"}, timeout=30)
    return [line.strip('"') for line in response.text.splitlines()[1:]]


def _staging(virtuoso: Virtuoso) -> list[str]:
    return _select(virtuoso, "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } "
                   'FILTER(STRSTARTS(STR(?g), "urn:x-publisher:staging:")) }')


def _state(virtuoso: Virtuoso) -> list[str]:
    meta = meta_graph(BASE)
    return _select(virtuoso, f"SELECT ?o FROM <{meta}> WHERE {{ <{meta}> "
                   "<urn:x-publisher:state> ?o }")


class _Wait:
    """push's ``time`` module, in which the wait before the swap runs ``then`` instead."""

    def __init__(self, then: Callable[[], None]) -> None:
        self.then = then

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)

    def sleep(self, seconds: float) -> None:
        self.then()


@pytest.fixture
def pushed(virtuoso: Virtuoso, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """The fixture graph pushed under BASE, credentials in the environment, pushes run
    in-process (so that a test can interrupt one where it likes); pushed again afterwards,
    whatever state a test left."""
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    settings = _settings(virtuoso)
    pushing.push(settings, say=lambda line: None)
    yield settings
    monkeypatch.undo()
    virtuoso.push(BASE, "--data-dir", str(settings.data_dir),
                  "--ontology-dir", str(settings.ontology_dir))


def test_an_interrupted_push_sets_the_state_back(
        virtuoso: Virtuoso, pushed: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C in the wait after "swapping" was set: nothing published has changed, so every
    instance must go on answering, not 503 until someone pushes again."""
    store = RemoteStore(pushed)
    before = store.meta()
    store.close()

    def interrupt() -> None:
        assert _state(virtuoso) == ["swapping"]  # (the wait it stands for)
        with TestClient(create_app(pushed), base_url=BASE[:-1]) as swapping:
            # every instance is in this state at once: a load balancer reading /readyz
            # must not take them all out (it did), since each still serves its cache
            ready = swapping.get("/readyz")
            assert ready.status_code == 200 and ready.json()["store"] == "swapping"
            assert swapping.get("/doc/thing/two.ttl").status_code == 503
        raise KeyboardInterrupt

    monkeypatch.setattr(pushing, "time", _Wait(interrupt))
    with pytest.raises(KeyboardInterrupt):
        pushing.push(pushed, say=lambda line: None)
    assert _state(virtuoso) == ["ready"]
    assert _staging(virtuoso) == []
    store = RemoteStore(pushed)
    assert store.meta() == before
    store.close()
    with TestClient(create_app(pushed), base_url=BASE[:-1]) as client:
        assert client.get("/doc/thing/two.ttl").status_code == 200  # not cached: the store
        assert client.get("/readyz").status_code == 200


def test_a_state_that_cannot_be_set_back_is_said_and_the_next_push_cleans_up(
        virtuoso: Virtuoso, pushed: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    def store_gone(self: Any, text: str) -> None:
        raise DataError(f"the update endpoint {self.update_url} answered 500 Internal Error")

    def interrupt() -> None:
        monkeypatch.setattr(pushing._Loader, "update", store_gone)
        raise KeyboardInterrupt

    monkeypatch.setattr(pushing, "time", _Wait(interrupt))
    raised: BaseException | None = None
    try:  # (not pytest.raises: a KeyboardInterrupt let through would end the session)
        pushing.push(pushed, say=lambda line: None)
    except BaseException as exc:  # noqa: BLE001
        raised = exc
    assert isinstance(raised, DataError), repr(raised)
    line = raised.detail
    assert "\n" not in line
    assert line.startswith("push interrupted; the store is left in state \"swapping\"")
    assert "answered 500 Internal Error" in line and "`publisher push` is run again" in line
    assert _state(virtuoso) == ["swapping"]
    left = _staging(virtuoso)
    assert left  # a full copy of the data, which the failed push could not drop
    monkeypatch.undo()
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    pushing.push(pushed, say=lambda line: None)
    assert _state(virtuoso) == ["ready"]
    assert _staging(virtuoso) == []


def test_the_push_time_comes_back_exact(virtuoso: Virtuoso, pushed: Settings) -> None:
    """Virtuoso answers an xsd:double with six significant digits: a time stored as one
    came back up to a day early, and the same across pushes (If-Modified-Since: 304 for
    changed data)."""
    mtime = last_modified(source_files(pushed))
    store = RemoteStore(pushed)
    assert store.meta().modified == pytest.approx(mtime, abs=1e-3)
    store.close()
    with TestClient(create_app(pushed), base_url=BASE[:-1]) as client:
        answer = client.get("/doc/thing/one.ttl")
        assert answer.headers["last-modified"] == formatdate(int(mtime), usegmt=True)
    # a meta graph written before (an xsd:double, as Virtuoso rounds it) still reads
    meta = meta_graph(BASE)
    prop = "<urn:x-publisher:modified>"
    update = (f"DELETE WHERE {{ GRAPH <{meta}> {{ <{meta}> {prop} ?o }} }} ; INSERT DATA "
              f'{{ GRAPH <{meta}> {{ <{meta}> {prop} "1.7959e+09"^^'
              "<http://www.w3.org/2001/XMLSchema#double> } }")
    response = httpx.post(f"{virtuoso.url}/sparql-auth", content=update.encode(),
                          headers={"Content-Type": "application/sparql-update"},
                          auth=httpx.DigestAuth("dba", "dba"), timeout=30)
    assert response.status_code == 200, response.text
    store = RemoteStore(pushed)
    assert store.meta().modified == 1.7959e9
    store.close()


def _push_line(virtuoso: Virtuoso, *args: str, **env: str) -> tuple[int, str]:
    done = subprocess.run(
        [sys.executable, "-m", "publisher", "push", "--store", virtuoso.store, "--base", BASE,
         *args], check=False, cwd=ROOT, env={**os.environ, **CREDENTIALS, **env}, capture_output=True,
        text=True, timeout=120)
    return done.returncode, done.stderr


def test_each_push_failure_is_one_line_naming_the_endpoint_and_the_cause(
        virtuoso: Virtuoso, pushed: Settings) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}/update"
    gsp = ["--store-gsp", f"{virtuoso.url}/sparql-graph-crud-auth"]
    cases = [
        (["--store-update", "not a url"], {}, 2,
         ["--store-update 'not a url' is not an http(s) URL"]),
        (["--store-update", nowhere], {}, 1, [f"update endpoint {nowhere} failed",
                                              "ConnectError"]),
        (["--store-update", f"{virtuoso.url}/nothere"], {}, 2,
         [f"update endpoint {virtuoso.url}/nothere answered 404"]),
        (["--store-update", f"{virtuoso.url}/sparql-auth", *gsp],
         {"PUBLISHER_STORE_PASSWORD": "wrong"}, 2,
         [f"{virtuoso.url}/sparql-auth refused the publisher's credentials (401",
          "PUBLISHER_STORE_PASSWORD"]),
    ]
    for args, env, code, said in cases:
        returncode, stderr = _push_line(virtuoso, *args, **env)
        assert returncode == code, stderr
        assert stderr.count("\n") == 1 and stderr.startswith("publisher: "), stderr
        assert all(part in stderr for part in said), stderr
        assert "<" not in stderr  # no HTML page of the store's
    assert _state(virtuoso) == ["ready"] and _staging(virtuoso) == []


class _Faulty(http.server.BaseHTTPRequestHandler):
    """In front of the real store: passes requests on, or answers as a failing store does."""

    protocol_version = "HTTP/1.1"
    upstream = ""
    mode = "pass"
    client = httpx.Client(timeout=60)

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        kind = type(self).mode
        if kind == "html500":
            return self._reply(500, b"<html><body>Internal error</body></html>", "text/html")
        if kind == "404":
            return self._reply(404, b"<html>not found</html>", "text/html")
        if kind == "garbage":
            return self._reply(200, b"<<<this is not xml>>> \x00\xff",
                               "application/sparql-results+xml")
        answer = self.client.post(self.upstream + self.path, content=body, headers={
            k: v for k, v in self.headers.items()
            if k.lower() not in ("host", "content-length", "accept-encoding")})
        return self._reply(answer.status_code, answer.content,
                           answer.headers.get("content-type", ""))

    do_GET = do_POST

    def _reply(self, status: int, body: bytes, media_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", media_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def faulty(virtuoso: Virtuoso) -> Iterator[type[_Faulty]]:
    handler = type("Faulty", (_Faulty,), {"upstream": virtuoso.url, "mode": "pass"})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    handler.port = server.server_address[1]  # type: ignore[attr-defined]
    yield handler
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("mode", ["html500", "404", "garbage"])
def test_a_failing_store_is_503_without_its_words_and_opens_the_breaker(
        pushed: Settings, faulty: Any, mode: str) -> None:
    """Not 400 (the client is not at fault) with the store's page in it, nor a 500 with a
    traceback; cached documents keep serving; and the failures open the breaker."""
    settings = pushed.replace(
        store=f"sparql+http://127.0.0.1:{faulty.port}/sparql", store_retries=0,
        store_breaker_failures=3, store_breaker_seconds=30)
    with TestClient(create_app(settings), base_url=BASE[:-1]) as client:
        cached = client.get("/doc/thing/one.ttl")
        assert cached.status_code == 200
        faulty.mode = mode
        time.sleep(0.4)  # the version is read again, and fails: the last one stays
        again = client.get("/doc/thing/one.ttl")
        assert again.status_code == 200 and again.content == cached.content
        for path in ("/doc/thing/two.ttl", "/sparql?query=SELECT%20*%20%7B%3Fs%20%3Fp%20%3Fo%7D",
                     "/sparql?query=CONSTRUCT%20WHERE%20%7B%3Fs%20%3Fp%20%3Fo%7D"):
            answer = client.get(path)
            body = assert_problem(answer, 503)
            assert int(answer.headers["retry-after"]) >= 1
            assert "Internal error" not in body["detail"] and "<" not in body["detail"]
        for _ in range(3):  # failures of the publisher's own queries (a client's count not)
            assert_problem(client.get("/doc/thing/two.ttl"), 503)
        faulty.mode = "pass"  # the store is back, but the breaker is open for 30 s
        answer = client.get("/doc/thing/three.ttl")
        assert_problem(answer, 503)
        assert int(answer.headers["retry-after"]) > 5
