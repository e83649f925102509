"""Logging: one setup for the server's own, uvicorn's and the access log, as text or JSON.

``setup(log_format, level)`` configures the root logger once (``publisher serve`` calls it
and tells uvicorn to leave logging alone). The access log is ``publisher.access``: one
record per answered request, written by routes/ops.py with the request id the client sees
in ``X-Request-ID``. In JSON every record is one object per line with ``time``, ``level``,
``logger``, ``message`` and, for the access log, ``request_id``, ``method``, ``path``,
``query``, ``status``, ``bytes``, ``duration_ms``, ``client`` and ``user_agent``.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

ACCESS = logging.getLogger("publisher.access")
#: the extra fields of an access record, in the order the text format prints them
ACCESS_FIELDS = ("request_id", "method", "path", "query", "status", "bytes", "duration_ms",
                 "client", "user_agent")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in ACCESS_FIELDS:
            if hasattr(record, name):
                entry[name] = getattr(record, name)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")


def setup(log_format: str = "text", level: str = "info") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True  # ours is publisher.access


def access(fields: dict[str, Any]) -> None:
    """Log one answered request (fields as in ACCESS_FIELDS)."""
    if not ACCESS.isEnabledFor(logging.INFO):
        return
    text = (f'{fields["client"]} "{fields["method"]} {fields["path"]}'
            f'{"?" + fields["query"] if fields["query"] else ""}" {fields["status"]} '
            f'{fields["bytes"]}B {fields["duration_ms"]}ms id={fields["request_id"]}')
    ACCESS.info(text, extra=fields)
