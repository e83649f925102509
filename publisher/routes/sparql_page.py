"""The query page of /sparql: an editor with the ready-made queries, and a query's result
as a table, so that the endpoint can be used from a browser without JavaScript.

routes/sparql.py answers with it when the request asks for HTML (Accept text/html or
?format=html). Without a query the editor holds a default query, and the named queries of
sparql/ are offered as examples. With one, the page shows its first ``PAGE_ROWS`` rows (a
CONSTRUCT or DESCRIBE as Turtle), evaluated by the worker pool, or the error checking or
evaluating it raised (with that error's status), and links that download the whole result.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pyoxigraph as ox
from fastapi import Request
from fastapi.responses import Response

from publisher import sparql
from publisher.config import Settings
from publisher.errors import HttpError
from publisher.evaluate import Job
from publisher.executor import QueryExecutor
from publisher.named_queries import NamedQuery, load_named_queries
from publisher.negotiation import RDF_FORMATS, RESULT_FORMATS
from publisher.render import html
from publisher.render.rdf import prefixes
from publisher.store import Store

PAGE_ROWS = 1000  # rows shown in the HTML table (downloads have the whole result)
#: the bidi controls: the Turtle the page shows has them as \uXXXX escapes (which Turtle
#: allows in strings and IRIs, the only places they can be), so they cannot reorder its lines
BIDI_CONTROLS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")


async def query_page(request: Request, settings: Settings, store: Store, pool: QueryExecutor,
                     query: str, parsed: sparql.ParsedQuery | None,
                     error: HttpError | None = None) -> Response:
    result: dict[str, Any] | None = None
    if parsed is not None and error is None:
        fmt = "json" if parsed.results_kind == "results" else "turtle"
        job = Job(parsed.text, fmt, min(PAGE_ROWS, settings.max_rows), parsed.options(),
                  base=settings.base)
        try:
            evaluation = await pool.evaluate(job)
            body = b"".join([chunk async for chunk in evaluation.chunks()])
            result = {"truncated": evaluation.truncated, "form": parsed.form}
            if fmt == "json":
                result.update(json.loads(body))
            else:
                result["text"] = BIDI_CONTROLS.sub(_uchar, body.decode())
        except HttpError as exc:
            error = exc
    return await page_response(request, settings, query, result, error)


async def page_response(request: Request, settings: Settings, query: str,
                        result: dict[str, Any] | None, error: HttpError | None) -> Response:
    lang = html.request_language(request.query_params.get("lang"),
                                 request.headers.get("accept-language"))
    body = render_page(lang, settings, query, result, error)
    headers = {"Vary": "Accept, Accept-Language", "Content-Language": lang}
    return Response(body, status_code=error.status if error else 200, headers=headers,
                    media_type="text/html; charset=utf-8")


#: The page's own words; the site-wide ones come from render/strings.py as ``t``.
PAGE_STRINGS = {
    "sv": {"title": "SPARQL-frågor", "intro": "Ställ frågor till hela grafen i SPARQL 1.1. "
           "Välj en färdig fråga eller skriv en egen.", "editor": "Fråga", "run": "Kör frågan",
           "examples": "Färdiga frågor", "results": "Resultat", "download": "Ladda ner",
           "share": "Länk till frågan", "rows": "rader", "truncated": "Resultatet är avkortat "
           "till de första {n} raderna; ladda ner det för fler.", "error": "Frågan kunde inte "
           "köras", "position": "rad {line}, kolumn {column}", "no_rows": "Inga svar.",
           "answer": "Svar", "yes": "ja", "no": "nej", "limits": "Gränser: {timeout} s per "
           "fråga, högst {rows} rader."},
    "en": {"title": "SPARQL queries", "intro": "Ask the whole graph in SPARQL 1.1. Pick a "
           "ready-made query or write your own.", "editor": "Query", "run": "Run query",
           "examples": "Ready-made queries", "results": "Results", "download": "Download",
           "share": "Link to this query", "rows": "rows", "truncated": "The result is cut to "
           "its first {n} rows; download it for more.", "error": "The query could not be run",
           "position": "line {line}, column {column}", "no_rows": "No answers.",
           "answer": "Answer", "yes": "yes", "no": "no", "limits": "Limits: {timeout} s per "
           "query, at most {rows} rows."},
}


@lru_cache(maxsize=8)
def _named(folder: Path, base: str) -> tuple[NamedQuery, ...]:
    return tuple(load_named_queries(folder, base).values())


def default_query(settings: Settings) -> str:
    lines = [f"PREFIX {name}: <{ns}>" for name, ns in sorted(prefixes(settings.base).items())]
    lines.append(f"PREFIX id: <{settings.iri('id/')}>")
    return "\n".join(lines) + "\n\nSELECT ?s ?p ?o WHERE {\n  ?s ?p ?o\n}\nLIMIT 25\n"


def _uchar(match: re.Match[str]) -> str:
    return f"\\u{ord(match[0]):04X}"


@dataclass(frozen=True)
class Cell:
    """One term of a result row as the table shows it (an unbound variable is None)."""

    kind: str                   # as in the JSON results: uri, literal, bnode or triple
    text: str                   # the IRI, the literal's value, _:label, or <<( s p o )>>
    href: str | None = None     # our own IRIs only
    lang: str | None = None
    datatype: str | None = None


def _cell(binding: dict[str, Any] | None, base: str) -> Cell | None:
    if binding is None:
        return None
    kind, value = binding["type"], binding["value"]
    if kind == "uri":
        return Cell(kind, value, value if value.startswith(base) else None)
    if kind == "literal":
        return Cell(kind, value, lang=binding.get("xml:lang"), datatype=binding.get("datatype"))
    if kind == "bnode":
        return Cell(kind, "_:" + value)
    return Cell(kind, f"<<( {_term(binding)} )>>")


def _term(binding: dict[str, Any]) -> Any:
    """A term of the JSON results as pyoxigraph's, whose str() is its N-Triples form."""
    kind, value = binding["type"], binding["value"]
    if kind == "uri":
        return ox.NamedNode(value)
    if kind == "bnode":
        return ox.BlankNode(value)
    if kind == "triple":
        return ox.Triple(*(_term(value[part]) for part in ("subject", "predicate", "object")))
    datatype = binding.get("datatype")
    return ox.Literal(value, language=binding.get("xml:lang"),
                      datatype=ox.NamedNode(datatype) if datatype else None)


def render_page(lang: str, settings: Settings, query: str, result: dict[str, Any] | None,
                error: HttpError | None) -> str:
    endpoint_url = settings.iri("sparql")
    text = query or default_query(settings)
    table = None
    if result is not None and "results" in result:
        names = result["head"]["vars"]
        table = {"vars": names, "rows": [[_cell(row.get(v), settings.base) for v in names]
                                         for row in result["results"]["bindings"]]}
    kind = "rdf" if result is not None and result.get("form") in ("CONSTRUCT", "DESCRIBE") \
        else "results"
    formats = RESULT_FORMATS if kind == "results" else RDF_FORMATS
    downloads = [(f.name, f.media_type, f"{endpoint_url}?{urlencode({'query': query, 'format': f.name})}")
                 for f in formats] if query else []
    examples = [{"name": q.name, "title": q.title, "description": q.description, "text": q.text,
                 "url": f"{endpoint_url}?{urlencode({'query': q.text})}",
                 "api": settings.iri(f"api/queries/{q.name}")}
                for q in _named(settings.queries_dir, settings.base)]
    return html.render_template(
        "sparql.html", lang, settings, "/sparql", s=PAGE_STRINGS[lang], query=text,
        endpoint_url=endpoint_url, examples=examples, result=result, table=table,
        downloads=downloads, error=error,
        share_url=f"{endpoint_url}?{urlencode({'query': query})}" if query else None)
