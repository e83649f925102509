"""The SPARQL 1.1 Service Description of /sparql, as triples. Pure.

It names the endpoint by its public URL, the language, the result formats, only the
features that are true, the default dataset with VoID sizes, and our limits. The limits
are stated in a small vocabulary of our own, ``<base>def/limits#``, because neither SD nor
VoID has terms for them.
"""

from __future__ import annotations

import pyoxigraph as ox

from publisher.config import Settings

SD = "http://www.w3.org/ns/sparql-service-description#"
VOID = "http://rdfs.org/ns/void#"
XSD = "http://www.w3.org/2001/XMLSchema#"
FORMATS_NS = "http://www.w3.org/ns/formats/"
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
DCTERMS_TITLE = ox.NamedNode("http://purl.org/dc/terms/title")
LIMITS_PATH = "def/limits#"
SIMPLE_ENTAILMENT = ox.NamedNode("http://www.w3.org/ns/entailment/Simple")

#: The W3C format IRIs of what the endpoint answers in.
RESULT_FORMAT_IRIS = ("SPARQL_Results_JSON", "SPARQL_Results_XML", "SPARQL_Results_CSV",
                      "SPARQL_Results_TSV", "Turtle", "N-Triples", "RDF_XML", "JSON-LD")
#: True of this endpoint: the default graph is the merge of all named graphs, and simple
#: entailment. Not here: BasicFederatedQuery (SERVICE is refused), DereferencesURIs
#: (FROM never loads anything), EmptyGraphs, RequiresDataset.
FEATURES = ("UnionDefaultGraph",)


def _sd(name: str) -> ox.NamedNode:
    return ox.NamedNode(SD + name)


def _literal(value: object, datatype: str) -> ox.Literal:
    return ox.Literal(str(value), datatype=ox.NamedNode(XSD + datatype))


#: the limits announced under <base>def/limits#: property, setting, datatype
LIMITS = (("queryTimeout", "query_timeout", "dayTimeDuration"),
          ("maxResultRows", "max_rows", "integer"),
          ("maxQueryLength", "max_query_length", "integer"),
          ("maxRequestBody", "max_request_body", "integer"),
          ("concurrentQueries", "query_workers", "integer"),
          ("queueWait", "query_queue_wait", "dayTimeDuration"),
          ("maxRequestHeaderBytes", "max_header_bytes", "integer"),
          ("maxResponseBytes", "max_response_bytes", "integer"),
          ("maxConnections", "max_connections", "integer"),
          ("maxQueryMemory", "query_memory_mb", "integer"))


def _limit(value: float, kind: str) -> object:
    return f"PT{value:g}S" if kind == "dayTimeDuration" else value


def description_triples(settings: Settings, sizes: dict[str, int]) -> list[ox.Triple]:
    """The Service Description; ``sizes`` maps graph IRIs (and '' for the default graph)
    to their number of triples."""
    service = ox.NamedNode(settings.iri("sparql"))
    dataset = ox.NamedNode(settings.iri("sparql#dataset"))
    default = ox.BlankNode("defaultGraph")
    limits = settings.iri(LIMITS_PATH)
    triples = [
        ox.Triple(service, RDF_TYPE, _sd("Service")),
        ox.Triple(service, _sd("endpoint"), service),
        ox.Triple(service, _sd("supportedLanguage"), _sd("SPARQL11Query")),
        ox.Triple(service, _sd("defaultEntailmentRegime"), SIMPLE_ENTAILMENT),
        ox.Triple(SIMPLE_ENTAILMENT, RDF_TYPE, _sd("EntailmentRegime")),
        ox.Triple(service, _sd("defaultDataset"), dataset),
        ox.Triple(dataset, RDF_TYPE, _sd("Dataset")),
        ox.Triple(dataset, _sd("defaultGraph"), default),
        ox.Triple(default, RDF_TYPE, _sd("Graph")),
        ox.Triple(default, ox.NamedNode(VOID + "triples"), _literal(sizes.get("", 0), "integer")),
    ]
    triples += [ox.Triple(service, _sd("resultFormat"), ox.NamedNode(FORMATS_NS + name))
                for name in RESULT_FORMAT_IRIS]
    triples += [ox.Triple(service, _sd("feature"), _sd(name)) for name in FEATURES]
    for index, graph in enumerate(sorted(g for g in sizes if g)):
        named, described = ox.BlankNode(f"namedGraph{index}"), ox.BlankNode(f"graph{index}")
        triples += [
            ox.Triple(dataset, _sd("namedGraph"), named),
            ox.Triple(named, RDF_TYPE, _sd("NamedGraph")),
            ox.Triple(named, _sd("name"), ox.NamedNode(graph)),
            ox.Triple(named, _sd("graph"), described),
            ox.Triple(described, RDF_TYPE, _sd("Graph")),
            ox.Triple(described, ox.NamedNode(VOID + "triples"),
                      _literal(sizes[graph], "integer")),
        ]
    triples += [ox.Triple(service, ox.NamedNode(limits + name),
                          _literal(_limit(getattr(settings, field), kind), kind))
                for name, field, kind in LIMITS]
    return triples
