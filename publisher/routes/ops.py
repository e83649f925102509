"""Operating the server: /healthz, /readyz, /metrics, and the middleware that observes
every request.

``Observe`` (pure ASGI) wraps every request: it pins the request to the Runtime serving
at its start, so a reload mid-request never mixes two versions (publisher/reload.py):
``app.state`` is a ``ServingState`` whose ``runtime`` is the pinned one for the request's
whole context (dependencies, thread-pool calls, streamed bodies) and the newest one
elsewhere, so routes keep reading ``request.app.state.runtime``. It counts the request in
flight, and when the last byte is sent records it in the Prometheus metrics
(by route template, never by raw path, so a crawler cannot blow up the label set) and
writes one access-log record with the request id of ``X-Request-ID`` (publisher/logs.py).

    /healthz   200 while the process serves HTTP at all (liveness)
    /readyz    200 when the store is loaded and answers a query and query workers exist;
               503 otherwise; the body says which, and how the last reload went
    /metrics   Prometheus text exposition (publisher/metrics.py)
"""

from __future__ import annotations

import logging
import time
from contextvars import ContextVar
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import State
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from publisher import logs
from publisher.metrics import CONTENT_TYPE

router = APIRouter(tags=["Operations"])
NO_STORE = {"Cache-Control": "no-store"}
PINNED: ContextVar[Any] = ContextVar("publisher_pinned_runtime", default=None)


class ServingState(State):
    """``app.state`` whose ``runtime`` is the one the current request is pinned to."""

    def __getattr__(self, key: Any) -> Any:
        if key == "runtime":
            pinned = PINNED.get()
            if pinned is not None:
                return pinned
        return super().__getattr__(key)


class Observe:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope["app"].state
        runtime = state._state.get("runtime")  # the newest, not a pinned one
        pin = PINNED.set(runtime)
        metrics = getattr(state, "metrics", None)
        started = time.perf_counter()
        answer = {"status": 500, "bytes": 0}

        async def observed(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
            elif message["type"] == "http.response.body":
                answer["bytes"] += len(message.get("body", b""))
            await send(message)

        if runtime is not None:
            runtime.in_flight += 1
        if metrics is not None:
            metrics.in_flight.inc()
        try:
            await self.app(scope, receive, observed)
        finally:
            PINNED.reset(pin)
            if runtime is not None:
                runtime.in_flight -= 1
            seconds = time.perf_counter() - started
            if metrics is not None:
                metrics.in_flight.dec()
                metrics.observe(route_template(scope), scope["method"], answer["status"],
                                seconds)
            if logs.ACCESS.isEnabledFor(logging.INFO):  # the fields cost; skip when unused
                logs.access(access_fields(scope, answer, seconds))


def route_template(scope: Scope) -> str:
    """The route's path template (``/doc/{path:path}``), or ``unmatched``."""
    return str(getattr(scope.get("route"), "path", "unmatched"))


def access_fields(scope: Scope, answer: dict[str, int], seconds: float) -> dict[str, Any]:
    headers = dict(scope.get("headers", ()))
    client = scope.get("client")
    return {
        "request_id": scope.get("state", {}).get("request_id", "-"),
        "method": scope["method"],
        "path": scope.get("path", ""),
        "query": scope.get("query_string", b"").decode("latin-1")[:2000],
        "status": answer["status"],
        "bytes": answer["bytes"],
        "duration_ms": round(seconds * 1000, 1),
        "client": f"{client[0]}:{client[1]}" if client else "-",
        "user_agent": headers.get(b"user-agent", b"-").decode("latin-1")[:300],
    }


@router.get("/healthz", summary="Liveness: the process answers HTTP")
def healthz() -> Response:
    return JSONResponse({"status": "alive"}, headers=NO_STORE)


@router.get("/readyz", summary="Readiness: the store is loaded and answers")
def readyz(request: Request) -> Response:
    state = request.app.state
    runtime = getattr(state, "runtime", None)
    reloader = getattr(state, "reloader", None)
    checks: dict[str, Any] = {"store": "not loaded", "workers": 0}
    ready = False
    if runtime is not None:
        try:
            meta = getattr(runtime.store, "meta", None)  # a remote store (remote.py)
            if meta is not None and meta().swapping:
                # every instance in front of the store is in the same state, and serves
                # what it has cached: a load balancer that took them all out for the
                # push's swap would leave nothing to serve even that
                checks["store"] = "swapping"
            else:
                runtime.store.query("ASK { ?s ?p ?o }")
                checks["store"] = "answers"
            checks["version"] = runtime.store.version
            checks["workers"] = len(runtime.pool.workers)
            ready = checks["workers"] > 0
        except Exception as exc:  # noqa: BLE001  (not ready is the answer, not a 500)
            checks["store"] = f"fails: {type(exc).__name__}"
    body = {"status": "ready" if ready else "not ready", **checks,
            "reload": reloader.status.to_json() if reloader is not None else None}
    return JSONResponse(body, status_code=200 if ready else 503,
                        headers={**NO_STORE, **({} if ready else {"Retry-After": "5"})})


@router.get("/metrics", summary="Prometheus metrics")
def metrics(request: Request) -> Response:
    return Response(request.app.state.metrics.exposition(), media_type=CONTENT_TYPE,
                    headers=NO_STORE)
