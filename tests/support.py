"""Test helpers shared across test modules."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import uvicorn
from uvicorn.server import ServerState

from publisher.config import PACKAGE_ROOT, Settings
from publisher.http_server import BoundedHttpTools

#: a small graph for the SPARQL tests: things with labels, and named queries of its own
SPARQL_FIXTURE = Path(__file__).resolve().parent / "fixtures" / "sparql"


def wait_for(condition: Callable[[], bool], seconds: float = 30) -> None:
    """Poll ``condition`` every 0.2 s until it holds; AssertionError after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError("condition not reached")


def copy_of_sources(root: Path) -> Path:
    """This checkout's data/ and ontology/ copied into ``root``, for a test that edits them."""
    for folder in ("data", "ontology"):
        shutil.copytree(PACKAGE_ROOT / folder, root / folder)
    return root


def child_pids(pid: int) -> list[int]:
    """The pids of a process's children (what any of its threads started), from /proc."""
    found = []
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            found += [int(c) for c in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
        except OSError:  # the thread ended meanwhile
            continue
    return found


def spawned_servers(pid: int) -> list[int]:
    """The server processes of ``serve --workers N`` (multiprocess.py), not multiprocessing's
    resource tracker beside them."""
    return [child for child in child_pids(pid)
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes()]


def command_line(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


def fixture_settings(**changes: object) -> Settings:
    """Settings over SPARQL_FIXTURE."""
    return Settings(data_dir=SPARQL_FIXTURE / "data", ontology_dir=SPARQL_FIXTURE / "ontology",
                    queries_dir=SPARQL_FIXTURE / "queries").replace(**changes)


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    """Every failure path goes through here: the RFC 9457 shape, locked in one place."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert set(body) >= {"type", "title", "status", "detail"}
    assert body["status"] == status
    # absolute, under the server's base: the page that documents the problem type
    assert re.fullmatch(r"https?://[^/]+/(.+/)?problems/[a-z-]+", body["type"]), body["type"]
    assert "Traceback" not in response.text
    return body  # type: ignore[no-any-return]


async def served_on_socketpair(app: Any, **config: Any) -> tuple[BoundedHttpTools,
                                                                 socket.socket]:
    """The server's HTTP protocol serving ``app`` on one end of a socket pair, as uvicorn
    runs it (``config``: uvicorn's options), and the other end, non-blocking, for the
    test."""
    settings = uvicorn.Config(app, http=BoundedHttpTools, log_config=None, **config)
    settings.load()
    loop = asyncio.get_running_loop()
    ours, theirs = socket.socketpair()
    theirs.setblocking(False)
    protocol = BoundedHttpTools(settings, ServerState(), {}, loop)
    await loop.connect_accepted_socket(lambda: protocol, ours)
    return protocol, theirs
