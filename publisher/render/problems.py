"""What each problem type of our RFC 9457 answers means, for its ``type`` IRI's page.

RFC 9457 §3.1.1: the ``type`` of a problem is an IRI that, dereferenced, should give a
person documentation of that kind of problem. Ours are ``<base>problems/<slug>`` (the
slugs of publisher/errors.py and publisher/sparql.py); ``/problems/<slug>`` answers with
the entry below in Swedish or English, and ``/problems`` lists them all. tests/routes/
test_site.py checks that every slug an error can carry has an entry.
"""

from __future__ import annotations

from typing import NamedTuple


class ProblemType(NamedTuple):
    status: int
    title: tuple[str, str]        # (sv, en)
    explanation: tuple[str, str]  # (sv, en): what it means and what to do


PROBLEM_TYPES: dict[str, ProblemType] = {
    "bad-request": ProblemType(400, (
        "Felaktig begäran", "Bad request"), (
        ("Begäran går inte att tolka: en parameter saknas, förekommer två gånger eller har "
         "ett värde som inte är tillåtet. Svarets detail säger vilken; rätta den och försök "
         "igen."),
        ("The request cannot be read: a parameter is missing, given twice or has a value that "
         "is not allowed. The answer's detail names it; correct it and try again."))),
    "missing-query": ProblemType(400, (
        "Frågan saknas", "The query is missing"), (
        ("En begäran till SPARQL-slutpunkten ska ha exakt en fråga: parametern query (GET "
         "eller formulär) eller en kropp av typen application/sparql-query. GET /sparql utan "
         "några parametrar ger tjänstebeskrivningen."),
        ("A request to the SPARQL endpoint needs exactly one query: the query parameter (GET "
         "or a form) or a body of type application/sparql-query. GET /sparql without any "
         "parameter gives the service description."))),
    "query-syntax": ProblemType(400, (
        "Felaktig SPARQL-fråga", "Malformed SPARQL query"), (
        ("Frågan följer inte SPARQL 1.1:s grammatik. Svaret anger rad och kolumn där tolkningen "
         "stannade."),
        ("The query does not follow the SPARQL 1.1 grammar. The answer gives the line and "
         "column where reading it stopped."))),
    "query-too-long": ProblemType(413, (
        "Frågan är för lång", "The query is too long"), (
        ("Frågetexten är längre än slutpunktens gräns, som svaret och tjänstebeskrivningen "
         "anger. Korta frågan, till exempel med VALUES i stället för många UNION."),
        ("The query text is longer than the endpoint's limit, which the answer and the service "
         "description give. Shorten it, for instance with VALUES instead of many UNIONs."))),
    "update-refused": ProblemType(400, (
        "Uppdateringar tas inte emot", "Updates are not accepted"), (
        ("Slutpunkten är skrivskyddad: SPARQL Update (INSERT, DELETE, LOAD, CLEAR, ...) "
         "utförs aldrig. Uppgifterna ändras i källfilerna av den som förvaltar dem."),
        ("The endpoint is read-only: SPARQL Update (INSERT, DELETE, LOAD, CLEAR, ...) is never "
         "carried out. The data is changed in its source files by its editors."))),
    "query-refused": ProblemType(400, (
        "Frågan avvisades", "Query refused"), (
        ("Frågan ber om något slutpunkten aldrig gör: att hämta data från andra servrar "
         "(SERVICE, FROM eller default-graph-uri med en graf som inte finns här). Fråga bara "
         "efter graferna i den här datamängden; tjänstebeskrivningen listar dem."),
        ("The query asks for something the endpoint never does: reading data from other "
         "servers (SERVICE, or FROM or default-graph-uri naming a graph that is not here). Ask "
         "only for the graphs of this dataset; the service description lists them."))),
    "not-found": ProblemType(404, (
        "Hittades inte", "Not found"), (
        ("Det finns ingen sida eller resurs på den adressen, eller så vet datamängden inget "
         "om den saken. Webbplatskartan (/sitemap.xml) listar varje sida."),
        ("There is no page or resource at that address, or the dataset knows nothing about "
         "that thing. The sitemap (/sitemap.xml) lists every page."))),
    "method-not-allowed": ProblemType(405, (
        "Metoden är inte tillåten", "Method not allowed"), (
        ("Adressen svarar inte på den HTTP-metoden. Rubriken Allow i svaret listar de metoder "
         "som går."),
        ("The address does not answer that HTTP method. The answer's Allow header lists the "
         "methods that do."))),
    "not-acceptable": ProblemType(406, (
        "Formatet finns inte", "Not acceptable"), (
        ("Inget av formaten som begärdes i Accept finns för den här resursen. Svaret listar "
         "de format som finns; begär ett av dem, eller ange ?format=."),
        ("None of the formats the request's Accept asks for is available for this resource. "
         "The answer lists the formats there are; ask for one of them, or use ?format=."))),
    "precondition-failed": ProblemType(412, (
        "Villkoret uppfylls inte", "Precondition failed"), (
        ("Begäran gällde bara om resursen var oförändrad (If-Match eller "
         "If-Unmodified-Since), och den har ändrats, eller har en svag ETag som If-Match "
         "aldrig matchar. Hämta resursen på nytt."),
        ("The request held only if the resource was unchanged (If-Match or "
         "If-Unmodified-Since), and it has changed, or it has a weak ETag, which If-Match "
         "never matches. Fetch the resource again."))),
    "not-in-xml": ProblemType(
        406, ("Svaret går inte att skriva i XML", "Not representable in XML"),
        (("En literal i svaret innehåller ett tecken som XML 1.0 inte kan bära (ett "
          "styrtecken, U+FFFE eller U+FFFF), eller så har en graf ett predikat som RDF/XML "
          "inte kan namnge (dess IRI slutar inte på ett XML-namn). Begär svaret i ett annat "
          "format: SPARQL JSON, CSV eller TSV, eller Turtle, N-Triples eller JSON-LD."),
         ("A literal in the answer holds a character XML 1.0 cannot carry (a control "
          "character, U+FFFE or U+FFFF), or a graph has a predicate RDF/XML cannot name (its "
          "IRI does not end in an XML name). Ask for another format: SPARQL JSON, CSV or "
          "TSV, or Turtle, N-Triples or JSON-LD."))),
    "too-large": ProblemType(413, (
        "Begäran är för stor", "Request too large"), (
        "Begärans kropp är större än serverns gräns. Skicka en mindre kropp.",
        "The request's body is larger than the server's limit. Send a smaller one.")),
    "request-timeout": ProblemType(408, (
        "Begäran kom inte fram i tid", "Request timeout"), (
        ("Begärans huvud och innehåll kom inte fram inom den tid servern väntar på dem, så "
         "anslutningen stängdes. Skicka begäran igen i sin helhet."),
        ("The request's head and body did not arrive within the time the server waits for "
         "them, so the connection was closed. Send the request again, whole."))),
    "range-not-satisfiable": ProblemType(416, (
        "Intervallet ligger utanför filen", "Range not satisfiable"), (
        ("Rubriken Range ber bara om byte efter filens slut. Svarets Content-Range anger "
         "filens längd i byte; be om ett intervall inom den, eller utelämna Range för att få "
         "hela filen."),
        ("The Range header asks only for bytes past the end of the file. The answer's "
         "Content-Range gives the file's length in bytes; ask for a range within it, or "
         "leave out Range to get the whole file."))),
    "uri-too-long": ProblemType(414, (
        "Adressen är för lång", "URI too long"), (
        ("Begärans adress är längre än serverns gräns. En lång SPARQL-fråga skickas med POST "
         "i stället för i adressen."),
        ("The request's address is longer than the server's limit. A long SPARQL query is "
         "sent with POST rather than in the address."))),
    "headers-too-large": ProblemType(431, (
        "Rubrikerna är för stora", "Request header fields too large"), (
        ("Begärans adress och rubriker är tillsammans större än serverns gräns. En lång "
         "SPARQL-fråga skickas med POST i stället för i adressen."),
        ("The request's target and headers together are larger than the server's limit. A "
         "long SPARQL query is sent with POST rather than in the address."))),
    "unsupported-media-type": ProblemType(415, (
        "Innehållstypen stöds inte", "Unsupported media type"), (
        ("Begärans kropp har en Content-Type (eller teckenkodning) som adressen inte tar "
         "emot. SPARQL-slutpunkten tar application/x-www-form-urlencoded och "
         "application/sparql-query i UTF-8."),
        ("The request's body has a Content-Type (or character encoding) the address does not "
         "take. The SPARQL endpoint takes application/x-www-form-urlencoded and "
         "application/sparql-query in UTF-8."))),
    "not-implemented": ProblemType(
        501, ("Metoden finns inte", "Not implemented"),
        (("Servern känner inte till begärans HTTP-metod. Den svarar på GET, HEAD, POST och "
          "OPTIONS."),
         ("The server does not know the request's HTTP method. It answers GET, HEAD, POST "
          "and OPTIONS."))),
    "unavailable": ProblemType(503, (
        "Tjänsten är inte tillgänglig just nu", "Service unavailable"), (
        ("Servern kan inte svara just nu: alla frågeprocesser är upptagna, svaret blev större "
         "än gränsen, eller data laddas om. Försök igen efter den tid rubriken Retry-After "
         "anger, eller begränsa frågan."),
        ("The server cannot answer right now: every query worker is busy, the answer grew past "
         "the limit, or the data is being reloaded. Try again after the time the Retry-After "
         "header gives, or narrow the query."))),
    "query-timeout": ProblemType(503, (
        "Frågan tog för lång tid", "Query timed out"), (
        ("Frågan pågick längre än slutpunktens tidsgräns och avbröts. Gör den mer specifik "
         "(fler kända termer, LIMIT) och försök igen."),
        ("The query ran longer than the endpoint's time limit and was stopped. Make it more "
         "specific (more known terms, LIMIT) and try again."))),
    "query-memory": ProblemType(503, (
        "Frågan tog för mycket minne", "Query took too much memory"), (
        ("Frågan behövde mer minne än en fråga får ta i slutpunkten och avbröts. Gör den mer "
         "specifik, eller bygg inte upp så långa strängar, och försök igen."),
        ("The query needed more memory than one query may take on this endpoint and was "
         "stopped. Make it more specific, or build shorter strings, and try again."))),
    "internal": ProblemType(500, (
        "Internt serverfel", "Internal server error"), (
        ("Något gick fel i servern. Felet är loggat med begärans X-Request-ID; ange det om du "
         "hör av dig."),
        ("Something went wrong in the server. The error is logged with the request's "
         "X-Request-ID; give it if you get in touch."))),
}
