"""/api/queries: the named queries of sparql/*.rq, one API endpoint each.

``router_for(settings)`` reads the files when the app is created and registers
``GET /api/queries/<name>`` for every one, with its title, description and typed query
parameters, so each shows in /api/openapi.json as an operation of its own. Values are bound
by substitution (publisher.named_queries); results come in every SPARQL result format by
Accept (JSON by default). ``GET /api/queries`` lists them.
"""

from __future__ import annotations

import inspect
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from publisher.config import Settings
from publisher.errors import BadRequest
from publisher.evaluate import Job
from publisher.executor import QueryExecutor
from publisher.named_queries import NamedQuery, Parameter, load_named_queries
from publisher.negotiation import RESULT_FORMATS, choose_format
from publisher.routes.sparql import answer

TYPES: dict[str, type] = {"iri": str, "string": str, "integer": int, "language": str,
                          "date": str}
PATTERNS = {"language": r"^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$",
            "date": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}


def router_for(settings: Settings) -> APIRouter:
    router = APIRouter(prefix="/api/queries", tags=["Named queries"])
    named = load_named_queries(settings.queries_dir, settings.base)

    @router.get("", summary="The named queries", response_class=JSONResponse)
    def listing() -> list[dict[str, Any]]:
        """Every named query with its title, description, parameters and text."""
        return [_summary(q, settings) for q in named.values()]

    for query in named.values():
        router.add_api_route(
            f"/{query.name}", _endpoint(query), methods=["GET"], summary=query.title,
            description=query.description, operation_id=f"query_{query.name}",
            response_class=Response,
            responses={200: {"description": "SPARQL results",
                             "content": {f.media_type: {} for f in RESULT_FORMATS}}})
    return router


def _summary(query: NamedQuery, settings: Settings) -> dict[str, Any]:
    return {"name": query.name, "title": query.title, "description": query.description,
            "url": settings.iri(f"api/queries/{query.name}"),
            "parameters": [{"name": p.name, "type": p.type, "optional": p.optional,
                            "description": p.description} for p in query.parameters],
            "query": query.text}


def _annotation(param: Parameter) -> Any:
    kind = TYPES[param.type]
    extra: dict[str, Any] = {"description": f"({param.type}) {param.description}".strip()}
    if param.type in PATTERNS:
        extra["pattern"] = PATTERNS[param.type]
    if param.optional:
        return Annotated[kind | None, Query(**extra)]
    return Annotated[kind, Query(**extra)]


def _once_each(params: list[tuple[str, str]]) -> None:
    """BadRequest for a parameter given more than once (``?year=1990&year=2000``): FastAPI
    would take the last value, and the client could not tell which one was answered."""
    names = [name for name, _ in params]
    repeated = next((name for name in names if names.count(name) > 1), None)
    if repeated is not None:
        raise BadRequest(f"Exactly one {repeated} parameter is allowed.", parameter=repeated)


def _endpoint(query: NamedQuery) -> Any:
    """A handler whose signature declares the query's parameters, for FastAPI to read."""
    declared = {p.name for p in query.parameters}

    async def run(request: Request, **values: Any) -> Response:
        unknown = sorted(set(request.query_params) - declared)
        if unknown:
            raise BadRequest(f"Unknown parameter(s): {', '.join(unknown)}. {query.name} takes "
                             + (", ".join(sorted(declared)) or "no parameters") + ".")
        _once_each(request.query_params.multi_items())
        settings: Settings = request.app.state.settings
        pool: QueryExecutor = request.app.state.runtime.pool
        bound = query.substitutions({k: None if v is None else str(v)
                                     for k, v in values.items()})
        fmt = choose_format(request.headers.get("accept"), RESULT_FORMATS)
        job = Job(query.text, fmt.name, settings.max_rows, {"use_default_graph_as_union": True},
                  {variable.value: term for variable, term in bound.items()}, settings.base)
        headers = {"Vary": "Accept", "X-SPARQL-Max-Rows": str(settings.max_rows)}
        return await answer(request, request.app.state.runtime.store, pool, job,
                            fmt.content_type, headers)

    parameters = [inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                    annotation=Request)]
    for param in query.parameters:
        parameters.append(inspect.Parameter(
            param.name, inspect.Parameter.KEYWORD_ONLY, annotation=_annotation(param),
            default=None if param.optional else inspect.Parameter.empty))
    run.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    run.__name__ = f"query_{query.name}"
    run.__doc__ = query.description
    return run
