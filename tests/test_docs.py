"""Docs stay honest: every setting and command is in the README, __all__ is complete."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

import publisher
from publisher.cli_parser import build_parser
from publisher.config import Settings

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


@pytest.mark.parametrize("name", [f.name for f in fields(Settings)])
def test_every_setting_is_documented(name: str) -> None:
    assert f"| `{name}` |" in README, f"README's settings table lacks {name}"


def test_readme_opens_with_the_two_commands() -> None:
    head = "\n".join(README.splitlines()[:30])
    assert "pip install -e . && publisher serve" in head
    assert "pip install -e '.[test]' && python -m pytest" in head
    assert head.count("curl ") >= 2


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    assert "pip install -e '.[test]' && python -m pytest" in ci


def test_every_cli_command_is_documented() -> None:
    commands = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    for command in commands:
        assert f"publisher {command}" in README


def test_all_is_complete() -> None:
    public = {name for name in vars(publisher) if not name.startswith("_")
              and not isinstance(getattr(publisher, name), type(publisher))}
    assert public <= set(publisher.__all__) | {"annotations"}
    for name in publisher.__all__:
        assert hasattr(publisher, name)
