"""The SPARQL text a remote store is sent (publisher.remote, publisher.push): how IRIs and
bound values are written into a query, and the two queries of a description.

A remote endpoint takes a query as text, so nothing can be bound beside it as pyoxigraph's
substitutions are. Values go in only as terms written by pyoxigraph: an IRI after validation
(``iri``), with N-Triples escaping; bound variables as a VALUES block opening the query's
WHERE group (``with_values``). Pure: no HTTP and no store.
"""

from __future__ import annotations

from typing import Any

import pyoxigraph as ox

from publisher import sparql, sparql_tokens


def iri(value: str) -> str:
    """An IRI written for a query: validated (absolute, no ``<>"{}|^`\\``, spaces or
    controls) and escaped by pyoxigraph; ValueError otherwise. Never pasted raw."""
    if not sparql.ABSOLUTE_IRI.fullmatch(value):
        raise ValueError(f"not an absolute IRI: {value!r}")
    return str(ox.NamedNode(value))


def query_form(text: str) -> str:
    """SELECT, ASK, CONSTRUCT or DESCRIBE: the first such keyword (SELECT if none)."""
    return next((t.text.upper() for t in sparql_tokens.tokens(text)
                 if t.kind == "word" and t.text.upper() in sparql.FORMS), "SELECT")


def with_values(text: str, bound: dict[Any, Any]) -> str:
    """Bind variables the way SEP-0007 substitution does for our queries: a VALUES block
    opening the query's WHERE group (terms written by pyoxigraph, never pasted text)."""
    if not bound:
        return text
    names = " ".join(f"?{getattr(v, 'value', v)}" for v in bound)
    row = " ".join(str(term) for term in bound.values())
    block = f" VALUES ({names}) {{ ({row}) }} "
    depth, after_form, want_where = 0, False, query_form(text) == "CONSTRUCT"
    # the lexer's spans (strings, IRIs, comments)
    for match in sparql_tokens._TOKEN.finditer(text):
        kind, token = match.lastgroup, match.group()
        word = token.upper() if kind == "word" else ""
        if word in sparql.FORMS:
            after_form = True
        elif word == "WHERE":
            want_where = False
        elif token == "(":
            depth += 1
        elif token == ")":
            depth -= 1
        elif token == "{" and after_form and depth == 0 and not want_where:
            return text[:match.end()] + block + text[match.end():]
    raise ValueError("cannot find the WHERE group to bind values in")


# A description (RemoteStore.describe): the resource's own triples with two levels of blank
# nodes, what defines itself by it, at most ``limit`` incoming links; then the labels of what
# it mentions. ``node`` and ``terms`` are written by ``iri`` / pyoxigraph.
DESCRIBE = """CONSTRUCT {{ ?s ?p ?o }} WHERE {{
  {{ {node} ?p ?o BIND({node} AS ?s) }}
  UNION {{ {node} ?p1 ?s FILTER(isBlank(?s)) ?s ?p ?o }}
  UNION {{ {node} ?p1 ?b FILTER(isBlank(?b)) ?b ?p2 ?s FILTER(isBlank(?s)) ?s ?p ?o }}
  UNION {{ ?s {defined} {node} . ?s ?p ?o }}
  UNION {{ ?t {defined} {node} . ?t ?p1 ?s FILTER(isBlank(?s)) ?s ?p ?o }}
  UNION {{ SELECT ?s ?p ?o WHERE {{ ?s ?p {node} BIND({node} AS ?o) }} LIMIT {limit} }}
}}"""
LABELS = """CONSTRUCT {{ ?t ?p ?l }} WHERE {{
  VALUES ?t {{ {terms} }} VALUES ?p {{ {predicates} }} ?t ?p ?l
}}"""
