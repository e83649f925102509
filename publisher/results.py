"""Streaming serializers for SPARQL results: JSON, XML, CSV and TSV. Pure.

pyoxigraph's own ``QuerySolutions.serialize`` writes a whole result and cannot stop at a
row limit, so SELECT and ASK results are written here, one row at a time, exactly as

* SPARQL 1.1 Query Results JSON Format  (https://www.w3.org/TR/sparql11-results-json/)
* SPARQL Query Results XML Format       (https://www.w3.org/TR/rdf-sparql-XMLres/)
* SPARQL 1.1 Query Results CSV and TSV  (https://www.w3.org/TR/sparql11-results-csv-tsv/)

say. ``solutions(variables, rows, name)`` yields bytes: the head, one piece per row, the tail.
A row is anything indexable by variable name that answers ``None`` for unbound (pyoxigraph's
QuerySolution is). The W3C csv-tsv-res and json-res tests check these functions.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import pyoxigraph as ox

from publisher.errors import NotAcceptable
from publisher.negotiation import BY_NAME

XSD = "http://www.w3.org/2001/XMLSchema#"
XSD_STRING = XSD + "string"
RDF_LANG_STRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"
RESULTS_NS = "http://www.w3.org/2005/sparql-results#"

#: Turtle's number and boolean shorthands, usable in TSV when the lexical form matches.
_TURTLE_SHORTHAND = {
    XSD + "integer": re.compile(r"[+-]?[0-9]+\Z"),
    XSD + "decimal": re.compile(r"[+-]?[0-9]*\.[0-9]+\Z"),
    XSD + "double": re.compile(r"[+-]?([0-9]+\.[0-9]*|\.?[0-9]+)[eE][+-]?[0-9]+\Z"),
    XSD + "boolean": re.compile(r"(true|false)\Z"),
}


# -- JSON ----------------------------------------------------------------------------------

def _json_term(term: Any) -> dict[str, Any]:
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, ox.Literal):
        out: dict[str, Any] = {"type": "literal", "value": term.value}
        if term.language:
            out["xml:lang"] = term.language
        elif term.datatype.value != XSD_STRING:
            out["datatype"] = term.datatype.value
        return out
    if isinstance(term, ox.Triple):
        return {"type": "triple", "value": {"subject": _json_term(term.subject),
                                            "predicate": _json_term(term.predicate),
                                            "object": _json_term(term.object)}}
    raise TypeError(f"not an RDF term: {term!r}")


def _json(variables: Sequence[str], rows: Iterable[Any]) -> Iterator[bytes]:
    yield (b'{"head":{"vars":' + json.dumps(list(variables)).encode()
           + b'},"results":{"bindings":[')
    separator = b"\n"
    for row in rows:
        binding = {v: _json_term(row[v]) for v in variables if row[v] is not None}
        yield separator + json.dumps(binding, ensure_ascii=False).encode()
        separator = b",\n"
    yield b"\n]}}\n"


# -- XML -----------------------------------------------------------------------------------

#: what XML 1.0 cannot carry at all, not even as a character reference
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class NotInXml(NotAcceptable):
    """A literal holds a character XML 1.0 cannot carry (U+0000-U+0008, U+000B, U+000C,
    U+000E-U+001F, U+FFFE, U+FFFF): the answer is refused rather than written malformed or
    with another value. (Raised in a worker, it keeps its status: evaluate.run_job.)"""
    title = "Not representable in XML"
    slug = "not-in-xml"


def _xml_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _xml_unprintable(text: str) -> str:
    """A literal's value with a control character (``_xml_term`` sends only those here:
    ``isprintable`` passes nearly every value in one fast scan). A CR is written as a
    reference, as a parser reads a raw one as LF; what XML cannot carry is NotInXml. (IRIs
    and blank node ids hold no such character.)"""
    found = _NOT_XML.search(text)
    if found is not None:
        raise NotInXml([BY_NAME[n].media_type for n in ("json", "csv", "tsv")],
                       f"A literal in the answer holds the character U+{ord(found.group()):04X}"
                       ", which XML 1.0 cannot carry; ask for SPARQL JSON, CSV or TSV.")
    return _xml_text(text).replace("\r", "&#13;")


#: the same in UTF-8, in pyoxigraph's own XML (no byte of a longer sequence is below 0x80)
_NOT_XML_BYTES = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]|\xef\xbf[\xbe\xbf]")


def xml_checked(data: bytes) -> bytes:
    """XML that pyoxigraph wrote (``NATIVE_FORMATS``), as ``_xml_unprintable`` writes it: a
    raw CR as ``&#13;`` (pyoxigraph writes no line break of its own, so a CR is in a
    literal), and NotInXml for a character XML cannot carry."""
    found = _NOT_XML_BYTES.search(data)
    if found is not None:
        _xml_unprintable(found.group().decode("utf-8"))  # raises NotInXml, naming it
    return data.replace(b"\r", b"&#13;") if b"\r" in data else data


#: the end of an IRI that RDF/XML can write as an element name: an XML name (NCName) that
#: does not start with a digit, a dot or a hyphen
_NCNAME_END = re.compile(r"[A-Za-z_\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u02ff\u0370-\u037d"
                         r"\u037f-\u1fff\u200c\u200d\u2070-\u218f\u2c00-\u2fef\u3001-\ud7ff"
                         r"\uf900-\ufdcf\ufdf0-\ufffd][\w.\-\u00b7\u0300-\u036f\u203f\u2040]*$")


def xml_named(triples: Iterable[Any]) -> Iterator[Any]:
    """``triples``, refusing (NotInXml) one whose predicate RDF/XML cannot write: it is an
    element name, so the IRI must end in an XML name (``<http://x/1>`` does not; pyoxigraph
    would write a malformed ``<oxprefix:>`` element)."""
    for triple in triples:
        if _NCNAME_END.search(triple.predicate.value) is None:
            raise NotInXml([BY_NAME[n].media_type for n in ("turtle", "ntriples", "jsonld")],
                           f"The predicate <{triple.predicate.value}> cannot be written in "
                           "RDF/XML, which needs it to end in an XML name; ask for Turtle, "
                           "N-Triples or JSON-LD.")
        yield triple


def native_checked(body: bytes, fmt: str) -> bytes:
    """What pyoxigraph wrote in ``fmt`` (``NATIVE_FORMATS``), XML through ``xml_checked``."""
    return xml_checked(body) if fmt == "xml" else body


def native_writer(sink: Any, fmt: str) -> Any:
    """``sink`` for pyoxigraph's writer of ``fmt``, XML through ``XmlChecked``."""
    return XmlChecked(sink) if fmt == "xml" else sink


class XmlChecked:
    """A file-like object for pyoxigraph's XML writer that passes what it writes on to
    ``sink`` through ``xml_checked`` (U+FFFE and U+FFFF are three bytes, which two writes
    may split: the last two bytes of each write are checked with the next)."""

    def __init__(self, sink: Any) -> None:
        self.sink, self.tail = sink, b""

    def write(self, data: bytes) -> int:
        if self.tail and _NOT_XML_BYTES.search(self.tail + data[:2]):
            xml_checked(self.tail + data[:2])
        self.tail = bytes(data[-2:])
        self.sink.write(xml_checked(bytes(data)))
        return len(data)

    def flush(self) -> None:
        pass


def _xml_attr(text: str) -> str:
    return _xml_text(text).replace('"', "&quot;")


def _xml_term(term: Any) -> str:
    if isinstance(term, ox.NamedNode):
        return f"<uri>{_xml_text(term.value)}</uri>"
    if isinstance(term, ox.BlankNode):
        return f"<bnode>{_xml_text(term.value)}</bnode>"
    if isinstance(term, ox.Literal):
        value = term.value
        value = _xml_text(value) if value.isprintable() else _xml_unprintable(value)
        if term.language:
            return f'<literal xml:lang="{_xml_attr(term.language)}">{value}</literal>'
        if term.datatype.value != XSD_STRING:
            return f'<literal datatype="{_xml_attr(term.datatype.value)}">{value}</literal>'
        return f"<literal>{value}</literal>"
    if isinstance(term, ox.Triple):
        return (f"<triple><subject>{_xml_term(term.subject)}</subject>"
                f"<predicate>{_xml_term(term.predicate)}</predicate>"
                f"<object>{_xml_term(term.object)}</object></triple>")
    raise TypeError(f"not an RDF term: {term!r}")


_XML_HEAD = f'<?xml version="1.0" encoding="UTF-8"?>\n<sparql xmlns="{RESULTS_NS}">\n'


def _xml(variables: Sequence[str], rows: Iterable[Any]) -> Iterator[bytes]:
    head = "".join(f'<variable name="{_xml_attr(v)}"/>' for v in variables)
    yield f"{_XML_HEAD}<head>{head}</head>\n<results>\n".encode()
    for row in rows:
        bindings = "".join(f'<binding name="{_xml_attr(v)}">{_xml_term(row[v])}</binding>'
                           for v in variables if row[v] is not None)
        yield f"<result>{bindings}</result>\n".encode()
    yield b"</results>\n</sparql>\n"


# -- CSV -----------------------------------------------------------------------------------

def _csv_field(term: Any) -> str:
    if term is None:
        return ""
    if isinstance(term, ox.BlankNode):
        text = "_:" + term.value
    elif isinstance(term, (ox.NamedNode, ox.Literal)):
        text = term.value
    else:
        text = _tsv_term(term)
    if any(c in text for c in '",\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _csv(variables: Sequence[str], rows: Iterable[Any]) -> Iterator[bytes]:
    yield (",".join(_csv_field(ox.Literal(v)) for v in variables) + "\r\n").encode()
    for row in rows:
        yield (",".join(_csv_field(row[v]) for v in variables) + "\r\n").encode()


# -- TSV -----------------------------------------------------------------------------------

_TSV_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r",
                              "\t": "\\t"})


def _tsv_term(term: Any) -> str:
    if term is None:
        return ""
    if isinstance(term, ox.NamedNode):
        return f"<{term.value}>"
    if isinstance(term, ox.BlankNode):
        return f"_:{term.value}"
    if isinstance(term, ox.Literal):
        datatype = term.datatype.value
        shorthand = _TURTLE_SHORTHAND.get(datatype)
        if shorthand is not None and shorthand.match(term.value):
            return term.value
        quoted = '"' + term.value.translate(_TSV_ESCAPES) + '"'
        if term.language:
            return f"{quoted}@{term.language}"
        if datatype not in (XSD_STRING, RDF_LANG_STRING):
            return f"{quoted}^^<{datatype}>"
        return quoted
    if isinstance(term, ox.Triple):
        return (f"<< {_tsv_term(term.subject)} {_tsv_term(term.predicate)} "
                f"{_tsv_term(term.object)} >>")
    raise TypeError(f"not an RDF term: {term!r}")


def _tsv(variables: Sequence[str], rows: Iterable[Any]) -> Iterator[bytes]:
    yield ("\t".join("?" + v for v in variables) + "\n").encode()
    for row in rows:
        yield ("\t".join(_tsv_term(row[v]) for v in variables) + "\n").encode()


# -- entry points --------------------------------------------------------------------------

_SOLUTION_WRITERS: dict[str, Callable[[Sequence[str], Iterable[Any]], Iterator[bytes]]] = {
    "json": _json, "xml": _xml, "csv": _csv, "tsv": _tsv,
}


SOLUTION_FORMATS = frozenset(_SOLUTION_WRITERS)
#: result formats that pyoxigraph writes with the same data as this module (its CSV and TSV
#: differ: quoted triples), so a whole answer can be written by its faster serializer
NATIVE_FORMATS = {"json": ox.QueryResultsFormat.JSON, "xml": ox.QueryResultsFormat.XML}


def solutions(variables: Sequence[str], rows: Iterable[Any], name: str) -> Iterator[bytes]:
    """A SELECT result in the result format ``name`` (json, xml, csv, tsv), piece by piece."""
    return _SOLUTION_WRITERS[name](variables, rows)


def boolean(value: bool, name: str) -> bytes:
    """An ASK result. CSV and TSV have no boolean form; they get one column ``_askResult``
    holding true or false, as several stores do (the W3C note leaves it undefined)."""
    word = "true" if value else "false"
    if name == "json":
        return f'{{"head":{{}},"boolean":{word}}}\n'.encode()
    if name == "xml":
        return f"{_XML_HEAD}<head/>\n<boolean>{word}</boolean>\n</sparql>\n".encode()
    if name == "csv":
        return f"_askResult\r\n{word}\r\n".encode()
    return f"?_askResult\n{word}\n".encode()
