"""The benchmark generator is deterministic, exact in size and speaks our model."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pyoxigraph as ox

SPEC = importlib.util.spec_from_file_location(
    "bench_generate", Path(__file__).resolve().parent.parent / "bench" / "generate.py")
assert SPEC and SPEC.loader
generate = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(generate)


def test_exact_count_and_deterministic() -> None:
    first = list(generate.generate(5000, seed=7))
    assert len(first) == 5000
    assert first == list(generate.generate(5000, seed=7))
    assert first != list(generate.generate(5000, seed=8))


def test_parses_and_uses_our_model() -> None:
    text = "\n".join(generate.generate(20000)) + "\n"
    store = ox.Store()
    store.load(text.encode(), format=ox.RdfFormat.N_TRIPLES)
    counts = {row["c"].value: int(row["n"].value) for row in store.query(
        "SELECT ?c (COUNT(?s) AS ?n) WHERE { ?s a ?c } GROUP BY ?c")}
    intl = generate.BASE + "def/intl#TwinningAgreement"
    for cls in ("http://schema.org/GovernmentOrganization", "http://schema.org/City",
                "http://schema.org/Person", "http://www.w3.org/ns/org#Membership", intl):
        assert counts.get(cls, 0) > 10, cls
    labels = store.query("ASK { ?s <http://www.w3.org/2000/01/rdf-schema#label> ?l "
                         "FILTER(lang(?l) = 'sv') }")
    assert bool(labels)
