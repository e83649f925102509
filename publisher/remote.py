"""A remote SPARQL 1.1 store behind the Store interface (``--store sparql+http://HOST/PATH``).

Many stateless publishers can stand in front of one store that scales on its own (Virtuoso,
GraphDB, Stardog, Neptune, QLever, Fuseki). ``RemoteStore`` answers describe(), query(),
stats() and the look-ups with SPARQL over HTTP; results are parsed with pyoxigraph, so the
rest of the publisher sees the same objects as from ``OxigraphStore``.

What is published lives in named graphs written by ``publisher push`` (publisher.push),
which also writes a meta graph ``<urn:x-publisher:meta:BASE>``: the data version, its time,
the triple count, the list of our graphs, a state (``ready`` or ``swapping``) and, while a
push is under way, its staging graphs (for the next push to drop if this one fails). Every
query names our graphs as its dataset (``default-graph-uri`` = ``named-graph-uri`` = our
graphs), so the store's own system graphs and the meta graph never show. The meta graph is
read with one cheap query at most every ``store_version_ttl`` seconds; that is how many
instances agree on the version (and so on caches and ETags) without talking to each other.

HTTP (timeouts, retries, the circuit breaker, credentials, what a failure of the store
becomes) is publisher.endpoint's; the query text (IRIs validated and escaped, bound values as a
VALUES block) is publisher.query_text's.
"""

from __future__ import annotations

import io
import logging
import math
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, cast

import httpx
import pyoxigraph as ox

from publisher.config import Settings
from publisher.endpoint import Endpoint, Reader, bnodes, form_data, http_url
from publisher.errors import DataError, ServiceUnavailable
from publisher.query_text import DESCRIBE, LABELS, iri, query_form, with_values
from publisher.store import LABEL_PREDICATES, RDFS_IS_DEFINED_BY, Description, Stats

log = logging.getLogger("publisher.remote")

META_VERSION = "urn:x-publisher:version"   # the predicates of the meta graph
META_MODIFIED = "urn:x-publisher:modified"
META_TRIPLES = "urn:x-publisher:triples"
META_GRAPH = "urn:x-publisher:graph"
META_STATE = "urn:x-publisher:state"
META_STAGING = "urn:x-publisher:staging"   # a staging graph of a push under way
NO_GRAPH = "urn:x-publisher:none"       # names an empty default or named-graph set
XML_RESULTS = "application/sparql-results+xml"
N_TRIPLES = "application/n-triples"


def meta_graph(base: str) -> str:
    """Graph and subject of what push records for the dataset served under ``base`` (one
    store can hold several datasets, e.g. staging and production, under different bases)."""
    return "urn:x-publisher:meta:" + base


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
        fails (unreachable, an error, an answer that does not parse) the last one read stays
        in force (cached documents keep serving)."""
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
                    _seconds(values.get(META_MODIFIED, [ox.Literal("0")])[0].value),
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
              stream: bool, theirs: bool) -> tuple[httpx.Response, bool]:
        """Check the syntax here, then send the query; (response, whether XML results).
        ``theirs``: a client sent it, so a 400 of the store's is the client's (endpoint.py)."""
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
        xml = query_form(text) in ("SELECT", "ASK")
        response = self.endpoint.send(
            "POST", self.url, data=form_data([("query", body), *self._dataset(options)]),
            headers={"Accept": XML_RESULTS if xml else N_TRIPLES}, stream=stream,
            read_timeout=read_timeout, timeouts_fail=read_timeout is None, confirm_later=True)
        if response.status_code != 200:
            response.read()
            response.close()
            raise self.endpoint.refused(response, theirs)
        return response, xml

    def open_query(self, text: str, read_timeout: float | None = None,
                   cancelled: Any = None, theirs: bool = False,
                   **options: Any) -> tuple[Any, httpx.Response]:
        """Send a query and parse the answer as it streams in: pyoxigraph's QuerySolutions,
        QueryBoolean or an iterator of Triples, and the response to close afterwards.
        Options are pyoxigraph's: substitutions, base_iri, default_graph, named_graphs,
        use_default_graph_as_union. Syntax errors in ``text`` are pyoxigraph's own
        SyntaxError; an answer that does not parse is StoreFailed (the head at once, the
        triples as they come; passthrough.py turns a row's)."""
        response, xml = self._send(text, options, read_timeout, stream=True, theirs=theirs)
        try:
            reader = io.BufferedReader(Reader(response.iter_raw(), xml, cancelled))
            if xml:
                found = ox.parse_query_results(reader, ox.QueryResultsFormat.XML)
                self.endpoint.confirm()
                return found, response
            return self._triples(ox.parse(reader, ox.RdfFormat.N_TRIPLES), not theirs), \
                response
        except SyntaxError as exc:
            response.close()
            raise self.endpoint.failed(self.url, f"unreadable answer: {exc}",
                                       count=not theirs) from None
        except BaseException:
            response.close()
            raise

    def query(self, text: str, **options: Any) -> Any:
        """The whole answer, read now (look-ups, catalogue, VoID); large answers go through
        ``open_query`` (the SPARQL endpoint) or ``all_triples`` (dumps). Parsed whole before
        it is returned, so that an answer that breaks off is the store's failure (503), not
        an error half-way through whoever reads it."""
        response, xml = self._send(text, options, None, stream=False, theirs=False)
        if xml:
            body = bnodes(response.content)
            self._parsed(body)
            return ox.parse_query_results(body, ox.QueryResultsFormat.XML)
        triples = self._triples(ox.parse(response.content, ox.RdfFormat.N_TRIPLES), True)
        return iter(list(triples))

    def _select(self, text: str) -> list[Any]:
        """Rows of a SELECT (for the meta graph, which is read even while swapping)."""
        response = self.endpoint.send("POST", self.url, data={"query": text},
                                      headers={"Accept": XML_RESULTS}, confirm_later=True)
        if response.status_code != 200:
            raise self.endpoint.refused(response)
        # a SELECT's results are solutions, not a boolean
        return cast(list[Any], self._parsed(bnodes(response.content)))

    def _parsed(self, body: bytes) -> list[Any] | bool:
        """The rows (or the boolean) of SPARQL XML results; StoreFailed when they do not
        parse (counted by the breaker: this is an answer to a query of ours)."""
        try:
            found = ox.parse_query_results(body, ox.QueryResultsFormat.XML)
            parsed = bool(found) if isinstance(found, ox.QueryBoolean) else list(found)
        except (SyntaxError, ValueError) as exc:
            raise self.endpoint.failed(self.url, f"unreadable answer: {exc}") from None
        self.endpoint.confirm()
        return parsed

    def _triples(self, quads: Iterator[ox.Quad], count: bool) -> Iterator[ox.Triple]:
        """The triples of an N-Triples answer; StoreFailed where it stops parsing (counted
        by the breaker when ``count``), a success for the breaker once read to the end."""
        try:
            for quad in quads:
                yield quad.triple
        except SyntaxError as exc:
            raise self.endpoint.failed(self.url, f"unreadable answer: {exc}",
                                       count=count) from None
        self.endpoint.confirm()

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


def _seconds(value: str) -> float:
    """The push time: an xsd:decimal written by push (exact: Virtuoso answers an xsd:double
    with six significant digits, which put it on a 28-hour grid), or such a rounded double
    of a meta graph written before; 0 (no time known) if unreadable."""
    try:
        return float(value)
    except ValueError:
        return 0.0


def _unique(triples: Iterable[ox.Triple]) -> list[ox.Triple]:
    return list(dict.fromkeys(triples))

