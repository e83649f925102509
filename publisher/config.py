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
    withhold_personal_data: bool = False
    query_timeout: float = 10.0
    max_rows: int = 100_000
    max_query_length: int = 20_000
    max_request_body: int = 1_000_000
    query_workers: int = 2
    query_queue_wait: float = 2.0
    max_description_links: int = 500
    document_cache_size: int = 20_000
    cache_dir: str = ""  # where dumps are written; empty: <system temp dir>/publisher-cache

    def __post_init__(self) -> None:
        if not self.base.startswith(("http://", "https://")) or not self.base.endswith("/"):
            raise ConfigError(f"base must be an http(s) IRI ending in '/': {self.base!r}")
        for name in ("query_timeout", "max_rows", "max_query_length", "max_request_body",
                     "query_workers", "query_queue_wait", "max_description_links",
                     "document_cache_size"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be positive, not {getattr(self, name)!r}")

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
