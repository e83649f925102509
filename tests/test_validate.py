"""publisher.validate: the shipped data passes; each check fires on a broken copy."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import rdflib
from rdflib.namespace import RDF, SH

from publisher.config import Settings
from publisher.source import read_quads, source_files
from publisher.validate import validate
from publisher.validation_report import Finding, Report

ID = "https://data.uppsala.se/id/"
SCHEMA = "http://schema.org/"
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"


@pytest.fixture
def copy(tmp_path: Path) -> Settings:
    """Settings pointing at a private copy of data/ and ontology/ that a test may break."""
    defaults = Settings()
    shutil.copytree(defaults.data_dir, tmp_path / "data")
    shutil.copytree(defaults.ontology_dir, tmp_path / "ontology")
    return Settings(data_dir=tmp_path / "data", ontology_dir=tmp_path / "ontology")


def edit(settings: Settings, relative: str, old: str, new: str) -> None:
    """Replace the first occurrence of `old` (which must be there) in data/<relative>."""
    path = settings.data_dir / relative
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {relative}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def line_of(settings: Settings, relative: str, needle: str, *, start: bool = False) -> int:
    lines = (settings.data_dir / relative).read_text(encoding="utf-8").splitlines()
    return next(n for n, line in enumerate(lines, start=1)
                if (line.startswith(needle) if start else needle in line))


def hits(report: Report, check: str, focus: str, path: str | None = None) -> list[Finding]:
    return [f for f in report.findings
            if f.check == check and f.focus == focus and (path is None or f.path == path)]


# ---- the shipped data -------------------------------------------------------------------

@pytest.mark.parametrize("withhold", [False, True], ids=["with-personal", "without-personal"])
def test_shipped_data_has_no_findings(withhold: bool) -> None:
    report = validate(Settings(withhold_personal_data=withhold))
    assert report.findings == (), report.to_text()
    assert report.ok
    assert report.to_text().startswith("OK:")


def test_shipped_data_validates_under_another_base() -> None:
    report = validate(Settings(base="http://localhost:8000/"))
    assert report.findings == (), report.to_text()


def test_every_published_class_has_a_shape() -> None:
    settings = Settings()
    shapes = rdflib.Graph().parse(settings.ontology_dir / "shapes.ttl")
    targeted = {str(c) for c in shapes.objects(None, SH.targetClass)}
    used = {q.object.value
            for source in source_files(settings) if source.path.name != "shapes.ttl"
            for q in read_quads(source, settings.base) if q.predicate.value == str(RDF.type)}
    assert used - targeted == set()


def test_report_json_shape() -> None:
    body = validate(Settings()).to_json()
    assert body["ok"] is True and body["findings"] == []
    assert "data/twin-cities.ttl" in body["files"]
    assert "data/personal/contacts.ttl" in body["files"]
    assert body["triples"] > 1000


# ---- syntax -------------------------------------------------------------------------------

def test_syntax_errors_in_every_file_are_reported_with_position(copy: Settings) -> None:
    edit(copy, "focus-areas.ttl", "    a skos:ConceptScheme ;", "    a skos:ConceptScheme ,, ;")
    edit(copy, "personal/contacts.ttl", '"Maria Didi"@en ;', '"Maria Didi"@en')
    report = validate(copy)
    assert not report.ok
    syntax = {f.file: f for f in report.findings if f.check == "syntax"}
    assert set(syntax) == {"data/focus-areas.ttl", "data/personal/contacts.ttl"}
    first = syntax["data/focus-areas.ttl"]
    assert (first.line, first.column) == (line_of(copy, "focus-areas.ttl", ",, ;"), 27)
    assert first.severity == "error"
    text = report.to_text().splitlines()
    assert f"data/focus-areas.ttl:{first.line}:27: syntax: " in text[0] + text[1]
    assert text[-1].startswith("FAILED:")
    # the semantic checks are skipped rather than echoing the missing triples
    assert {f.check for f in report.findings} == {"syntax"}


# ---- SHACL and the label check ------------------------------------------------------------

def test_missing_english_label(copy: Settings) -> None:
    edit(copy, "places.ttl", 'rdfs:label "Sverige"@sv , "Sweden"@en ;', 'rdfs:label "Sverige"@sv ;')
    report = validate(copy)
    sweden = ID + "country/se"
    assert hits(report, "labels", sweden, RDFS_LABEL)
    shacl = hits(report, "shacl", sweden, RDFS_LABEL)
    assert shacl and shacl[0].severity == "violation"
    assert shacl[0].file == "data/places.ttl"
    assert shacl[0].line == line_of(copy, "places.ttl", f"<{sweden}>", start=True)


def test_malformed_phone_number(copy: Settings) -> None:
    edit(copy, "uppsala.ttl", 'schema:telephone "+46187270000"', 'schema:telephone "018-727 00 00"')
    report = validate(copy)
    found = hits(report, "shacl", ID + "organization/uppsala-kommun", SCHEMA + "telephone")
    assert found and all(f.file == "data/uppsala.ttl" for f in found)
    assert "<https://data.uppsala.se/id/organization/uppsala-kommun> schema:telephone" \
        in report.to_text()


def test_malformed_tel_iri(copy: Settings) -> None:
    edit(copy, "personal/contacts.ttl", "<tel:+46187271331>", "<tel:018-727-13-31>")
    report = validate(copy)
    found = hits(report, "shacl", ID + "person/johanna-nyman",
                 "http://www.w3.org/2006/vcard/ns#hasTelephone")
    assert found and found[0].file == "data/personal/contacts.ttl"


@pytest.mark.parametrize("bad", ["mailto:maria.didi@uppsala.se", "maria.didi(at)uppsala.se",
                                 "maria.didi@uppsala"])
def test_malformed_email(copy: Settings, bad: str) -> None:
    edit(copy, "personal/contacts.ttl", '"maria.didi@uppsala.se"', f'"{bad}"')
    report = validate(copy)
    assert hits(report, "shacl", ID + "person/maria-didi", SCHEMA + "email")


def test_email_forms_must_agree(copy: Settings) -> None:
    edit(copy, "personal/contacts.ttl", "<mailto:maria.didi@uppsala.se>",
         "<mailto:maria.dido@uppsala.se>")
    report = validate(copy)
    assert hits(report, "shacl", ID + "person/maria-didi")


def test_twin_city_without_country(copy: Settings) -> None:
    edit(copy, "twin-cities.ttl", f"    schema:containedInPlace <{ID}country/ee> ;\n", "")
    report = validate(copy)
    found = hits(report, "shacl", ID + "place/tartu", SCHEMA + "containedInPlace")
    assert found and found[0].file == "data/twin-cities.ttl"


def test_membership_without_start(copy: Settings) -> None:
    edit(copy, "eurocities.ttl", '    schema:startDate "2015"^^xsd:gYear ;\n', "")
    report = validate(copy)
    assert hits(report, "shacl", ID + "membership/uppsala-kommun-eurocities", SCHEMA + "startDate")


def test_agreement_without_two_partners(copy: Settings) -> None:
    edit(copy, "twin-cities.ttl",
         f"intl:partner <{ID}place/uppsala> , <{ID}place/daejeon> ;",
         f"intl:partner <{ID}place/daejeon> ;")
    report = validate(copy)
    assert hits(report, "shacl", ID + "twinning/uppsala-daejeon",
                "https://data.uppsala.se/def/intl#partner")


def test_twinning_must_be_stated_both_ways(copy: Settings) -> None:
    edit(copy, "twin-cities.ttl", f"    intl:twinnedWith <{ID}place/uppsala> ;\n", "")
    report = validate(copy)
    assert hits(report, "shacl", ID + "place/uppsala")


# ---- our IRIs -----------------------------------------------------------------------------

def test_iri_used_but_not_described(copy: Settings) -> None:
    edit(copy, "uppsala.ttl", "schema:location <https://data.uppsala.se/id/place/uppsala>",
         "schema:location <https://data.uppsala.se/id/place/upsala>")
    report = validate(copy)
    found = hits(report, "described", ID + "place/upsala")
    assert found and found[0].file == "data/uppsala.ttl"
    assert not report.ok


def test_link_to_a_person_outside_personal_folder_is_caught(copy: Settings) -> None:
    edit(copy, "uppsala.ttl", "    schema:foundingDate",
         f"    org:hasMember <{ID}person/maria-didi> ;\n    schema:foundingDate")
    assert validate(copy).ok  # with the personal folder the link resolves ...
    report = validate(copy.replace(withhold_personal_data=True))
    assert hits(report, "described", ID + "person/maria-didi")  # ... without it, it dangles


def test_typo_in_our_vocabulary_is_caught(copy: Settings) -> None:
    edit(copy, "twin-cities.ttl", "intl:startKind intl:bilateralAgreement",
         "intl:startKind intl:bilateralAgreemnt")
    report = validate(copy)
    assert hits(report, "described", "https://data.uppsala.se/def/intl#bilateralAgreemnt")


def test_blank_nodes_are_refused_in_data(copy: Settings) -> None:
    edit(copy, "places.ttl", '    dcterms:identifier "SE" ;',
         '    dcterms:identifier "SE" ;\n    schema:geo [ schema:latitude 59.0 ] ;')
    report = validate(copy)
    assert any(f.check == "blank-node" and f.file == "data/places.ttl" for f in report.findings)


def test_an_ill_typed_year_is_a_violation_with_its_place(copy: Settings) -> None:
    """pyshacl knows ill-typed values only of the types rdflib parses: "nineteen47"^^xsd:gYear
    passed, and the page showed it as the start year."""
    edit(copy, "twin-cities.ttl", 'schema:startDate "1947"^^xsd:gYear',
         'schema:startDate "nineteen47"^^xsd:gYear')
    report = validate(copy)
    agreement = ID + "twinning/uppsala-frederiksberg"
    found, = hits(report, "datatype", agreement, SCHEMA + "startDate")
    assert found.severity == "violation" and '"nineteen47" is not an xsd:gYear' in found.message
    assert found.file == "data/twin-cities.ttl"
    assert found.line == line_of(copy, "twin-cities.ttl", f"<{agreement}>", start=True)
    assert not report.ok


def test_a_malformed_date_is_reported_without_rdflibs_traceback(copy: Settings) -> None:
    """rdflib logged "Failed to convert Literal lexical form to value" with a traceback on
    stderr, and the editor took the check for a crash."""
    edit(copy, "dataset.ttl", 'dcterms:modified "2026-11-28"', 'dcterms:modified "28 nov 2026"')
    done = subprocess.run([sys.executable, "-m", "publisher", "validate", "--data-dir",
                           str(copy.data_dir), "--ontology-dir", str(copy.ontology_dir)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1 and "data/dataset.ttl:" in done.stdout
    assert '"28 nov 2026"' in done.stdout
    assert done.stderr == ""


def test_an_emptied_file_is_named(copy: Settings) -> None:
    """Its resources showed up only as violations in the files that point to them."""
    (copy.data_dir / "places.ttl").write_text("# emptied by mistake\n")
    report = validate(copy)
    empty, = [f for f in report.findings if f.check == "empty"]
    assert empty.file == "data/places.ttl" and empty.severity == "warning"
    assert not report.ok  # the violations elsewhere still fail it
    assert report.to_text().startswith("data/places.ttl: empty: the file holds no triples")


def test_a_large_graph_is_told_of_before_the_long_check(
        copy: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """At 10^6 triples validate ran for minutes, at 2.7 GB, and said nothing."""
    import publisher.validate as checks  # noqa: PLC0415

    said: list[str] = []
    monkeypatch.setattr(checks, "LARGE", 100)  # the shipped data: some 2,000 triples
    checks.validate(copy, say=said.append)
    assert len(said) == 1 and "triples read; the SHACL shapes take minutes" in said[0]
    monkeypatch.setattr(checks, "LARGE", 10**9)
    said.clear()
    checks.validate(copy, say=said.append)
    assert said == []
