"""Settings: one frozen object, read once, in one place.

Precedence, highest first: CLI flag > environment (``PUBLISHER_*``) > TOML file > default.
The TOML file is ``publisher.toml`` in the working directory, or the path in
``PUBLISHER_CONFIG`` / ``--config``. Every field below is documented in README.md
("Configuration"); tests/test_docs.py keeps the two in step.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from publisher.errors import ConfigError

#: The IRI space the data in data/ and ontology/ is written in. Serving under another
#: base (``--base``) rewrites every IRI that starts with it.
CANONICAL_BASE = "https://data.uppsala.se/"

PACKAGE_ROOT = Path(__file__).resolve().parent.parent

#: The dataset every document belongs to (void:inDataset), described in data/dataset.ttl.
DATASET_PATH = "id/dataset/internationella-relationer"


@dataclass(frozen=True)
class Settings:
    """Everything the publisher can be told. Defaults serve the embedded Uppsala graph."""

    base: str = CANONICAL_BASE
    data_dir: Path = field(default=PACKAGE_ROOT / "data")
    ontology_dir: Path = field(default=PACKAGE_ROOT / "ontology")
    queries_dir: Path = field(default=PACKAGE_ROOT / "sparql")
    host: str = "127.0.0.1"
    port: int = 8000
    store: str = ""
    store_in_memory: bool = False  # serve an on-disk store from a copy in memory (faster, bigger)
    withhold_personal_data: bool = False
    query_timeout: float = 10.0
    max_rows: int = 100_000
    max_query_length: int = 20_000
    max_request_body: int = 1_000_000
    query_workers: int = 2
    query_memory_mb: int = 1024  # memory a query worker may take for one query; 0: unbounded
    query_queue_wait: float = 2.0
    max_description_links: int = 500
    document_cache_size: int = 20_000
    cache_dir: str = ""  # where dumps are written; empty: <system temp dir>/publisher-cache
    result_cache_bytes: int = 64_000_000  # repeated SPARQL answers kept in memory; 0: none
    response_cache_bytes: int = 64_000_000  # whole responses replayed to repeated GETs; 0: none
    max_header_bytes: int = 16_384      # request line + headers; more is refused by the server
    max_connections: int = 256          # concurrent connections and requests; more get 503
    read_timeout: float = 10.0          # seconds a request's head and body may take to arrive
    max_response_bytes: int = 200_000_000  # bytes of one SPARQL answer; the stream is cut past it
    shutdown_grace: float = 30.0        # seconds in-flight requests get to finish on SIGTERM
    log_format: str = "text"            # access and error log: "text" or "json" (one per line)
    reload: bool = False                # watch data_dir and ontology_dir; swap in a valid edit
    # a remote SPARQL store (store = "sparql+http(s)://..."; publisher.remote, docs/deployment.md)
    store_update: str = ""              # its SPARQL Update endpoint (publisher push)
    store_gsp: str = ""                 # its Graph Store Protocol endpoint (push uploads)
    store_auth: str = "basic"           # basic or digest; PUBLISHER_STORE_USER/_PASSWORD
    store_timeout: float = 5.0          # seconds to connect and per read (descriptions, look-ups)
    store_retries: int = 2              # retries of a failed read, with exponential backoff
    store_breaker_failures: int = 5     # consecutive failures that open the circuit breaker
    store_breaker_seconds: float = 10.0  # how long an open breaker answers 503 at once
    store_version_ttl: float = 2.0      # seconds the store's data version is trusted

    def __post_init__(self) -> None:
        if not self.base.startswith(("http://", "https://")) or not self.base.endswith("/"):
            raise ConfigError(f"base must be an http(s) IRI ending in '/': {self.base!r}")
        for name in ("query_timeout", "max_rows", "max_query_length", "max_request_body",
                     "query_workers", "query_queue_wait", "max_description_links",
                     "document_cache_size", "max_header_bytes", "max_connections",
                     "max_response_bytes", "shutdown_grace", "read_timeout"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be positive, not {getattr(self, name)!r}")
        if self.query_memory_mb < 0:
            raise ConfigError(f"query_memory_mb must be 0 or more, not {self.query_memory_mb!r}")
        if self.log_format not in ("text", "json"):
            raise ConfigError(f"log_format must be 'text' or 'json', not {self.log_format!r}")
        for name in ("store_timeout", "store_breaker_failures", "store_breaker_seconds",
                     "store_version_ttl"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be positive, not {getattr(self, name)!r}")
        if self.store_auth not in ("basic", "digest") or self.store_retries < 0:
            raise ConfigError("store_auth must be 'basic' or 'digest' and store_retries >= 0")
        if self.store_in_memory and is_remote(self.store):
            raise ConfigError("store_in_memory copies an on-disk store into memory; a remote "
                              "SPARQL store is queried where it is")

    def iri(self, path: str) -> str:
        """The absolute IRI of a path under our base (``iri('id/x')``)."""
        return self.base + path.lstrip("/")

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


def _coerce(name: str, value: Any) -> Any:
    """Turn a TOML or environment value into the field's type, with a clear error."""
    kind = {f.name: f.type for f in fields(Settings)}[name]
    try:
        if kind in ("bool", bool):
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off", ""):
                return False
            raise ValueError(value)
        if kind in ("int", int):
            return int(value)
        if kind in ("float", float):
            return float(value)
        if kind in ("Path", Path):
            return Path(value).expanduser()
        return str(value)
    except (TypeError, ValueError):
        raise ConfigError(f"setting {name}: cannot read {value!r} as {kind}") from None


#: the beginnings of a ``store`` setting that names a remote SPARQL endpoint (publisher.remote)
REMOTE_SCHEMES = ("sparql+http://", "sparql+https://")


def is_remote(store: str) -> bool:
    """Whether the ``store`` setting names a remote SPARQL endpoint, not a folder."""
    return store.startswith(REMOTE_SCHEMES)


def load_settings(
    config_file: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    **overrides: Any,
) -> Settings:
    """Build Settings from TOML, then environment, then explicit overrides (CLI flags).

    Overrides whose value is None are ignored, so CLI parsers can pass every flag.
    """
    environ = os.environ if environ is None else environ
    names = {f.name for f in fields(Settings)}
    values: dict[str, Any] = {}

    path = config_file or environ.get("PUBLISHER_CONFIG")
    if path is None and Path("publisher.toml").is_file():
        path = "publisher.toml"
    if path is not None:
        try:
            with open(path, "rb") as handle:
                table = tomllib.load(handle)
        except OSError as exc:
            raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: {exc}") from None
        table = table.get("publisher", table)
        for key, value in table.items():
            name = key.replace("-", "_")
            if name not in names:
                raise ConfigError(f"{path}: unknown setting {key!r}")
            values[name] = _coerce(name, value)

    for name in names:
        env_value = environ.get(f"PUBLISHER_{name.upper()}")
        if env_value is not None:
            values[name] = _coerce(name, env_value)

    for name, value in overrides.items():
        if value is not None:
            if name not in names:
                raise ConfigError(f"unknown setting {name!r}")
            values[name] = _coerce(name, value)

    return Settings(**values)
