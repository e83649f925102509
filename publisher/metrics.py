"""Prometheus metrics of one app: what /metrics exposes. Nothing here knows HTTP.

    publisher_requests_total{route,method,status}      answered requests, by route template
    publisher_request_seconds{route}                   latency histogram (to the last byte)
    publisher_problems_total{type}                     error answers by problem type slug
                                                       (query-timeout, unavailable, too-large,
                                                       query-refused, update-refused, ...)
    publisher_query_timeouts_total                     SPARQL evaluations stopped at the deadline
    publisher_queries_rejected_total{reason}           queries refused before or instead of
                                                       running (syntax, refused, update,
                                                       too-large, saturated, timeout)
    publisher_document_cache_total{result}             rendered-document cache hits and misses
    publisher_response_cache_total{result}             replayed responses (routes/replay.py):
                                                       hits and misses
    publisher_reloads_total{result}                    data reloads (ok, invalid, error)
    publisher_in_flight_requests                       requests being answered now

Each app has its own registry (several apps live in one test process), so nothing is
module-level state. The cache counts live on the caches (``Documents``, the Runtime's
``responses``) and are read at scrape time, summed over the runtimes this app has had.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
#: problem type slug -> reason a query was rejected (publisher.errors)
REJECTIONS = {"query-syntax": "syntax", "query-refused": "refused",
              "update-refused": "update", "too-large": "too-large",
              "unavailable": "saturated", "query-timeout": "timeout"}


class Metrics:
    def __init__(self, cache_counts: Callable[[str], tuple[int, int]]) -> None:
        """``cache_counts(name)``: hits and misses of the Runtime's cache ``name``
        ("documents" or "responses") so far."""
        self.registry = CollectorRegistry(auto_describe=True)
        #: (route template, method, status) -> its request counter and latency histogram
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self.requests = Counter("publisher_requests", "Answered requests.",
                                ["route", "method", "status"], registry=self.registry)
        self.latency = Histogram("publisher_request_seconds", "Time to answer, to the last "
                                 "byte.", ["route"], buckets=BUCKETS, registry=self.registry)
        self.problems = Counter("publisher_problems", "Error answers by problem type.",
                                ["type"], registry=self.registry)
        self.timeouts = Counter("publisher_query_timeouts", "SPARQL evaluations stopped at "
                                "the deadline.", registry=self.registry)
        self.rejected = Counter("publisher_queries_rejected", "SPARQL queries refused or not "
                                "run.", ["reason"], registry=self.registry)
        self.reloads = Counter("publisher_reloads", "Data reloads by result.", ["result"],
                               registry=self.registry)
        self.in_flight = Gauge("publisher_in_flight_requests", "Requests being answered.",
                               registry=self.registry)
        self.registry.register(_CacheLookups(
            "publisher_document_cache", "Rendered-document cache look-ups.",
            lambda: cache_counts("documents")))
        self.registry.register(_CacheLookups(
            "publisher_response_cache", "Replayed-response cache look-ups.",
            lambda: cache_counts("responses")))

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        key = (route, method, status)
        found = self._children.get(key)
        if found is None:  # labels() takes a lock and builds a key: once per combination
            found = self._children[key] = (self.requests.labels(route, method, str(status)),
                                            self.latency.labels(route))
        found[0].inc()
        found[1].observe(seconds)

    def problem(self, slug: str, is_query: bool) -> None:
        self.problems.labels(slug).inc()
        if slug == "query-timeout":
            self.timeouts.inc()
        if is_query and slug in REJECTIONS:
            self.rejected.labels(REJECTIONS[slug]).inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class _CacheLookups(Collector):
    def __init__(self, name: str, documentation: str,
                 counts: Callable[[], tuple[int, int]]) -> None:
        self.name, self.documentation, self.counts = name, documentation, counts

    def collect(self) -> Iterator[Metric]:
        hits, misses = self.counts()
        family = CounterMetricFamily(self.name, self.documentation, labels=["result"])
        family.add_metric(["hit"], hits)
        family.add_metric(["miss"], misses)
        yield family

    def describe(self) -> list[Any]:
        return []
