"""The framework's own ceiling: a bare FastAPI route returning ready-made bytes.

    BENCH_CEILING_DIR=dir uvicorn --factory bench.ceiling:create_app

Every file of BENCH_CEILING_DIR is answered at ``/<file name>`` with the media type its
suffix names, from memory, with no negotiation, no middleware and no store: what the same
uvicorn and FastAPI give when the route does nothing.
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import Response

MEDIA = {"ttl": "text/turtle; charset=utf-8", "jsonld": "application/ld+json; charset=utf-8",
         "html": "text/html; charset=utf-8", "srj": "application/sparql-results+json"}


def create_app() -> FastAPI:
    folder = Path(os.environ["BENCH_CEILING_DIR"])
    bodies = {p.name: (p.read_bytes(), MEDIA.get(p.suffix[1:], "application/octet-stream"))
              for p in folder.iterdir() if p.is_file()}
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/{name}")
    async def ready(name: str) -> Response:
        body, media_type = bodies[name]
        return Response(body, media_type=media_type)

    return app
