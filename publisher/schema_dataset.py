"""The dataset and catalogue for people and search engines: schema.org JSON-LD (Google's
Dataset structured data) and the view of the catalogue's HTML page. Pure.

Google's Dataset requirements: ``name`` and ``description`` (50 to 5,000 characters) are
required; ``license``, ``creator``, ``distribution`` (DataDownload with ``encodingFormat``
and ``contentUrl``), ``keywords``, ``spatialCoverage``, ``temporalCoverage``, ``url``,
``sameAs``, ``isAccessibleForFree`` and ``includedInDataCatalog`` are recommended; all are
given here from the same store and the same dumps the DCAT catalogue uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyoxigraph as ox

from publisher import catalog as dcat
from publisher.catalog_terms import CC0, DCAT, DCT, PUBLISHER, SPATIAL, WIKIDATA_UPPSALA_KOMMUN
from publisher.config import Settings
from publisher.dumps import DUMP_FORMATS, DUMPS_PATH, DumpFile, DumpSet
from publisher.store import Store

SCHEMA_CONTEXT = "https://schema.org"


def _text(store: Store, subject: str, predicate: str, lang: str) -> str:
    """The literal in ``lang`` (or, failing that, any) of subject's predicate."""
    values = [v for v in dcat._values(store, subject, predicate) if isinstance(v, ox.Literal)]
    chosen = [v for v in values if v.language == lang] or values
    return chosen[0].value if chosen else ""


def _texts(store: Store, subject: str, predicate: str, lang: str) -> list[str]:
    return [v.value for v in dcat._values(store, subject, predicate)
            if isinstance(v, ox.Literal) and v.language in (lang, None)]


def _publisher(settings: Settings, lang: str) -> dict[str, Any]:
    return {"@type": "GovernmentOrganization", "@id": PUBLISHER,
            "name": "Uppsala kommun" if lang == "sv" else "Uppsala Municipality",
            "url": "https://www.uppsala.se/",
            "sameAs": [WIKIDATA_UPPSALA_KOMMUN,
                       settings.iri("id/organization/uppsala-kommun")]}


def schema_dataset_jsonld(settings: Settings, store: Store, lang: str = "sv",
                          dumps: DumpSet | None = None) -> dict[str, Any]:
    """schema:Dataset for the dataset's HTML page (Google Dataset Search)."""
    dataset = settings.iri(dcat.DATASET_PATH)
    modified = dcat.data_time(store).value
    issued = dcat._issued(store, dataset)[0].value
    sizes = {f.format.filename: f for f in dumps.files} if dumps else {}
    org = _publisher(settings, lang)
    data: dict[str, Any] = {
        "@context": SCHEMA_CONTEXT, "@type": "Dataset", "@id": dataset,
        "name": _text(store, dataset, DCT + "title", lang),
        "description": _text(store, dataset, DCT + "description", lang),
        "url": settings.iri("doc/" + dcat.DATASET_PATH.removeprefix("id/")),
        "identifier": dataset,
        "inLanguage": ["sv", "en"],
        "keywords": _texts(store, dataset, DCAT + "keyword", lang),
        "license": CC0, "isAccessibleForFree": True,
        "creator": org, "publisher": org,
        "datePublished": issued, "dateModified": modified,
        "spatialCoverage": {"@type": "AdministrativeArea",
                            "name": "Uppsala kommun" if lang == "sv" else
                            "Uppsala Municipality",
                            "sameAs": [*SPATIAL, WIKIDATA_UPPSALA_KOMMUN]},
        "includedInDataCatalog": {"@type": "DataCatalog", "@id": dcat.catalog_iri(settings),
                                  "url": dcat.catalog_iri(settings)},
        "distribution": [_download(settings, fmt.filename, fmt.label,
                                   fmt.rdf_format.media_type if not fmt.gzipped
                                   else "application/gzip", sizes.get(fmt.filename))
                         for fmt in DUMP_FORMATS],
    }
    start = dcat.twinning_start(settings, store)
    if start:
        data["temporalCoverage"] = f"{start}/.."
    return data


def _download(settings: Settings, filename: str, label: str, media_type: str,
              found: DumpFile | None) -> dict[str, Any]:
    item: dict[str, Any] = {"@type": "DataDownload", "name": label,
                            "encodingFormat": media_type,
                            "contentUrl": settings.iri(DUMPS_PATH + filename),
                            "license": CC0}
    if found is not None:
        item["contentSize"] = f"{found.size} B"
    return item


def schema_catalog_jsonld(settings: Settings, store: Store, dumps: DumpSet,
                          lang: str) -> dict[str, Any]:
    """schema:DataCatalog holding the Dataset, for the catalogue's HTML page."""
    dataset = schema_dataset_jsonld(settings, store, lang, dumps)
    dataset.pop("@context")
    dataset.pop("includedInDataCatalog")
    return {"@context": SCHEMA_CONTEXT, "@type": "DataCatalog",
            "@id": dcat.catalog_iri(settings), "url": dcat.catalog_iri(settings),
            "name": "Uppsala kommuns länkade öppna data" if lang == "sv"
            else "Uppsala Municipality's linked open data",
            "publisher": _publisher(settings, lang), "license": CC0,
            "dataset": [dataset]}


@dataclass(frozen=True)
class DumpRow:
    label: str
    url: str
    media_type: str
    size: int
    sha256: str


@dataclass(frozen=True)
class CatalogPage:
    """What catalog.html shows."""

    title: str
    dataset_iri: str
    dataset_page: str
    dataset_title: str
    dataset_description: str
    modified: str
    dumps: tuple[DumpRow, ...]
    sparql: str
    void: str
    harvest: str
    formats: tuple[tuple[str, str, str], ...]  # (label, media type, url) of the catalogue


def catalog_page(settings: Settings, store: Store, dumps: DumpSet, lang: str) -> CatalogPage:
    dataset = settings.iri(dcat.DATASET_PATH)
    url = dcat.catalog_iri(settings)
    labels = {"turtle": "Turtle", "rdfxml": "RDF/XML", "jsonld": "JSON-LD",
              "ntriples": "N-Triples"}
    from publisher.negotiation import RDF_FORMATS  # noqa: PLC0415

    return CatalogPage(
        title="Datakatalog" if lang == "sv" else "Data catalogue",
        dataset_iri=dataset,
        dataset_page=settings.iri("doc/" + dcat.DATASET_PATH.removeprefix("id/")) + ".html",
        dataset_title=_text(store, dataset, DCT + "title", lang),
        dataset_description=_text(store, dataset, DCT + "description", lang),
        modified=dcat.data_time(store).value,
        dumps=tuple(DumpRow(f.format.label, f.url(settings), f.format.media_type.split(";")[0],
                            f.size, f.sha256) for f in dumps.files),
        sparql=settings.iri(dcat.SPARQL_PATH),
        void=settings.iri(dcat.VOID_PATH),
        harvest=settings.iri(dcat.HARVEST_PATH),
        formats=tuple((labels[f.name], f.media_type, f"{url}.{f.extension}")
                      for f in RDF_FORMATS),
    )
