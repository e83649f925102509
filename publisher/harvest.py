"""Harvest readiness: the checks a portal runs on a catalogue URL, before its nightly run.

Pure except HTTP, which goes through the httpx.AsyncClient it is given: ``publisher
check-harvest URL`` passes a real client; /catalog/check passes one whose transport calls
the app in-process. Checks, in the order a harvester meets them:

  http          status 200, redirects only 301/303/307/308 (Sveriges dataportal)
  media-type    application/rdf+xml (the portal reads RDF/XML only)
  parse         the body parses as RDF/XML
  iris          every IRI absolute and RFC 3987-valid (no spaces, bad %-escapes, ...)
  blank-nodes   none (DIGG: catalogue, datasets, distributions, agents, contacts)
  rules         one catalogue; publishers foaf:Agents, described once, not contacts
  licences      CC0 on the catalogue; Creative Commons IRIs in their one canonical form
  descriptions  dataset descriptions 50-5,000 characters (Google Dataset Search)
  shapes        the shape sets and bundle.json of publisher/conformance.py
  downloads     every distribution reachable; declared byte size and SHA-256 match

Parsing and the checks of the triples (about 0.4 s of rdflib and pyshacl for our catalogue)
run in a thread: in a server, its event loop keeps answering meanwhile.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import anyio.to_thread
import httpx
import rdflib
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF

from publisher import conformance

ALLOWED_REDIRECTS = (301, 303, 307, 308)
RDF_XML = "application/rdf+xml"
SPDX = rdflib.Namespace("http://spdx.org/rdf/terms#")
VCARD = rdflib.Namespace("http://www.w3.org/2006/vcard/ns#")
CC0 = "http://creativecommons.org/publicdomain/zero/1.0/"
CC_LICENCE = re.compile(r"^http://creativecommons\.org/(licenses/[a-z-]+/\d\.\d|"
                        r"publicdomain/(zero|mark)/1\.0)/$")
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
FORBIDDEN = re.compile(r"[\x00-\x20<>\"{}|\\^`\x7f-\x9f]")
BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
PORTAL_ORGANISATION = re.compile(r"^http://dataportal\.se/organisation/SE\d{10}(-.+)?$")


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    severity: str = "error"  # "error" fails the check; "warning" is reported only
    items: list[Any] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "severity": self.severity,
                "detail": self.detail, "items": self.items}


@dataclass
class Report:
    url: str
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok or c.severity != "error" for c in self.checks)

    def add(self, name: str, ok: bool, detail: str, severity: str = "error",
            items: list[Any] | None = None) -> Check:
        check = Check(name, ok, detail, severity, items or [])
        self.checks.append(check)
        return check

    def to_json(self) -> dict[str, Any]:
        return {"url": self.url, "ok": self.ok, "checks": [c.to_json() for c in self.checks]}

    def to_text(self) -> str:
        lines = [f"Harvest check of {self.url}", ""]
        for c in self.checks:
            mark = "PASS" if c.ok else ("FAIL" if c.severity == "error" else "WARN")
            lines.append(f"[{mark}] {c.name}: {c.detail}")
            lines += [f"         - {item}" for item in c.items[:50]]
            if len(c.items) > 50:
                lines.append(f"         ... and {len(c.items) - 50} more")
        lines += ["", "Ready to harvest." if self.ok else "NOT ready to harvest."]
        return "\n".join(lines)


def iri_problem(value: str) -> str | None:
    """Why ``value`` is not an absolute RFC 3987 IRI (None if it is)."""
    if not SCHEME.match(value):
        return "not absolute (no scheme)"
    if FORBIDDEN.search(value):
        return "contains a character RFC 3987 forbids (space, <, >, \", {, }, |, \\, ^, `)"
    if BAD_ESCAPE.search(value):
        return "has a % not followed by two hex digits"
    if value.count("#") > 1:
        return "has more than one #"
    parts = urlsplit(value)
    if parts.scheme in ("http", "https") and not parts.hostname:
        return "http(s) IRI without a host"
    return None


async def fetch(client: httpx.AsyncClient, url: str, accept: str | None,
                limit: int = 10) -> tuple[httpx.Response, list[str]]:
    """GET following only the redirects the portal follows; returns the chain of hops."""
    chain = []
    headers = {"Accept": accept} if accept else {}
    for _ in range(limit):
        response = await client.get(url, headers=headers, follow_redirects=False)
        chain.append(f"{response.status_code} {url}")
        if response.status_code in ALLOWED_REDIRECTS and "location" in response.headers:
            url = str(response.url.join(response.headers["location"]))
            continue
        return response, chain
    raise httpx.TooManyRedirects(f"more than {limit} redirects", request=response.request)


async def check_own_catalog(app: Any, base: str, url: str) -> Report:
    """``check_catalog`` of a running app's own catalogue, in-process: requests under
    ``base`` go into ``app`` (no socket, so a single worker cannot deadlock waiting on
    itself); anything else is refused, not fetched."""
    async with httpx.AsyncClient(transport=_LocalTransport(app, base), timeout=60) as client:
        return await check_catalog(url, client)


class _LocalTransport(httpx.AsyncBaseTransport):
    """Sends requests under ``base`` into the app; refuses everything else."""

    def __init__(self, app: Any, base: str) -> None:
        self.inner = httpx.ASGITransport(app=app)
        self.base = base

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not str(request.url).startswith(self.base):
            raise httpx.ConnectError(f"{request.url} is outside this instance", request=request)
        return await self.inner.handle_async_request(request)


async def check_catalog(url: str, client: httpx.AsyncClient) -> Report:
    report = Report(url)
    try:
        response, chain = await fetch(client, url, RDF_XML)
    except httpx.HTTPError as exc:
        report.add("http", False, f"cannot fetch: {exc}")
        return report
    report.add("http", response.status_code == 200,
               f"status {response.status_code} after {len(chain) - 1} redirect(s)", items=chain)
    if response.status_code != 200:
        return report
    media_type = response.headers.get("content-type", "").split(";")[0].strip()
    report.add("media-type", media_type == RDF_XML, f"Content-Type {media_type or 'missing'}")
    try:
        bare, _ = await fetch(client, url, None)
        bare_type = bare.headers.get("content-type", "").split(";")[0].strip()
        report.add("media-type-without-accept", bare_type == RDF_XML,
                   f"without an Accept header the URL serves {bare_type}", severity="warning")
    except httpx.HTTPError:
        pass
    try:
        graph = await anyio.to_thread.run_sync(_parse, response.content)
    except Exception as exc:  # noqa: BLE001  (any parser error is the finding)
        report.add("parse", False, f"not RDF/XML: {exc}")
        return report
    report.add("parse", True, f"{len(graph)} triples")
    await anyio.to_thread.run_sync(check_graph, graph, report)
    await check_downloads(graph, client, report)
    return report


def _parse(content: bytes) -> rdflib.Graph:
    """The catalogue's RDF/XML, relative IRIs kept recognisable (the ``iris`` check)."""
    return rdflib.Graph().parse(data=content, format="xml", publicID="urn:x-relative:")


def check_graph(graph: rdflib.Graph, report: Report) -> None:
    """Everything that needs only the catalogue's triples."""
    iris = {t for triple in graph for t in triple if isinstance(t, rdflib.URIRef)}
    iris |= {o.datatype for o in graph.objects() if isinstance(o, rdflib.Literal) and o.datatype}
    bad = sorted(f"<{i}>: {iri_problem(str(i))}" for i in iris if iri_problem(str(i)))
    bad = [b.replace("urn:x-relative:", "") for b in bad]
    report.add("iris", not bad and not any(str(i).startswith("urn:x-relative:") for i in iris),
               f"{len(iris)} IRIs, {len(bad)} not absolute RFC 3987", items=bad)
    blanks = {t for triple in graph for t in triple if isinstance(t, rdflib.BNode)}
    report.add("blank-nodes", not blanks, f"{len(blanks)} blank nodes")
    _rules(graph, report)
    _licences(graph, report)
    _descriptions(graph, report)
    _shapes(graph, report)


def _rules(graph: rdflib.Graph, report: Report) -> None:
    catalogs = set(graph.subjects(RDF.type, DCAT.Catalog))
    parts = {o for c in catalogs for o in graph.objects(c, DCTERMS.hasPart)}
    report.add("one-catalogue", len(catalogs - parts) == 1,
               f"{len(catalogs)} dcat:Catalog, {len(catalogs - parts)} at the top")
    publishers = set(graph.objects(None, DCTERMS.publisher))
    contacts = set(graph.objects(None, DCAT.contactPoint))
    problems = [f"<{p}> is not typed foaf:Agent" for p in publishers
                if (p, RDF.type, FOAF.Agent) not in graph]
    problems += [f"<{p}> has {n} foaf:name in one language (described more than once?)"
                 for p in publishers
                 if (n := _most_per_language(graph.objects(p, FOAF.name))) > 1]
    problems += [f"<{p}> is both publisher and contact point" for p in publishers & contacts]
    report.add("publishers", not problems, f"{len(publishers)} publisher(s), "
               f"{len(contacts)} contact point(s)", items=sorted(problems))
    foreign = sorted(str(p) for p in publishers if not PORTAL_ORGANISATION.match(str(p)))
    report.add("publisher-iri", not foreign, "publisher IRIs follow "
               "http://dataportal.se/organisation/SE<orgnr>", severity="warning", items=foreign)


def _most_per_language(literals: Any) -> int:
    counts: dict[str | None, int] = {}
    for literal in literals:
        counts[getattr(literal, "language", None)] = counts.get(
            getattr(literal, "language", None), 0) + 1
    return max(counts.values(), default=0)


def _licences(graph: rdflib.Graph, report: Report) -> None:
    problems = []
    for catalog in graph.subjects(RDF.type, DCAT.Catalog):
        if {str(o) for o in graph.objects(catalog, DCTERMS.license)} != {CC0}:
            problems.append(f"<{catalog}>: DCAT-AP-SE requires the catalogue licence {CC0}")
    for licence in set(graph.objects(None, DCTERMS.license)):
        text = str(licence)
        if "creativecommons.org" in text and not CC_LICENCE.match(text):
            problems.append(f"<{text}>: write Creative Commons licences as http://…/ with "
                            "the trailing slash (DIGG: one IRI per licence)")
    report.add("licences", not problems, "licence IRIs", items=problems)


def _descriptions(graph: rdflib.Graph, report: Report) -> None:
    problems = []
    for dataset in graph.subjects(RDF.type, DCAT.Dataset):
        for text in graph.objects(dataset, DCTERMS.description):
            if not 50 <= len(str(text)) <= 5000:
                problems.append(f"<{dataset}> @{getattr(text, 'language', None)}: "
                                f"{len(str(text))} characters")
    report.add("descriptions", not problems,
               "dataset descriptions 50-5,000 characters (Google Dataset Search)", items=problems)


def _shapes(graph: rdflib.Graph, report: Report) -> None:
    if not conformance.available():
        report.add("shapes", True, "conformance files not installed: shapes not run",
                   severity="warning")
        return
    for name, (_files, _bg, _ov, severity) in conformance.SHAPE_SETS.items():
        found = conformance.run_shapes(graph, name)
        error = severity == "Violation"
        report.add(f"shapes:{name}", not found, f"{len(found)} "
                   f"{'violation' if error else 'warning'}(s)",
                   severity="error" if error else "warning",
                   items=[f"<{f.focus}> {f.path}: {f.message}" for f in found])
    found = conformance.check_bundle(graph)
    for level, severity in (("Violation", "error"), ("Warning", "warning")):
        items = [f"<{f.focus}> {f.path}: {f.message}" for f in found if f.severity == level]
        report.add(f"dcat-ap-se-bundle:{'mandatory' if level == 'Violation' else 'recommended'}",
                   not items, f"{len(items)} missing", severity=severity, items=items)


async def check_downloads(graph: rdflib.Graph, client: httpx.AsyncClient,
                          report: Report) -> None:
    problems, checked = [], 0
    # rdflib types subjects as Node, which has no order; they are Identifiers, which do
    for dist in sorted(set(graph.subjects(RDF.type, DCAT.Distribution))):  # type: ignore[type-var]
        url = graph.value(dist, DCAT.downloadURL) or graph.value(dist, DCAT.accessURL)
        if url is None:
            problems.append(f"<{dist}>: no accessURL")
            continue
        checked += 1
        try:
            response, _ = await fetch(client, str(url), None)
        except httpx.HTTPError as exc:
            problems.append(f"<{url}>: unreachable ({exc})")
            continue
        if response.status_code != 200:
            problems.append(f"<{url}>: status {response.status_code}")
            continue
        if graph.value(dist, DCAT.downloadURL) is None:
            continue
        size = graph.value(dist, DCAT.byteSize)
        # rdflib types values as Node; a Literal is a str, whose text int() reads
        if size is not None and int(size) != len(response.content):  # type: ignore[call-overload]
            problems.append(f"<{url}>: {len(response.content)} bytes, {size} declared")
        for checksum in graph.objects(dist, SPDX.checksum):
            declared = str(graph.value(checksum, SPDX.checksumValue)).lower()
            actual = hashlib.sha256(response.content).hexdigest()
            if str(graph.value(checksum, SPDX.algorithm)).endswith("sha256") \
                    and declared != actual:
                problems.append(f"<{url}>: SHA-256 {actual}, {declared} declared")
    for service in graph.subjects(RDF.type, DCAT.DataService):
        for endpoint in graph.objects(service, DCAT.endpointURL):
            checked += 1
            try:
                response, _ = await fetch(client, str(endpoint), None)
                if response.status_code >= 400:
                    problems.append(f"<{endpoint}>: status {response.status_code}")
            except httpx.HTTPError as exc:
                problems.append(f"<{endpoint}>: unreachable ({exc})")
    report.add("downloads", not problems, f"{checked} URL(s) fetched; sizes and SHA-256 "
               "compared with the declared values", items=problems)
