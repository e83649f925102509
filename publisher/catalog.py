"""The DCAT-AP-SE catalogue of the dataset, and the links that make it discoverable. Pure.

``catalog_triples(settings, store, dumps)`` builds one dcat:Catalog with one dcat:Dataset,
a dcat:Distribution per dump (media type, byte size and SHA-256 of exactly the bytes
served) plus one for the SPARQL endpoint, and the dcat:DataService of that endpoint. It
conforms to DCAT-AP-SE 3.0.1 and DCAT-AP 3.0.1 (tests/test_catalog.py and
tests/routes/test_catalog.py run the shapes) and to the Swedish portal's harvesting rules:
absolute IRIs only, no blank nodes, the publisher described once under the portal's
organisation IRI, the contact point a separate vCard.

What the data says about the dataset (titles, descriptions, keywords, licence, contact)
is read from the store; what only a catalogue says (publisher agent, themes, spatial and
temporal coverage, distributions, service) is written here, in the vocabularies and with
the identifiers and controlled-vocabulary IRIs of catalog_terms.py. The VoID description
is in void.py.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyoxigraph as ox

from publisher import descriptions
from publisher.catalog_terms import (
    CC0,
    DCAT,
    DCATAP,
    DCT,
    EU,
    FOAF,
    IRREGULAR,
    LANGUAGES,
    LOCAL_AUTHORITY,
    ORG_NUMBER,
    OWL,
    PUBLIC,
    PUBLISHER,
    RDFS,
    SCHEMA,
    SHA256,
    SPARQL_PROTOCOL,
    SPARQL_RESULTS,
    SPATIAL,
    SPDX,
    STABLE,
    THEMES,
    VCARD,
    WIKIDATA_UPPSALA_KOMMUN,
    XSD,
    Graph,
    text,
    typed,
    vocabulary_terms,
)
from publisher.config import DATASET_PATH, Settings
from publisher.dumps import DUMP_FORMATS, DUMPS_PATH, GZIP_MEDIA_TYPE, DumpSet
from publisher.store import Store
from publisher.void import VOID_PATH, Statistics, first_year, statistics

CATALOG_PATH = "catalog"
HARVEST_PATH = "datasets/dcat"
SPARQL_PATH = "sparql"


def twinning_start(settings: Settings, store: Store) -> str | None:
    """The year of the earliest twin-town agreement: from the statistics written when the
    store was loaded (descriptions.py), else asked of the store now."""
    prepared = descriptions.prepared(store)
    return prepared.first_year if prepared is not None else first_year(settings, store)


def catalog_iri(settings: Settings) -> str:
    return settings.iri(CATALOG_PATH)


def data_time(store: Store) -> ox.Literal:
    """The data's real change time (not the server's clock), as xsd:dateTime in UTC."""
    moment = dt.datetime.fromtimestamp(int(store.version_time()), dt.timezone.utc)
    return typed(moment.strftime("%Y-%m-%dT%H:%M:%SZ"), XSD + "dateTime")


def _values(store: Store, subject: str, predicate: str) -> list[ox.NamedNode | ox.Literal]:
    rows = store.query(f"SELECT ?o WHERE {{ <{subject}> <{predicate}> ?o }} ORDER BY ?o")
    return [row["o"] for row in rows if not isinstance(row["o"], ox.BlankNode)]


def catalog_triples(settings: Settings, store: Store, dumps: DumpSet,
                    stats: Statistics | None = None) -> list[ox.Triple]:
    """The whole catalogue graph, deterministic for the same data and dumps. ``stats``:
    those of the data version (descriptions.statistics_of), counted now if not given."""
    stats = stats if stats is not None else statistics(settings, store)
    g = Graph()
    dataset = settings.iri(DATASET_PATH)
    _catalog(g, settings, store, dataset)
    _publisher(g, settings, store)
    contact = _contact_point(g, settings, store)
    _dataset(g, settings, store, dataset, contact, stats)
    _distributions(g, settings, dumps, dataset)
    _data_service(g, settings, dataset, contact)
    vocabulary_terms(g)
    return sorted(set(g.triples), key=str)


def _catalog(g: Graph, settings: Settings, store: Store, dataset: str) -> None:
    cat = catalog_iri(settings)
    g.typed(cat, DCAT + "Catalog")
    g.add(cat, DCT + "title", text("Uppsala kommuns länkade öppna data", "sv"),
          text("Uppsala Municipality's linked open data", "en"))
    g.add(cat, DCT + "description",
          text("Katalog över de länkade öppna data som Uppsala kommun publicerar på "
               f"{settings.base}: datamängden om kommunens internationella relationer, "
               "dess nedladdningsbara filer och SPARQL-tjänsten.", "sv"),
          text("Catalogue of the linked open data Uppsala Municipality publishes at "
               f"{settings.base}: the dataset on the municipality's international "
               "relations, its downloadable files and the SPARQL service.", "en"))
    g.add(cat, DCT + "publisher", PUBLISHER)
    g.add(cat, DCT + "license", CC0)  # DCAT-AP-SE requires CC0 for catalogue metadata
    g.add(cat, DCT + "language", *LANGUAGES)
    g.add(cat, FOAF + "homepage", settings.base)
    g.add(cat, DCT + "spatial", *SPATIAL)
    g.add(cat, DCAT + "themeTaxonomy", EU + "data-theme")
    g.add(cat, DCT + "issued", *_issued(store, dataset))
    g.add(cat, DCT + "modified", data_time(store))
    g.add(cat, DCAT + "dataset", dataset)
    g.add(cat, DCAT + "service", settings.iri(CATALOG_PATH + "#sparql-service"))
    g.typed(settings.base, FOAF + "Document")


def _issued(store: Store, dataset: str) -> list[ox.NamedNode | ox.Literal]:
    """First publication as the data states it, else the data's change time."""
    return _values(store, dataset, DCT + "issued")[:1] or [data_time(store)]


def _publisher(g: Graph, settings: Settings, store: Store) -> None:
    """The one description of the publishing organisation (described once, per DIGG)."""
    ours = settings.iri("id/organization/uppsala-kommun")
    g.typed(PUBLISHER, FOAF + "Agent", FOAF + "Organization")
    g.add(PUBLISHER, FOAF + "name", text("Uppsala kommun", "sv"),
          text("Uppsala Municipality", "en"))
    g.add(PUBLISHER, DCT + "type", LOCAL_AUTHORITY)
    g.add(PUBLISHER, DCT + "identifier", text(ORG_NUMBER))
    g.add(PUBLISHER, DCT + "description", *[
        v for v in _values(store, ours, SCHEMA + "description") if isinstance(v, ox.Literal)])
    g.add(PUBLISHER, FOAF + "homepage", "https://www.uppsala.se/")
    g.add(PUBLISHER, OWL + "sameAs", WIKIDATA_UPPSALA_KOMMUN, ours)
    g.typed("https://www.uppsala.se/", FOAF + "Document")


def _contact_point(g: Graph, settings: Settings, store: Store) -> str:
    """The functional contact point of data/ (a vCard, never the publisher's IRI)."""
    contact = settings.iri("id/contact-point/internationella-relationer")
    g.typed(contact, VCARD + "Organization", VCARD + "Kind")
    for predicate in ("fn", "hasURL", "hasEmail"):
        g.add(contact, VCARD + predicate, *_values(store, contact, VCARD + predicate))
    for phone in _values(store, contact, VCARD + "hasTelephone"):
        g.add(contact, VCARD + "hasTelephone", phone)
        if isinstance(phone, ox.NamedNode):  # DCAT-AP-SE reads the number from a vcard:Voice
            g.typed(phone.value, VCARD + "Voice")
            g.add(phone.value, VCARD + "hasValue", phone)
    for address in _values(store, contact, VCARD + "hasAddress"):
        if isinstance(address, ox.NamedNode):
            g.add(contact, VCARD + "hasAddress", address)
            _address(g, store, address.value)
    return contact


#: schema:PostalAddress property -> the vCard property DCAT-AP-SE reads
ADDRESS_TERMS = (("streetAddress", "street-address"), ("postalCode", "postal-code"),
                 ("addressLocality", "locality"))


def _address(g: Graph, store: Store, address: str) -> None:
    """The contact's address as data/ states it (a schema:PostalAddress), in vCard terms.
    Only what the data has: the postal address has a postcode and no street, and the
    visiting address's street is never mixed in. The country's name is the name of the
    data's schema:Country whose code is the address's schema:addressCountry."""
    g.typed(address, VCARD + "Address")
    for ours, theirs in ADDRESS_TERMS:
        g.add(address, VCARD + theirs, *_values(store, address, SCHEMA + ours))
    for code in _values(store, address, SCHEMA + "addressCountry"):
        rows = store.query(f"SELECT DISTINCT ?name WHERE {{ ?country a <{SCHEMA}Country> ; "
                           f"<{DCT}identifier> {code} ; <{SCHEMA}name> ?name }} ORDER BY ?name")
        g.add(address, VCARD + "country-name", *[row["name"] for row in rows])


def _dataset(g: Graph, settings: Settings, store: Store, dataset: str, contact: str,
             stats: Statistics) -> None:
    g.typed(dataset, DCAT + "Dataset")
    for predicate in (DCT + "title", DCT + "description", DCAT + "keyword"):
        g.add(dataset, predicate, *[v for v in _values(store, dataset, predicate)
                                    if isinstance(v, ox.Literal)])
    g.add(dataset, DCT + "publisher", PUBLISHER)
    g.add(dataset, DCAT + "contactPoint", contact)
    g.add(dataset, DCAT + "theme", *THEMES)
    g.add(dataset, DCT + "language", *LANGUAGES)
    g.add(dataset, DCT + "spatial", *SPATIAL)
    g.add(dataset, DCT + "issued", *_issued(store, dataset))
    g.add(dataset, DCT + "modified", data_time(store))
    g.add(dataset, DCT + "accessRights", PUBLIC)
    g.add(dataset, DCT + "accrualPeriodicity", IRREGULAR)
    page = settings.iri("doc/" + DATASET_PATH.removeprefix("id/"))
    g.add(dataset, DCAT + "landingPage", page)
    g.typed(page, FOAF + "Document")
    for source in _values(store, dataset, DCT + "source"):  # a web page, so foaf:page
        g.add(dataset, FOAF + "page", source)
        g.typed(source.value, FOAF + "Document")
    # what the data says the dataset conforms to (our shapes), then the vocabularies it uses
    stated = [v.value for v in _values(store, dataset, DCT + "conformsTo")
              if isinstance(v, ox.NamedNode)]
    for standard in dict.fromkeys([*stated, *stats.vocabularies]):
        g.add(dataset, DCT + "conformsTo", standard)
        g.typed(standard, DCT + "Standard")
    _temporal(g, settings, stats.first_year, dataset)
    provenance = catalog_iri(settings) + "#provenance"
    g.add(dataset, DCT + "provenance", provenance)
    g.typed(provenance, DCT + "ProvenanceStatement")
    for lang, line in (
        ("sv", "Sammanställt för hand från uppsala.se (sidan Mer om internationellt arbete) "
               "och källor som anges per uppgift med dcterms:source; identifierare "
               "kontrollerade mot Wikidata, GeoNames och DIGG:s regler."),
        ("en", "Compiled by hand from uppsala.se (the page 'Mer om internationellt arbete') "
               "and the sources given per fact with dcterms:source; identifiers checked "
               "against Wikidata, GeoNames and DIGG's rules."),
    ):
        g.add(provenance, DCT + "description", text(line, lang))
        g.add(provenance, RDFS + "label", text(line, lang))


def _temporal(g: Graph, settings: Settings, start: str | None, dataset: str) -> None:
    """From the earliest twin-town agreement in the data; open-ended (it still holds)."""
    if start is None:
        return
    period = catalog_iri(settings) + "#temporal"
    g.add(dataset, DCT + "temporal", period)
    g.typed(period, DCT + "PeriodOfTime")
    g.add(period, DCAT + "startDate", typed(start, XSD + "gYear"))


def _distributions(g: Graph, settings: Settings, dumps: DumpSet, dataset: str) -> None:
    cat = catalog_iri(settings)
    when = typed(dt.datetime.fromtimestamp(int(dumps.modified), dt.timezone.utc)
                 .strftime("%Y-%m-%dT%H:%M:%SZ"), XSD + "dateTime")
    for dump in dumps.files:
        fmt, node = dump.format, f"{cat}#dump-{dump.format.key}"
        g.add(dataset, DCAT + "distribution", node)
        g.typed(node, DCAT + "Distribution")
        g.add(node, DCT + "title", text(f"Hela datamängden som {fmt.label}", "sv"),
              text(f"The whole dataset as {fmt.label}", "en"))
        g.add(node, DCT + "description",
              text(f"Alla tripplar (data och ontologi) i en fil, {fmt.label}.", "sv"),
              text(f"Every triple (data and ontology) in one file, {fmt.label}.", "en"))
        url = dump.url(settings)
        g.add(node, DCAT + "accessURL", url)
        g.add(node, DCAT + "downloadURL", url)
        g.add(node, DCT + "format", fmt.file_type)
        g.add(node, DCAT + "mediaType", fmt.iana_media_type)
        if fmt.gzipped:
            g.add(node, DCAT + "compressFormat", GZIP_MEDIA_TYPE)
            g.typed(GZIP_MEDIA_TYPE, DCT + "MediaType")
        g.typed(fmt.iana_media_type, DCT + "MediaType")
        g.add(node, DCAT + "byteSize", typed(str(dump.size), XSD + "nonNegativeInteger"))
        checksum = f"{node}-sha256"
        g.add(node, SPDX + "checksum", checksum)
        g.typed(checksum, SPDX + "Checksum")
        g.add(checksum, SPDX + "algorithm", SHA256)
        g.add(checksum, SPDX + "checksumValue", typed(dump.sha256, XSD + "hexBinary"))
        _common_distribution(g, node, when)
    node = f"{cat}#sparql-endpoint"
    g.add(dataset, DCAT + "distribution", node)
    g.typed(node, DCAT + "Distribution")
    g.add(node, DCT + "title", text("SPARQL-tjänst", "sv"), text("SPARQL endpoint", "en"))
    g.add(node, DCT + "description",
          text("Frågor mot hela datamängden med SPARQL 1.1.", "sv"),
          text("Query the whole dataset with SPARQL 1.1.", "en"))
    g.add(node, DCAT + "accessURL", settings.iri(SPARQL_PATH))
    g.add(node, DCAT + "accessService", f"{cat}#sparql-service")
    g.add(node, DCT + "format", SPARQL_RESULTS)
    _common_distribution(g, node, when)


def _common_distribution(g: Graph, node: str, when: ox.Literal) -> None:
    g.add(node, DCT + "license", CC0)
    g.add(node, DCATAP + "availability", STABLE)
    g.add(node, DCT + "modified", when)


def _data_service(g: Graph, settings: Settings, dataset: str, contact: str) -> None:
    service = catalog_iri(settings) + "#sparql-service"
    endpoint = settings.iri(SPARQL_PATH)
    g.typed(service, DCAT + "DataService")
    g.add(service, DCT + "title", text("SPARQL-tjänst för Uppsala kommuns länkade data", "sv"),
          text("SPARQL service for Uppsala Municipality's linked data", "en"))
    g.add(service, DCT + "description",
          text("SPARQL 1.1-frågor (protokollet, GET och POST) mot hela datamängden. "
               "Tjänstebeskrivningen finns på samma adress.", "sv"),
          text("SPARQL 1.1 queries (the protocol, GET and POST) over the whole dataset. "
               "The service description is at the same address.", "en"))
    g.add(service, DCAT + "endpointURL", endpoint)
    g.add(service, DCAT + "endpointDescription", endpoint)
    g.add(service, DCAT + "servesDataset", dataset)
    g.add(service, DCT + "publisher", PUBLISHER)
    g.add(service, DCAT + "contactPoint", contact)
    g.add(service, DCAT + "keyword", text("SPARQL", "sv"), text("SPARQL", "en"))
    g.add(service, DCAT + "theme", *THEMES)
    g.add(service, DCT + "format", SPARQL_RESULTS)
    g.add(service, DCT + "conformsTo", SPARQL_PROTOCOL)
    g.typed(SPARQL_PROTOCOL, DCT + "Standard")
    g.add(service, DCT + "accessRights", PUBLIC)
    g.add(service, DCT + "license", CC0)
    g.add(service, DCAT + "landingPage", endpoint)
    g.typed(endpoint, FOAF + "Document")



def discovery_links(settings: Settings) -> str:
    """An RFC 8288 Link header value for every HTML page: where the catalogue, dumps,
    SPARQL endpoint and VoID are. Registered relations where they exist (``describedby``,
    ``service-desc``, ``alternate``); the DCAT and VoID properties as extension relations."""
    links = [
        (settings.iri(CATALOG_PATH), "http://www.w3.org/ns/dcat#catalog", "text/turtle"),
        (settings.iri(VOID_PATH), "describedby", "text/turtle"),
        (settings.iri(SPARQL_PATH), "http://rdfs.org/ns/void#sparqlEndpoint", None),
        (settings.iri(SPARQL_PATH), "service-desc", "text/turtle"),
    ]
    for dump in DUMP_FORMATS:
        links.append((settings.iri(DUMPS_PATH + dump.filename),
                      "http://rdfs.org/ns/void#dataDump", dump.media_type.split(";")[0]))
    return ", ".join(f'<{url}>; rel="{rel}"' + (f'; type="{kind}"' if kind else "")
                     for url, rel, kind in links)


def schema_dataset_jsonld(settings: Settings, store: Store, lang: str = "sv") -> dict[str, Any]:
    """schema.org Dataset JSON-LD for the dataset's HTML page (see schema_dataset.py)."""
    from publisher.schema_dataset import schema_dataset_jsonld as build  # noqa: PLC0415

    return build(settings, store, lang)
