"""The prefixes we write in RDF: the standard vocabularies' and ours under the serving base.

Pure and light to import: the query workers write CONSTRUCT answers with them and import
nothing else of the rendering (publisher.render.rdf imports pyld, which they never need).
"""

from __future__ import annotations

STANDARD_PREFIXES = {
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "schema": "http://schema.org/",
    "org": "http://www.w3.org/ns/org#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "dcterms": "http://purl.org/dc/terms/",
    "dcat": "http://www.w3.org/ns/dcat#",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "vcard": "http://www.w3.org/2006/vcard/ns#",
    "time": "http://www.w3.org/2006/time#",
    "void": "http://rdfs.org/ns/void#",
    "sh": "http://www.w3.org/ns/shacl#",
    "adms": "http://www.w3.org/ns/adms#",
    "prov": "http://www.w3.org/ns/prov#",
    "sd": "http://www.w3.org/ns/sparql-service-description#",
}


def prefixes(base: str) -> dict[str, str]:
    """Every prefix we write, ours under the serving base."""
    return {**STANDARD_PREFIXES, "intl": base + "def/intl#", "shapes": base + "def/shapes#"}
