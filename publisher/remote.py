"""A remote SPARQL 1.1 store behind the Store interface (``--store sparql+http://HOST/PATH``).

Many stateless publishers can stand in front of one store that scales on its own (Virtuoso,
GraphDB, Stardog, Neptune, QLever, Fuseki). ``RemoteStore`` answers describe(), query(),
stats() and the look-ups with SPARQL over HTTP; results are parsed with pyoxigraph, so the
rest of the publisher sees the same objects as from ``OxigraphStore``.

What is published lives in named graphs written by ``publisher push`` (publisher.push),
which also writes a meta graph ``<urn:x-publisher:meta:BASE>``: the data version, its time,
the triple count, the list of our graphs and a state (``ready`` or ``swapping``). Every
query names our graphs as its dataset (``default-graph-uri`` = ``named-graph-uri`` = our
graphs), so the store's own system graphs and the meta graph never show. The meta graph is
read with one cheap query at most every ``store_version_ttl`` seconds; that is how many
instances agree on the version (and so on caches and ETags) without talking to each other.

HTTP: one pooled ``httpx.Client`` (routes run in the threadpool), timeouts on every call,
retries with exponential backoff for reads that failed to connect or got 502/503/504, and a
circuit breaker: after ``store_breaker_failures`` consecutive failures every call fails at
once with ServiceUnavailable (503, Retry-After) for ``store_breaker_seconds``. Credentials
come only from the environment (PUBLISHER_STORE_USER, PUBLISHER_STORE_PASSWORD) and are
never logged. IRIs are bound only after validation and written with N-Triples escaping.
"""

from __future__ import annotations

import io
import logging
import math
import os
import random
import re
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, cast

import httpx
import pyoxigraph as ox

from publisher import __version__, sparql
from publisher.config import Settings
from publisher.errors import BadRequest, DataError, QueryTimeout, ServiceUnavailable
from publisher.store import LABEL_PREDICATES, RDFS_IS_DEFINED_BY, Description, Stats

log = logging.getLogger("publisher.remote")

META_VERSION = "urn:x-publisher:version"   # the predicates of the meta graph
META_MODIFIED = "urn:x-publisher:modified"
META_TRIPLES = "urn:x-publisher:triples"
META_GRAPH = "urn:x-publisher:graph"
META_STATE = "urn:x-publisher:state"
NO_GRAPH = "urn:x-publisher:none"       # names an empty default or named-graph set
XML_RESULTS = "application/sparql-results+xml"
N_TRIPLES = "application/n-triples"
GATEWAY_ERRORS = (502, 503, 504)


def meta_graph(base: str) -> str:
    """Graph and subject of what push records for the dataset served under ``base`` (one
    store can hold several datasets, e.g. staging and production, under different bases)."""
    return "urn:x-publisher:meta:" + base


def http_url(url: str) -> str:
    """``sparql+https://h/p`` -> ``https://h/p`` (plain http(s) URLs are kept)."""
    return url.removeprefix("sparql+")


def iri(value: str) -> str:
    """An IRI written for a query: validated (absolute, no ``<>"{}|^`\\``, spaces or
    controls) and escaped by pyoxigraph; ValueError otherwise. Never pasted raw."""
    if not sparql.ABSOLUTE_IRI.fullmatch(value):
        raise ValueError(f"not an absolute IRI: {value!r}")
    return str(ox.NamedNode(value))


# -- HTTP: timeouts, retries, circuit breaker ----------------------------------------------

class Breaker:
    """Open after ``threshold`` consecutive failures; then every call fails at once for
    ``seconds``, after which calls go through again (one more failure re-opens it)."""

    def __init__(self, threshold: int, seconds: float) -> None:
        self.threshold, self.seconds = threshold, seconds
        self.failures = 0
        self.open_until = 0.0
        self._lock = threading.Lock()

    def check(self) -> None:
        remaining = self.open_until - time.monotonic()
        if remaining > 0:
            error = ServiceUnavailable("The data store is not answering; try again shortly.")
            error.retry_after = max(1, math.ceil(remaining))
            raise error

    def success(self) -> None:
        with self._lock:
            self.failures = 0

    def failure(self) -> None:
        with self._lock:
            self.failures += 1
            if self.failures >= self.threshold:
                self.open_until = time.monotonic() + self.seconds
                log.warning("remote store: %d failures in a row, circuit open for %g s",
                            self.failures, self.seconds)


def credentials(scheme: str, environ: Any = None) -> httpx.Auth | None:
    """Basic or digest auth from PUBLISHER_STORE_USER / PUBLISHER_STORE_PASSWORD."""
    environ = os.environ if environ is None else environ
    user = environ.get("PUBLISHER_STORE_USER")
    if not user:
        return None
    password = environ.get("PUBLISHER_STORE_PASSWORD", "")
    return httpx.DigestAuth(user, password) if scheme == "digest" else httpx.BasicAuth(
        user, password)


class Endpoint:
    """The HTTP side of a remote store, shared by every request of one process."""

    def __init__(self, settings: Settings, transport: httpx.BaseTransport | None = None) -> None:
        self.retries = settings.store_retries
        self.breaker = Breaker(settings.store_breaker_failures, settings.store_breaker_seconds)
        self.client = httpx.Client(
            auth=credentials(settings.store_auth), timeout=settings.store_timeout,
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=50),
            headers={"User-Agent": f"publisher/{__version__}"}, transport=transport)

    def send(self, method: str, url: str, *, retry: bool = True, stream: bool = False,
             read_timeout: float | None = None, timeouts_fail: bool = True,
             **kwargs: Any) -> httpx.Response:
        """One request, retried (reads only) on connection errors and 502/503/504. Returns
        any other answer (the caller checks 4xx/5xx); a read past ``read_timeout`` is
        QueryTimeout, and counts as a store failure only when ``timeouts_fail``."""
        attempts = 1 + (self.retries if retry else 0)
        timeout = httpx.Timeout(self.client.timeout.connect,
                                read=read_timeout or self.client.timeout.read)
        for attempt in range(attempts):
            self.breaker.check()
            if attempt:
                time.sleep(min(2.0, 0.1 * 2 ** (attempt - 1)) * (0.5 + random.random()))
            try:
                request = self.client.build_request(method, url, timeout=timeout, **kwargs)
                response = self.client.send(request, stream=stream)
            except httpx.ReadTimeout:
                if timeouts_fail:
                    self.breaker.failure()
                raise QueryTimeout(f"The data store did not answer within "
                                   f"{timeout.read:g} s.", timeout=timeout.read) from None
            except httpx.TransportError as exc:
                self.breaker.failure()
                log.warning("remote store: %s %s failed: %s", method, url, type(exc).__name__)
                continue
            if response.status_code in GATEWAY_ERRORS:
                response.close()
                self.breaker.failure()
                log.warning("remote store: %s %s answered %d", method, url,
                            response.status_code)
                continue
            self.breaker.success()
            return response
        raise ServiceUnavailable("The data store is not answering; try again shortly.")

    def close(self) -> None:
        self.client.close()


# -- parsing what the store answers ---------------------------------------------------------

_BNODE = re.compile(rb"<bnode>([^<]*)</bnode>")
_BNODE_ID = re.compile(rb"[A-Za-z0-9_][A-Za-z0-9_.-]*\Z")


def _bnode(match: re.Match[bytes]) -> bytes:
    """Blank node ids as pyoxigraph accepts them (Virtuoso writes ``nodeID://b1001``)."""
    value = match.group(1)
    return match.group(0) if _BNODE_ID.match(value) else b"<bnode>x" + value.hex().encode() \
        + b"</bnode>"


class _Reader(io.RawIOBase):
    """A file over an HTTP body for pyoxigraph's parsers, rewriting blank node ids of XML
    results on the way (never across an unfinished element), checking ``cancelled``."""

    def __init__(self, chunks: Iterator[bytes], xml: bool, cancelled: Any = None) -> None:
        self.chunks, self.xml, self.cancelled = chunks, xml, cancelled
        self.pending = bytearray()  # rewritten, ready
        self.held = b""             # not yet safe to rewrite
        self.done = False

    def readable(self) -> bool:
        return True

    def _fill(self) -> None:
        if self.cancelled is not None and self.cancelled.is_set():
            raise QueryTimeout("The query was cancelled.")
        chunk = next(self.chunks, None)
        if chunk is None:
            self.done = True
            self.pending += _BNODE.sub(_bnode, self.held) if self.xml else self.held
            self.held = b""
            return
        if not self.xml:
            self.pending += chunk
            return
        buffer = self.held + chunk
        opened, closed = buffer.rfind(b"<bnode>"), buffer.rfind(b"</bnode>")
        cut = opened if opened > closed else buffer.rfind(b">") + 1
        self.pending += _BNODE.sub(_bnode, buffer[:cut])
        self.held = buffer[cut:]

    def readinto(self, target: Any) -> int:
        while not self.pending and not self.done:
            self._fill()
        size = min(len(target), len(self.pending))
        target[:size] = self.pending[:size]
        del self.pending[:size]
        return size


def _form(text: str) -> str:
    return next((t.text.upper() for t in sparql.tokens(text)
                 if t.kind == "word" and t.text.upper() in sparql.FORMS), "SELECT")


def with_values(text: str, bound: dict[Any, Any]) -> str:
    """Bind variables the way SEP-0007 substitution does for our queries: a VALUES block
    opening the query's WHERE group (terms written by pyoxigraph, never pasted text)."""
    if not bound:
        return text
    names = " ".join(f"?{getattr(v, 'value', v)}" for v in bound)
    row = " ".join(str(term) for term in bound.values())
    block = f" VALUES ({names}) {{ ({row}) }} "
    depth, after_form, want_where = 0, False, _form(text) == "CONSTRUCT"
    for match in sparql._TOKEN.finditer(text):  # the lexer's spans (strings, IRIs, comments)
        kind, token = match.lastgroup, match.group()
        word = token.upper() if kind == "word" else ""
        if word in sparql.FORMS:
            after_form = True
        elif word == "WHERE":
            want_where = False
        elif token == "(":
            depth += 1
        elif token == ")":
            depth -= 1
        elif token == "{" and after_form and depth == 0 and not want_where:
            return text[:match.end()] + block + text[match.end():]
    raise ValueError("cannot find the WHERE group to bind values in")


@dataclass(frozen=True)
class Meta:
    """What ``publisher push`` recorded in the meta graph."""

    version: str
    modified: float
    triples: int
    graphs: tuple[str, ...]
    swapping: bool = False


# -- the store ------------------------------------------------------------------------------

class RemoteStore:
    """A SPARQL 1.1 Query endpoint behind the Store interface."""

    path = None  # not a folder on this machine

    def __init__(self, settings: Settings, endpoint: Endpoint | None = None) -> None:
        self.settings = settings
        self.url = http_url(settings.store)
        self.endpoint = endpoint or Endpoint(settings)
        self.meta_iri = meta_graph(settings.base)
        self._meta: Meta | None = None
        self._meta_at = -math.inf
        self._lock = threading.Lock()
        self._syntax = ox.Store()  # empty: only parses, so syntax errors read as ours

    @classmethod
    def open(cls, settings: Settings) -> RemoteStore:
        """Connect lazily: a store that is down at start-up gives 503s, not a dead server."""
        store = cls(settings)
        try:
            log.info("remote store %s: version %s", store.url, store.meta().version)
        except ServiceUnavailable as exc:
            log.warning("remote store %s: %s", store.url, exc.detail)
        return store

    def close(self) -> None:
        self.endpoint.close()

    # -- the version ----------------------------------------------------------------------

    def meta(self) -> Meta:
        """The meta graph, read at most every ``store_version_ttl`` seconds. While the store
        cannot be reached the last one read stays in force (cached documents keep serving)."""
        with self._lock:
            if time.monotonic() - self._meta_at < self.settings.store_version_ttl \
                    and self._meta is not None:
                return self._meta
            try:
                found = self._read_meta()
            except ServiceUnavailable:
                if self._meta is None:
                    raise
                self._meta_at = time.monotonic() - self.settings.store_version_ttl / 2
                return self._meta
            if found is None:  # nothing pushed yet, or the meta graph being rewritten
                if self._meta is None:
                    raise ServiceUnavailable("The data store holds no data published with "
                                             "`publisher push` yet.")
                found = Meta(self._meta.version, self._meta.modified, self._meta.triples,
                             self._meta.graphs, swapping=True)
            self._meta, self._meta_at = found, time.monotonic()
            return found

    def _read_meta(self) -> Meta | None:
        meta = iri(self.meta_iri)
        rows = self._select(f"SELECT ?p ?o FROM {meta} WHERE {{ {meta} ?p ?o }}")
        values: dict[str, list[Any]] = {}
        for row in rows:
            values.setdefault(row["p"].value, []).append(row["o"])
        if META_VERSION not in values:
            return None
        return Meta(values[META_VERSION][0].value,
                    float(values.get(META_MODIFIED, [ox.Literal("0")])[0].value),
                    int(values.get(META_TRIPLES, [ox.Literal("0")])[0].value),
                    tuple(sorted(g.value for g in values.get(META_GRAPH, []))),
                    swapping=values.get(META_STATE, [ox.Literal("ready")])[0].value
                    == "swapping")

    @property
    def version(self) -> str:
        """The data version; never raises (before the store was ever reached: "unknown",
        under which nothing is cached because every read fails with 503)."""
        try:
            return self.meta().version
        except ServiceUnavailable:
            return self._meta.version if self._meta is not None else "unknown"

    def version_time(self) -> float:
        try:
            return self.meta().modified
        except ServiceUnavailable:
            return self._meta.modified if self._meta is not None else 0.0

    def stats(self) -> Stats:
        meta = self.meta()
        return Stats(meta.triples, meta.graphs, meta.modified, {"store": self.url})

    # -- queries --------------------------------------------------------------------------

    def _dataset(self, options: dict[str, Any]) -> list[tuple[str, str]]:
        """pyoxigraph's dataset options as SPARQL Protocol parameters, limited to our graphs."""
        if "default_graph" in options or "named_graphs" in options:
            default = [getattr(g, "value", g) for g in options.get("default_graph") or []]
            named = [getattr(g, "value", g) for g in options.get("named_graphs") or []]
        elif options.get("use_default_graph_as_union", True):
            default = named = list(self.meta().graphs)
        else:  # FROM / FROM NAMED in the query decide
            return []
        return ([("default-graph-uri", g) for g in default or [NO_GRAPH]]
                + [("named-graph-uri", g) for g in named or [NO_GRAPH]])

    def _send(self, text: str, options: dict[str, Any], read_timeout: float | None,
              stream: bool) -> tuple[httpx.Response, bool]:
        """Check the syntax here, then send the query; (response, whether XML results)."""
        substitutions = options.get("substitutions") or {}
        base_iri = options.get("base_iri")
        self._syntax.query(text, base_iri=base_iri, substitutions=substitutions)
        if self.meta().swapping:
            error = ServiceUnavailable("The data is being replaced right now; try again in a "
                                       "moment.")
            error.retry_after = 2
            raise error
        body = with_values(text, substitutions)
        if base_iri:
            body = f"BASE {iri(base_iri)}\n{body}"
        xml = _form(text) in ("SELECT", "ASK")
        response = self.endpoint.send(
            "POST", self.url, data=_form_data([("query", body), *self._dataset(options)]),
            headers={"Accept": XML_RESULTS if xml else N_TRIPLES}, stream=stream,
            read_timeout=read_timeout, timeouts_fail=read_timeout is None)
        if response.status_code != 200:
            response.read()
            response.close()
            raise _refusal(response)
        return response, xml

    def open_query(self, text: str, read_timeout: float | None = None,
                   cancelled: Any = None, **options: Any) -> tuple[Any, httpx.Response]:
        """Send a query and parse the answer as it streams in: pyoxigraph's QuerySolutions,
        QueryBoolean or an iterator of Triples, and the response to close afterwards.
        Options are pyoxigraph's: substitutions, base_iri, default_graph, named_graphs,
        use_default_graph_as_union. Syntax errors are pyoxigraph's own SyntaxError."""
        response, xml = self._send(text, options, read_timeout, stream=True)
        try:
            reader = io.BufferedReader(_Reader(response.iter_raw(), xml, cancelled))
            if xml:
                return ox.parse_query_results(reader, ox.QueryResultsFormat.XML), response
            return _triples(ox.parse(reader, ox.RdfFormat.N_TRIPLES)), response
        except BaseException:
            response.close()
            raise

    def query(self, text: str, **options: Any) -> Any:
        """The whole answer, read now (look-ups, catalogue, VoID); large answers go through
        ``open_query`` (the SPARQL endpoint) or ``all_triples`` (dumps)."""
        response, xml = self._send(text, options, None, stream=False)
        if xml:
            return ox.parse_query_results(_BNODE.sub(_bnode, response.content),
                                          ox.QueryResultsFormat.XML)
        return _triples(ox.parse(response.content, ox.RdfFormat.N_TRIPLES))

    def _select(self, text: str) -> list[Any]:
        """Rows of a SELECT (for the meta graph, which is read even while swapping)."""
        response = self.endpoint.send("POST", self.url, data={"query": text},
                                      headers={"Accept": XML_RESULTS})
        if response.status_code != 200:
            raise _refusal(response)
        body = _BNODE.sub(_bnode, response.content)
        # a SELECT's results are solutions, not a boolean
        return list(cast(ox.QuerySolutions,
                         ox.parse_query_results(body, ox.QueryResultsFormat.XML)))

    def _construct(self, text: str) -> list[ox.Triple]:
        found = self.query(text)
        return list(found)

    # -- the Store interface --------------------------------------------------------------

    def describe(self, iri_: str, max_links: int) -> Description | None:
        """One bounded CONSTRUCT for the resource (own triples with two levels of blank
        nodes, what defines itself by it, at most ``max_links + 1`` incoming links), one for
        the labels of what it mentions. Same shape as OxigraphStore.describe."""
        try:
            subject = iri(iri_)
        except ValueError:
            return None
        node = ox.NamedNode(iri_)
        found = self._construct(DESCRIBE.format(node=subject, defined=str(RDFS_IS_DEFINED_BY),
                                                limit=max_links + 1))
        own = [t for t in found if t.object != node or t.subject == node]
        if not any(t.subject == node for t in found):
            return None
        incoming = [t for t in found if t.object == node]
        truncated = len(incoming) > max_links
        triples = _unique([*own, *incoming[:max_links]])
        mentioned = {t.object for t in own if isinstance(t.object, ox.NamedNode)}
        mentioned |= {t.subject for t in incoming if isinstance(t.subject, ox.NamedNode)}
        mentioned |= {t.predicate for t in triples}
        mentioned.discard(node)
        labels = self._construct(LABELS.format(
            terms=" ".join(str(t) for t in sorted(mentioned, key=str)),
            predicates=" ".join(str(p) for p in LABEL_PREDICATES))) if mentioned else []
        return Description(iri_, tuple(_unique([*triples, *labels])), truncated)

    def subjects_with_prefix(self, prefix: str) -> list[str]:
        found = self.query(
            "SELECT DISTINCT ?s WHERE { ?s ?p ?o FILTER(isIRI(?s) && STRSTARTS(STR(?s), "
            f"{ox.Literal(prefix)})) }} ORDER BY ?s")
        return [row["s"].value for row in found]

    def all_triples(self) -> Iterator[ox.Triple]:
        """Every triple of our graphs, graph by graph, each once. A store that caps result
        sizes (Virtuoso's ResultSetMaxRows) must allow the largest graph: a short answer is
        detected against the graph's count and raises DataError instead of a short dump."""
        sizes = {row["g"].value: int(row["n"].value) for row in self.query(
            "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g")}
        seen: set[ox.Triple] = set()
        for graph in self.meta().graphs:
            found, response = self.open_query(
                f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH {iri(graph)} {{ ?s ?p ?o }} }}",
                read_timeout=max(60.0, self.settings.query_timeout))
            count = 0
            try:
                for triple in found:
                    count += 1
                    if triple not in seen:
                        seen.add(triple)
                        yield triple
            finally:
                response.close()
            if count < sizes.get(graph, 0):
                raise DataError(f"the store answered {count} of the {sizes[graph]} triples "
                                f"of <{graph}>: raise its result size limit")


def _refusal(response: httpx.Response) -> Exception:
    """A 4xx/5xx answer of the store to a query: the store's own words, shortened."""
    text = response.text.strip().splitlines()[0][:300] if response.text.strip() else ""
    if response.status_code in (401, 403):
        log.error("remote store refused our credentials (%d)", response.status_code)
        return ServiceUnavailable("The data store refused the publisher's credentials.")
    return BadRequest(f"The query could not be evaluated: {text or response.reason_phrase}")


def _triples(quads: Iterator[ox.Quad]) -> Iterator[ox.Triple]:
    return (quad.triple for quad in quads)


def _form_data(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    """Form fields for httpx, repeated names kept in order."""
    data: dict[str, list[str]] = {}
    for name, value in pairs:
        data.setdefault(name, []).append(value)
    return data


def _unique(triples: Iterable[ox.Triple]) -> list[ox.Triple]:
    return list(dict.fromkeys(triples))


DESCRIBE = """CONSTRUCT {{ ?s ?p ?o }} WHERE {{
  {{ {node} ?p ?o BIND({node} AS ?s) }}
  UNION {{ {node} ?p1 ?s FILTER(isBlank(?s)) ?s ?p ?o }}
  UNION {{ {node} ?p1 ?b FILTER(isBlank(?b)) ?b ?p2 ?s FILTER(isBlank(?s)) ?s ?p ?o }}
  UNION {{ ?s {defined} {node} . ?s ?p ?o }}
  UNION {{ ?t {defined} {node} . ?t ?p1 ?s FILTER(isBlank(?s)) ?s ?p ?o }}
  UNION {{ SELECT ?s ?p ?o WHERE {{ ?s ?p {node} BIND({node} AS ?o) }} LIMIT {limit} }}
}}"""
LABELS = """CONSTRUCT {{ ?t ?p ?l }} WHERE {{
  VALUES ?t {{ {terms} }} VALUES ?p {{ {predicates} }} ?t ?p ?l
}}"""
