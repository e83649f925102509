"""Serve an ASGI app of bench/ on loopback with uvicorn and a chosen HTTP protocol.

    python bench/serve_asgi.py ceiling:create_app --factory --port 8001 --http publisher

``--http publisher`` is the publisher's own protocol (publisher/http_server.py: httptools
with the request head bounded and a whole answer written at once), as ``publisher serve``
runs it; ``httptools`` and ``h11`` are uvicorn's. The loop is uvicorn's ``auto`` (uvloop
where installed), as the publisher's. Used by peers.py for the FastAPI ceiling and by
floor.py.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # publisher, installed or not

from publisher.http_server import BoundedHttpTools

HEAD_LIMIT = 16_384  # the publisher's default max_header_bytes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("app", help="module:attribute of the ASGI app (or of its factory)")
    parser.add_argument("--factory", action="store_true", help="the attribute builds the app")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--http", choices=["publisher", "httptools", "h11"], default="publisher")
    parser.add_argument("--no-proxy-headers", action="store_true",
                        help="without uvicorn's proxy-headers middleware, as publisher serve "
                        "runs: an app that answers at once is then asked (http_server.py)")
    args = parser.parse_args()
    http: object = BoundedHttpTools if args.http == "publisher" else args.http
    uvicorn.run(args.app, factory=args.factory, host="127.0.0.1", port=args.port,
                log_level="warning", access_log=False, http=http,  # type: ignore[arg-type]
                h11_max_incomplete_event_size=HEAD_LIMIT,
                proxy_headers=not args.no_proxy_headers)


if __name__ == "__main__":
    main()
