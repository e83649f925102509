"""SPARQL query text as tokens, and what is read from them without a parser. Pure.

``tokens`` runs a small lexer that knows SPARQL's comments, strings, IRIs, variables and
prefixed names, so that a check reading the query's words is not misled by a string or a
comment: the refusals (publisher.sparql), the look-up test (publisher.lookup) and the
VALUES block a remote store is sent (publisher.query_text). Read from the tokens here, for
the workers and the server's look-ups alike: the columns of ``SELECT *`` in order
(``star_order``, ``result_columns``) and the LIMIT of the query as a whole
(``top_level_limit``).

A query's text is lexed and checked by the door, the pool and the worker, so the checks of
a short text are kept (``memoised``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<comment>\#[^\n\r]*)
  | (?P<string>'''(?:[^'\\]|\\.|'(?!''))*'''|\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"
              |'(?:[^'\\\n\r]|\\.)*'|"(?:[^"\\\n\r]|\\.)*")
  | (?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
  | (?P<var>[?$][\w\u00b7\u0300-\u036f\u203f-\u2040]+)
  | (?P<pname>(?:[^\W\d][\w.-]*)?:(?:[\w:%.-]|\\.)*|_:[\w.-]+)
  | (?P<lang>@[A-Za-z]+(?:-[A-Za-z0-9]+)*)
  | (?P<word>[^\W\d]\w*)
  | (?P<other>.)
""", re.VERBOSE | re.DOTALL)


@dataclass(frozen=True)
class Token:
    kind: str  # iri, var, pname, lang, word, string, other
    text: str


def tokens(text: str) -> tuple[Token, ...]:
    """The query's tokens without whitespace and comments (an unclosed string is one
    ``other`` token per character, and the engine's parser will report it). A short text
    is lexed once however many checks read it (the refusals, the worker's column order and
    LIMIT, publisher.lookup): ``memoised``."""
    return memoised(_lex, text)


def _lex(text: str) -> tuple[Token, ...]:
    return tuple(Token(match.lastgroup or "other", match.group())
                 for match in _TOKEN.finditer(text)
                 if match.lastgroup not in ("ws", "comment"))


#: (check, short text) pairs ``memoised`` keeps, and how long a short text is
_MEMO, _MEMO_CHARS = 512, 4000
_T = TypeVar("_T")


def star_order(text: str) -> tuple[str, ...]:
    """For ``SELECT *``: the variables in order of first appearance, which is how clients
    (and the W3C tests) expect the columns; empty for an explicit projection. Kept for a
    short text (``memoised``)."""
    return memoised(_star_order, text)


def _star_order(text: str) -> tuple[str, ...]:
    toks = tokens(text)
    for i, tok in enumerate(toks):
        if tok.kind == "word" and tok.text.upper() == "SELECT":
            rest = [t for t in toks[i + 1:i + 3] if t.text.upper() not in ("DISTINCT", "REDUCED")]
            if not rest or rest[0].text != "*":
                return ()
            return tuple(dict.fromkeys(t.text[1:] for t in toks if t.kind == "var"))
    return ()


def result_columns(variables: Sequence[str], text: str) -> list[str]:
    """A SELECT's columns: the engine's variables, for ``SELECT *`` in the order of
    ``star_order`` (the server's look-ups and the workers write them alike)."""
    order = star_order(text)
    return sorted(variables, key=lambda n: order.index(n) if n in order else len(order))


def top_level_limit(text: str) -> int | None:
    """The LIMIT of the query as a whole (outside every group, so not a subquery's), or
    None. An answer can hold no more rows than that, so when it is within ``max_rows`` the
    workers stream at once instead of counting the rows first (evaluate.bounded). Kept for
    a short text, like its tokens."""
    return memoised(_top_level_limit, text)


def memoised(check: Callable[[str], _T], text: str) -> _T:
    """``check(text)``, kept for the last ``_MEMO`` checks of a short text (a query's text
    is lexed and checked by the door, the pool and the worker: publisher.lookup)."""
    if len(text) > _MEMO_CHARS:
        return check(text)
    return _memo_check(check, text)  # type: ignore[no-any-return]


@lru_cache(maxsize=_MEMO)
def _memo_check(check: Callable[[str], Any], text: str) -> Any:
    return check(text)


def _top_level_limit(text: str) -> int | None:
    toks = tokens(text)
    depth, found = 0, None
    for i, tok in enumerate(toks):
        if tok.text == "{":
            depth += 1
        elif tok.text == "}":
            depth -= 1
        elif depth == 0 and tok.kind == "word" and tok.text.upper() == "LIMIT":
            digits = ""
            for nxt in toks[i + 1:]:  # the lexer gives a number digit by digit
                if nxt.kind != "other" or not nxt.text.isdigit():
                    break
                digits += nxt.text
            found = int(digits) if digits else None
    return found
