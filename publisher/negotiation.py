"""Formats as data, and content negotiation over them. Pure: no web framework here.

One table, ``FORMATS``, says for every representation we serve its name, media type,
file extension and whether it is RDF, a SPARQL result format or HTML. Everything else
(suffix look-up, ``?format=``, Accept parsing, Link headers) reads from it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from publisher.errors import NotAcceptable


@dataclass(frozen=True)
class Format:
    name: str          # short name, as in ?format=
    media_type: str    # the canonical media type we answer with
    extension: str     # file suffix, without the dot
    kind: str          # "rdf", "results" or "html"
    aliases: tuple[str, ...] = ()  # other media types clients send for it
    text: bool = True  # charset=utf-8 belongs on the Content-Type

    @property
    def content_type(self) -> str:
        return f"{self.media_type}; charset=utf-8" if self.text else self.media_type


FORMATS: tuple[Format, ...] = (
    Format("turtle", "text/turtle", "ttl", "rdf", ("application/x-turtle",)),
    # JSON-LD is the JSON of RDF: a client asking for JSON of a graph gets it (a SELECT
    # offers no RDF format, so there application/json stays the SPARQL results' JSON)
    Format("jsonld", "application/ld+json", "jsonld", "rdf", ("application/json",)),
    Format("rdfxml", "application/rdf+xml", "rdf", "rdf", ("application/xml", "text/xml")),
    Format("ntriples", "application/n-triples", "nt", "rdf", ("text/plain",)),
    Format("html", "text/html", "html", "html", ("application/xhtml+xml",)),
    Format("json", "application/sparql-results+json", "srj", "results", ("application/json",)),
    Format("xml", "application/sparql-results+xml", "srx", "results",
           ("application/xml", "text/xml")),
    Format("csv", "text/csv", "csv", "results"),
    Format("tsv", "text/tab-separated-values", "tsv", "results"),
)

BY_NAME = {f.name: f for f in FORMATS}
BY_EXTENSION = {f.extension: f for f in FORMATS}

#: What a resource document can be, in order of preference on ties; Turtle is the default.
DOCUMENT_FORMATS: tuple[Format, ...] = tuple(f for f in FORMATS if f.kind in ("rdf", "html"))
RDF_FORMATS: tuple[Format, ...] = tuple(f for f in FORMATS if f.kind == "rdf")
RESULT_FORMATS: tuple[Format, ...] = tuple(f for f in FORMATS if f.kind == "results")


@dataclass(frozen=True)
class MediaRange:
    type: str
    subtype: str
    q: float
    specificity: int  # 0 for */*, 1 for type/*, 2 for type/subtype, 3 with parameters

    def matches(self, media_type: str) -> bool:
        major, _, minor = media_type.partition("/")
        return (self.type in ("*", major)) and (self.subtype in ("*", minor))


def parse_accept(header: str | None) -> list[MediaRange]:
    """Parse an Accept header; unreadable members are skipped, as RFC 9110 allows."""
    if not header or not header.strip():
        return [MediaRange("*", "*", 1.0, 0)]
    ranges = []
    for member in header.split(","):
        parts = [p.strip() for p in member.split(";")]
        media = parts[0].lower()
        if "/" not in media:
            continue
        major, _, minor = media.partition("/")
        if not major or not minor or (major == "*" and minor != "*"):
            continue
        q, params = 1.0, 0
        for param in parts[1:]:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = min(max(float(value.strip()), 0.0), 1.0)
                except ValueError:
                    q = 0.0
            elif key.strip():
                params = 1
        specificity = 0 if major == "*" else 1 if minor == "*" else 2 + params
        ranges.append(MediaRange(major, minor, q, specificity))
    return ranges


def quality(ranges: Sequence[MediaRange], fmt: Format) -> float:
    """The q-value the client gives ``fmt``: the most specific matching range decides.

    Aliases (e.g. text/plain for N-Triples) count only when named exactly, so that a
    wildcard such as text/* cannot pick RDF/XML through its text/xml alias.
    """
    best: MediaRange | None = None
    for candidate in ranges:
        exact = candidate.specificity >= 2
        names = (fmt.media_type, *fmt.aliases) if exact else (fmt.media_type,)
        if any(candidate.matches(name) for name in names) and (
            best is None or candidate.specificity > best.specificity
        ):
            best = candidate
    return best.q if best is not None else 0.0


def choose_format(accept: str | None, offered: Iterable[Format],
                  html_needs_preference: bool = True) -> Format:
    """Pick the offered format the client prefers; ties go to the earlier offer.

    With ``html_needs_preference`` HTML is chosen only when the client names it (or
    text/*) with a q above every other offer: ``*/*`` alone gets the first (RDF) format.
    """
    return _choose_format(accept, tuple(offered), html_needs_preference)


@lru_cache(maxsize=1024)
def _choose_format(accept: str | None, offered: tuple[Format, ...],
                   html_needs_preference: bool) -> Format:
    """choose_format, remembered: clients send few distinct Accept headers, and this runs on
    every request (a bounded cache; an unusual header costs one parse)."""
    ranges = parse_accept(accept)
    scored = []
    for index, fmt in enumerate(offered):
        q = quality(ranges, fmt)
        if q <= 0:
            continue
        if fmt.kind == "html" and html_needs_preference and not _names_html(ranges):
            q = min(q, 0.001)  # acceptable, but only as a last resort
        scored.append((-q, index, fmt))
    if not scored:
        raise NotAcceptable([f.media_type for f in offered])
    return min(scored)[2]


def _names_html(ranges: Sequence[MediaRange]) -> bool:
    return any(r.type == "text" and r.subtype in ("html", "*") and r.q > 0 for r in ranges) or any(
        r.type == "application" and r.subtype == "xhtml+xml" and r.q > 0 for r in ranges
    )


def by_name_or_extension(token: str, offered: Iterable[Format]) -> Format | None:
    """Resolve ``?format=`` values: a short name, an extension or a media type."""
    token = token.strip().lower()
    for fmt in offered:
        if token in (fmt.name, fmt.extension, fmt.media_type, *fmt.aliases):
            return fmt
    return None


def choose_language(accept_language: str | None, offered: Sequence[str]) -> str:
    """Pick sv or en from Accept-Language; the first offered language is the default."""
    best, best_q = offered[0], 0.0
    if accept_language:
        for member in accept_language.split(","):
            tag, _, params = member.strip().partition(";")
            tag = tag.strip().lower()
            q = 1.0
            if params.strip().startswith("q="):
                try:
                    q = float(params.strip()[2:])
                except ValueError:
                    q = 0.0
            primary = tag.split("-")[0]
            if primary in offered and q > best_q:
                best, best_q = primary, q
    return best


@lru_cache(maxsize=256)
def takes_gzip(accept_encoding: bytes | None) -> bool:
    """Whether a request's Accept-Encoding takes gzip (RFC 9110 §12.5.3): ``gzip`` (or
    ``x-gzip``), in any case, with a weight above 0, or else ``*`` with one. Codings are
    split at commas and their weights read as Accept's are (a weight that is no number is
    0); no header, or an empty one, takes none but identity."""
    if not accept_encoding:
        return False
    named: float | None = None
    anything: float | None = None
    for member in accept_encoding.split(b","):
        coding, _, params = member.partition(b";")
        coding = coding.strip().lower()
        weight = 1.0
        for param in params.split(b";"):
            name, _, value = param.strip().partition(b"=")
            if name.strip().lower() == b"q":
                try:
                    weight = float(value.strip())
                except ValueError:
                    weight = 0.0
        if coding in (b"gzip", b"x-gzip"):
            named = weight if named is None else max(named, weight)
        elif coding == b"*":
            anything = weight
    if named is not None:
        return named > 0
    return anything is not None and anything > 0
