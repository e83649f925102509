"""The words the DCAT-AP-SE catalogue is written in, and the small builder it writes with. Pure.

The vocabularies' namespaces (DCAT, DCTERMS, FOAF, vCard, SPDX, ...), the publisher's
identifiers under the Swedish portal's rules, and the controlled-vocabulary IRIs the
catalogue points at (the EU authority tables' themes, languages, access right, frequency,
availability and file type; ADMS publisher and licence types), with the labels
``vocabulary_terms`` gives them. They are fixed by DCAT-AP-SE and by who publishes, not
read from the data; catalog.py builds the catalogue graph with them, and schema_dataset.py
says the same publisher, licence and places in schema.org.
"""

from __future__ import annotations

from typing import cast

import pyoxigraph as ox

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
XSD = "http://www.w3.org/2001/XMLSchema#"
DCAT = "http://www.w3.org/ns/dcat#"
DCT = "http://purl.org/dc/terms/"
FOAF = "http://xmlns.com/foaf/0.1/"
VCARD = "http://www.w3.org/2006/vcard/ns#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
SPDX = "http://spdx.org/rdf/terms#"
OWL = "http://www.w3.org/2002/07/owl#"
SCHEMA = "http://schema.org/"
DCATAP = "http://data.europa.eu/r5r/"
EU = "http://publications.europa.eu/resource/authority/"

#: Uppsala kommun under the Swedish portal's organisation IRI rule (SE + org. no.).
PUBLISHER = "http://dataportal.se/organisation/SE2120003005"
ORG_NUMBER = "212000-3005"
LOCAL_AUTHORITY = "http://purl.org/adms/publishertype/LocalAuthority"
WIKIDATA_UPPSALA_KOMMUN = "http://www.wikidata.org/entity/Q59091"
CC0 = "http://creativecommons.org/publicdomain/zero/1.0/"
#: Uppsala kommun as a GeoNames feature (ADM2) and the NUTS 3 region Uppsala län.
SPATIAL = ("http://sws.geonames.org/2666219/", "http://data.europa.eu/nuts/code/SE121")
THEMES = (EU + "data-theme/INTR", EU + "data-theme/GOVE")
LANGUAGES = (EU + "language/SWE", EU + "language/ENG")
PUBLIC = EU + "access-right/PUBLIC"
IRREGULAR = EU + "frequency/IRREG"
STABLE = EU + "planned-availability/STABLE"
SPARQL_RESULTS = EU + "file-type/SPARQLQRES"
SPARQL_PROTOCOL = "https://www.w3.org/TR/sparql11-protocol/"
SHA256 = SPDX + "checksumAlgorithm_sha256"
PUBLIC_DOMAIN = "http://purl.org/adms/licencetype/PublicDomain"
#: (concept, scheme, labels) for the concepts we use, labels from the EU tables / bundle.json.
CONCEPTS = (
    (THEMES[0], EU + "data-theme", (("sv", "Internationella frågor"),
                                    ("en", "International issues"))),
    (THEMES[1], EU + "data-theme", (("sv", "Regeringen och den offentliga sektorn"),
                                    ("en", "Government and public sector"))),
    (STABLE, EU + "planned-availability", (("sv", "Stabil"), ("en", "Stable"))),
    (LOCAL_AUTHORITY, "http://purl.org/adms/publishertype/1.0",
     (("sv", "Lokal myndighet/kommun"), ("en", "Local Authority"))),
    (PUBLIC_DOMAIN, "http://purl.org/adms/licencetype/1.0", (("en", "Public domain"),)),
)

Term = ox.NamedNode | ox.Literal


def iri(value: str) -> ox.NamedNode:
    return ox.NamedNode(value)


def text(value: str, lang: str | None = None) -> ox.Literal:
    return ox.Literal(value, language=lang) if lang else ox.Literal(value)


def typed(value: str, datatype: str) -> ox.Literal:
    return ox.Literal(value, datatype=ox.NamedNode(datatype))


class Graph:
    """A small triple builder: ``g.add(subject, predicate, *objects)`` with str = IRI."""

    def __init__(self) -> None:
        self.triples: list[ox.Triple] = []

    def add(self, subject: str, predicate: str, *objects: str | Term) -> None:
        for obj in objects:
            node = iri(obj) if isinstance(obj, str) else obj
            self.triples.append(ox.Triple(iri(subject), iri(predicate), node))

    def typed(self, subject: str, *classes: str) -> None:
        self.add(subject, RDF + "type", *classes)


def vocabulary_terms(g: Graph) -> None:
    """Type and label the controlled-vocabulary IRIs as DCAT-AP's ranges and concept shapes
    ask (labels as in the EU tables and DCAT-AP-SE's bundle), once, for every harvester.
    Run last: it types every dcterms:format already in ``g``."""
    g.typed(CC0, DCT + "LicenseDocument")
    g.add(CC0, DCT + "type", PUBLIC_DOMAIN)
    for concept, scheme, labels in CONCEPTS:
        g.typed(concept, SKOS + "Concept")
        g.add(concept, SKOS + "inScheme", scheme)
        g.add(concept, SKOS + "prefLabel", *[text(label, lang) for lang, label in labels])
    for place in SPATIAL:
        g.typed(place, DCT + "Location")
    for language in LANGUAGES:
        g.typed(language, DCT + "LinguisticSystem")
    g.typed(PUBLIC, DCT + "RightsStatement")
    g.typed(IRREGULAR, DCT + "Frequency")
    g.typed(EU + "data-theme", SKOS + "ConceptScheme")
    g.add(EU + "data-theme", DCT + "title", text("Data theme", "en"))
    g.typed(SHA256, SPDX + "ChecksumAlgorithm")
    # Graph.add makes every object a Term (an IRI or a literal)
    for file_type in {cast(Term, t.object).value for t in g.triples
                      if t.predicate.value == DCT + "format"}:
        g.typed(file_type, DCT + "MediaTypeOrExtent")
