"""Named queries: sparql/<name>.rq files with a header, typed parameters. Pure.

A file starts with comment lines that describe it::

    # title: Twin cities and when the twinning began
    # description: Every twin city of Uppsala with its country and start year.
    # param: country (iri, optional) The country to restrict to, e.g. <https://data.uppsala.se/id/country/ee>

A parameter is a variable of the query (``?country``). Values arrive as text, are checked
against the parameter's type and become RDF terms, which the engine binds by substitution
(SEP-0007) — they are never pasted into the query text. The shipped files write our
IRIs relative to the endpoint (``<id/place/uppsala>``), which the engine resolves against
``<base>sparql``; absolute IRIs under CANONICAL_BASE that an editor writes are rebased,
like the data, when another base is served.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from publisher.config import CANONICAL_BASE
from publisher.errors import BadRequest
from publisher.sparql import ABSOLUTE_IRI, analyse


XSD = "http://www.w3.org/2001/XMLSchema#"
_PARAM = re.compile(r"(?P<name>\w+)\s*\((?P<type>\w+)(?P<optional>,\s*optional)?\)\s*(?P<doc>.*)")
_PARSERS: dict[str, tuple[re.Pattern[str], str]] = {
    "iri": (ABSOLUTE_IRI, ""),
    "string": (re.compile(r"(?s).*"), XSD + "string"),
    "integer": (re.compile(r"[+-]?[0-9]{1,18}"), XSD + "integer"),
    "language": (re.compile(r"[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*"), XSD + "string"),
    "date": (re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}"), XSD + "date"),
}
PARAM_TYPES = tuple(_PARSERS)


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str          # one of PARAM_TYPES
    optional: bool
    description: str

    def bind(self, value: str) -> ox.NamedNode | ox.Literal:
        """The RDF term for a value given as text, or BadRequest naming the parameter."""
        pattern, datatype = _PARSERS[self.type]
        text = value.strip()
        if self.type == "iri" and text.startswith("<") and text.endswith(">"):
            text = text[1:-1]
        if not pattern.fullmatch(text):
            raise BadRequest(f"Parameter {self.name} must be {_ARTICLE[self.type]}, "
                             f"not {value!r}.", parameter=self.name)
        if self.type == "iri":
            return ox.NamedNode(text)
        if self.type == "language":
            text = text.lower()
        return ox.Literal(text, datatype=ox.NamedNode(datatype))


_ARTICLE = {"iri": "an absolute IRI", "string": "a string", "integer": "an integer",
            "language": "a language tag such as sv or en", "date": "a date (YYYY-MM-DD)"}


@dataclass(frozen=True)
class NamedQuery:
    name: str          # the file stem: /api/queries/<name>
    title: str
    description: str
    text: str          # the query, its IRIs under the serving base
    form: str          # SELECT or ASK: the API answers in the SPARQL result formats
    parameters: tuple[Parameter, ...] = ()

    def substitutions(self, values: Mapping[str, str | None]) -> dict[ox.Variable, Any]:
        """SEP-0007 substitutions for the given parameter values; unknown names refused."""
        known = {p.name: p for p in self.parameters}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise BadRequest(f"Unknown parameter(s) for {self.name}: {', '.join(unknown)}.")
        bound: dict[ox.Variable, Any] = {}
        for param in self.parameters:
            value = values.get(param.name)
            if value is None or value == "":
                if not param.optional:
                    raise BadRequest(f"Parameter {param.name} is required.",
                                     parameter=param.name)
                continue
            bound[ox.Variable(param.name)] = param.bind(value)
        return bound


def read_named_query(path: Path, base: str = CANONICAL_BASE) -> NamedQuery:
    """One sparql/<name>.rq file: a header of ``# key: value`` comments, then the query."""
    text = path.read_text(encoding="utf-8")
    header: dict[str, str] = {}
    params: list[Parameter] = []
    key = ""
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        content = line[1:].strip()
        name, sep, value = content.partition(":")
        if sep and name.strip().lower() in ("title", "description", "param"):
            key = name.strip().lower()
            if key == "param":
                match = _PARAM.fullmatch(value.strip())
                if match is None or match["type"] not in _PARSERS:
                    raise ValueError(f"{path}: cannot read parameter {value.strip()!r}; write "
                                     f"'# param: name (type[, optional]) description' with a "
                                     f"type among {', '.join(PARAM_TYPES)}")
                params.append(Parameter(match["name"], match["type"],
                                        bool(match["optional"]), match["doc"]))
            else:
                header[key] = value.strip()
        elif key in ("title", "description") and content:
            header[key] += " " + content
    if not header.get("title"):
        raise ValueError(f"{path}: the header has no '# title:' line")
    if base != CANONICAL_BASE:
        text = text.replace("<" + CANONICAL_BASE, "<" + base)
    form = analyse(text, len(text), ()).form
    if form not in ("SELECT", "ASK"):
        raise ValueError(f"{path}: a named query must be a SELECT or ASK query, not {form}")
    return NamedQuery(path.stem, header["title"], header.get("description", ""), text, form,
                      tuple(params))


def load_named_queries(folder: Path, base: str = CANONICAL_BASE) -> dict[str, NamedQuery]:
    """Every sparql/*.rq file by name, in name order."""
    if not folder.is_dir():
        return {}
    return {path.stem: read_named_query(path, base) for path in sorted(folder.glob("*.rq"))}
