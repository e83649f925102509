"""Look-ups answered in the server process, without the round trip to a query worker.

Queries run in worker processes because pyoxigraph cannot cancel one (publisher.workers).
One kind of query needs no cancelling: a SELECT or ASK whose WHERE clause is a single
triple pattern, with no DISTINCT, ORDER BY, GROUP BY, FILTER or expression. The engine
answers it by scanning one index range, one index step per solution, so reading n
solutions costs O(n) and nothing can run between two of them. The server evaluates such a
query itself, on the event loop, reading at most ``ROWS`` solutions (or, written by
pyoxigraph, ``NATIVE_BYTES`` of JSON or XML) within ``BUDGET`` seconds; an answer longer
than that is left to a worker (and evaluated again there), so a look-up never holds the
event loop for much more than the budget.

That is the commonest query researchers send (what does the graph say about this IRI, who
points at it, is this triple there), and for it the worker round trip (two process
switches, a pickle each way) cost more than the evaluation itself (bench/RESULTS.md).

A long look-up (a LIMIT above ``ROWS``, within the row limit) is begun here: ``begin_here``
evaluates it, the server sends the response head and then the answer's head and first
``FIRST_ROWS`` rows (``Begun.first``), and only then does a worker evaluate the same query
again, skip those rows and send the rest (``evaluate.Job.skip``). The client's first byte
waits for no process switch, and the worker does not take the core before it has gone.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any

import pyoxigraph as ox

from publisher import results
from publisher.sparql import syntax_error
from publisher.sparql_tokens import Token, memoised, result_columns, tokens, top_level_limit
from publisher.store import Store

ROWS = 256          # solutions read here at most; a longer answer goes to a worker
BUDGET = 0.005      # seconds of evaluation here at most, likewise
#: bytes pyoxigraph may write here in one evaluation (see _Capped); at its shortest a row
#: is ``{}`` and a comma in JSON, ``<result></result>`` in XML
NATIVE_BYTES = 16 * 1024
_SHORTEST_ROW = {"json": 3, "xml": 17}
_TERM = frozenset({"var", "iri", "pname"})
_MAX_OFFSET = 1000  # OFFSET skips inside one step of the engine: kept small
FIRST_ROWS = 8      # rows of a long look-up written here before a worker sends the rest
#: a long look-up is begun here only under a byte limit of at least this: the first rows
#: are checked against it after the response head, so they must not come near it
MIN_BYTES = 1 << 20


@dataclass(frozen=True)
class Answer:
    truncated: bool
    body: bytes
    #: written whole by pyoxigraph in one evaluation, or an ASK's: ``again`` answers the
    #: same request that way (the door's plans, routes/lookups.py)
    native: bool = False


@dataclass(frozen=True)
class Begun:
    """A long look-up evaluated here (``begin_here``): the server writes the head of the
    answer and its first rows (``first``), a worker the rest (``evaluate.Job.skip``)."""
    found: ox.QuerySolutions
    names: list[str]
    fmt: str

    def first(self) -> tuple[bytes, int, bool]:
        """The head and up to ``FIRST_ROWS`` rows, how many, and whether that is the whole
        answer (then with the format's tail; else without it: the worker sends that)."""
        rows = list(islice(self.found, FIRST_ROWS))
        pieces = results.solutions(self.names, rows, self.fmt)
        if len(rows) < FIRST_ROWS:
            return b"".join(pieces), len(rows), True
        return b"".join(islice(pieces, 1 + len(rows))), len(rows), False


def single_pattern(text: str) -> bool:
    """Whether the query is ``[prologue] SELECT vars|* [WHERE] { s p o [.] } [LIMIT n]
    [OFFSET m]`` or ``ASK [WHERE] { s p o [.] }`` (terms: variables, IRIs, prefixed names,
    ``a`` as predicate, plain, language-tagged or typed string literals as object). Kept
    for a short text (``sparql_tokens.memoised``)."""
    return memoised(_single_pattern, text)


def _single_pattern(text: str) -> bool:
    toks = tokens(text)
    i = _after_prologue(toks)
    if i >= len(toks) or toks[i].kind != "word":
        return False
    form = toks[i].text.upper()
    i += 1
    if form == "SELECT":
        start = i
        while i < len(toks) and toks[i].kind == "var":
            i += 1
        if i == start:
            if i >= len(toks) or toks[i].text != "*":
                return False
            i += 1
    elif form != "ASK":
        return False
    if i < len(toks) and toks[i].kind == "word" and toks[i].text.upper() == "WHERE":
        i += 1
    if i >= len(toks) or toks[i].text != "{":
        return False
    i = _triple(toks, i + 1)
    if i < 0:
        return False
    if i < len(toks) and toks[i].text == ".":
        i += 1
    if i >= len(toks) or toks[i].text != "}":
        return False
    if form == "ASK":
        return i + 1 == len(toks)
    return _modifiers(toks, i + 1)


def _after_prologue(toks: Sequence[Token]) -> int:
    i = 0
    while i < len(toks) and toks[i].kind == "word":
        word = toks[i].text.upper()
        if word == "PREFIX" and i + 2 < len(toks) and toks[i + 1].kind == "pname" \
                and toks[i + 2].kind == "iri":
            i += 3
        elif word == "BASE" and i + 1 < len(toks) and toks[i + 1].kind == "iri":
            i += 2
        else:
            break
    return i


def _triple(toks: Sequence[Token], i: int) -> int:
    """The index after a subject, predicate and object starting at ``i``, or -1."""
    for position in range(3):
        if i >= len(toks):
            return -1
        tok = toks[i]
        if (tok.kind in _TERM and not tok.text.startswith("_:")) \
                or (position == 1 and tok.kind == "word" and tok.text == "a"):
            i += 1
        elif position == 2 and tok.kind == "string":
            i += 1
            if i < len(toks) and toks[i].kind == "lang":
                i += 1
            elif i + 2 < len(toks) and toks[i].text == "^" and toks[i + 1].text == "^" \
                    and toks[i + 2].kind in ("iri", "pname"):
                i += 3
        else:
            return -1
    return i


def _modifiers(toks: Sequence[Token], i: int) -> bool:
    """Only LIMIT and a small OFFSET, each once, may follow the pattern."""
    seen: set[str] = set()
    while i < len(toks):
        word = toks[i].text.upper() if toks[i].kind == "word" else ""
        if word not in ("LIMIT", "OFFSET") or word in seen:
            return False
        seen.add(word)
        i += 1
        digits = ""
        while i < len(toks) and toks[i].kind == "other" and toks[i].text.isdigit():
            digits += toks[i].text
            i += 1
        if not digits or (word == "OFFSET" and int(digits) > _MAX_OFFSET):
            return False
    return True


def engine_options(options: dict[str, Any], base: str,
                   substitutions: dict[str, Any]) -> dict[str, Any]:
    """A job's options as pyoxigraph's ``Store.query`` takes them."""
    found = dict(options)
    if base:  # relative IRIs in a query resolve against the endpoint (Protocol 2.1.4)
        found.setdefault("base_iri", base + "sparql")
    for key in ("default_graph", "named_graphs"):
        if key in found:
            found[key] = [ox.NamedNode(iri) for iri in found[key]]
    if substitutions:
        found["substitutions"] = {ox.Variable(k): v for k, v in substitutions.items()}
    return found


def answer_here(store: Store, query: str, fmt: str, max_rows: int, max_bytes: int,
                options: dict[str, Any]) -> Answer | None:
    """The whole answer of a single-pattern query in a result format, or None when it is
    not one or is longer than ``ROWS`` solutions (``NATIVE_BYTES``) or ``BUDGET`` seconds
    (a worker answers it then). A syntax error is raised as the worker would report it."""
    if fmt not in results.SOLUTION_FORMATS or not single_pattern(query):
        return None
    limit = top_level_limit(query)
    if limit is not None and limit > ROWS:
        return None  # asks for a long answer: straight to a worker, which streams it
    deadline = time.perf_counter() + BUDGET
    found = _evaluated(store, query, options)
    if isinstance(found, ox.QueryBoolean):
        return Answer(False, results.boolean(bool(found), fmt), native=True)
    if not isinstance(found, ox.QuerySolutions):
        return None
    columns = [v.value for v in found.variables]
    names = result_columns(columns, query)
    native = fmt in results.NATIVE_FORMATS and names == columns
    if native and max_rows >= NATIVE_BYTES // _SHORTEST_ROW[fmt] \
            and (not max_bytes or max_bytes >= NATIVE_BYTES):
        # one evaluation, written by pyoxigraph into a bounded buffer: an answer that fits
        # holds fewer rows than max_rows, so it is complete and not truncated
        return _native(found, fmt, deadline)
    return _counted(store, query, options, found, names, native, fmt, max_rows, max_bytes,
                    deadline)


def _evaluated(store: Store, query: str, options: dict[str, Any]) -> Any:
    """The engine's answer, or None when it fails (a worker evaluates the query again and
    reports the error); a syntax error is raised as the worker would report it."""
    try:
        return store.query(query, **options)
    except SyntaxError as exc:
        raise syntax_error(exc.msg) from None
    except Exception:  # noqa: BLE001
        return None


class _Over(Exception):
    """The answer is longer than NATIVE_BYTES, or took longer than the budget."""


class _Capped:
    """A file-like buffer for pyoxigraph's serializer that stops it (by raising) past
    NATIVE_BYTES or the deadline. pyoxigraph writes 8 KB at a time, and a single-pattern
    row is one index step, so the work between two checks is bounded too."""

    def __init__(self, deadline: float) -> None:
        self.buffer, self.deadline = bytearray(), deadline

    def write(self, data: bytes) -> int:
        self.buffer += data
        if len(self.buffer) > NATIVE_BYTES or time.perf_counter() > self.deadline:
            raise _Over
        return len(data)

    def flush(self) -> None:
        pass


def _native(found: ox.QuerySolutions, fmt: str, deadline: float) -> Answer | None:
    sink = _Capped(deadline)
    try:
        found.serialize(sink, results.NATIVE_FORMATS[fmt])  # type: ignore[arg-type]
        body = results.native_checked(bytes(sink.buffer), fmt)
    except Exception:  # noqa: BLE001  (_Over, or an error a worker will report again)
        return None
    return Answer(False, body, native=True)



def again(store: Store, query: str, fmt: str, options: dict[str, Any]) -> bytes | None:
    """The whole answer of a look-up that ``answer_here`` answered natively before, with
    the same query, format, limits and options, on the same data (the door's plans live
    as long as their Runtime, routes/lookups.py): its checks hold again, and the answer
    is the one that fitted in ``NATIVE_BYTES`` and ``BUDGET``, so pyoxigraph writes it
    straight into bytes, without the sink that counts them (2 µs). None when the engine
    fails on it (the door settles it anew)."""
    found = _evaluated(store, query, options)
    if isinstance(found, ox.QueryBoolean):
        return results.boolean(bool(found), fmt)
    if not isinstance(found, ox.QuerySolutions):
        return None
    try:
        body = found.serialize(format=results.NATIVE_FORMATS[fmt])
        return results.native_checked(body, fmt) if body is not None else None
    except Exception:  # noqa: BLE001  (as in _native)
        return None


def _counted(store: Store, query: str, options: dict[str, Any], found: ox.QuerySolutions,
             names: list[str], native: bool, fmt: str, max_rows: int, max_bytes: int,
             deadline: float) -> Answer | None:
    """Rows read and counted first (a small ``max_rows`` may cut the answer), then
    written."""
    wanted = min(max_rows + 1, ROWS + 1)
    rows: list[ox.QuerySolution] = []
    complete = True
    try:
        for row in found:
            rows.append(row)
            if len(rows) >= wanted or time.perf_counter() > deadline:
                complete = False
                break
    except Exception:  # noqa: BLE001  (as above)
        return None
    truncated = len(rows) > max_rows  # max_rows + 1 read: known to be cut, whatever follows
    if not truncated and not complete:
        return None
    try:
        if not truncated and native:
            # evaluated again, and written by pyoxigraph: faster than results.py for a few
            # rows already (the same data; evaluate.run_job does the same)
            body = results.native_checked(store.query(query, **options).serialize(
                format=results.NATIVE_FORMATS[fmt]), fmt)
        else:
            body = b"".join(results.solutions(names, rows[:max_rows], fmt))
    except results.NotInXml:
        return None  # the worker reports it, with its own words
    if max_bytes and len(body) > max_bytes:
        return None  # the worker reports the limit, with its own words
    return Answer(truncated, body)


def long_lookup(query: str, max_rows: int) -> bool:
    """Whether ``begin_here`` takes the query: one triple pattern and a LIMIT above ``ROWS``,
    within ``max_rows``."""
    if not single_pattern(query):
        return False
    limit = top_level_limit(query)
    return limit is not None and ROWS < limit <= max_rows


def begin_here(store: Store, query: str, fmt: str, max_rows: int, max_bytes: int,
               options: dict[str, Any]) -> Begun | None:
    """A long look-up (``long_lookup``) begun: evaluated, its rows not yet read; None for
    any other query, under a ``max_bytes`` below ``MIN_BYTES``, or when the engine fails on
    it (a worker then answers all of it and reports the error). A syntax error is raised as
    the worker would report it."""
    if fmt not in results.SOLUTION_FORMATS or (max_bytes and max_bytes < MIN_BYTES) \
            or not long_lookup(query, max_rows):
        return None
    found = _evaluated(store, query, options)
    if not isinstance(found, ox.QuerySolutions):
        return None
    return Begun(found, result_columns([v.value for v in found.variables], query), fmt)
