"""Harvesting: the DCAT-AP-SE catalogue, the dumps and the VoID description.

    /catalog (+ .ttl .rdf .jsonld .nt .html)  the catalogue, negotiated like every document
    /datasets/dcat                            the Swedish portal's default harvest address:
                                              the same catalogue, always RDF/XML, no redirect
    /dumps/internationella-relationer.{ttl,nt,nt.gz,jsonld,rdf}
                                              the whole dataset (FileResponse: Range as
                                              RFC 9110 §14.2 has it, strong content-hash
                                              ETag, data-time Last-Modified)
    /dumps                                    303 to the catalogue, which lists them
    /.well-known/void                         VoID, negotiated over the RDF formats
    /catalog/check                            the harvest readiness check, run in-process
                                              once per data version
"""

from __future__ import annotations

import asyncio
import re
import threading
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.types import Receive, Scope, Send

from publisher import catalog as dcat
from publisher import descriptions, schema_dataset, void
from publisher.config import Settings
from publisher.documents import Document, Representation, etag
from publisher.dumps import BY_FILENAME, DumpFile, DumpSet
from publisher.errors import NotAcceptable, RangeNotSatisfiable, ResourceNotFound
from publisher.negotiation import BY_EXTENSION, BY_NAME, DOCUMENT_FORMATS, RDF_FORMATS, Format
from publisher.render import html, jsonld, rdf
from publisher.routes import SettingsDep, StoreDep, http_date, not_modified, problem_response
from publisher.routes.resources import document_response, requested_format, respond
from publisher.store import Store

if TYPE_CHECKING:
    from publisher.harvest import Report

router = APIRouter(tags=["Catalogue"])
_lock = threading.Lock()
#: one range-spec of a bytes range set (RFC 9110 §14.1.1): first-last, first- or -suffix
RANGE_SPEC = re.compile(r"(\d+)-(\d*)|-(\d+)")
#: the most digits a range position is read with (``_offset``)
OFFSET_DIGITS = 18
#: where the Runtime keeps its harvest check (``check``)
CHECK = "catalog check"


def dumps_of(request: Request, store: Store) -> DumpSet:
    """The dumps of the current store: written at load (a disk store), else on first use
    (one writer per Runtime, which the dataset's page shares; dumps.py)."""
    state = request.app.state
    with _lock:
        if getattr(state, "catalog_cache", None) is None:
            state.catalog_cache = {}
    written: DumpSet = state.runtime.documents.dumps.ensure(store)
    return written


def catalog_representation(request: Request, settings: Settings, store: Store,
                           fmt: Format, lang: str | None) -> Representation:
    """The catalogue in one format, cached per (data version, format, language)."""
    dumps = dumps_of(request, store)
    cache: dict[tuple[str, str, str | None], Representation] = request.app.state.catalog_cache
    key = (store.version, fmt.name, lang if fmt.kind == "html" else None)
    found = cache.get(key)
    if found is not None:
        return found
    stats = descriptions.statistics_of(request.app.state, settings, store)
    triples = dcat.catalog_triples(settings, store, dumps, stats)
    url = dcat.catalog_iri(settings)
    if fmt.kind == "html":
        body = html.render_template(
            "catalog.html", lang or "sv", settings, "/catalog", canonical=url,
            page=schema_dataset.catalog_page(settings, store, dumps, lang or "sv"),
            structured=jsonld.script_json(schema_dataset.schema_catalog_jsonld(
                settings, store, dumps, lang or "sv"))).encode()
    else:
        body = rdf.serialize(triples, fmt, settings.base)
    rep = Representation(body, fmt, etag(store.version, body), f"{url}.{fmt.extension}",
                         lang if fmt.kind == "html" else None)
    cache[key] = rep
    return rep


@router.get("/catalog", summary="The DCAT-AP-SE catalogue")
def catalogue(request: Request, settings: SettingsDep, store: StoreDep) -> Response:
    return _catalogue(request, settings, store, requested_format(request), negotiated=True)


@router.get("/catalog.{extension}", summary="The catalogue in one format (.ttl .rdf .jsonld .nt .html)")
def catalogue_file(extension: str, request: Request, settings: SettingsDep,
                   store: StoreDep) -> Response:
    fmt = BY_EXTENSION.get(extension)
    if fmt is None or fmt not in DOCUMENT_FORMATS:
        raise ResourceNotFound(f"No catalogue at /catalog.{extension}")
    return _catalogue(request, settings, store, fmt, negotiated=False)


@router.get("/datasets/dcat", summary="Harvest address of Sveriges dataportal (always RDF/XML)")
def harvest_address(request: Request, settings: SettingsDep, store: StoreDep) -> Response:
    """The portal harvests RDF/XML from one URL: answer here directly, whatever Accept says
    (a redirect would also be followed, but every hop is one more thing to fail)."""
    return _catalogue(request, settings, store, BY_NAME["rdfxml"], negotiated=False)


def _catalogue(request: Request, settings: Settings, store: Store, fmt: Format,
               negotiated: bool) -> Response:
    lang = html.request_language(request.query_params.get("lang"),
                                 request.headers.get("accept-language"))
    rep = catalog_representation(request, settings, store, fmt, lang)
    url = dcat.catalog_iri(settings)
    doc = Document(dcat.CATALOG_PATH, url, url)
    return document_response(request, doc, rep, negotiated, settings, store,
                             dcat.discovery_links(settings))


@router.get("/dumps", summary="Where the dumps are listed")
def dumps_index(settings: SettingsDep) -> Response:
    return RedirectResponse(dcat.catalog_iri(settings), status_code=303)


@router.get("/dumps/{filename}", summary="The whole dataset in one file")
def dump(filename: str, request: Request, store: StoreDep) -> Response:
    if filename not in BY_FILENAME:
        raise ResourceNotFound(f"No dump called {filename}")
    found = dumps_of(request, store).get(filename)
    assert found is not None
    headers = {"ETag": found.etag, "Last-Modified": http_date(store.version_time()),
               "Cache-Control": "public, max-age=3600",
               "Link": f'<{dcat.catalog_iri(request.app.state.settings)}>; rel="describedby"'}
    if not_modified(request, found.etag, store.version_time()):
        return Response(status_code=304, headers=headers)
    ranges = _requested_ranges(request, found, headers["Last-Modified"])
    if ranges == []:
        return _range_not_satisfiable(request, found)
    return DumpResponse(found.path, ranges, media_type=found.format.media_type,
                        headers=headers, content_disposition_type="inline", filename=filename)


def byte_ranges(header: str, size: int) -> list[tuple[int, int]] | None:
    """The satisfiable ranges of a Range header over ``size`` bytes, as (first, last)
    offsets: [] when it is well-formed and none is (416), None when it is ignored and the
    whole file served. RFC 9110 §14.2 says a unit other than bytes MUST be ignored, and an
    invalid range set (not numbers, first after last, no range at all) may be: nginx does,
    and a 400 would fail a client that the whole file serves."""
    unit, _, spec = header.partition("=")
    parts = [part.strip(" \t") for part in spec.split(",")]
    # empty list elements are allowed (§5.6.1)
    specs = [RANGE_SPEC.fullmatch(part) for part in parts if part]
    valid = [m for m in specs if m is not None and not (m[2] and _offset(m[1]) > _offset(m[2]))]
    if unit.strip().lower() != "bytes" or not specs or len(valid) < len(specs):
        return None
    return [found for m in valid if (found := _satisfiable(m, size)) is not None]


def _satisfiable(spec: re.Match[str], size: int) -> tuple[int, int] | None:
    """The bytes one range-spec selects of ``size`` (RFC 9110 §14.1.2), None if none: a
    range past the end is cut at the end, a suffix longer than the file is all of it."""
    if spec[3] is not None:
        suffix = _offset(spec[3])
        return (max(size - suffix, 0), size - 1) if suffix > 0 and size > 0 else None
    first = _offset(spec[1])
    if first >= size:
        return None
    return first, min(_offset(spec[2]), size - 1) if spec[2] else size - 1


def _offset(digits: str) -> int:
    """A position in a range, 10**OFFSET_DIGITS when it has more digits: past every file
    either way, and int() refuses a number of over 4,300 digits (a 500, not an answer)."""
    digits = digits.lstrip("0") or "0"
    return int(digits) if len(digits) <= OFFSET_DIGITS else 10**OFFSET_DIGITS


def _requested_ranges(request: Request, found: DumpFile,
                      last_modified: str) -> list[tuple[int, int]] | None:
    """``byte_ranges`` of the request's Range, unless there is none or its If-Range names
    another version (RFC 9110 §13.1.5: an exact match of our strong ETag or Last-Modified),
    when the whole file is the answer."""
    header, if_range = request.headers.get("range"), request.headers.get("if-range")
    if header is None or if_range not in (None, found.etag, last_modified):
        return None
    return byte_ranges(header, found.size)


def _range_not_satisfiable(request: Request, found: DumpFile) -> Response:
    """416 with the dump's length in Content-Range (RFC 9110 §15.5.17), as problem+json like
    every error."""
    error = RangeNotSatisfiable(f"No range asked for starts within the {found.size} bytes "
                                f"of {found.format.filename}.")
    response = problem_response(request, error)
    response.headers["Content-Range"] = f"bytes */{found.size}"
    return response


class DumpResponse(FileResponse):
    """A FileResponse that serves the ranges ``dump`` chose (all the file for None) rather
    than read Range itself: Starlette answers a Range it should ignore with 400, and a set
    with any range past the end (even when others are satisfiable) with an empty 416, both
    in text/plain. It still merges overlapping ranges and writes multipart/byteranges."""

    def __init__(self, path: Path, ranges: list[tuple[int, int]] | None,
                 **options: Any) -> None:
        super().__init__(path, **options)
        self.ranges = ranges

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(k, v) for k, v in scope["headers"] if k not in (b"range", b"if-range")]
        if self.ranges:
            chosen = ",".join(f"{first}-{last}" for first, last in self.ranges)
            headers.append((b"range", f"bytes={chosen}".encode("latin-1")))
        await super().__call__({**scope, "headers": headers}, receive, send)


@router.get("/.well-known/void", summary="VoID description of the dataset")
def void_description(request: Request, settings: SettingsDep, store: StoreDep) -> Response:
    fmt = _rdf_format(request)
    stats = descriptions.statistics_of(request.app.state, settings, store)
    body = rdf.serialize(void.void_triples(settings, store, stats), fmt, settings.base)
    url = settings.iri(void.VOID_PATH)
    rep = Representation(body, fmt, etag(store.version, body), url)
    headers = {"Content-Type": fmt.content_type, "Vary": "Accept",
               "Link": dcat.discovery_links(settings)}
    return respond(request, rep, headers, store.version_time())


def _rdf_format(request: Request) -> Format:
    token = request.query_params.get("format")
    if token:
        fmt = next((f for f in RDF_FORMATS if token in (f.name, f.extension, f.media_type)),
                   None)
        if fmt is None:
            raise NotAcceptable([f.media_type for f in RDF_FORMATS])
        return fmt
    from publisher.negotiation import choose_format  # noqa: PLC0415

    return choose_format(request.headers.get("accept"), RDF_FORMATS)


@router.get("/catalog/check", summary="Harvest readiness check of this instance")
async def check(request: Request) -> Response:
    """Runs the same check as ``publisher check-harvest`` against this instance's own
    catalogue, in-process: requests under our base go through the app itself via
    httpx.ASGITransport (no socket, so a single worker cannot deadlock waiting on itself);
    anything outside our base is not fetched. The report depends on the data alone and
    takes about 0.4 s of parsing and SHACL (in a thread: harvest.py), so it is run once
    per data version: kept with the store's version, as a remote store's changes under the
    Runtime. Shielded: a client that goes away does not cancel the check the others wait
    for."""
    report = await asyncio.shield(_own_check(request))
    return JSONResponse(report.to_json(), headers={"Cache-Control": "no-store"})


def _own_check(request: Request) -> asyncio.Future[Report]:
    """The check of the request's data version: the one running or done, else a new one.
    Looked up and stored with no await between, so requests that come while it runs share
    it instead of starting their own."""
    from publisher.harvest import check_own_catalog  # noqa: PLC0415  (httpx, rdflib)

    runtime = request.app.state.runtime
    version: str = runtime.store.version
    caches: dict[str, Any] = runtime.caches
    kept: tuple[str, asyncio.Future[Report]] | None = caches.get(CHECK)
    if kept is None or kept[0] != version:
        settings: Settings = request.app.state.settings
        kept = (version, asyncio.ensure_future(check_own_catalog(
            request.app, settings.base, settings.iri(dcat.HARVEST_PATH))))
        caches[CHECK] = kept
        kept[1].add_done_callback(partial(_forget_failed, caches, kept))
    return kept[1]


def _forget_failed(caches: dict[str, Any], kept: tuple[str, asyncio.Future[Report]],
                   done: asyncio.Future[Report]) -> None:
    """A check that failed (a 500 to its requests) is not kept: the next request runs it
    again instead of getting the same failure until the data changes. (Unless a check of a
    newer version has taken its place already.)"""
    if (done.cancelled() or done.exception() is not None) and caches.get(CHECK) is kept:
        del caches[CHECK]
