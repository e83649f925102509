"""What a portal validates a DCAT catalogue against, as functions over an rdflib Graph. Pure.

Shape sets (pyshacl, ``inference="none"``), from the copies in tests/conformance/ (see its
README for source, commit, licence and the upstream defects worked around here):

    dcat-ap-3.0.1         DCAT-AP 3.0.1 html/shacl/shapes.ttl                  violations
    dcat-ap-3.0.1-range   html/shacl/range.ttl, EU code lists as background    violations
    dcat-ap-se-3.0.1      DIGG's additions on the DCAT-AP 3.0.0 shapes, DIGG's
                          overrides applied (results they list are dropped)    violations
    dcat-ap-3.0.1-recommended  html/shacl/shapes_recommended.ttl               warnings

and DCAT-AP-SE 3.0.1's own specification, the RDForms bundle: ``bundle_requirements``
derives per class every property with a minimum (mandatory) or preferred (recommended)
cardinality, and ``check_bundle`` counts them on every instance.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import rdflib
from rdflib.namespace import RDF, SH

from publisher.config import PACKAGE_ROOT
from publisher.namespaces import STANDARD_PREFIXES

CONFORMANCE = PACKAGE_ROOT / "tests" / "conformance"
SHAPES_301 = "dcat-ap/releases/3.0.1/html/shacl/"
VOCABULARIES = ("data-theme-skos.rdf", "language.rdf", "access-right-skos.rdf",
                "frequency.rdf", "file-type.rdf")
#: name -> (shape files, EU code lists as background?, DIGG overrides?, severity)
SHAPE_SETS: dict[str, tuple[tuple[str, ...], bool, bool, str]] = {
    "dcat-ap-3.0.1": ((SHAPES_301 + "shapes.ttl",), False, False, "Violation"),
    "dcat-ap-3.0.1-range": ((SHAPES_301 + "range.ttl",), True, False, "Violation"),
    "dcat-ap-se-3.0.1": (("dcat-ap/releases/3.0.0/shacl/dcat-ap-SHACL.ttl",
                          "dcat-ap-se/shacl/dcat-ap-se-additions.ttl"), False, True, "Violation"),
    "dcat-ap-3.0.1-recommended": ((SHAPES_301 + "shapes_recommended.ttl",), False, False,
                                  "Warning"),
}
BUNDLE = "dcat-ap-se/3.0.1/bundle.json"
#: bundle.json's prefixes: ours (render/rdf.py) plus the DCAT-AP-only ones
PREFIXES = {**STANDARD_PREFIXES,
            "odrs": "http://schema.theodi.org/odrs#", "locn": "http://www.w3.org/ns/locn#",
            "dcatap": "http://data.europa.eu/r5r/", "spdx": "http://spdx.org/rdf/terms#"}
#: bundle.json group id -> the class whose instances it describes.
BUNDLE_CLASSES = {
    "dcat:Catalog": "http://www.w3.org/ns/dcat#Catalog",
    "dcat:Dataset": "http://www.w3.org/ns/dcat#Dataset",
    "dcat:Distribution": "http://www.w3.org/ns/dcat#Distribution",
    "dcat:DataService": "http://www.w3.org/ns/dcat#DataService",
    "dcat:foaf:Agent": "http://xmlns.com/foaf/0.1/Agent",
    "dcat:contactPoint": "http://www.w3.org/2006/vcard/ns#Kind",
}


@dataclass(frozen=True)
class Finding:
    source: str     # shape set or "bundle.json"
    severity: str   # "Violation" or "Warning"
    focus: str
    path: str
    message: str

    def to_json(self) -> dict[str, str]:
        return dict(vars(self))


_cache: dict[str, Any] = {}
_lock = threading.Lock()


def available(root: Path = CONFORMANCE) -> bool:
    return (root / BUNDLE).is_file()


def _shapes(name: str, root: Path) -> rdflib.Graph:
    key = f"shapes:{root}:{name}"
    with _lock:
        if key not in _cache:
            graph = rdflib.Graph()
            for file in SHAPE_SETS[name][0]:
                graph.parse(root / file, format="turtle")
            _cache[key] = graph
        return _cache[key]  # type: ignore[no-any-return]


def vocabularies(root: Path = CONFORMANCE) -> rdflib.Graph:
    """The EU code lists (about 5 MB of RDF/XML), parsed once per process."""
    key = f"vocab:{root}"
    with _lock:
        if key not in _cache:
            graph = rdflib.Graph()
            for file in VOCABULARIES:
                graph.parse(root / "eu-vocabularies" / file, format="xml")
            _cache[key] = graph
        return _cache[key]  # type: ignore[no-any-return]


def overrides(root: Path = CONFORMANCE) -> list[tuple[str, str]]:
    table = json.loads((root / "dcat-ap-se/shacl/dcat-ap-se-overrides.json").read_text())
    return [(entry["path"], constraint) for entry in table["overrides"]
            for constraint in entry["ignoreConstraints"]]


def run_shapes(data: rdflib.Graph, name: str, root: Path = CONFORMANCE) -> list[Finding]:
    """Validate ``data`` against one shape set; the set's severity or worse is reported."""
    import pyshacl  # noqa: PLC0415  (slow import, only when validating)

    files, background, use_overrides, severity = SHAPE_SETS[name]
    graph = rdflib.Graph()
    graph += data
    if background:
        graph += vocabularies(root)
    _conforms, report, _text = pyshacl.validate(graph, shacl_graph=_shapes(name, root),
                                                inference="none", allow_warnings=True)
    dropped = set(overrides(root)) if use_overrides else set()
    found = []
    for result in report.subjects(RDF.type, SH.ValidationResult):
        level = str(report.value(result, SH.resultSeverity)).rsplit("#", 1)[-1]
        path = str(report.value(result, SH.resultPath))
        component = str(report.value(result, SH.sourceConstraintComponent)).rsplit("#", 1)[-1]
        if (path, component) in dropped:
            continue
        if severity == "Violation" and level != "Violation":
            continue
        found.append(Finding(name, level, str(report.value(result, SH.focusNode)), path,
                             str(report.value(result, SH.resultMessage))))
    return sorted(found, key=lambda f: (f.focus, f.path, f.message))


def _expand(name: str) -> str:
    if name.startswith(("http://", "https://")):
        return name
    prefix, _, local = name.partition(":")
    return PREFIXES[prefix] + local


def _resolve(item: Any, templates: dict[str, Any]) -> dict[str, Any]:
    template = templates.get(item, {}) if isinstance(item, str) else item
    if "extends" in template:
        return {**_resolve(template["extends"], templates),
                **{k: v for k, v in template.items() if k != "extends"}}
    return dict(template)


@dataclass(frozen=True)
class Requirement:
    path: tuple[str, ...]  # property chain from the class instance
    minimum: int
    preferred: int
    depends: tuple[str, str] | None = None  # applies only where (property, value) holds


def bundle_requirements(root: Path = CONFORMANCE) -> dict[str, list[Requirement]]:
    """Per class IRI, every property chain with a min (mandatory) or pref (recommended)."""
    templates = {t["id"]: t for t in json.loads((root / BUNDLE).read_text())["templates"]
                 if "id" in t}
    out: dict[str, list[Requirement]] = {}
    for group_id, class_iri in BUNDLE_CLASSES.items():
        out[class_iri] = list(_requirements(templates[group_id]["items"], (), templates))
    return out


def _requirements(items: list[Any], chain: tuple[str, ...], templates: dict[str, Any]) -> Any:
    for item in items:
        template = _resolve(item, templates)
        card = template.get("cardinality") or {}
        prop = template.get("property")
        if template.get("type") == "group" and prop is None:  # e.g. the dcterms:format choice
            props = {_resolve(i, templates).get("property") for i in template["items"]}
            props.discard(None)
            for p in sorted(cast("set[str]", props)):  # names only: None is discarded
                yield Requirement(chain + (_expand(p),), card.get("min", 0), card.get("pref", 0))
            continue
        if prop is None:
            continue
        path = chain + (_expand(prop),)
        deps = template.get("deps")
        depends = (_expand(deps[0]), deps[1]) if deps else None  # e.g. HVD category
        if card.get("min", 0) or card.get("pref", 0):
            yield Requirement(path, card.get("min", 0), card.get("pref", 0), depends)
        if template.get("type") == "group" and template.get("items"):
            yield from _requirements(template["items"], path, templates)


def _values(graph: rdflib.Graph, node: Any, path: tuple[str, ...]) -> list[Any]:
    nodes = [node]
    for step in path:
        nodes = [o for n in nodes for o in graph.objects(n, rdflib.URIRef(step))]
    return nodes


def check_bundle(graph: rdflib.Graph, root: Path = CONFORMANCE) -> list[Finding]:
    """Mandatory properties missing (Violation) and recommended ones missing (Warning).

    A nested requirement (e.g. spdx:checksum / spdx:algorithm) applies only where the
    parent value exists: the parent's own cardinality decides whether that must be."""
    found = []
    for class_iri, requirements in bundle_requirements(root).items():
        # rdflib types subjects as Node, which has no order; they are Identifiers, which do
        for node in sorted(set(graph.subjects(  # type: ignore[type-var]
                RDF.type, rdflib.URIRef(class_iri)))):
            for req in requirements:
                parents = _values(graph, node, req.path[:-1])
                if req.depends and rdflib.URIRef(req.depends[1]) not in _values(
                        graph, node, req.depends[:1]):
                    continue
                for parent in parents:
                    count = len(_values(graph, parent, req.path[-1:]))
                    if count >= max(req.minimum, req.preferred, 1):
                        continue
                    severity = "Violation" if count < req.minimum else "Warning"
                    kind = "mandatory" if severity == "Violation" else "recommended"
                    found.append(Finding("bundle.json", severity, str(node), " / ".join(req.path),
                                         f"{kind} property missing on <{parent}>"))
    return found
