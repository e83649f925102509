"""Harvesting: the DCAT-AP-SE catalogue, the dumps and the VoID description.

    /catalog (+ .ttl .rdf .jsonld .nt .html)  the catalogue, negotiated like every document
    /datasets/dcat                            the Swedish portal's default harvest address:
                                              the same catalogue, always RDF/XML, no redirect
    /dumps/internationella-relationer.{ttl,nt,nt.gz,jsonld,rdf}
                                              the whole dataset (FileResponse: Range, strong
                                              content-hash ETag, data-time Last-Modified)
    /dumps                                    303 to the catalogue, which lists them
    /.well-known/void                         VoID, negotiated over the RDF formats
    /catalog/check                            the harvest readiness check, run in-process
"""

from __future__ import annotations

import threading

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response

from publisher import catalog as dcat
from publisher import descriptions, schema_dataset, void
from publisher.config import Settings
from publisher.documents import Document, Representation, etag
from publisher.dumps import BY_FILENAME, DumpSet
from publisher.errors import NotAcceptable, ResourceNotFound
from publisher.negotiation import BY_EXTENSION, BY_NAME, DOCUMENT_FORMATS, RDF_FORMATS, Format
from publisher.render import html, jsonld, rdf
from publisher.routes import SettingsDep, StoreDep, http_date, not_modified
from publisher.routes.resources import document_response, requested_format, respond
from publisher.store import Store

router = APIRouter(tags=["Catalogue"])
_lock = threading.Lock()


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
    media_type = found.format.media_type
    return FileResponse(found.path, media_type=media_type, headers=headers,
                        content_disposition_type="inline", filename=filename)


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
    anything outside our base is not fetched."""
    from publisher.harvest import check_own_catalog  # noqa: PLC0415  (httpx, rdflib)

    settings: Settings = request.app.state.settings
    report = await check_own_catalog(request.app, settings.base,
                                     settings.iri(dcat.HARVEST_PATH))
    return JSONResponse(report.to_json(), headers={"Cache-Control": "no-store"})
