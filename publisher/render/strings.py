"""Every word the HTML pages say that does not come from the data, in Swedish and English.

``UI`` holds the interface strings, one key per string, both languages side by side so a
missing translation is visible here and caught by tests/render/test_html.py. ``TERMS``
labels the common terms of the standard vocabularies (schema.org, ORG, SKOS, ...) whose
own definitions are not in the store; our intl: terms are labelled by ontology/intl.ttl.
"""

from __future__ import annotations

from collections.abc import Mapping

UI: dict[str, tuple[str, str]] = {
    # key: (sv, en)
    "site_name": ("Uppsala kommun – länkade data", "Uppsala Municipality – linked data"),
    "site_tagline": ("Internationellt arbete som öppna länkade data",
                     "International work as linked open data"),
    "skip": ("Hoppa till innehållet", "Skip to content"),
    "nav_label": ("Webbplatsen", "Site"),
    "nav_home": ("Start", "Home"),
    "nav_sparql": ("SPARQL-frågor", "SPARQL queries"),
    "nav_catalog": ("Datakatalog", "Data catalogue"),
    "nav_dumps": ("Ladda ner allt", "Download all"),
    "nav_void": ("Datamängdsbeskrivning (VoID)", "Dataset description (VoID)"),
    "lang_label": ("Språk", "Language"),
    "lang_sv": ("Svenska", "Svenska"),
    "lang_en": ("English", "English"),
    "footer_publisher": ("Utgivare: Uppsala kommun. Data under CC0 1.0.",
                         "Publisher: Uppsala Municipality. Data under CC0 1.0."),
    "footer_accessibility": ("Tillgänglighetsredogörelse", "Accessibility statement"),
    "footer_source": ("Källa: Mer om internationellt arbete (uppsala.se)",
                      "Source: Mer om internationellt arbete (uppsala.se, in Swedish)"),
    "footer_sitemap": ("Webbplatskarta (XML)", "Sitemap (XML)"),
    "external": ("extern länk", "external link"),
    # resource pages
    "type": ("Typ", "Type"),
    "types": ("Typer", "Types"),
    "iri": ("IRI", "IRI"),
    "formats": ("Hämta som data", "Get as data"),
    "formats_intro": ("Samma beskrivning i maskinläsbara format:",
                      "The same description in machine-readable formats:"),
    "group_about": ("Namn och beskrivning", "Name and description"),
    "group_facts": ("Uppgifter", "Details"),
    "group_relations": ("Samband", "Relations"),
    "group_identifiers": ("Identifierare och länkar", "Identifiers and links"),
    "group_sources": ("Källor", "Sources"),
    "group_terms": ("Termer i vokabulären", "Terms in the vocabulary"),
    "incoming": ("Pekar hit", "Links here"),
    "incoming_intro": ("Andra resurser som hänvisar till den här:",
                       "Other resources that refer to this one:"),
    "property": ("Egenskap", "Property"),
    "value": ("Värde", "Value"),
    "from": ("Från", "From"),
    "truncated": ("Bara de första {count} länkarna hit visas.",
                  "Only the first {count} links here are shown."),
    "truncated_query": ("Hämta alla med en SPARQL-fråga", "Get them all with a SPARQL query"),
    "blank_node": ("(namnlös nod)", "(unnamed node)"),
    "in_language": ("på {language}", "in {language}"),
    "resource_description": ("{label}: {types}. Beskrivning som länkade data från Uppsala kommun.",
                             "{label}: {types}. Description as linked data from Uppsala "
                             "Municipality."),
    # landing page
    "landing_title": ("Uppsala kommuns internationella arbete",
                      "Uppsala Municipality's international work"),
    "aim": ("Ledstjärnan", "The guiding aim"),
    "focus_areas": ("Arbetet inriktas bland annat mot", "The work is directed towards, among others"),
    "twin_cities": ("Vänorter", "Twin towns"),
    "twin_cities_intro": ("Uppsala har vänortsavtal med {count} orter.",
                          "Uppsala has twinning agreements with {count} towns."),
    "city": ("Ort", "Town"),
    "country": ("Land", "Country"),
    "since": ("Sedan", "Since"),
    "start_meaning": ("Vad året avser", "What the year refers to"),
    "memberships": ("Medlemskap", "Memberships"),
    "member_since": ("Medlem sedan {year}", "Member since {year}"),
    "policy": ("Styrande dokument", "Governing documents"),
    "contact": ("Kontakt", "Contact"),
    "phone": ("Telefon", "Telephone"),
    "email": ("E-post", "Email"),
    "responsible": ("Vem gör vad", "Who does what"),
    "about_data": ("Om datan", "About the data"),
    "about_data_text": ("Allt på den här sidan hämtas ur datamängden. Varje sak har en egen "
                        "adress (IRI) som fungerar både för människor och för program.",
                        "Everything on this page is read from the dataset. Every thing has "
                        "its own address (IRI) that works for people and programs alike."),
    "dataset": ("Datamängden", "The dataset"),
    "explore": ("Utforska", "Explore"),
    "organization": ("Organisationen", "The organisation"),
    # error page
    "error_heading_404": ("Sidan finns inte", "Page not found"),
    "error_heading_406": ("Formatet finns inte", "Format not available"),
    "error_heading": ("Något gick fel", "Something went wrong"),
    "error_not_found": ("Det finns ingenting publicerat på {path}.",
                        "Nothing is published at {path}."),
    "error_status": ("Statuskod {status}", "Status code {status}"),
    "error_formats": ("Tillgängliga format:", "Available formats:"),
    "error_try": ("Du kan i stället gå till", "You can instead go to"),
    "error_sitemap": ("webbplatskartan med alla sidor", "the sitemap with every page"),
    # accessibility
    "a11y_title": ("Tillgänglighetsredogörelse", "Accessibility statement"),
    # the problem types' pages (render/problems.py)
    "problems_title": ("Felsvarens typer", "The kinds of error answer"),
    "problems_all": ("Alla typer av felsvar", "Every kind of error answer"),
    "problems_rfc": (("Ett felsvar från webbplatsen eller SPARQL-slutpunkten är ett "
                      "JSON-objekt enligt RFC 9457 (application/problem+json). Dess type är "
                      "adressen till en av sidorna ovan."),
                     ("An error answer of the site or the SPARQL endpoint is a JSON object "
                      "under RFC 9457 (application/problem+json). Its type is the address of "
                      "one of the pages above.")),
}

LANGUAGE_NAMES: dict[str, tuple[str, str]] = {
    "sv": ("svenska", "Swedish"), "en": ("engelska", "English"),
    "is": ("isländska", "Icelandic"), "fi": ("finska", "Finnish"), "et": ("estniska", "Estonian"),
    "da": ("danska", "Danish"), "no": ("norska", "Norwegian"), "nb": ("norska", "Norwegian"),
    "ko": ("koreanska", "Korean"), "de": ("tyska", "German"), "fr": ("franska", "French"),
}

_S, _ORG, _SKOS = "http://schema.org/", "http://www.w3.org/ns/org#", \
    "http://www.w3.org/2004/02/skos/core#"
_DCT, _RDFS, _OWL = "http://purl.org/dc/terms/", "http://www.w3.org/2000/01/rdf-schema#", \
    "http://www.w3.org/2002/07/owl#"

#: Labels for standard terms the store has no labels for: IRI -> (sv, en).
TERMS: dict[str, tuple[str, str]] = {
    _S + "name": ("namn", "name"),
    _S + "alternateName": ("annat namn", "alternative name"),
    _S + "description": ("beskrivning", "description"),
    _S + "url": ("webbplats", "website"),
    _S + "sameAs": ("samma som", "same as"),
    _S + "identifier": ("identifierare", "identifier"),
    _S + "telephone": ("telefon", "telephone"),
    _S + "email": ("e-post", "email"),
    _S + "address": ("adress", "address"),
    _S + "streetAddress": ("gatuadress", "street address"),
    _S + "postalCode": ("postnummer", "postcode"),
    _S + "addressLocality": ("ort", "locality"),
    _S + "addressCountry": ("land", "country"),
    _S + "contactPoint": ("kontaktväg", "contact point"),
    _S + "contactType": ("typ av kontakt", "contact type"),
    _S + "location": ("plats", "location"),
    _S + "containedInPlace": ("ligger i", "contained in"),
    _S + "geo": ("koordinater", "coordinates"),
    _S + "latitude": ("latitud", "latitude"),
    _S + "longitude": ("longitud", "longitude"),
    _S + "startDate": ("startdatum", "start date"),
    _S + "endDate": ("slutdatum", "end date"),
    _S + "foundingDate": ("grundad", "founded"),
    _S + "memberOf": ("medlem i", "member of"),
    _S + "member": ("medlem", "member"),
    _S + "subOrganization": ("underorganisation", "sub-organisation"),
    _S + "parentOrganization": ("överordnad organisation", "parent organisation"),
    _S + "publisher": ("utgivare", "publisher"),
    _S + "about": ("handlar om", "about"),
    _S + "subjectOf": ("beskrivs i", "subject of"),
    _S + "propertyID": ("typ av identifierare", "identifier type"),
    _S + "value": ("värde", "value"),
    _S + "givenName": ("förnamn", "given name"),
    _S + "familyName": ("efternamn", "family name"),
    _S + "worksFor": ("arbetar för", "works for"),
    _S + "license": ("licens", "licence"),
    _S + "dateModified": ("ändrad", "modified"),
    _S + "Organization": ("organisation", "organisation"),
    _S + "GovernmentOrganization": ("offentlig organisation", "government organisation"),
    _S + "City": ("stad", "city"),
    _S + "Country": ("land", "country"),
    _S + "Place": ("plats", "place"),
    _S + "Person": ("person", "person"),
    _S + "PostalAddress": ("postadress", "postal address"),
    _S + "ContactPoint": ("kontaktväg", "contact point"),
    _S + "GeoCoordinates": ("koordinater", "coordinates"),
    _S + "PropertyValue": ("identifierare", "identifier"),
    _S + "CreativeWork": ("dokument", "document"),
    _S + "Project": ("projekt", "project"),
    _S + "Dataset": ("datamängd", "dataset"),
    _S + "OrganizationRole": ("roll i organisation", "organisation role"),
    _ORG + "FormalOrganization": ("formell organisation", "formal organisation"),
    _ORG + "OrganizationalUnit": ("organisatorisk enhet", "organisational unit"),
    _ORG + "Membership": ("medlemskap", "membership"),
    _ORG + "hasUnit": ("har enhet", "has unit"),
    _ORG + "unitOf": ("enhet i", "unit of"),
    _ORG + "hasMember": ("har medlem", "has member"),
    _ORG + "memberOf": ("medlem i", "member of"),
    _ORG + "hasMembership": ("har medlemskap", "has membership"),
    _ORG + "member": ("medlem", "member"),
    _ORG + "organization": ("organisation", "organisation"),
    _ORG + "memberDuring": ("medlem under", "member during"),
    _SKOS + "prefLabel": ("föredragen benämning", "preferred label"),
    _SKOS + "definition": ("definition", "definition"),
    _SKOS + "inScheme": ("ingår i begreppsschema", "in scheme"),
    _SKOS + "topConceptOf": ("toppbegrepp i", "top concept of"),
    _SKOS + "hasTopConcept": ("har toppbegrepp", "has top concept"),
    _SKOS + "Concept": ("begrepp", "concept"),
    _SKOS + "ConceptScheme": ("begreppsschema", "concept scheme"),
    _DCT + "source": ("källa", "source"),
    _DCT + "identifier": ("identifierare", "identifier"),
    _DCT + "title": ("titel", "title"),
    _DCT + "description": ("beskrivning", "description"),
    _DCT + "publisher": ("utgivare", "publisher"),
    _DCT + "license": ("licens", "licence"),
    _DCT + "relation": ("relaterad till", "related to"),
    _DCT + "hasPart": ("har del", "has part"),
    _DCT + "type": ("typ", "type"),
    _DCT + "issued": ("utgiven", "issued"),
    _DCT + "modified": ("ändrad", "modified"),
    _RDFS + "label": ("benämning", "label"),
    _RDFS + "comment": ("kommentar", "comment"),
    _RDFS + "seeAlso": ("se även", "see also"),
    _RDFS + "isDefinedBy": ("definieras av", "defined by"),
    _OWL + "sameAs": ("samma som (OWL)", "same as (OWL)"),
}


def table(lang: str) -> Mapping[str, str]:
    """The UI strings in one language (templates see it as ``t``)."""
    index = 0 if lang == "sv" else 1
    return {key: pair[index] for key, pair in UI.items()}


TABLES: dict[str, Mapping[str, str]] = {lang: table(lang) for lang in ("sv", "en")}


def term_label(iri: str, lang: str) -> str | None:
    pair = TERMS.get(iri)
    return None if pair is None else pair[0 if lang == "sv" else 1]


def language_name(code: str, lang: str) -> str:
    pair = LANGUAGE_NAMES.get(code.split("-")[0].lower())
    return code if pair is None else pair[0 if lang == "sv" else 1]
