"""The report of ``publisher validate``: what a finding is and how a report reads.

    Finding   one problem: which check found it, how severe, where (file:line:column, focus
              resource, property) and what
    Report    the findings, the files checked and the triples read; ``ok`` unless a finding
              blocks (an error or a violation); ``to_text()`` for the terminal (one line per
              finding, IRIs compacted by the prefix table, then a summary), ``to_json()``

validate.py runs the checks and builds the report; reload.py prints it when an edit is
refused. Pure: no RDF library, no web framework.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from publisher.namespaces import STANDARD_PREFIXES

BLOCKING = frozenset({"error", "violation"})
#: compact IRIs in the report, from the one prefix table (namespaces.py)
PREFIXES = {f"{name}:": namespace for name, namespace in STANDARD_PREFIXES.items()}


@dataclass(frozen=True)
class Finding:
    check: str  # syntax | read | empty | shacl | datatype | described | labels | blank-node
    severity: str  # error | violation | warning | info
    message: str
    focus: str | None = None  # the resource concerned, as a full IRI (or _:label)
    path: str | None = None  # the property concerned, as a full IRI ("^iri" for inverse)
    file: str | None = None  # e.g. "data/twin-cities.ttl"
    line: int | None = None
    column: int | None = None

    def to_text(self) -> str:
        where = self.file or ""
        if where and self.line:
            where += f":{self.line}" + (f":{self.column}" if self.column else "")
        kind = self.severity if self.check == "shacl" else self.check
        subject = " ".join(x for x in (_angle(self.focus), _compact(self.path)) if x)
        parts = [p for p in (where, kind, subject, self.message) if p]
        return ": ".join(parts)


@dataclass(frozen=True)
class Report:
    findings: tuple[Finding, ...]
    files: tuple[str, ...]  # the files that were checked, as displayed
    triples: int

    @property
    def ok(self) -> bool:
        return not any(f.severity in BLOCKING for f in self.findings)

    def to_text(self) -> str:
        lines = [f.to_text() for f in self.findings]
        lines.append(self._summary())
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "summary": self._summary(), "files": list(self.files),
                "triples": self.triples, "findings": [asdict(f) for f in self.findings]}

    def _summary(self) -> str:
        counts: dict[str, int] = {}
        for finding in self.findings:
            counts[finding.severity] = counts.get(finding.severity, 0) + 1
        detail = ", ".join(f"{n} {s}{'s' if n != 1 else ''}" for s, n in sorted(counts.items()))
        verdict = "OK" if self.ok else "FAILED"
        return (f"{verdict}: {len(self.files)} files, {self.triples} triples, "
                f"{detail or 'no findings'}")


def _angle(iri: str | None) -> str | None:
    if iri is None:
        return None
    return iri if iri.startswith("_:") else f"<{iri}>"


def _compact(iri: str | None) -> str | None:
    if iri is None:
        return None
    inverse, bare = ("^", iri[1:]) if iri.startswith("^") else ("", iri)
    for prefix, namespace in PREFIXES.items():
        if bare.startswith(namespace):
            return inverse + prefix + bare[len(namespace):]
    if "/def/intl#" in bare:
        return inverse + "intl:" + bare.split("#", 1)[1]
    return f"{inverse}<{bare}>"
