"""Deterministic generator of realistic data in our own model, at any scale.

    python bench/generate.py --triples 1000000 --out bench/data/1m.nt

Municipalities with their international unit and two contacts, a city each with
coordinates in one of 40 countries, about three twinning agreements per municipality
(stated both ways with intl:twinnedWith), memberships of city networks with time
intervals, sv/en labels on everything and owl:sameAs links out. The same arguments
always give the same bytes (a seeded random.Random, no clock, no hash order).
"""

from __future__ import annotations

import argparse
import gzip
import random
import sys
from collections.abc import Iterator
from typing import IO

BASE = "https://data.uppsala.se/"
RDF_TYPE = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"
P = {
    "label": "<http://www.w3.org/2000/01/rdf-schema#label>",
    "sameAs": "<http://www.w3.org/2002/07/owl#sameAs>",
    "name": "<http://schema.org/name>",
    "telephone": "<http://schema.org/telephone>",
    "email": "<http://schema.org/email>",
    "description": "<http://schema.org/description>",
    "containedInPlace": "<http://schema.org/containedInPlace>",
    "latitude": "<http://schema.org/latitude>",
    "longitude": "<http://schema.org/longitude>",
    "startDate": "<http://schema.org/startDate>",
    "location": "<http://schema.org/location>",
    "unitOf": "<http://www.w3.org/ns/org#unitOf>",
    "hasUnit": "<http://www.w3.org/ns/org#hasUnit>",
    "memberOf": "<http://www.w3.org/ns/org#memberOf>",
    "member": "<http://www.w3.org/ns/org#member>",
    "organization": "<http://www.w3.org/ns/org#organization>",
    "memberDuring": "<http://www.w3.org/ns/org#memberDuring>",
    "hasBeginning": "<http://www.w3.org/2006/time#hasBeginning>",
    "inXSDDate": "<http://www.w3.org/2006/time#inXSDDate>",
    "partner": f"<{BASE}def/intl#partner>",
    "twinnedWith": f"<{BASE}def/intl#twinnedWith>",
}
C = {
    "GovOrg": "<http://schema.org/GovernmentOrganization>",
    "FormalOrg": "<http://www.w3.org/ns/org#FormalOrganization>",
    "Unit": "<http://www.w3.org/ns/org#OrganizationalUnit>",
    "Person": "<http://schema.org/Person>",
    "City": "<http://schema.org/City>",
    "Country": "<http://schema.org/Country>",
    "Org": "<http://schema.org/Organization>",
    "Membership": "<http://www.w3.org/ns/org#Membership>",
    "Interval": "<http://www.w3.org/2006/time#Interval>",
    "Instant": "<http://www.w3.org/2006/time#Instant>",
    "Agreement": f"<{BASE}def/intl#TwinningAgreement>",
}
XSD = "http://www.w3.org/2001/XMLSchema#"
SYLLABLES = ["up", "sa", "la", "vik", "borg", "by", "holm", "stad", "ker", "na", "ri",
             "ö", "ås", "mar", "ten", "lin", "ham", "bro", "dal", "fors"]
COUNTRIES = 40
NETWORKS = 50
TRIPLES_PER_MUNICIPALITY = 70  # roughly; the generator stops at the exact count asked


def iri(path: str) -> str:
    return f"<{BASE}id/{path}>"


def lit(text: str, lang: str | None = None, datatype: str | None = None) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    if lang:
        return f'"{escaped}"@{lang}'
    if datatype:
        return f'"{escaped}"^^<{XSD}{datatype}>'
    return f'"{escaped}"'


def labelled(subject: str, sv: str, en: str) -> Iterator[str]:
    yield f"{subject} {P['label']} {lit(sv, 'sv')} ."
    yield f"{subject} {P['label']} {lit(en, 'en')} ."


def name(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()


def shared() -> Iterator[str]:
    for c in range(COUNTRIES):
        country = iri(f"country/c{c}")
        yield f"{country} {RDF_TYPE} {C['Country']} ."
        yield from labelled(country, f"Land {c}", f"Country {c}")
        yield f"{country} {P['sameAs']} <http://www.wikidata.org/entity/Q{9000 + c}> ."
    for n in range(NETWORKS):
        network = iri(f"organization/network-{n}")
        yield f"{network} {RDF_TYPE} {C['Org']} ."
        yield from labelled(network, f"Nätverk {n}", f"Network {n}")


def municipality(i: int, rng: random.Random, total: int) -> Iterator[str]:
    town = name(rng)
    org, unit, city = iri(f"organization/m{i}"), iri(f"unit/m{i}-intl"), iri(f"place/c{i}")
    yield f"{org} {RDF_TYPE} {C['GovOrg']} ."
    yield f"{org} {RDF_TYPE} {C['FormalOrg']} ."
    yield from labelled(org, f"{town} kommun", f"{town} Municipality")
    yield f"{org} {P['name']} {lit(town + ' kommun')} ."
    yield f"{org} {P['sameAs']} <http://www.wikidata.org/entity/Q{100000 + i}> ."
    yield f"{org} {P['location']} {city} ."
    yield f"{org} {P['hasUnit']} {unit} ."
    yield f"{unit} {RDF_TYPE} {C['Unit']} ."
    yield from labelled(unit, f"Internationella enheten, {town}", f"International unit, {town}")
    yield f"{unit} {P['unitOf']} {org} ."
    for k in range(2):
        person = iri(f"person/m{i}-p{k}")
        given = name(rng)
        yield f"{person} {RDF_TYPE} {C['Person']} ."
        yield from labelled(person, f"{given} {town}son", f"{given} {town}son")
        yield f"{person} {P['name']} {lit(f'{given} {town}son')} ."
        yield f"{person} {P['telephone']} {lit(f'+4618{i % 1000000:06d}{k}')} ."
        yield f"{person} {P['email']} {lit(f'{given.lower()}.{i}@example.se')} ."
        yield f"{person} {P['memberOf']} {unit} ."
    yield f"{city} {RDF_TYPE} {C['City']} ."
    yield from labelled(city, town, town)
    yield f"{city} {P['name']} {lit(town)} ."
    yield f"{city} {P['containedInPlace']} {iri(f'country/c{rng.randrange(COUNTRIES)}')} ."
    yield f"{city} {P['latitude']} {lit(f'{rng.uniform(35, 70):.5f}', datatype='decimal')} ."
    yield f"{city} {P['longitude']} {lit(f'{rng.uniform(-10, 40):.5f}', datatype='decimal')} ."
    yield f"{city} {P['sameAs']} <http://sws.geonames.org/{3000000 + i}/> ."
    for k in range(3 if total > 1 else 0):
        other = rng.randrange(total)
        if other == i:
            continue
        agreement = iri(f"twinning/c{i}-c{other}")
        partner = iri(f"place/c{other}")
        yield f"{agreement} {RDF_TYPE} {C['Agreement']} ."
        yield from labelled(agreement, f"Vänortsavtal {i}–{other}", f"Twinning {i}–{other}")
        yield f"{agreement} {P['partner']} {city} ."
        yield f"{agreement} {P['partner']} {partner} ."
        yield f"{agreement} {P['startDate']} {lit(str(rng.randint(1947, 2020)), datatype='gYear')} ."
        yield f"{city} {P['twinnedWith']} {partner} ."
        yield f"{partner} {P['twinnedWith']} {city} ."
    for k in range(rng.randint(1, 2)):
        network = iri(f"organization/network-{rng.randrange(NETWORKS)}")
        membership = iri(f"membership/m{i}-n{k}")
        interval, instant = iri(f"interval/m{i}-n{k}"), iri(f"instant/m{i}-n{k}")
        year = rng.randint(1986, 2024)
        yield f"{membership} {RDF_TYPE} {C['Membership']} ."
        yield from labelled(membership, f"Medlemskap {i}-{k}", f"Membership {i}-{k}")
        yield f"{membership} {P['member']} {org} ."
        yield f"{membership} {P['organization']} {network} ."
        yield f"{membership} {P['memberDuring']} {interval} ."
        yield f"{interval} {RDF_TYPE} {C['Interval']} ."
        yield f"{interval} {P['hasBeginning']} {instant} ."
        yield f"{instant} {RDF_TYPE} {C['Instant']} ."
        yield f"{instant} {P['inXSDDate']} {lit(f'{year}-01-01', datatype='date')} ."


def generate(triples: int, seed: int = 1) -> Iterator[str]:
    """Exactly ``triples`` N-Triples lines."""
    rng = random.Random(seed)
    total = max(1, triples // TRIPLES_PER_MUNICIPALITY)
    count = 0
    streams = [shared()] + [municipality(i, rng, total) for i in range(total)]
    while count < triples:
        for stream in streams:
            for line in stream:
                yield line
                count += 1
                if count >= triples:
                    return
        # ran out before the target: add more municipalities beyond the planned total
        streams = [municipality(total + j, rng, total) for j in range(max(1, total // 10))]
        total += len(streams)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--triples", type=int, required=True, help="how many triples")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", help="file to write (.nt or .nt.gz); default stdout")
    args = parser.parse_args(argv)
    out: IO[str]
    if args.out is None:
        out = sys.stdout
    elif args.out.endswith(".gz"):
        out = gzip.open(args.out, "wt", encoding="utf-8", compresslevel=1)
    else:
        out = open(args.out, "w", encoding="utf-8")
    with out:
        for line in generate(args.triples, args.seed):
            out.write(line + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
