"""SPARQL protocol requests, as data. Pure: no web framework and no store here.

``parse_request`` turns the parts of an HTTP request (method, URL parameters, Content-Type,
body) into a ``ParsedQuery`` or raises the right HttpError: updates are refused, and so is
everything that would make the server open a connection or a file (SERVICE, LOAD, FROM /
FROM NAMED and ``default-graph-uri`` / ``named-graph-uri`` naming graphs we do not hold).

The checks run on tokens from a small lexer that knows SPARQL's comments, strings, IRIs,
variables and prefixed names (publisher.sparql_tokens), so ``FILTER(CONTAINS(?x, "SERVICE"))``
is not refused. Syntax errors are left to the engine's parser, which reports the line and
column.

Named queries (sparql/*.rq) are read by publisher.named_queries.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin

from publisher.errors import (
    BadRequest,
    MethodNotAllowed,
    PayloadTooLarge,
    QueryRefused,
    QuerySyntaxError,
    UnsupportedMediaType,
    UpdateRefused,
)
from publisher.sparql_tokens import Token, tokens

FORMS = ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE")
UPDATE_KEYWORDS = frozenset({"INSERT", "DELETE", "CLEAR", "DROP", "CREATE", "ADD", "MOVE",
                             "COPY", "WITH", "LOAD", "USING"})
#: Parameters of the SPARQL 1.1 Protocol query operation, and our conveniences.
QUERY_PARAMS = frozenset({"query", "default-graph-uri", "named-graph-uri"})
FORMAT_PARAMS = ("format", "output", "results")  # ?format= and what SPARQLWrapper also sends
PAGE_PARAMS = frozenset({"lang"})
UPDATE_PARAMS = frozenset({"update", "using-graph-uri", "using-named-graph-uri"})
FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"
QUERY_MEDIA_TYPE = "application/sparql-query"
UPDATE_MEDIA_TYPE = "application/sparql-update"
#: levels of nesting a query may have (_check_nesting)
MAX_NESTING = 256


@dataclass(frozen=True)
class Dataset:
    """An RDF dataset named by IRIs: the default graph's members and the named graphs."""

    default: tuple[str, ...] = ()
    named: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.default and not self.named


@dataclass(frozen=True)
class ParsedQuery:
    text: str
    form: str                                       # SELECT, ASK, CONSTRUCT or DESCRIBE
    from_query: Dataset = field(default_factory=Dataset)     # FROM / FROM NAMED
    from_protocol: Dataset = field(default_factory=Dataset)  # default-/named-graph-uri

    @property
    def results_kind(self) -> str:
        """Which formats answer it: "results" (SELECT, ASK) or "rdf" (CONSTRUCT, DESCRIBE)."""
        return "results" if self.form in ("SELECT", "ASK") else "rdf"

    def options(self) -> dict[str, Any]:
        """Engine options as plain data: the protocol dataset wins over FROM (Protocol 2.1.4);
        with neither, the default graph is the union of all graphs."""
        dataset = self.from_protocol if not self.from_protocol.empty else self.from_query
        if dataset.empty:
            return {"use_default_graph_as_union": True}
        if self.from_protocol.empty:  # FROM in the query: the engine reads it itself
            return {"use_default_graph_as_union": False}
        return {"default_graph": list(dataset.default), "named_graphs": list(dataset.named)}


def analyse(text: str, max_length: int, graphs: Iterable[str], base: str = "") -> ParsedQuery:
    """Form, refusals and FROM clauses of a query text (protocol dataset not yet set);
    relative IRIs resolve against ``base``, the endpoint's IRI (as the engine resolves them:
    lookup.engine_options), and the query's BASE."""
    if len(text) > max_length:
        raise QueryTooLong(f"The query is {len(text)} characters long; the limit is "
                           f"{max_length}.", limit=max_length)
    toks = tokens(text)
    _check_nesting(text, toks)
    words = [t.text.upper() for t in toks if t.kind == "word"]
    if "SERVICE" in words:
        raise QueryRefused("SERVICE (federated query) is not allowed: this endpoint never "
                           "connects to other servers.")
    update = next((w for w in words if w in UPDATE_KEYWORDS), None)
    form = next((w for w in words if w in FORMS), None)
    if update is not None:  # none of these words exists in the query language
        raise UpdateRefused(f"SPARQL Update ({update}) is not accepted: this endpoint is "
                            "read-only.")
    if form is None:
        raise QuerySyntaxError("The query has no SELECT, ASK, CONSTRUCT or DESCRIBE.")
    dataset, patterns = _from_clauses(toks, base)
    _check_graphs(dataset.default, graphs, "FROM")
    _check_graphs(dataset.named, graphs, "FROM NAMED")
    _check_graphs(patterns, graphs, "GRAPH")
    return ParsedQuery(text, form, dataset)


def _check_nesting(text: str, toks: Sequence[Token]) -> None:
    """Refuse a query nested deeper than ``MAX_NESTING``: brackets, braces and parentheses
    in one another, and a run of ``!`` (each a level of the engine's recursive parser). A
    query nested some 2,000 braces deep overflows the parser's stack and kills the process
    that evaluates it; real queries nest a few dozen levels at most."""
    if sum(map(text.count, "({[!")) <= MAX_NESTING:
        return  # cannot be deeper than that: the common case, counted in C
    depth = bangs = 0
    for tok in toks:
        if tok.kind != "other":
            bangs = 0
            continue
        if tok.text == "!":
            bangs += 1
        else:
            bangs = 0
            if tok.text in "({[":
                depth += 1
            elif tok.text in ")}]":
                depth -= 1
        if depth + bangs > MAX_NESTING:
            raise QueryRefused(f"The query is nested more than {MAX_NESTING} levels deep "
                               "(brackets, braces, parentheses or negations inside one "
                               "another); this endpoint evaluates queries up to that depth.",
                               limit=MAX_NESTING)


def _from_clauses(toks: Sequence[Token], base: str) -> tuple[Dataset, list[str]]:
    """The FROM and FROM NAMED graphs, and the graphs named by a constant ``GRAPH <iri>``:
    a graph we do not hold is refused like a FROM of one (a remote Virtuoso answered ``ASK
    { GRAPH <not ours> { ?s ?p ?o } }`` true, where the embedded store answers false)."""
    prefixes: dict[str, str] = {}
    default: list[str] = []
    named: list[str] = []
    patterns: list[str] = []
    for i, tok in enumerate(toks):
        word = tok.text.upper() if tok.kind == "word" else ""
        if word == "BASE" and i + 1 < len(toks) and toks[i + 1].kind == "iri":
            base = urljoin(base, _iri_text(toks[i + 1]))
        elif word == "PREFIX" and i + 2 < len(toks) and toks[i + 2].kind == "iri":
            prefixes[toks[i + 1].text.rstrip(":")] = urljoin(base, _iri_text(toks[i + 2]))
        elif word == "FROM" and i + 1 < len(toks):
            into, j = default, i + 1
            if toks[j].kind == "word" and toks[j].text.upper() == "NAMED" and j + 1 < len(toks):
                into, j = named, j + 1
            into.append(_resolve(toks[j], prefixes, base))
        elif word == "GRAPH" and i + 1 < len(toks) and toks[i + 1].kind in ("iri", "pname"):
            with contextlib.suppress(QuerySyntaxError):  # an unknown prefix: the engine's to say
                patterns.append(_resolve(toks[i + 1], prefixes, base))
    return Dataset(tuple(default), tuple(named)), patterns


def _iri_text(tok: Token) -> str:
    """An IRI token's IRI, its \\u escapes decoded as the engine decodes them."""
    return _UCHAR.sub(lambda m: chr(int(m["short"] or m["long"], 16)), tok.text[1:-1])


_UCHAR = re.compile(r"\\u(?P<short>[0-9A-Fa-f]{4})|\\U(?P<long>[0-9A-Fa-f]{8})")


def _resolve(tok: Token, prefixes: dict[str, str], base: str) -> str:
    if tok.kind == "iri":
        return urljoin(base, _iri_text(tok)) if base else _iri_text(tok)
    if tok.kind == "pname" and not tok.text.startswith("_:"):
        prefix, _, local = tok.text.partition(":")
        if prefix in prefixes:
            return prefixes[prefix] + re.sub(r"\\(.)", r"\1", local)
    raise QuerySyntaxError(f"FROM must be followed by an IRI, not {tok.text!r}.")


def _check_graphs(iris: Iterable[str], graphs: Iterable[str], where: str) -> None:
    known = set(graphs)
    for iri in iris:
        if iri not in known:
            raise QueryRefused(f"{where} <{iri}> is not a graph of this dataset; this endpoint "
                               "never loads data from elsewhere. The graphs are listed in the "
                               "service description (GET /sparql).", graph=iri)


class QueryTooLong(PayloadTooLarge):
    title = "Query too long"
    slug = "query-too-long"


class MissingQuery(BadRequest):
    title = "Missing query"
    slug = "missing-query"


# -- the protocol --------------------------------------------------------------------------

@dataclass(frozen=True)
class ProtocolRequest:
    """What an HTTP request to /sparql asks for, before the query text is analysed."""

    query: str | None           # None: a GET without one (Service Description, query page)
    dataset: Dataset
    #: the values of ?format= (and output=, results=), as given, each once: SPARQLWrapper
    #: names one format twice (``format=tsv&format=text/tab-separated-values``); which
    #: format they name, and whether they agree, depends on the query's form (json is JSON-LD
    #: for a CONSTRUCT), so the route decides (routes/sparql.py, ``named_format``)
    formats: tuple[str, ...] = ()
    params: tuple[tuple[str, str], ...] = ()


def read_request(method: str, url_params: Sequence[tuple[str, str]],
                 content_type: str | None, body: bytes) -> ProtocolRequest:
    """SPARQL 1.1 Protocol section 2.1: query via GET, via URL-encoded POST, via POST directly."""
    params = list(url_params)
    media_type, charset = _media_type(content_type)
    if method == "POST":
        if media_type == FORM_MEDIA_TYPE:
            if charset not in (None, "utf-8"):
                raise UnsupportedMediaType("Form data must be UTF-8.")
            params += _form_fields(_utf8(body))
        elif media_type == QUERY_MEDIA_TYPE:
            if charset not in (None, "utf-8"):
                raise UnsupportedMediaType(f"A query must be sent as UTF-8, not {charset}.")
            if any(name == "query" for name, _ in params):
                raise BadRequest("The query was given both in the body and as ?query=.")
            params.append(("query", _utf8(body)))
        elif media_type == UPDATE_MEDIA_TYPE:
            raise UpdateRefused("SPARQL Update is not accepted: this endpoint is read-only.")
        else:
            raise UnsupportedMediaType(
                f"POST a query as {FORM_MEDIA_TYPE} or {QUERY_MEDIA_TYPE}, not "
                f"{media_type or 'without a media type'}.")
    names = {name for name, _ in params}
    if names & UPDATE_PARAMS:
        if method in ("GET", "HEAD"):
            raise MethodNotAllowed("SPARQL Update is never sent with GET, and this endpoint is "
                                   "read-only: it accepts no updates at all.",
                                   allow="GET, HEAD, POST, OPTIONS")
        raise UpdateRefused("SPARQL Update is not accepted: this endpoint is read-only.")
    unknown = sorted(names - QUERY_PARAMS - set(FORMAT_PARAMS) - PAGE_PARAMS)
    if unknown:
        raise BadRequest(f"Unknown parameter(s): {', '.join(unknown)}. This endpoint takes "
                         "query, default-graph-uri, named-graph-uri and format.")
    queries = [value for name, value in params if name == "query"]
    if len(queries) > 1:
        raise BadRequest("Exactly one query parameter is allowed.")
    formats = tuple(dict.fromkeys(value for name, value in params
                                  if name in FORMAT_PARAMS and value))
    dataset = Dataset(tuple(v for n, v in params if n == "default-graph-uri"),
                      tuple(v for n, v in params if n == "named-graph-uri"))
    for iri in (*dataset.default, *dataset.named):
        if not ABSOLUTE_IRI.fullmatch(iri):
            raise BadRequest(f"Not an absolute IRI: {iri!r}.")
    query = queries[0] if queries else None
    if query is None and (method == "POST" or names & QUERY_PARAMS):
        # only a GET without a query or a dataset is the Service Description (or the page)
        raise MissingQuery("The request has no query parameter. Send the query as ?query= "
                           "(GET), as the query field of a form or as an application/"
                           "sparql-query body (POST); GET /sparql alone answers the Service "
                           "Description.")
    if query is not None and not query.strip():
        raise BadRequest("The query is empty.")
    return ProtocolRequest(query, dataset, formats, tuple(params))


def parse_query(request: ProtocolRequest, max_length: int, graphs: Iterable[str],
                base: str = "") -> ParsedQuery:
    """Analyse the request's query and attach the protocol dataset, checked against ours;
    ``base`` is the endpoint's IRI (``<base>sparql``), against which relative IRIs resolve."""
    assert request.query is not None
    graphs = tuple(graphs)
    parsed = analyse(request.query, max_length, graphs, base)
    _check_graphs([*request.dataset.default, *request.dataset.named], graphs,
                  "default-graph-uri/named-graph-uri")
    return ParsedQuery(parsed.text, parsed.form, parsed.from_query, request.dataset)


def _media_type(header: str | None) -> tuple[str | None, str | None]:
    if not header:
        return None, None
    media, *params = (p.strip() for p in header.split(";"))
    charset = None
    for param in params:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            charset = value.strip().strip('"').lower()
    return media.lower(), charset


def _utf8(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"The request body is not UTF-8 (byte {exc.start}).") from None


def _form_fields(text: str) -> list[tuple[str, str]]:
    """The fields of a URL-encoded form, whose %-escapes must stand for UTF-8 too (decoded
    leniently, ``%ff`` would become U+FFFD and the changed query be evaluated)."""
    try:
        return parse_qsl(text, keep_blank_values=True, errors="strict")
    except UnicodeDecodeError as exc:
        raise BadRequest("A form field is not UTF-8 once its %-escapes are decoded "
                         f"({exc.object[exc.start:exc.end]!r}).") from None


ABSOLUTE_IRI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[^<>\"{}|^`\\\x00-\x20]*")
_POSITION = re.compile(r"error at (\d+):(\d+): ")


def syntax_error(message: str) -> QuerySyntaxError:
    """The engine's parser message as a QuerySyntaxError with ``line`` and ``column``."""
    match = _POSITION.search(message)
    if match is None:
        return QuerySyntaxError(message)
    line, column = int(match.group(1)), int(match.group(2))
    text = message[match.end():]
    if len(text) > 300:
        text = text[:300] + " …"
    return QuerySyntaxError(f"Syntax error at line {line}, column {column}: {text}",
                            line=line, column=column)



def incoming_links_url(topic: str, sparql_endpoint: str) -> str:
    """A GET URL of the endpoint listing every link to ``topic`` (for documents that
    were cut at max_description_links); one builder for the RDF and the HTML link."""
    query = f"SELECT ?subject ?property WHERE {{ ?subject ?property <{topic}> }}"
    return sparql_endpoint + "?" + urlencode({"query": query})
