"""/sparql: the SPARQL 1.1 Protocol query operation, its Service Description and query page.

GET ?query=, POST form and POST application/sparql-query are read by publisher.sparql, run
by the worker pool (publisher.workers) under the deadline, and streamed in the negotiated
format. GET /sparql without a query answers the Service Description (Turtle, JSON-LD, ...)
or, for browsers, the query page (any other request without a query is 400 missing-query:
publisher.sparql.read_request); GET with a query and Accept text/html shows the result
table on that page, so it works without JavaScript (the page: routes/sparql_page.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from publisher import descriptions, sparql
from publisher.config import Settings
from publisher.errors import BadRequest, HttpError, PayloadTooLarge
from publisher.evaluate import Job
from publisher.executor import QueryEvaluation, QueryExecutor
from publisher.negotiation import (
    BY_NAME,
    RDF_FORMATS,
    RESULT_FORMATS,
    Format,
    by_name_or_extension,
    choose_format,
)
from publisher.render.rdf import serialize
from publisher.result_cache import Answer, ResultCache, cache_key, etag
from publisher.routes import not_modified
from publisher.routes.replay import cut_when_failing
from publisher.routes.sparql_page import page_response, query_page
from publisher.service_description import description_triples
from publisher.store import Store

router = APIRouter(tags=["SPARQL"])
CACHE_CONTROL = "public, max-age=60"
#: ?format= words other tools send, by query kind.
FORMAT_ALIASES = {"rdf": {"json": "jsonld", "json-ld": "jsonld", "xml": "rdfxml",
                          "rdf+xml": "rdfxml", "n3": "turtle", "ttl": "turtle", "nt": "ntriples",
                          "application/x-json+ld": "jsonld"},
                  "results": {"sparql-results+json": "json", "sparql-results+xml": "xml"}}
#: request.state flag set by the door (routes/lookups.py) when it has tried to evaluate the
#: query in the server itself; the worker pool then does not try again
TRIED = "lookup_tried"
#: request.state key: the error the door's evaluation of this request raised (routes/
#: lookups.py), which the route raises in its place, without evaluating the query again
FAILED = "lookup_failed"
SD_FORMATS = (BY_NAME["turtle"], BY_NAME["jsonld"], BY_NAME["rdfxml"], BY_NAME["ntriples"],
              BY_NAME["html"])


def graphs(state: Any, store: Store) -> tuple[str, ...]:
    """The named graphs of the store (the only ones FROM and default-graph-uri may name);
    ``state`` is the app's."""
    cached = getattr(state, "sparql_graphs", None)
    if cached is None or cached[0] != store.version:
        names = getattr(store, "graph_names", None)  # cheap; stats() counts every triple
        cached = (store.version, names() if names is not None else store.stats().graphs)
        state.sparql_graphs = cached
    found: tuple[str, ...] = cached[1]
    return found


_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "Results, a Service Description or the query page",
          "content": {f.media_type: {} for f in (*RESULT_FORMATS, *SD_FORMATS)}}}


@router.get("/sparql", summary="SPARQL query (GET) or Service Description",
            response_class=Response, responses=_RESPONSES, operation_id="sparql_get")
@router.post("/sparql", summary="SPARQL query (POST)", response_class=Response,
             responses=_RESPONSES, operation_id="sparql_post")
async def endpoint(request: Request) -> Response:
    """Query with GET ?query=, POST application/x-www-form-urlencoded or POST
    application/sparql-query; without a query, the Service Description (or the query page
    for browsers). Results by Accept or ?format= (json, xml, csv, tsv, turtle, jsonld, rdfxml,
    ntriples)."""
    # read from the state, not by dependencies: their solving is a measurable part of a
    # small query's time (bench/RESULTS.md)
    settings: Settings = request.app.state.settings
    runtime = request.app.state.runtime
    store: Store = runtime.store
    pool: QueryExecutor = runtime.pool
    body = await _body(request, settings.max_request_body) if request.method == "POST" else b""
    protocol = sparql.read_request(request.method, request.query_params.multi_items(),
                                   request.headers.get("content-type"), body)
    if protocol.query is None:
        return await _no_query(request, protocol, settings, store)
    accept = request.headers.get("accept")
    page = wants_page(protocol, accept)
    try:
        parsed = sparql.parse_query(protocol, settings.max_query_length,
                                    graphs(request.app.state, store), endpoint_iri(settings))
        if page:
            return await query_page(request, settings, store, pool, protocol.query, parsed)
    except HttpError as error:
        if page:
            return await query_page(request, settings, store, pool, protocol.query, None, error)
        raise
    fmt = result_format(protocol.formats, accept, parsed.results_kind)
    return await _results(request, settings, store, pool, parsed, fmt, bool(protocol.formats))


async def _body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"The request body is larger than the limit of {limit} bytes.")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise PayloadTooLarge(f"The request body is larger than the limit of {limit} bytes.")
    return bytes(body)


def endpoint_iri(settings: Settings) -> str:
    """The endpoint's own IRI, against which relative IRIs in a query resolve (Protocol
    2.1.4; the engine is given the same: lookup.engine_options)."""
    return settings.base + "sparql"


def wants_page(protocol: sparql.ProtocolRequest, accept: str | None) -> bool:
    if protocol.formats:
        return named_format(protocol.formats, (BY_NAME["html"],), {}, quiet=True) is not None
    offered = (*RESULT_FORMATS, *RDF_FORMATS, BY_NAME["html"])
    return choose_format(accept, offered).kind == "html"


def result_format(tokens: Sequence[str], accept: str | None, kind: str) -> Format:
    offered = RESULT_FORMATS if kind == "results" else RDF_FORMATS
    return (named_format(tokens, offered, FORMAT_ALIASES[kind], " for this query")
            or choose_format(accept, offered))


def named_format(tokens: Sequence[str], offered: tuple[Format, ...], aliases: dict[str, str],
                 where: str = "", quiet: bool = False) -> Format | None:
    """The format the ?format= values name, or None without any. Each value is a name, an
    extension, a media type or a list of media types (the first one we know counts), and
    they may name one format several times: SPARQLWrapper sends ``format=tsv&format=text/
    tab-separated-values``, or ``format=json-ld&format=application/ld+json,application/
    x-json+ld``. BadRequest for a value that names none of ``offered``, or for values that
    name two formats (``quiet``: None instead)."""
    found: list[Format] = []
    for token in tokens:
        fmt = next((f for item in token.split(",")
                    if (f := _named(item.strip().lower(), offered, aliases)) is not None), None)
        if fmt is None:
            if quiet:
                return None
            raise BadRequest(f"Unknown format {token!r}{where}. Available: "
                             + ", ".join(f.name for f in offered))
        if fmt not in found:
            found.append(fmt)
    if len(found) > 1:
        if quiet:
            return None
        raise BadRequest(f"Conflicting format parameters: {', '.join(tokens)}.")
    return found[0] if found else None


def _named(token: str, offered: tuple[Format, ...], aliases: dict[str, str]) -> Format | None:
    return by_name_or_extension(aliases.get(token, token), offered)


async def _results(request: Request, settings: Settings, store: Store, pool: QueryExecutor,
                   parsed: sparql.ParsedQuery, fmt: Format, named: bool) -> Response:
    headers = {"Vary": "Accept", "X-SPARQL-Max-Rows": str(settings.max_rows)}
    if named:  # by ?format=: a file to save
        headers["Content-Disposition"] = f'inline; filename="result.{fmt.extension}"'
    failed: HttpError | None = getattr(request.state, FAILED, None)
    if failed is not None:
        raise failed
    job = results_job(parsed, fmt, settings, here=not getattr(request.state, TRIED, False))
    return await answer(request, store, pool, job, fmt.content_type, headers)


def results_job(parsed: sparql.ParsedQuery, fmt: Format, settings: Settings,
                here: bool = True) -> Job:
    """The job of a query sent to /sparql (the door builds the same: routes/lookups.py)."""
    return Job(parsed.text, fmt.name, settings.max_rows, parsed.options(), base=settings.base,
               here=here)


def result_key(store: Store, job: Job) -> str:
    """The result cache's key of a job's answer; its digest is the answer's ETag."""
    return cache_key(store.version, job.query, job.options, job.format, job.max_rows,
                     job.substitutions)


async def answer(request: Request, store: Store, pool: QueryExecutor, job: Job,
                 content_type: str, headers: dict[str, str]) -> Response:
    """Evaluate a job and stream its answer. GET (and HEAD) answers carry an ETag and
    Cache-Control and are answered from the result cache when the same query has been
    answered completely under the same data version (publisher.result_cache); POST is
    always evaluated."""
    if request.method not in ("GET", "HEAD"):
        evaluation = await pool.evaluate(job)
        headers["X-SPARQL-Truncated"] = "true" if evaluation.truncated else "false"
        return _response(evaluation, evaluation.chunks(), content_type, headers)
    cache: ResultCache = request.app.state.runtime.results
    key = result_key(store, job)
    headers["ETag"] = etag(key)
    headers["Cache-Control"] = CACHE_CONTROL
    if not_modified(request, headers["ETag"], store.version_time()):
        return Response(status_code=304, headers=headers)
    found = cache.get(key)
    if found is not None:
        headers["X-SPARQL-Truncated"] = "false"
        return Response(found.body, media_type=found.content_type, headers=headers)
    evaluation = await pool.evaluate(job)
    headers["X-SPARQL-Truncated"] = "true" if evaluation.truncated else "false"
    return _response(evaluation, kept_chunks(cache, key, evaluation, content_type),
                     content_type, headers)


def kept_chunks(cache: ResultCache, key: str, evaluation: QueryEvaluation,
                content_type: str) -> AsyncIterator[bytes]:
    """The evaluation's body, its complete answer kept in the result cache under ``key``:
    at once when it came whole, else once it has streamed to the end. A truncated answer is
    not kept. (The door keeps a GET's answer with it too: routes/lookups.py.)"""
    chunks = evaluation.chunks()
    if not evaluation.truncated:
        if evaluation.whole is not None:
            cache.put(key, Answer(evaluation.whole, content_type))
        else:
            chunks = cache.keep(key, chunks, content_type)
    return chunks


def _response(evaluation: QueryEvaluation, chunks: AsyncIterator[bytes], content_type: str,
              headers: dict[str, str]) -> Response:
    """A plain response when the whole answer is here (no streaming machinery), else a
    streamed one."""
    if evaluation.whole is not None:
        return Response(evaluation.whole, media_type=content_type, headers=headers)
    return StreamingResponse(cut_when_failing(chunks, "/sparql"), media_type=content_type,
                             headers=headers)


# -- no query: Service Description or query page -------------------------------------------

async def _no_query(request: Request, protocol: sparql.ProtocolRequest, settings: Settings,
                    store: Store) -> Response:
    fmt = (named_format(protocol.formats, SD_FORMATS, FORMAT_ALIASES["rdf"])
           or choose_format(request.headers.get("accept"), SD_FORMATS))
    if fmt.kind == "html":
        return await page_response(request, settings, "", None, None)
    counts = await run_in_threadpool(_graph_sizes, request, store)
    triples = description_triples(settings, counts)
    body = serialize(triples, fmt, settings.base)
    etag = f'W/"sd-{store.version}-{fmt.name}"'
    headers = {"Vary": "Accept", "ETag": etag, "Cache-Control": "public, max-age=300"}
    if not_modified(request, etag, store.version_time()):
        return Response(status_code=304, headers=headers)
    return Response(body if request.method != "HEAD" else b"", headers=headers,
                    media_type=fmt.content_type)


def _graph_sizes(request: Request, store: Store) -> dict[str, int]:
    """Triples per named graph, and in the default (union) graph under the key ''."""
    stats = descriptions.statistics_of(request.app.state, request.app.state.settings, store)
    return {**stats.graphs, "": stats.counts["triples"]}
