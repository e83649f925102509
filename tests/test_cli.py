"""The command line: every subcommand helps, validate and get work, errors are readable."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from publisher.cli import main
from publisher.cli_parser import build_parser
from tests.conftest import ROOT, free_port


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "publisher", *args], capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize("command", ["serve", "validate", "get"])
def test_every_subcommand_has_help(command: str) -> None:
    result = run(command, "--help")
    assert result.returncode == 0
    assert "--base" in result.stdout and len(result.stdout) > 300


def test_top_level_help_lists_commands() -> None:
    text = build_parser().format_help()
    for command in ("serve", "validate", "get"):
        assert command in text


def test_get_prints_status_headers_body(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["get", "/id/place/tartu", "-H", "Accept: text/turtle"])
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith("HTTP/1.1 303")
    assert "location: https://data.uppsala.se/doc/place/tartu" in out


def test_get_body_only_turtle(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["get", "/doc/place/tartu.ttl", "--body-only"]) == 0
    assert "@prefix" in capsys.readouterr().out


def test_bad_settings_exit_2_with_message() -> None:
    result = run("get", "/", "--base", "ftp://nowhere")
    assert result.returncode == 2
    assert "base must be an http(s) IRI" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_data_dir_is_readable() -> None:
    result = run("validate", "--data-dir", "/nonexistent/data")
    assert result.returncode == 2
    assert "/nonexistent/data" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("store", [False, True], ids=["in-memory", "on-disk"])
def test_serve_with_bad_data_is_one_line_before_any_server(tmp_path: Path, store: bool) -> None:
    """It printed uvicorn's start-up traceback (some 50 lines) and exited 3; the position
    was given twice ("...:23:49: Parser error at line 23 between columns 49 and 53: ...")."""
    data = tmp_path / "data"
    shutil.copytree(ROOT / "data", data)
    places = data / "places.ttl"
    lines = places.read_text().splitlines()
    lines[22] = "<x> <y> oops ."
    places.write_text("\n".join(lines) + "\n")
    extra = ["--store", str(tmp_path / "db")] if store else []
    result = run("serve", "--port", str(free_port()), "--data-dir", str(data), *extra)
    assert result.returncode == 2
    assert result.stderr.startswith(f"publisher: {places}:23:") and "Parser error" not in \
        result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_what_the_editor_may_get_wrong_is_named_plainly(tmp_path: Path) -> None:
    """A byte-order mark (an invisible character at 1:1), a symbolic link to nothing (it was
    skipped without a word), a file that does not exist ("not an RDF file"), --workers 0
    (accepted)."""
    data = tmp_path / "data"
    shutil.copytree(ROOT / "data", data)
    places = data / "places.ttl"
    places.write_bytes(b"\xef\xbb\xbf" + places.read_bytes())
    bom = run("validate", "--data-dir", str(data))
    assert bom.returncode == 1 and "data/places.ttl:1:1: syntax: the file starts with a " \
        "byte-order mark (U+FEFF); save it as UTF-8 without one" in bom.stdout
    places.write_bytes(places.read_bytes()[3:])
    (data / "gone.ttl").symlink_to(tmp_path / "nowhere.ttl")
    gone = run("validate", "--data-dir", str(data))
    assert gone.returncode == 2 and "gone.ttl: a symbolic link to nothing" in gone.stderr
    missing = run("push", str(tmp_path / "nonexistent.ttl"), "--store",
                  "sparql+http://127.0.0.1:9/sparql", "--store-update", "http://127.0.0.1:9/u")
    assert missing.returncode == 2 and "nonexistent.ttl: no such file" in missing.stderr
    none = run("serve", "--workers", "0")
    assert none.returncode == 2 and "--workers: must be 1 or more" in none.stderr
