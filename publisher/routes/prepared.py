"""What the door (routes/lookups.py) makes of a SPARQL request before it evaluates it: the
job the route would make of it (``Prepared``), or None when the route is to answer it (a
CONSTRUCT, a page, an error the route words).

Reading the form, checking the query (sparql.read_request, sparql.parse_query) and
negotiating its format cost more than the engine's look-up, and clients repeat a query
text. ``checked`` keeps its result per Runtime for ``PREPARED`` requests, by everything it
depends on: the query string or the body and its media type, Accept (up to ``MAX_ACCEPT``
bytes) and the data version (which the named graphs FROM may name depend on). A repeated
query is evaluated again, but not read, checked and negotiated again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from cachetools import LRUCache
from starlette.types import Scope

from publisher import sparql
from publisher.errors import PublisherError
from publisher.evaluate import Job
from publisher.routes import sparql as route

PREPARED = 256      # requests kept checked per Runtime
MAX_ACCEPT = 512    # bytes of an Accept header a kept request may have


@dataclass(frozen=True)
class Prepared:
    """A checked query: the job the route would make of it, the answer's media type and a
    GET's result-cache key. The door evaluates it itself, or has the pool evaluate it (a
    worker, or a long look-up begun in the server) when it answers, whole or streamed."""
    job: Job
    content_type: str
    key: str | None     # a GET's result-cache key


def checked(scope: Scope, state: Any, runtime: Any, body: bytes) -> Prepared | None:
    """The job the route would make of the request (its body already read), or None when
    the route is to answer it; kept (see the module's docstring)."""
    headers = dict(scope["headers"])
    accept = headers.get(b"accept")
    get = scope["method"] == "GET"
    content_type = None if get else headers.get(b"content-type", b"")
    memo_key = (scope["query_string"] if get else body, content_type, accept,
                runtime.store.version)
    memo: LRUCache[tuple[Any, ...], Prepared | None] | None = runtime.caches.get("prepared")
    if memo is None:
        memo = runtime.caches.setdefault("prepared", LRUCache(PREPARED))
    try:
        return memo[memo_key]
    except KeyError:
        pass
    found = _check(state, runtime, get, body, content_type, accept, scope["query_string"])
    if accept is None or len(accept) <= MAX_ACCEPT:
        memo[memo_key] = found
    return found


def _check(state: Any, runtime: Any, get: bool, body: bytes, content_type: bytes | None,
           accept_header: bytes | None, query_string: bytes) -> Prepared | None:
    settings = state.settings
    accept = accept_header.decode("latin-1") if accept_header is not None else None
    try:
        if get:
            # read as the route reads it (Starlette's QueryParams): latin-1, then %-escapes
            params = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
            if len(params) != 1 or params[0][0] != "query":
                return None
            protocol = sparql.read_request("GET", params, None, b"")
        else:
            protocol = sparql.read_request("POST", (), (content_type or b"").decode("latin-1"),
                                           body)
        if protocol.query is None or protocol.formats or route.wants_page(protocol, accept):
            return None
        parsed = sparql.parse_query(protocol, settings.max_query_length,
                                    route.graphs(state, runtime.store),
                                    route.endpoint_iri(settings))
        if parsed.results_kind != "results":
            return None
        fmt = route.result_format((), accept, parsed.results_kind)
        job = route.results_job(parsed, fmt, settings)
        key = route.result_key(runtime.store, job) if get else None
        return Prepared(job, fmt.content_type, key)
    except PublisherError:
        return None  # the full path words the error
