"""The `publisher` command: a thin layer over the same functions the web app uses.

    publisher serve     serve the graph over HTTP (Linked Data, SPARQL, HTML)
    publisher validate  check data/ and ontology/: syntax, SHACL, described IRIs, labels
    publisher get PATH  run one request through the app in-process and print the answer
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from publisher.config import Settings, load_settings
from publisher.errors import ConfigError, DataError


def _settings_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("settings (override PUBLISHER_* and the TOML file)")
    group.add_argument("--config", metavar="FILE", help="TOML settings file "
                       "(default: ./publisher.toml if present, or $PUBLISHER_CONFIG)")
    group.add_argument("--base", help="base IRI every IRI of ours is served under "
                       "(default https://data.uppsala.se/)")
    group.add_argument("--data-dir", help="folder of the data graph (default: data/)")
    group.add_argument("--ontology-dir", help="folder of vocabulary and shapes "
                       "(default: ontology/)")
    group.add_argument("--store", help="on-disk Oxigraph store folder; reopened without "
                       "reloading when it already holds the current data (default: in memory)")
    group.add_argument("--withhold-personal-data", action="store_const", const=True,
                       default=None, help="serve nothing about named people (drops "
                       "data/personal/)")


def _settings(args: argparse.Namespace, **extra: Any) -> Settings:
    return load_settings(
        args.config, base=args.base, data_dir=args.data_dir, ontology_dir=args.ontology_dir,
        store=args.store, withhold_personal_data=args.withhold_personal_data, **extra)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="publisher",
        description="Publish Uppsala kommun's international relations as Linked Open Data.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser(
        "serve", help="serve the graph over HTTP",
        description="Serve every resource (Turtle, JSON-LD, RDF/XML, N-Triples, HTML), the "
        "SPARQL endpoint and the catalogue. Example: publisher serve --host 127.0.0.1 "
        "--port 8000 --base http://127.0.0.1:8000/")
    serve.add_argument("--host", help="interface to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="TCP port (default 8000)")
    serve.add_argument("--log-level", default="info",
                       choices=["critical", "error", "warning", "info", "debug"])
    _settings_flags(serve)

    validate = commands.add_parser(
        "validate", help="check data/ and ontology/",
        description="Parse every file (errors as file:line:column), run the SHACL shapes, "
        "check that every IRI of ours that is used is described and that every resource has "
        "sv and en labels. Exits 1 on any violation.")
    validate.add_argument("--format", choices=["text", "json"], default="text",
                          help="report format (default text)")
    _settings_flags(validate)

    get = commands.add_parser(
        "get", help="run one request in-process and print status, headers and body",
        description="Example: publisher get /doc/place/tartu -H 'Accept: text/turtle'")
    get.add_argument("path", help="path and query string, e.g. /id/place/tartu")
    get.add_argument("-H", "--header", action="append", default=[], metavar="'NAME: VALUE'",
                     help="request header (repeatable)")
    get.add_argument("--body-only", action="store_true", help="print only the body")
    _settings_flags(get)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "serve":
            return _serve(args)
        if args.command == "validate":
            return _validate(args)
        return _get(args)
    except (ConfigError, DataError) as exc:
        print(f"publisher: {exc.detail}", file=sys.stderr)
        return 2


def _serve(args: argparse.Namespace) -> int:
    import uvicorn  # noqa: PLC0415

    from publisher.app import create_app  # noqa: PLC0415

    settings = _settings(args, host=args.host, port=args.port)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port,
                log_level=args.log_level, proxy_headers=False)
    return 0


def _validate(args: argparse.Namespace) -> int:
    from publisher.validate import validate  # noqa: PLC0415

    report = validate(_settings(args))
    if args.format == "json":
        print(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
    else:
        print(report.to_text())
    return 0 if report.ok else 1


def _get(args: argparse.Namespace) -> int:
    from fastapi.testclient import TestClient  # noqa: PLC0415

    from publisher.app import create_app  # noqa: PLC0415

    headers = {}
    for header in args.header:
        name, sep, value = header.partition(":")
        if not sep:
            raise ConfigError(f"header must look like 'Name: value', not {header!r}")
        headers[name.strip()] = value.strip()
    with TestClient(create_app(_settings(args)), base_url="http://publisher.local") as client:
        response = client.get(args.path, headers=headers, follow_redirects=False)
    if not args.body_only:
        print(f"HTTP/1.1 {response.status_code} {response.reason_phrase}")
        for name, value in response.headers.items():
            print(f"{name}: {value}")
        print()
    sys.stdout.buffer.write(response.content)
    sys.stdout.flush()
    return 0 if response.status_code < 400 else 1
