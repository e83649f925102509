"""Resource documents: which IRI a document path is about, what it says, its rendered bytes.

Pure (no web framework): routes/resources.py asks ``Documents.get(path, fmt, lang)`` and
gets a ready ``Representation``. Renderings are cached per store version, so the cache is
invalidated exactly when the data changes (a new store means a new version).
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass

import pyoxigraph as ox
from cachetools import LRUCache

from publisher.config import DATASET_PATH, Settings
from publisher.dumps import Dumps
from publisher.errors import ResourceNotFound
from publisher.negotiation import DOCUMENT_FORMATS, Format
from publisher.render import html, rdf
from publisher.sparql import incoming_links_url
from publisher.store import Description, Store

FOAF = "http://xmlns.com/foaf/0.1/"
VOID = "http://rdfs.org/ns/void#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
#: Document spaces: URL prefix -> prefix of the IRI it is about. /id/ answers 303 to /doc/;
#: the vocabulary (hash namespace) is its own document.
SPACES = {"doc/": "id/", "def/": "def/"}
LANGUAGES = ("sv", "en")


@dataclass(frozen=True)
class Representation:
    body: bytes
    format: Format
    etag: str
    location: str  # Content-Location: the per-format document URL
    language: str | None = None


@dataclass(frozen=True)
class Document:
    """A document path resolved: the URL of the document and the IRI of its topic."""

    path: str   # e.g. "doc/place/tartu" (no suffix, no leading slash)
    url: str    # absolute document URL under the serving base
    topic: str  # the IRI the document is about

    def format_url(self, fmt: Format) -> str:
        return f"{self.url}.{fmt.extension}"


def resolve(path: str, settings: Settings) -> Document:
    """Map a document path to its topic IRI; unknown spaces are ResourceNotFound."""
    for prefix, topic_prefix in SPACES.items():
        if path.startswith(prefix) and len(path) > len(prefix):
            topic = settings.iri(topic_prefix + path[len(prefix):])
            return Document(path, settings.iri(path), topic)
    raise ResourceNotFound(f"No document at /{path}")


class Documents:
    """Renders and caches the documents of one store."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        #: the store's dumps: the catalogue lists them, the dataset's page gives their sizes
        self.dumps = Dumps(settings)
        # keyed on the store's version too: a remote store's data changes under it
        self._cache: LRUCache[tuple[str, str, str, str | None], Representation] = LRUCache(
            settings.document_cache_size)
        self._lock = threading.Lock()
        self.hits = self.misses = 0  # cache look-ups, for /metrics

    def describe(self, doc: Document) -> Description:
        found = self.store.describe(doc.topic, self.settings.max_description_links)
        if found is None:
            raise ResourceNotFound(f"Nothing is known about <{doc.topic}>")
        return found

    def cached(self, path: str, fmt: Format, lang: str | None = None) -> Representation | None:
        """The rendering if it is in the cache (cheap enough for the event loop), else None."""
        key = (self.store.version, path, fmt.name, lang if fmt.kind == "html" else None)
        with self._lock:  # the same key as get()'s
            found = self._cache.get(key)
        if found is not None:
            self.hits += 1
        return found

    def get(self, path: str, fmt: Format, lang: str | None = None) -> Representation:
        lang = lang if fmt.kind == "html" else None
        version = self.store.version
        key = (version, path, fmt.name, lang)
        with self._lock:
            cached = self._cache.get(key)
        if cached is not None:
            self.hits += 1
            return cached
        self.misses += 1
        doc = resolve(path, self.settings)
        description = self.describe(doc)
        if fmt.kind == "html":
            body = html.resource_page(description, doc, lang or LANGUAGES[0], self.settings,
                                      self.store, lambda: self.dumps.ensure(self.store)).encode()
        else:
            body = rdf.serialize([*description.triples, *self.metadata(doc, description)],
                                 fmt, self.settings.base)
        rep = Representation(body, fmt, etag(version, body),
                             doc.format_url(fmt), lang)
        with self._lock:
            self._cache[key] = rep
        return rep

    def metadata(self, doc: Document, description: Description) -> list[ox.Triple]:
        """What the document says about itself: its topic, its dataset, and where the rest
        of the incoming links are when there were more than a document holds."""
        url = ox.NamedNode(doc.url)
        onward = []
        if description.truncated:
            onward.append(ox.Triple(url, ox.NamedNode(RDFS + "seeAlso"),
                                    ox.NamedNode(incoming_links_url(
                                        doc.topic, self.settings.iri("sparql")))))
        return [*onward,
            ox.Triple(url, RDF_TYPE, ox.NamedNode(FOAF + "Document")),
            ox.Triple(url, ox.NamedNode(FOAF + "primaryTopic"), ox.NamedNode(doc.topic)),
            ox.Triple(url, ox.NamedNode(VOID + "inDataset"),
                      ox.NamedNode(self.settings.iri(DATASET_PATH))),
        ]


def etag(version: str, body: bytes) -> str:
    """A weak validator: the same bytes under the same data give the same tag."""
    digest = hashlib.blake2b(body, digest_size=10, key=version.encode()[:64]).hexdigest()
    return f'W/"{digest}"'


__all__ = ["DOCUMENT_FORMATS", "Document", "Documents", "Representation", "resolve"]
