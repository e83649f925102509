"""SPARQL query text as tokens, and what is read from them without a parser. Pure.

``tokens`` runs a small lexer that knows SPARQL's comments, strings, IRIs, variables and
prefixed names (with their escapes, ``ex:a\\#b``), so that a check reading the query's words
is not misled by a string or a comment: the refusals (publisher.sparql), the look-up test
(publisher.lookup) and the VALUES block a remote store is sent (publisher.query_text). Read
from the tokens here, for the workers and the server's look-ups alike: the columns of
``SELECT *`` in order (``star_order``, ``result_columns``) and the LIMIT of the query as a
whole (``top_level_limit``). ``squeeze`` drops comments and spare white space with the same
terminals, for the result cache's key.

A query's text is lexed and checked by the door, the pool and the worker, so the checks of
a short text are kept (``memoised``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar

# The SPARQL 1.1 grammar's terminals (https://www.w3.org/TR/sparql11-query/#grammar), as
# pieces shared by the lexer (``_TOKEN``) and ``squeeze``. A backslash outside strings and
# IRIs only ever escapes the next character of a prefixed name (PN_LOCAL_ESC: ``ex:a\\#b``).
_PN_CHARS_BASE = ("A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u02ff\u0370-\u037d\u037f-\u1fff"
                  "\u200c-\u200d\u2070-\u218f\u2c00-\u2fef\u3001-\ud7ff\uf900-\ufdcf"
                  "\ufdf0-\ufffd\U00010000-\U000effff")
_PN_CHARS_U = _PN_CHARS_BASE + "_"
_PN_CHARS = _PN_CHARS_U + "0-9\\-\u00b7\u0300-\u036f\u203f-\u2040"
_ESCAPE = r"(?:\\[tbnrf\"'\\]|\\u[0-9A-Fa-f]{4}|\\U[0-9A-Fa-f]{8})"  # ECHAR and UCHAR
_STRING = (rf"'''(?:(?:'|'')?(?:[^'\\]|{_ESCAPE}))*'''"
           rf'|"""(?:(?:"|"")?(?:[^"\\]|{_ESCAPE}))*"""'
           rf"|'[^'\\\n\r]*(?:{_ESCAPE}[^'\\\n\r]*)*'"  # (loops unrolled: faster)
           rf"|\"[^\"\\\n\r]*(?:{_ESCAPE}[^\"\\\n\r]*)*\"")
_IRI = (r"<[^<>\"{}|^`\\\x00-\x20]*"
        r"(?:\\(?:u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8})[^<>\"{}|^`\\\x00-\x20]*)*>")  # UCHAR
_WS = r"[ \t\r\n]"  # SPARQL's white space: not \s (U+00A0 or U+2028 are errors)
_COMMENT = r"\#[^\n\r]*"
_PN_LOCAL_ESC = r"\\[_~.\-!$&'()*+,;=/?\#@%]"

_TOKEN = re.compile(rf"""
    (?P<ws>{_WS}+)
  | (?P<comment>{_COMMENT})
  | (?P<string>{_STRING})
  | (?P<iri>{_IRI})
  | (?P<var>[?$][{_PN_CHARS_U}0-9][{_PN_CHARS_U}0-9\u00b7\u0300-\u036f\u203f-\u2040]*)
  | (?P<pname>(?:[{_PN_CHARS_BASE}][{_PN_CHARS}.]*)?:(?:[{_PN_CHARS}.:%]|{_PN_LOCAL_ESC})*
             |_:[{_PN_CHARS_U}0-9][{_PN_CHARS}.]*)
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


#: what ``squeeze`` keeps whole (strings, IRIs, a backslash and the character it escapes),
#: and white space with comments: ``br`` when it holds a line break. (The look-ahead skips
#: every other character at once: as fast as the cache's key was without ``br``.)
_SPANS = re.compile(rf"""
    (?=['"<\\ \t\r\n\#])
    (?: (?P<keep>{_STRING}|{_IRI}|\\.)
      | (?P<br>[ \t]*(?:{_COMMENT})?[\r\n](?:{_WS}|{_COMMENT})*)
      | (?:{_WS}|{_COMMENT})+ )
""", re.VERBOSE | re.DOTALL)
#: the start of an IRI, or of a less-than, with a "#" (or a quote) in it
_HASHED_IRI = re.compile(r"<[^<>\"{}|^`\x00-\x20]*\#")
_QUOTED_IRI = re.compile(r"<[^<>\"{}|^`\x00-\x20]*'")


def squeeze(text: str) -> str:
    """The text with comments dropped and each run of white space and comments made one
    space; strings, IRIs and the escaped characters of prefixed names (``ex:a\\#b``) are
    kept whole. Two texts squeeze alike only when the engine reads them alike (the result
    cache's key, publisher.result_cache).

    One reading is the engine's to choose: in ``?a<b#c>`` or ``'a'<'b>'`` a ``<`` may be
    less-than, not an IRI, and then a ``#`` in it begins a comment, which ends at the line's
    end, and a quote begins a string. So in a text with a ``#`` in an IRI a run that holds a
    line break is made one line break (and a text that also has a long string is kept as it
    is, as that line break could be in it), and a text with a quote in an IRI (rare) is kept
    as it is."""
    if "'" in text and _QUOTED_IRI.search(text):
        return text
    if _HASHED_IRI.search(text) is None:
        return _SPANS.sub(_space, text).strip(" \t\r\n")
    if "'''" in text or '"""' in text:
        return text
    return _SPANS.sub(_space_or_line, text).strip(" \t\r\n")


def _space(match: re.Match[str]) -> str:
    return match["keep"] or " "


def _space_or_line(match: re.Match[str]) -> str:
    return match["keep"] or ("\n" if match["br"] else " ")


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
