"""HTML pages for people: Jinja2 templates in render/templates, autoescaped.

One Environment, built on first use. Every template gets ``lang``, ``settings``, ``t`` (the
UI strings of strings.py in that language) and ``request_path``; base.html turns these into
the header, language switch, canonical link, hreflang alternates and footer. Pages:

    resource_page   one document about one resource (from a store Description)
    landing_page    "/": the international work, read from the store (cached per version)
    error_page      404, 406 and the rest, with a way on
    render_template any other page (accessibility.html, the SPARQL engineer's sparql.html)

Text from the data (and from queries and requests) is of unknown direction, so every ``{{ }}``
that prints text goes through ``isolate``, the environment's finalize: C0 controls and the
like are shown as symbols, never sent, and text that has a direction of its own (right-to-left
letters, or bidi controls such as U+202E) is put in a ``<bdi>``, so that it cannot reorder the
text after it. Ordinary text comes out as before. Where markup cannot go, templates say so:
``|verbatim`` for attribute values and raw text (URLs, the query in its textarea), and
``{% filter plain_text %}`` for the text of <title> and the meta description.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from publisher.config import DATASET_PATH, Settings
from publisher.errors import BadRequest, NotAcceptable, PublisherError, ResourceNotFound
from publisher.negotiation import RDF_FORMATS
from publisher.render import jsonld, strings
from publisher.render.landing import landing_data
from publisher.render.view import resource_view
from publisher.sparql import incoming_links_url
from publisher.store import Description, Store

if TYPE_CHECKING:
    from publisher.dumps import DumpSet

LANGUAGES = ("sv", "en")
TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
SOURCE_PAGE = ("https://www.uppsala.se/organisation-och-styrning/amnen/internationella-relationer/"
               "mer-om-internationellt-arbete/")
FORMAT_LABELS = {"turtle": "Turtle", "jsonld": "JSON-LD", "rdfxml": "RDF/XML",
                 "ntriples": "N-Triples"}

_env: Environment | None = None
_env_lock = threading.Lock()
_landing_cache: OrderedDict[tuple[Any, ...], str] = OrderedDict()
_landing_lock = threading.Lock()


def request_language(query_lang: str | None, accept_language: str | None) -> str:
    """``?lang=`` wins (a language tag: any case); then Accept-Language; Swedish by
    default. An unknown ``?lang=`` is a BadRequest."""
    from publisher.negotiation import choose_language  # noqa: PLC0415

    if query_lang is not None:
        if query_lang.lower() not in LANGUAGES:
            raise BadRequest(f"lang must be one of {', '.join(LANGUAGES)}, not {query_lang!r}")
        return query_lang.lower()
    return choose_language(accept_language, LANGUAGES)


def error_language(query_lang: str | None, accept_language: str | None) -> str:
    """The language of an error page: ``request_language``'s, or Accept-Language's when
    ``?lang=`` is what the error is about."""
    try:
        return request_language(query_lang, accept_language)
    except BadRequest:
        return request_language(None, accept_language)


def static_version(name: str) -> str:
    """A short content hash of a static file, for cache-busting URLs."""
    return _static_hashes().get(name, "0")


def _static_hashes() -> dict[str, str]:
    env = environment()
    hashes: dict[str, str] = env.globals["_static_hashes"]  # type: ignore[assignment]
    return hashes


def environment() -> Environment:
    """The one Jinja2 Environment (templates are compiled once and cached by Jinja)."""
    global _env
    if _env is None:
        with _env_lock:
            if _env is None:
                env = Environment(loader=FileSystemLoader(TEMPLATES),
                                  autoescape=select_autoescape(default=True, default_for_string=True),
                                  undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                                  auto_reload=False, finalize=isolate)
                env.filters["verbatim"] = verbatim
                env.filters["plain_text"] = plain_text
                env.globals["_static_hashes"] = {
                    p.name: hashlib.blake2b(p.read_bytes(), digest_size=6).hexdigest()
                    for p in STATIC.iterdir() if p.is_file()}
                env.globals["static"] = _static_url
                env.globals["languages"] = LANGUAGES
                env.globals["source_page"] = SOURCE_PAGE
                env.globals["language_name"] = strings.language_name
                _env = env
    return _env


#: C0 controls but tab, LF and CR, DEL, and C1 controls: HTML must not carry them (U+0000
#: least of all). C0 ones and DEL are shown as their control pictures (U+2400-U+2421), C1 ones
#: as U+FFFD.
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
#: what can move the text around it (UAX #9): the blocks of right-to-left letters and
#: digits, and the explicit marks, embeddings, overrides and isolates
_DIRECTIONAL = re.compile("[\u0590-\u08ff\u200e\u200f\u202a-\u202e\u2066-\u2069\ufb1d-\ufdff"
                          "\ufe70-\ufefe\U00010800-\U00010fff\U0001e800-\U0001efff]")
#: the embeddings, overrides and isolates, which only markup can close for certain
_EXPLICIT = re.compile("[\u202a-\u202e\u2066-\u2069]")
_BDI = re.compile("<bdi>(.*?)</bdi>", re.DOTALL)


def _picture(control: re.Match[str]) -> str:
    code = ord(control[0])
    return chr(0x2400 + code) if code < 0x20 else "\u2421" if code == 0x7F else "\ufffd"


def isolate(value: Any) -> Any:
    """The environment's finalize, run on what every ``{{ }}`` prints: text (a str that is
    not already Markup) gets its controls shown as symbols and, when it has a direction of
    its own, a ``<bdi>`` (the HTML standard's advice for text of unknown direction)."""
    if not isinstance(value, str) or isinstance(value, Markup):
        return value
    text = _CONTROLS.sub(_picture, value)
    if _DIRECTIONAL.search(text) is None:
        return text
    return Markup("<bdi>%s</bdi>") % text


def verbatim(value: Any) -> Markup:
    """Text for where markup cannot go (attribute values, <textarea>, <template>): escaped,
    controls shown as symbols, and otherwise as it is, so that URLs and queries still work."""
    if isinstance(value, Markup):
        return value
    return escape(_CONTROLS.sub(_picture, str(value)))


def plain_text(block: str) -> Markup:
    """A rendered block for <title> or the meta description, which hold no markup: each
    <bdi> becomes Unicode's isolate FSI ... PDI, without the embeddings, overrides and
    isolates inside it, which nothing else would close."""
    return Markup(_BDI.sub(lambda m: "\u2068" + _EXPLICIT.sub("", m[1]) + "\u2069", block))


def _static_url(settings: Settings, name: str) -> str:
    return settings.iri(f"static/{name}") + f"?v={static_version(name)}"


def render_template(name: str, lang: str, settings: Settings, request_path: str,
                    **context: Any) -> str:
    """Render any page template with the shared context base.html needs."""
    template = environment().get_template(name)
    return template.render(lang=lang, settings=settings, t=strings.TABLES[lang],
                           request_path=request_path, **context)


def resource_page(description: Description, doc: Any, lang: str, settings: Settings,
                  store: Store, dumps: Callable[[], DumpSet] | None = None) -> str:
    """One resource's page. ``dumps`` gives the store's dumps, which the dataset's page
    lists with their sizes (asked only on that page)."""
    view = resource_view(description, lang, settings.base)
    t = strings.TABLES[lang]
    types = ", ".join(v.text for v in view.types)
    summary = view.lead or t["resource_description"].format(label=view.label, types=types)
    formats = [(FORMAT_LABELS.get(f.name, f.name), f.media_type, doc.format_url(f))
               for f in RDF_FORMATS]
    query = (incoming_links_url(description.iri, settings.iri("sparql"))
             if view.truncated else None)
    return render_template(
        "resource.html", lang, settings, "/" + doc.path, view=view, doc=doc,
        summary=_shorten(summary), formats=formats, sparql_link=query,
        max_links=settings.max_description_links,
        structured=jsonld.script_json(_structured(description, doc.url, view.label, lang,
                                                  settings, store, dumps)))


def _structured(description: Description, url: str, label: str, lang: str,
                settings: Settings, store: Store,
                dumps: Callable[[], DumpSet] | None) -> dict[str, Any]:
    """The page's schema.org JSON-LD: the thing's, or the page's when schema.org has no type
    for the thing; the dataset's page gets the full Dataset that Google Dataset Search asks
    for (distributions with their sizes, licence, creator, coverage), as the catalogue's
    page does."""
    from publisher.schema_dataset import schema_dataset_jsonld  # noqa: PLC0415

    if description.iri == settings.iri(DATASET_PATH):
        return schema_dataset_jsonld(settings, store, lang, dumps() if dumps else None)
    found = jsonld.resource_jsonld(description, lang)
    if found is not None and "@type" in found:
        return found
    return jsonld.page_jsonld(url, label, lang, description.iri, settings.iri(DATASET_PATH))


def landing_page(store: Store, lang: str, settings: Settings) -> str:
    """The landing page, cached per (settings, store version, language)."""
    key = (settings, store.version, lang)
    with _landing_lock:
        cached = _landing_cache.get(key)
    if cached is not None:
        return cached
    data = landing_data(store, lang, settings)
    structured = None
    if data.org_iri:
        org = store.describe(data.org_iri, settings.max_description_links)
        if org is not None:
            structured = jsonld.resource_jsonld(org, lang, _embedded(org, store, settings))
    body = render_template("landing.html", lang, settings, "/", data=data,
                           summary=_shorten(data.aim or strings.TABLES[lang]["site_tagline"]),
                           structured=jsonld.script_json(structured))
    with _landing_lock:
        _landing_cache[key] = body
        while len(_landing_cache) > 16:
            _landing_cache.popitem(last=False)
    return body


#: The municipality's properties whose objects the landing page's JSON-LD nests in full.
EMBEDDED = ("address", "identifier", "contactPoint", "memberOf")


def _embedded(org: Description, store: Store, settings: Settings) -> dict[str, Description]:
    wanted = {jsonld.SCHEMA + name for name in EMBEDDED}
    found = {}
    for t in org.triples:
        if hasattr(t.subject, "value") and t.subject.value == org.iri \
                and t.predicate.value in wanted \
                and hasattr(t.object, "value") and t.object.value.startswith(settings.base):
            described = store.describe(t.object.value, settings.max_description_links)
            if described is not None:
                found[t.object.value] = described
    return found


def problem_page(slug: str | None, lang: str, settings: Settings) -> str:
    """The page documenting one problem type (``slug``), or listing them all (None); an
    unknown slug is ResourceNotFound."""
    from publisher.render.problems import PROBLEM_TYPES

    problem = PROBLEM_TYPES.get(slug) if slug is not None else None
    if slug is not None and problem is None:
        raise ResourceNotFound(f"No problem type called {slug!r}")
    index = LANGUAGES.index(lang)
    heading = problem.title[index] if problem else strings.TABLES[lang]["problems_title"]
    path = "/problems" + (f"/{slug}" if slug else "")
    return render_template(
        "problem.html", lang, settings, path, heading=heading, problem=problem, index=index,
        summary=problem.explanation[index] if problem else heading,
        type_iri=settings.iri(path.removeprefix("/")), problems=list(PROBLEM_TYPES.items()))


def error_page(error: PublisherError, lang: str, settings: Settings, path: str) -> str:
    t = strings.TABLES[lang]
    message: str
    if isinstance(error, ResourceNotFound):  # Markup, with the path isolated in the sentence
        heading = t["error_heading_404"]
        message = escape(t["error_not_found"]).format(path=isolate(path))
    elif isinstance(error, NotAcceptable):
        heading, message = t["error_heading_406"], error.detail
    else:
        heading, message = t["error_heading"], error.detail
    available = error.extra.get("available", []) if isinstance(error, NotAcceptable) else []
    return render_template("error.html", lang, settings, path, error=error, heading=heading,
                           message=message, available=available, summary=message)


def accessibility_page(lang: str, settings: Settings, store: Store) -> str:
    data = landing_data(store, lang, settings)
    return render_template("accessibility.html", lang, settings, "/accessibility", data=data,
                           summary=strings.TABLES[lang]["a11y_title"])


def _shorten(text: str, limit: int = 160) -> str:
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(",.;:") + " …"


def xml_escape(text: str) -> str:
    return str(escape(text))
