"""What the `publisher` command accepts: its argparse parser, one small function per
subcommand, and how the shared settings flags become Settings.

    build_parser() -> ArgumentParser     every subcommand, in the order ``--help`` lists them
    settings_from(args, **extra)         the settings flags (--config, --base, ...) -> Settings

cli.py parses with it and runs the command; argparse prints options in the order they are
added, so each function adds them in the order its ``--help`` shows.
"""

from __future__ import annotations

import argparse
from typing import Any

from publisher.config import Settings, load_settings


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="publisher",
        description="Publish Uppsala kommun's international relations as Linked Open Data.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in (_add_serve, _add_validate, _add_get, _add_export, _add_load, _add_push,
                _add_check_harvest):
        add(commands)
    return parser


def settings_from(args: argparse.Namespace, **extra: Any) -> Settings:
    """The settings a subcommand runs with: its flags over PUBLISHER_* over the TOML file."""
    return load_settings(
        args.config, base=args.base, data_dir=args.data_dir, ontology_dir=args.ontology_dir,
        store=args.store, withhold_personal_data=args.withhold_personal_data, **extra)


def _positive(text: str) -> int:
    number = int(text)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {number}")
    return number


def _settings_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("settings (override PUBLISHER_* and the TOML file)")
    group.add_argument("--config", metavar="FILE", help="TOML settings file "
                       "(default: ./publisher.toml if present, or $PUBLISHER_CONFIG)")
    group.add_argument("--base", help="base IRI every IRI of ours is served under "
                       "(default https://data.uppsala.se/)")
    group.add_argument("--data-dir", help="folder of the data graph (default: the data/ "
                       "beside the publisher package, i.e. this checkout's)")
    group.add_argument("--ontology-dir", help="folder of vocabulary and shapes "
                       "(default: the checkout's ontology/)")
    group.add_argument("--store", help="on-disk Oxigraph store folder; reopened without "
                       "reloading when it already holds the current data (default: in memory); "
                       "or a remote SPARQL endpoint, sparql+http(s)://HOST:PORT/PATH (see "
                       "publisher push)")
    group.add_argument("--withhold-personal-data", action="store_const", const=True,
                       default=None, help="serve nothing about named people (drops "
                       "data/personal/)")


def _add_serve(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = commands.add_parser(
        "serve", help="serve the graph over HTTP",
        description="Serve every resource (Turtle, JSON-LD, RDF/XML, N-Triples, HTML), the "
        "SPARQL endpoint and the catalogue. Example: publisher serve --host 127.0.0.1 "
        "--port 8000 --base http://127.0.0.1:8000/")
    serve.add_argument("--host", help="interface to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="TCP port (default 8000)")
    serve.add_argument("--log-level", default="info",
                       choices=["critical", "error", "warning", "info", "debug"],
                       help="least severe log lines written (default info)")
    serve.add_argument("--log-format", choices=["text", "json"],
                       help="access and error log format (default text; json: one object "
                       "per line)")
    serve.add_argument("--workers", type=_positive, default=1, metavar="N",
                       help="server processes sharing one port (default 1); with --store they "
                       "share the on-disk store read-only, after this process has brought it "
                       "up to date")
    serve.add_argument("--in-memory", dest="store_in_memory", action="store_const", const=True,
                       default=None, help="with --store: copy the on-disk store into memory at "
                       "start and answer from the copy, 1.3-6x faster, for some 450 bytes of "
                       "memory a triple (each of --workers N holds its own copy, and query "
                       "workers copy what they read)")
    serve.add_argument("--reload", action="store_const", const=True, default=None,
                       help="watch data/ and ontology/; swap in an edit once it validates "
                       "(SIGHUP reloads too)")
    _settings_flags(serve)


def _add_validate(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    validate = commands.add_parser(
        "validate", help="check data/ and ontology/",
        description="Parse every file (errors as file:line:column), run the SHACL shapes, "
        "check that every IRI of ours that is used is described and that every resource has "
        "sv and en labels. Exits 1 on any violation.")
    _report_format(validate)
    _settings_flags(validate)


def _add_get(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    get = commands.add_parser(
        "get", help="run one request in-process and print status, headers and body",
        description="Example: publisher get /doc/place/tartu -H 'Accept: text/turtle'")
    get.add_argument("path", help="path and query string, e.g. /id/place/tartu")
    get.add_argument("-H", "--header", action="append", default=[], metavar="'NAME: VALUE'",
                     help="request header (repeatable)")
    get.add_argument("--body-only", action="store_true", help="print only the body")
    _settings_flags(get)


def _add_export(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    export = commands.add_parser(
        "export", help="write dumps, catalogue and every document as static files",
        description="Write the dumps, the catalogue (every format, and datasets/dcat as "
        "RDF/XML), the VoID description and every resource document in every format to DIR, "
        "laid out as the server's URLs (DIR/doc/place/tartu.ttl, DIR/catalog.rdf, "
        "DIR/index.html), so any web server can host the dataset. DIR must be empty unless "
        "--force; then files an earlier export wrote and this one does not (a person since "
        "withheld) are removed, and no other file. Example: publisher export site/ --base "
        "https://data.uppsala.se/")
    export.add_argument("dir", metavar="DIR", help="folder to write into")
    export.add_argument("--force", action="store_true",
                        help="write into a non-empty DIR (adds and overwrites; removes only what "
                        "an earlier export's manifest lists and this one does not write)")
    _settings_flags(export)


def _add_load(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    load = commands.add_parser(
        "load", help="bulk-load data/ and ontology/ into the on-disk store",
        description="Fill the on-disk store (--store, required) with data/ and ontology/ at "
        "the engine's bulk-load speed, with a progress bar on a terminal: N-Triples, Turtle, "
        "N-Quads, TriG, RDF/XML and JSON-LD files, each also gzipped (x.nt.gz), then "
        "compacted for reading. It then writes, into the store, the five dumps and the "
        "statistics that the catalogue, VoID and the service description give, so that no "
        "server has to compute them. A store that already holds the current data is left as it "
        "is (unless --force); `publisher serve --store` then reopens it, read-only, without "
        "reloading. Example: publisher load --store /var/lib/publisher/db "
        "--data-dir big-data/")
    load.add_argument("--force", action="store_true", help="reload even if the store is current")
    _settings_flags(load)


def _add_push(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    push = commands.add_parser(
        "push", help="load the graph into a remote SPARQL store, atomically",
        description="Upload data/ and ontology/ (or the RDF FILEs given) into the remote store "
        "of --store sparql+http(s)://... through the Graph Store Protocol (--store-gsp) or "
        "SPARQL Update (--store-update), into new graphs that are then swapped in, so readers "
        "never see half a load. Credentials only from PUBLISHER_STORE_USER and "
        "PUBLISHER_STORE_PASSWORD (store_auth: basic or digest). Example: publisher push "
        "--store sparql+http://127.0.0.1:8890/sparql --store-update "
        "http://127.0.0.1:8890/sparql-auth --store-gsp "
        "http://127.0.0.1:8890/sparql-graph-crud-auth --base https://data.uppsala.se/")
    push.add_argument("files", nargs="*", metavar="FILE",
                      help="RDF files to publish instead of data/ and ontology/")
    push.add_argument("--store-update", metavar="URL", help="the store's SPARQL Update endpoint")
    push.add_argument("--store-gsp", metavar="URL",
                      help="the store's Graph Store Protocol endpoint (default: upload with "
                      "SPARQL Update)")
    _settings_flags(push)


def _add_check_harvest(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    check = commands.add_parser(
        "check-harvest", help="check a live catalogue URL as a data portal would",
        description="Fetch URL as Sveriges dataportal / data.europa.eu would and check: "
        "status and redirects (only 301/303/307/308), media type, RDF/XML parse, absolute "
        "RFC 3987 IRIs, no blank nodes, DCAT-AP 3.0.1 and DCAT-AP-SE 3.0.1 shapes, "
        "bundle.json's mandatory properties, licence IRIs, dataset description length, and "
        "every distribution's reachability, size and SHA-256. Exits 1 if not ready. "
        "Example: publisher check-harvest https://data.uppsala.se/datasets/dcat")
    check.add_argument("url", metavar="URL", help="the catalogue URL a portal would harvest")
    _report_format(check)
    check.add_argument("--timeout", type=float, default=60.0,
                       help="seconds per HTTP request (default 60)")


def _report_format(parser: argparse.ArgumentParser) -> None:
    """``--format`` of the commands that print a report (validate, check-harvest)."""
    parser.add_argument("--format", choices=["text", "json"], default="text",
                        help="report format (default text)")
