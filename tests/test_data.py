"""The facts of the source page and fact sheet are in the graph, queried with SPARQL."""

from __future__ import annotations

import re

import pyoxigraph as ox
import pytest

from publisher.config import Settings
from publisher.source import read_quads, source_files

PREFIXES = """
PREFIX schema: <http://schema.org/>
PREFIX org: <http://www.w3.org/ns/org#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX time: <http://www.w3.org/2006/time#>
PREFIX vcard: <http://www.w3.org/2006/vcard/ns#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX owl: <http://www.w3.org/2002/07/owl#>
PREFIX dcterms: <http://purl.org/dc/terms/>
PREFIX intl: <https://data.uppsala.se/def/intl#>
PREFIX id: <https://data.uppsala.se/id/>
"""
PAGE = ("https://www.uppsala.se/organisation-och-styrning/amnen/internationella-relationer/"
        "mer-om-internationellt-arbete/")


def load(settings: Settings) -> ox.Store:
    store = ox.Store()
    for source in source_files(settings):
        store.extend(read_quads(source, settings.base))
    return store


@pytest.fixture(scope="module")
def store() -> ox.Store:
    return load(Settings())


def rows(store: ox.Store, query: str) -> list[tuple[str | None, ...]]:
    """Solutions as tuples of lexical values (None where a variable is unbound)."""
    result = store.query(PREFIXES + query, use_default_graph_as_union=True)
    return [tuple(None if term is None else term.value for term in solution)
            for solution in result]  # type: ignore[union-attr]


def ask(store: ox.Store, query: str) -> bool:
    return bool(store.query(PREFIXES + query, use_default_graph_as_union=True))


TWINS = {
    # city name: (country ISO alpha-2, start year, kind of start, Nordic chain year or None)
    "Frederiksberg": ("DK", "1947", "nordicChainFounding", "1947"),
    "Bærum": ("NO", "1949", "nordicChainAccession", "1949"),
    "Hämeenlinna": ("FI", "1949", "nordicChainAccession", "1949"),
    "Hafnarfjörður": ("IS", "1951", "nordicChainAccession", "1951"),
    "Tartu": ("EE", "1988", "bilateralAgreement", "1991"),
    "Daejeon": ("KR", "1999", "sisterCityRelationship", None),
    "Minneapolis": ("US", "2000", "sisterCityRelationship", None),
}


def test_seven_twin_cities_with_country_year_and_meaning(store: ox.Store) -> None:
    found = rows(store, """
        SELECT ?name ?iso ?year ?kind ?chain WHERE {
            id:place\\/uppsala intl:twinnedWith ?city .
            ?city intl:twinnedWith id:place\\/uppsala ;
                  schema:name ?name ;
                  schema:containedInPlace/dcterms:identifier ?iso .
            ?agreement a intl:TwinningAgreement ;
                  intl:partner ?city , id:place\\/uppsala ;
                  schema:startDate ?year ;
                  intl:startKind ?kind .
            OPTIONAL { ?agreement intl:nordicChainYear ?chain }
        }""")
    got = {name: (iso, year, str(kind).rsplit("#", 1)[1], chain)
           for name, iso, year, kind, chain in found}
    assert got == TWINS


def test_tartu_has_two_dates(store: ox.Store) -> None:
    [(start, kind, chain)] = rows(store, """
        SELECT ?start ?kind ?chain WHERE {
            id:twinning\\/uppsala-tartu schema:startDate ?start ;
                intl:startKind ?kind ; intl:nordicChainYear ?chain .
        }""")
    assert (start, kind, chain) == ("1988", "https://data.uppsala.se/def/intl#bilateralAgreement",
                                    "1991")


def test_every_agreement_has_exactly_two_partners(store: ox.Store) -> None:
    counts = rows(store, """
        SELECT ?a (COUNT(DISTINCT ?p) AS ?n) WHERE { ?a a intl:TwinningAgreement ; intl:partner ?p }
        GROUP BY ?a""")
    assert len(counts) == 7 and {n for _, n in counts} == {"2"}


def test_eurocities_membership_since_2015(store: ox.Store) -> None:
    [(start, day, founded)] = rows(store, """
        SELECT ?start ?day ?founded WHERE {
            ?m a org:Membership ;
               org:member id:organization\\/uppsala-kommun ;
               org:organization ?e ;
               schema:startDate ?start ;
               org:memberDuring/time:hasBeginning/time:inXSDDate ?day .
            ?e schema:name "Eurocities" ; schema:foundingDate ?founded .
            id:organization\\/uppsala-kommun schema:memberOf ?m .
            ?m schema:memberOf ?e .
        }""")
    assert (start, day, founded) == ("2015", "2015-11-06", "1986")
    assert not ask(store, "ASK { id:organization\\/eurocities owl:sameAs ?x }")
    assert not ask(store, "ASK { ?m a org:Membership ; org:role ?r }")


def test_three_focus_areas_with_exact_swedish_labels(store: ox.Store) -> None:
    labels = rows(store, """
        SELECT ?label WHERE {
            ?c a intl:FocusArea ; skos:inScheme id:concept-scheme\\/focus-areas ;
               skos:prefLabel ?label .
            FILTER (lang(?label) = "sv")
        }""")
    assert sorted(label for (label,) in labels) == sorted(
        ["Verksamhetsutveckling", "Näringsliv och positionering", "Bevakning och påverkan"])
    assert ask(store, """ASK { id:focus-area\\/bevakning-och-paverkan dcterms:relation
                                  id:organization\\/eurocities }""")


CONTACTS = {
    "Christian Dahlmann": ("+46187271345", "018-727 13 45", "christian.dahlmann@uppsala.se"),
    "Johanna Nyman": ("+46187271331", "018-727 13 31", "johanna.nyman@uppsala.se"),
    "Maria Didi": ("+46187271344", "018-727 13 44", "maria.didi@uppsala.se"),
}


def test_three_contacts_with_e164_phones(store: ox.Store) -> None:
    found = rows(store, """
        SELECT ?name ?tel ?written ?email ?vtel ?vmail WHERE {
            ?p a schema:Person , foaf:Person ; schema:name ?name ; schema:telephone ?tel ;
               intl:phoneAsWritten ?written ; schema:email ?email ;
               vcard:hasTelephone ?vtel ; vcard:hasEmail ?vmail .
        }""".replace("foaf:Person", "<http://xmlns.com/foaf/0.1/Person>"))
    assert {r[0]: r[1:4] for r in found} == CONTACTS
    for _, tel, _, email, vtel, vmail in found:
        assert re.fullmatch(r"\+[1-9]\d{6,14}", tel)
        assert (vtel, vmail) == (f"tel:{tel}", f"mailto:{email}")
    assert not ask(store, "ASK { ?p a schema:Person ; schema:jobTitle ?t }")


def test_withheld_graph_has_no_trace_of_people() -> None:
    withheld = load(Settings(withhold_personal_data=True))
    for quad in withheld:
        for term in (quad.subject, quad.predicate, quad.object):
            assert "/id/person/" not in str(term)
            if isinstance(term, ox.BlankNode):
                continue  # a random label, whose hex digits can spell 72713 by chance
            assert not re.search(r"dahlmann|nyman|didi|727 ?13", str(term), re.IGNORECASE)
    assert ask(withheld, """ASK { id:contact-point\\/internationella-relationer
                                     schema:telephone "+46187270000" }""")


def test_municipality_facts(store: ox.Store) -> None:
    assert ask(store, """ASK {
        id:organization\\/uppsala-kommun a schema:GovernmentOrganization , org:FormalOrganization ;
            rdfs:label "Uppsala kommun"@sv , "Uppsala Municipality"@en ;
            schema:telephone "+46187270000" ; intl:phoneAsWritten "018-727 00 00" ;
            owl:sameAs <http://www.wikidata.org/entity/Q59091> ;
            schema:identifier [ schema:propertyID "organisationsnummer" ;
                                schema:value "212000-3005" ] ,
                              [ schema:propertyID "kommunkod" ; schema:value "0380" ] ;
            schema:address [ schema:streetAddress "Stadshusgatan 2" ;
                             schema:addressLocality "Uppsala" ] ,
                           [ schema:postalCode "753 75" ] ;
            org:hasUnit id:unit\\/internationell-och-regional-samverkan .
        id:unit\\/internationell-och-regional-samverkan
            rdfs:label "Enheten för internationell och regional samverkan"@sv .
    }""")


def test_contact_point_gives_the_postal_address_not_the_visiting_one(store: ox.Store) -> None:
    assert rows(store, """
        SELECT ?code ?street WHERE {
            id:contact-point\\/internationella-relationer vcard:hasAddress ?a .
            ?a a schema:PostalAddress ; schema:postalCode ?code .
            OPTIONAL { ?a schema:streetAddress ?street }
        }""") == [("753 75", None)]


def test_policy_and_programme(store: ox.Store) -> None:
    assert ask(store, """ASK {
        id:policy\\/policy-for-internationellt-arbete
            schema:name "Policy för internationellt arbete"@sv ;
            schema:identifier/schema:value "KSN-2014-0129" ;
            dcterms:dateSubmitted "2014-03-05"^^<http://www.w3.org/2001/XMLSchema#date> .
        id:programme\\/internationellt-arbete a schema:Project ;
            intl:hasFocusArea id:focus-area\\/verksamhetsutveckling ;
            schema:subjectOf <%s> .
    }""" % PAGE)


@pytest.mark.parametrize("city, qid", [
    ("frederiksberg", "Q30096"), ("baerum", "Q57076"), ("hameenlinna", "Q202158"),
    ("tartu", "Q13972"), ("daejeon", "Q20921"), ("minneapolis", "Q36091"), ("uppsala", "Q25286"),
])
def test_verified_wikidata_links(store: ox.Store, city: str, qid: str) -> None:
    wikidata = f"http://www.wikidata.org/entity/{qid}"
    assert ask(store, f"ASK {{ id:place\\/{city} schema:sameAs <{wikidata}> }}")


def test_no_unverified_identifiers(store: ox.Store) -> None:
    assert not ask(store, "ASK { id:place\\/hafnarfjordur (owl:sameAs|schema:sameAs) ?x "
                          "FILTER (STRSTARTS(STR(?x), 'http://www.wikidata.org/')) }")
    assert not ask(store, "ASK { ?s ?p <http://www.wikidata.org/entity/Q239> }")
    assert not ask(store, "ASK { ?s ?p <http://www.wikidata.org/entity/Q103725> }")
    assert not ask(store, "ASK { ?s ?p \"2014-03-31\"^^<http://www.w3.org/2001/XMLSchema#date> }")


def test_no_blank_nodes_in_data() -> None:
    settings = Settings()
    for source in source_files(settings):
        if source.path.is_relative_to(settings.data_dir):
            for quad in read_quads(source, settings.base):
                assert not isinstance(quad.subject, ox.BlankNode), source.path
                assert not isinstance(quad.object, ox.BlankNode), source.path
