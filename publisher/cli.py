"""The `publisher` command: a thin layer over the same functions the web app uses.

    publisher serve     serve the graph over HTTP (Linked Data, SPARQL, HTML)
    publisher validate  check data/ and ontology/: syntax, SHACL, described IRIs, labels
    publisher get PATH  run one request through the app in-process and print the answer
    publisher export DIR           write the whole site (dumps, catalogue, documents) as files
    publisher check-harvest URL    run a portal's checks against a live catalogue URL
    publisher push [FILE...]       load the graph into a remote SPARQL store (atomic swap)
    publisher load                 bulk-load data/ and ontology/ into the on-disk store

``main`` is the entry point: it parses with cli_parser.py (every subcommand's flags, and how
the settings flags become Settings) and runs the subcommand with the functions below.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from collections.abc import Sequence
from typing import Any

from publisher.cli_parser import build_parser, settings_from
from publisher.config import Settings, is_remote
from publisher.errors import ConfigError, DataError, HttpError


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
    except HttpError as exc:  # a remote store's answer (push, or a command over one)
        print(f"publisher: {exc.detail}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"publisher: {args.command} interrupted", file=sys.stderr)
        return 130


def _serve(args: argparse.Namespace) -> int:
    import uvicorn  # noqa: PLC0415

    from publisher.app import create_app  # noqa: PLC0415

    from publisher import logs  # noqa: PLC0415

    settings = settings_from(args, host=args.host, port=args.port,
                             log_format=args.log_format, reload=args.reload,
                             store_in_memory=args.store_in_memory)
    if args.workers > 1 and settings.reload:
        raise ConfigError("--reload watches the data in one process; use it with --workers 1")
    logs.setup(settings.log_format, args.log_level)
    if args.workers > 1:
        return _serve_workers(settings, args)
    store = None
    if not is_remote(settings.store):  # bad data: cli.main's one line, before any server
        from publisher.store import OxigraphStore  # noqa: PLC0415

        store = OxigraphStore.open(settings)
    from publisher.multiprocess import exit_cleanly  # noqa: PLC0415

    signal.signal(signal.SIGTERM, exit_cleanly)
    uvicorn.run(create_app(settings, store=store), host=settings.host, port=settings.port,
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


def _serve_workers(settings: Settings, args: argparse.Namespace) -> int:
    """Several server processes on one port (publisher/multiprocess.py). Each builds its
    app from the environment (app.create_app_from_env); an on-disk store is brought up to
    date here, once, and then only opened read-only by the workers, so no process ever
    writes while another reads."""
    import os  # noqa: PLC0415
    from dataclasses import fields  # noqa: PLC0415

    from publisher import multiprocess  # noqa: PLC0415
    from publisher.store import OxigraphStore  # noqa: PLC0415

    if settings.store and not is_remote(settings.store):  # refills if stale; then closed
        OxigraphStore.open(settings.replace(store_in_memory=False))  # each worker copies
    for field in fields(Settings):
        value = getattr(settings, field.name)
        os.environ[f"PUBLISHER_{field.name.upper()}"] = str(value)
    return multiprocess.serve(args.workers, settings.host, settings.port,
                              _server_options(settings, args))


def _push(args: argparse.Namespace) -> int:
    from publisher.push import push  # noqa: PLC0415

    push(settings_from(args, store_update=args.store_update, store_gsp=args.store_gsp), args.files)
    return 0


def _load(args: argparse.Namespace) -> int:
    import time  # noqa: PLC0415

    from publisher.source import source_files  # noqa: PLC0415
    from publisher.store import OxigraphStore  # noqa: PLC0415

    settings = settings_from(args)
    if not settings.store:
        raise ConfigError("publisher load needs an on-disk store: --store PATH")
    if is_remote(settings.store):
        raise ConfigError("publisher load fills an on-disk store; for a remote SPARQL store "
                          "use publisher push")
    total = sum(f.path.stat().st_size for f in source_files(settings))
    started = time.perf_counter()
    if sys.stderr.isatty():  # a progress bar; elsewhere (logs, CI) none, nor its cost
        from tqdm import tqdm  # noqa: PLC0415

        with tqdm(total=total, unit="B", unit_scale=True, desc="load") as bar:
            # what follows the fill (minutes at 10^7 triples) shows beside the full bar
            store = OxigraphStore.open(settings, progress=bar.update,
                                       stage=lambda text: bar.set_postfix_str(text),
                                       refill=args.force)
            bar.set_postfix_str("done")
    else:
        store = OxigraphStore.open(settings, refill=args.force)
    seconds = time.perf_counter() - started
    described = store.timings.get("described")
    of_it = "" if described is None else \
        f"; {described:.1f} s of it wrote the dumps and statistics"
    print(f"{settings.store}: version {store.version} "
          f"({total / 1e6:.1f} MB of source in {seconds:.1f} s{of_it})")
    return 0


def _validate(args: argparse.Namespace) -> int:
    from publisher.validate import validate  # noqa: PLC0415

    report = validate(settings_from(args),
                      say=lambda line: print(f"publisher: {line}", file=sys.stderr, flush=True))
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
    with TestClient(create_app(settings_from(args)), base_url="http://publisher.local") as client:
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
    settings = settings_from(args)
    with TestClient(create_app(settings), base_url=settings.base.rstrip("/")) as client:
        store = client.app.state.runtime.store  # type: ignore[attr-defined]

        def fetch(path: str) -> bytes:
            headers = {"Accept": "text/html"} if path == "" else {}  # the landing page
            response = client.get("/" + path, headers=headers, follow_redirects=False)
            if response.status_code != 200:
                raise ConfigError(f"/{path} answered {response.status_code}")
            return response.content

        paths = list(planned_paths(settings, store.subjects_with_prefix))
        done = export(root, settings, fetch, paths, version=store.version,
                      progress=lambda items: tqdm(items, desc="export", unit="file",
                                                  disable=not sys.stderr.isatty()))
    if (warning := done.warning()) is not None:
        print(f"publisher: {warning}", file=sys.stderr)
    print(done.summary())
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
