"""HTML pages (Jinja2, autoescaped). Placeholder until the templates land."""

from __future__ import annotations

from typing import Any

from markupsafe import escape

from publisher.config import Settings
from publisher.errors import BadRequest, PublisherError

LANGUAGES = ("sv", "en")


def request_language(query_lang: str | None, accept_language: str | None) -> str:
    """``?lang=`` wins; then Accept-Language; Swedish by default."""
    from publisher.negotiation import choose_language  # noqa: PLC0415

    if query_lang is not None:
        if query_lang not in LANGUAGES:
            raise BadRequest(f"lang must be one of {', '.join(LANGUAGES)}, not {query_lang!r}")
        return query_lang
    return choose_language(accept_language, LANGUAGES)


def resource_page(description: Any, doc: Any, lang: str, settings: Settings, store: Any) -> str:
    rows = "".join(f"<li>{escape(str(t))}</li>" for t in description.triples)
    return f"<!doctype html><html lang='{lang}'><title>{escape(doc.topic)}</title><ul>{rows}</ul></html>"


def error_page(error: PublisherError, lang: str, settings: Settings, path: str) -> str:
    return (f"<!doctype html><html lang='{lang}'><title>{escape(error.title)}</title>"
            f"<h1>{escape(error.title)}</h1><p>{escape(error.detail)}</p></html>")


def landing_page(store: Any, lang: str, settings: Settings) -> str:
    return f"<!doctype html><html lang='{lang}'><title>Uppsala</title></html>"


def xml_escape(text: str) -> str:
    return str(escape(text))
