"""publisher/catalog.py (with catalog_terms.py), void.py and schema_dataset.py: the
catalogue graph, VoID and the schema.org Dataset, checked on the graphs (the shapes run over
HTTP in tests/routes/test_catalog.py)."""

from __future__ import annotations

import pyoxigraph as ox
import pytest
import rdflib
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF

from publisher import catalog, catalog_terms, conformance, schema_dataset, void
from publisher.config import Settings
from publisher.dumps import DumpSet, write_dumps
from publisher.harvest import iri_problem
from publisher.store import OxigraphStore

SPDX = rdflib.Namespace("http://spdx.org/rdf/terms#")
VCARD = rdflib.Namespace("http://www.w3.org/2006/vcard/ns#")
SCHEMA = rdflib.Namespace("http://schema.org/")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, OxigraphStore, DumpSet,
                                                              rdflib.Graph]:
    settings = Settings(cache_dir=str(tmp_path_factory.mktemp("cache")))
    store = OxigraphStore.open(settings)
    dumps = write_dumps(store, settings)
    nt = ox.serialize(catalog.catalog_triples(settings, store, dumps),
                      format=ox.RdfFormat.N_TRIPLES)
    return settings, store, dumps, rdflib.Graph().parse(data=nt, format="nt")


def test_one_catalogue_with_cc0_publisher_and_dataset(built) -> None:  # type: ignore[no-untyped-def]
    settings, _store, _dumps, g = built
    cat = rdflib.URIRef(settings.iri("catalog"))
    assert set(g.subjects(RDF.type, DCAT.Catalog)) == {cat}
    assert set(g.objects(cat, DCTERMS.license)) == {rdflib.URIRef(catalog_terms.CC0)}
    assert set(g.objects(cat, DCAT.dataset)) == {rdflib.URIRef(settings.iri(catalog.DATASET_PATH))}
    assert set(g.objects(None, DCTERMS.publisher)) == {rdflib.URIRef(catalog_terms.PUBLISHER)}


def test_publisher_described_once_and_apart_from_the_contact(built) -> None:  # type: ignore[no-untyped-def]
    _settings, _store, _dumps, g = built
    agent = rdflib.URIRef(catalog_terms.PUBLISHER)
    assert {FOAF.Agent, FOAF.Organization} <= set(g.objects(agent, RDF.type))
    assert {(n.language, str(n)) for n in g.objects(agent, FOAF.name)} == {
        ("sv", "Uppsala kommun"), ("en", "Uppsala Municipality")}
    assert set(g.objects(agent, DCTERMS.type)) == {rdflib.URIRef(catalog_terms.LOCAL_AUTHORITY)}
    contacts = set(g.objects(None, DCAT.contactPoint))
    assert len(contacts) == 1 and agent not in contacts


def test_contact_address_is_the_postal_address_in_the_data(built) -> None:  # type: ignore[no-untyped-def]
    """The vCard address is the one data/ gives the contact point (the postal address:
    postcode, locality, country) and takes no street from the visiting address."""
    settings, store, _dumps, g = built
    contact = rdflib.URIRef(settings.iri("id/contact-point/internationella-relationer"))
    postal = settings.iri("id/address/uppsala-kommun-postadress")
    assert set(g.objects(contact, VCARD.hasAddress)) == {rdflib.URIRef(postal)}
    address = rdflib.URIRef(postal)
    assert VCARD.Address in set(g.objects(address, RDF.type))
    assert g.value(address, VCARD["street-address"]) is None

    def data(prop: str) -> set[str]:
        return {row["o"].value for row in store.query(
            f"SELECT ?o WHERE {{ <{postal}> <{SCHEMA[prop]}> ?o }}")}
    assert data("postalCode") == {str(v) for v in g.objects(address, VCARD["postal-code"])} \
        == {"753 75"}
    assert data("addressLocality") == {str(v) for v in g.objects(address, VCARD.locality)} \
        == {"Uppsala"}
    assert {(v.language, str(v)) for v in g.objects(address, VCARD["country-name"])} == {
        ("sv", "Sverige"), ("en", "Sweden")}


def test_dataset_conforms_to_what_the_data_says_and_the_vocabularies(built) -> None:  # type: ignore[no-untyped-def]
    settings, store, _dumps, g = built
    dataset = settings.iri(catalog.DATASET_PATH)
    stated = {rdflib.URIRef(row["o"].value) for row in store.query(
        f"SELECT ?o WHERE {{ <{dataset}> <{DCTERMS.conformsTo}> ?o }}")}
    assert rdflib.URIRef(settings.iri("def/shapes")) in stated
    declared = set(g.objects(rdflib.URIRef(dataset), DCTERMS.conformsTo))
    assert stated <= declared
    assert rdflib.URIRef(settings.iri("def/intl")) in declared
    assert all((standard, RDF.type, DCTERMS.Standard) in g for standard in declared)


def test_no_blank_nodes_and_only_absolute_iris(built) -> None:  # type: ignore[no-untyped-def]
    g = built[3]
    terms = {t for triple in g for t in triple}
    assert not [t for t in terms if isinstance(t, rdflib.BNode)]
    assert not [t for t in terms if isinstance(t, rdflib.URIRef) and iri_problem(str(t))]


def test_distributions_declare_the_dump_bytes(built) -> None:  # type: ignore[no-untyped-def]
    settings, _store, dumps, g = built
    declared = {}
    for dist in g.subjects(RDF.type, DCAT.Distribution):
        url = g.value(dist, DCAT.downloadURL)
        if url is not None:
            checksum = g.value(dist, SPDX.checksum)
            declared[str(url)] = (int(g.value(dist, DCAT.byteSize)),
                                  str(g.value(checksum, SPDX.checksumValue)))
    assert declared == {f.url(settings): (f.size, f.sha256) for f in dumps.files}


def test_dates_are_the_data_change_time(built) -> None:  # type: ignore[no-untyped-def]
    settings, store, _dumps, g = built
    modified = g.value(rdflib.URIRef(settings.iri(catalog.DATASET_PATH)), DCTERMS.modified)
    assert modified.toPython().timestamp() == int(store.version_time())


def test_data_service_for_the_sparql_endpoint(built) -> None:  # type: ignore[no-untyped-def]
    settings, _store, _dumps, g = built
    (service,) = g.subjects(RDF.type, DCAT.DataService)
    endpoint = rdflib.URIRef(settings.iri("sparql"))
    assert g.value(service, DCAT.endpointURL) == endpoint
    assert g.value(service, DCAT.endpointDescription) == endpoint
    assert g.value(service, DCAT.servesDataset) == rdflib.URIRef(settings.iri(catalog.DATASET_PATH))


def test_bundle_requirements_are_derived_per_class() -> None:
    reqs = conformance.bundle_requirements()
    mandatory = {c: {r.path[-1] for r in rs if r.minimum and len(r.path) == 1}
                 for c, rs in reqs.items()}
    assert str(DCTERMS.license) in mandatory[str(DCAT.Catalog)]
    assert str(DCTERMS.publisher) in mandatory[str(DCAT.Dataset)]
    assert {str(DCAT.accessURL), str(DCTERMS["format"])} <= mandatory[str(DCAT.Distribution)]
    assert str(DCTERMS.type) in mandatory[str(FOAF.Agent)]


def test_void_counts_equal_sparql_counts(built) -> None:  # type: ignore[no-untyped-def]
    settings, store, _dumps, _g = built
    g = rdflib.Graph().parse(data=ox.serialize(void.void_triples(settings, store),
                                               format=ox.RdfFormat.N_TRIPLES), format="nt")
    ds = rdflib.URIRef(settings.iri(catalog.DATASET_PATH))
    vo = rdflib.Namespace(void.VOID)

    def n(query: str) -> int:
        return int(next(iter(store.query(query)))["n"].value)

    space = settings.iri("id/")
    assert int(g.value(ds, vo.triples)) == n(
        "SELECT (COUNT(*) AS ?n) { SELECT DISTINCT ?s ?p ?o { ?s ?p ?o } }")
    assert int(g.value(ds, vo.properties)) == n("SELECT (COUNT(DISTINCT ?p) AS ?n) { ?s ?p ?o }")
    assert int(g.value(ds, vo.classes)) == n("SELECT (COUNT(DISTINCT ?c) AS ?n) { ?s a ?c }")
    assert int(g.value(ds, vo.entities)) == n(
        f'SELECT (COUNT(DISTINCT ?s) AS ?n) {{ ?s ?p ?o FILTER(STRSTARTS(STR(?s), "{space}")) }}')
    for target in ("http://www.wikidata.org/entity/", "http://sws.geonames.org/"):
        declared = sum(int(g.value(ls, vo.triples)) for ls in g.objects(ds, vo.subset)
                       if str(g.value(g.value(ls, vo.objectsTarget), vo.uriSpace)) == target)
        assert declared > 0
        assert declared == n(f'SELECT (COUNT(*) AS ?n) {{ SELECT DISTINCT ?s ?p ?o {{ ?s ?p ?o '
                             f'FILTER(isIRI(?o) && STRSTARTS(STR(?o), "{target}")) }} }}')


def test_schema_dataset_meets_google_requirements(built) -> None:  # type: ignore[no-untyped-def]
    settings, store, dumps, _g = built
    for lang in ("sv", "en"):
        data = schema_dataset.schema_dataset_jsonld(settings, store, lang, dumps)
        assert data["@type"] == "Dataset" and data["name"]
        assert 50 <= len(data["description"]) <= 5000
        assert data["license"] == catalog_terms.CC0 and data["creator"]["name"]
        assert data["keywords"] and data["spatialCoverage"] and data["temporalCoverage"]
        for item in data["distribution"]:
            assert item["@type"] == "DataDownload"
            assert item["contentUrl"].startswith(settings.base) and item["encodingFormat"]
    assert catalog.schema_dataset_jsonld(settings, store)["@id"] == settings.iri(
        catalog.DATASET_PATH)


def test_discovery_links_name_catalogue_dumps_sparql_and_void() -> None:
    settings = Settings(base="http://example.org/")
    header = catalog.discovery_links(settings)
    for part in ('<http://example.org/catalog>; rel="http://www.w3.org/ns/dcat#catalog"',
                 '<http://example.org/.well-known/void>; rel="describedby"',
                 '<http://example.org/sparql>; rel="service-desc"',
                 '<http://example.org/dumps/internationella-relationer.nt.gz>; '
                 'rel="http://rdfs.org/ns/void#dataDump"; type="application/gzip"'):
        assert part in header
