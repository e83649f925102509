"""Settings precedence: CLI flag > environment > TOML > default; clear errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from publisher.config import CANONICAL_BASE, Settings, load_settings
from publisher.errors import ConfigError


def test_defaults_serve_the_embedded_graph() -> None:
    settings = load_settings(environ={})
    assert settings.base == CANONICAL_BASE
    assert (settings.data_dir / "README.md").exists() or settings.data_dir.is_dir()
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)


def test_precedence(tmp_path: Path) -> None:
    toml = tmp_path / "publisher.toml"
    toml.write_text('base = "http://toml.example/"\nport = 9001\nhost = "0.0.0.0"\n')
    env = {"PUBLISHER_PORT": "9002", "PUBLISHER_HOST": "::1"}
    settings = load_settings(toml, environ=env, host="127.0.0.2")
    assert settings.base == "http://toml.example/"   # TOML over default
    assert settings.port == 9002                      # env over TOML
    assert settings.host == "127.0.0.2"               # flag over env


def test_publisher_table_and_env_config_path(tmp_path: Path) -> None:
    toml = tmp_path / "x.toml"
    toml.write_text('[publisher]\nwithhold-personal-data = true\n')
    settings = load_settings(environ={"PUBLISHER_CONFIG": str(toml)})
    assert settings.withhold_personal_data is True


@pytest.mark.parametrize(
    ("content", "message"),
    [("nonsense = 1\n", "unknown setting 'nonsense'"),
     ("port = \"eighty\"\n", "cannot read 'eighty'"),
     ("port = [\n", "x.toml"),
     ('base = "ftp://x/"\n', "base must be an http(s) IRI")],
)
def test_bad_config_is_explained(tmp_path: Path, content: str, message: str) -> None:
    toml = tmp_path / "x.toml"
    toml.write_text(content)
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_settings(toml, environ={})


def test_base_must_end_with_slash() -> None:
    with pytest.raises(ConfigError):
        Settings(base="http://127.0.0.1:8000")


def test_missing_config_file() -> None:
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_settings("/nonexistent/publisher.toml", environ={})
