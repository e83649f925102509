"""The `publisher` command: a thin layer over the same functions the web app uses.

    publisher serve     serve the graph over HTTP (Linked Data, SPARQL, HTML)
    publisher validate  check data/ and ontology/: syntax, SHACL, described IRIs, labels
    publisher get PATH  run one request through the app in-process and print the answer
    publisher export DIR           write the whole site (dumps, catalogue, documents) as files
    publisher check-harvest URL    run a portal's checks against a live catalogue URL
    publisher push [FILE...]       load the graph into a remote SPARQL store (atomic swap)
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from collections.abc import Sequence
from typing import Any

from publisher.config import Settings, is_remote, load_settings
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
                       "reloading when it already holds the current data (default: in memory); "
                       "or a remote SPARQL endpoint, sparql+http(s)://HOST:PORT/PATH (see "
                       "publisher push)")
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
    serve.add_argument("--log-format", choices=["text", "json"],
                       help="access and error log format (default text; json: one object "
                       "per line)")
    serve.add_argument("--workers", type=int, default=1, metavar="N",
                       help="server processes sharing one port (default 1); with --store they "
                       "share the on-disk store read-only, after this process has brought it "
                       "up to date")
    serve.add_argument("--reload", action="store_const", const=True, default=None,
                       help="watch data/ and ontology/; swap in an edit once it validates "
                       "(SIGHUP reloads too)")
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

    export = commands.add_parser(
        "export", help="write dumps, catalogue and every document as static files",
        description="Write the dumps, the catalogue (every format, and datasets/dcat as "
        "RDF/XML), the VoID description and every resource document in every format to DIR, "
        "laid out as the server's URLs (DIR/doc/place/tartu.ttl, DIR/catalog.rdf, "
        "DIR/index.html), so any web server can host the dataset. DIR must be empty unless "
        "--force; nothing is ever deleted. Example: publisher export site/ --base "
        "https://data.uppsala.se/")
    export.add_argument("dir", metavar="DIR", help="folder to write into")
    export.add_argument("--force", action="store_true",
                        help="write into a non-empty DIR (adds and overwrites, never deletes)")
    _settings_flags(export)

    load = commands.add_parser(
        "load", help="bulk-load data/ and ontology/ into the on-disk store",
        description="Fill the on-disk store (--store, required) with data/ and ontology/ at "
        "the engine's bulk-load speed, with a progress bar: N-Triples, Turtle, N-Quads, TriG, "
        "RDF/XML and JSON-LD files, each also gzipped (x.nt.gz). A store that already holds "
        "the current data is left as it is (unless --force); `publisher serve --store` then "
        "reopens it without reloading. Example: publisher load --store /var/lib/publisher/db "
        "--data-dir big-data/")
    load.add_argument("--force", action="store_true", help="reload even if the store is current")
    _settings_flags(load)

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

    check = commands.add_parser(
        "check-harvest", help="check a live catalogue URL as a data portal would",
        description="Fetch URL as Sveriges dataportal / data.europa.eu would and check: "
        "status and redirects (only 301/303/307/308), media type, RDF/XML parse, absolute "
        "RFC 3987 IRIs, no blank nodes, DCAT-AP 3.0.1 and DCAT-AP-SE 3.0.1 shapes, "
        "bundle.json's mandatory properties, licence IRIs, dataset description length, and "
        "every distribution's reachability, size and SHA-256. Exits 1 if not ready. "
        "Example: publisher check-harvest https://data.uppsala.se/datasets/dcat")
    check.add_argument("url", metavar="URL", help="the catalogue URL a portal would harvest")
    check.add_argument("--format", choices=["text", "json"], default="text",
                       help="report format (default text)")
    check.add_argument("--timeout", type=float, default=60.0,
                       help="seconds per HTTP request (default 60)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "serve":
            return _serve(args)
        if args.command == "validate":
            return _validate(args)
        if args.command == "export":
            return _export(args)
        if args.command == "check-harvest":
            return _check_harvest(args)
        if args.command == "load":
            return _load(args)
        if args.command == "push":
            return _push(args)
        return _get(args)
    except (ConfigError, DataError) as exc:
        print(f"publisher: {exc.detail}", file=sys.stderr)
        return 2


def _serve(args: argparse.Namespace) -> int:
    import uvicorn  # noqa: PLC0415

    from publisher.app import create_app  # noqa: PLC0415

    from publisher import logs  # noqa: PLC0415

    settings = _settings(args, host=args.host, port=args.port, log_format=args.log_format,
                         reload=args.reload)
    if args.workers > 1 and settings.reload:
        raise ConfigError("--reload watches the data in one process; use it with --workers 1")
    logs.setup(settings.log_format, args.log_level)
    if args.workers > 1:
        return _serve_workers(settings, args)
    # uvicorn re-raises SIGTERM after its graceful shutdown; this makes that a clean exit 0
    signal.signal(signal.SIGTERM, _exit_cleanly)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port,
                log_config=None, **_server_options(settings, args))
    return 0


def _server_options(settings: Settings, args: argparse.Namespace) -> dict[str, Any]:
    """uvicorn's options, for one server process or several."""
    from publisher.http_server import BoundedHttpTools  # noqa: PLC0415

    return {"log_level": args.log_level, "proxy_headers": False,
            "access_log": False,  # routes/ops.py writes the access log, with request ids
            "http": BoundedHttpTools,  # httptools, the request head bounded (http_server.py)
            "loop": "auto",  # uvloop where installed (not on Windows), else asyncio
            "h11_max_incomplete_event_size": settings.max_header_bytes,  # that bound
            "limit_concurrency": settings.max_connections,
            "timeout_graceful_shutdown": int(settings.shutdown_grace + 0.5)}


def _exit_cleanly(signum: int, frame: Any) -> None:
    raise SystemExit(0)


def _serve_workers(settings: Settings, args: argparse.Namespace) -> int:
    """Several server processes on one port (publisher/multiprocess.py). Each builds its
    app from the environment (app.create_app_from_env); an on-disk store is brought up to
    date here, once, and then only opened read-only by the workers, so no process ever
    writes while another reads."""
    import os  # noqa: PLC0415
    from dataclasses import fields  # noqa: PLC0415

    from publisher import multiprocess  # noqa: PLC0415
    from publisher.store import OxigraphStore  # noqa: PLC0415

    if settings.store and not is_remote(settings.store):
        OxigraphStore.open(settings)  # refills if stale; closed again when dropped
    for field in fields(Settings):
        value = getattr(settings, field.name)
        os.environ[f"PUBLISHER_{field.name.upper()}"] = str(value)
    return multiprocess.serve(args.workers, settings.host, settings.port,
                              _server_options(settings, args))


def _push(args: argparse.Namespace) -> int:
    from publisher.push import push  # noqa: PLC0415

    push(_settings(args, store_update=args.store_update, store_gsp=args.store_gsp), args.files)
    return 0


def _load(args: argparse.Namespace) -> int:
    import time  # noqa: PLC0415

    from tqdm import tqdm  # noqa: PLC0415

    from publisher.source import source_files  # noqa: PLC0415
    from publisher.store import OxigraphStore  # noqa: PLC0415

    settings = _settings(args)
    if not settings.store:
        raise ConfigError("publisher load needs an on-disk store: --store PATH")
    if args.force:
        from pathlib import Path  # noqa: PLC0415

        Path(settings.store + ".version").unlink(missing_ok=True)
    total = sum(f.path.stat().st_size for f in source_files(settings))
    started = time.perf_counter()
    with tqdm(total=total, unit="B", unit_scale=True, desc="load",
              disable=not sys.stderr.isatty()) as bar:
        store = OxigraphStore.open(settings, progress=bar.update)
    seconds = time.perf_counter() - started
    print(f"{settings.store}: version {store.version} "
          f"({total / 1e6:.1f} MB of source in {seconds:.1f} s)")
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


def _export(args: argparse.Namespace) -> int:
    from pathlib import Path  # noqa: PLC0415

    from fastapi.testclient import TestClient  # noqa: PLC0415
    from tqdm import tqdm  # noqa: PLC0415

    from publisher.app import create_app  # noqa: PLC0415
    from publisher.export import check_target, export, planned_paths  # noqa: PLC0415

    root = Path(args.dir)
    check_target(root, args.force)
    settings = _settings(args)
    with TestClient(create_app(settings), base_url=settings.base.rstrip("/")) as client:
        store = client.app.state.runtime.store  # type: ignore[attr-defined]

        def fetch(path: str) -> bytes:
            headers = {"Accept": "text/html"} if path == "" else {}  # the landing page
            response = client.get("/" + path, headers=headers, follow_redirects=False)
            if response.status_code != 200:
                raise ConfigError(f"/{path} answered {response.status_code}")
            return response.content

        paths = list(planned_paths(settings, store.subjects_with_prefix))
        count = export(root, settings, fetch, paths, progress=lambda items: tqdm(
            items, desc="export", unit="file", disable=not sys.stderr.isatty()))
    print(f"wrote {count} files to {root}")
    return 0


def _check_harvest(args: argparse.Namespace) -> int:
    import asyncio  # noqa: PLC0415

    import httpx  # noqa: PLC0415

    from publisher.harvest import check_catalog  # noqa: PLC0415

    async def run() -> Any:
        headers = {"User-Agent": "publisher-check-harvest"}
        async with httpx.AsyncClient(timeout=args.timeout, headers=headers) as client:
            return await check_catalog(args.url, client)

    report = asyncio.run(run())
    if args.format == "json":
        print(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
    else:
        print(report.to_text())
    return 0 if report.ok else 1
