"""The exception tree and its RFC 9457 problem+json rendering.

    PublisherError                      500  (never raised directly)
    ├── ConfigError                     a setting cannot be read (CLI exits 2)
    ├── DataError                       data/ or ontology/ cannot be loaded
    │   └── DataSyntaxError             with file, line and column
    └── HttpError                       everything a client can cause
        ├── BadRequest                  400
        │   ├── QuerySyntaxError        400  malformed SPARQL, with position
        │   ├── UpdateRefused           400  an UPDATE sent to the query endpoint
        │   └── QueryRefused            400  SERVICE, LOAD, foreign FROM, ...
        ├── ResourceNotFound            404
        ├── MethodNotAllowed            405
        ├── NotAcceptable               406  with the available media types
        ├── PreconditionFailed          412  If-Match or If-Unmodified-Since failed
        ├── PayloadTooLarge             413
        ├── UriTooLong                  414  the request target alone over the limit
        ├── HeadersTooLarge             431  request line and headers over the limit
        ├── UnsupportedMediaType        415
        ├── MethodNotImplemented        501  a method the server does not know
        └── ServiceUnavailable          503  with Retry-After
            └── QueryTimeout            503  the query ran past its deadline

Library code raises these; app.py installs the one handler that renders them.
Nothing here imports FastAPI.
"""

from __future__ import annotations

from typing import Any

#: where the problem types are documented (render/problems.py): the canonical base, or the
#: base a server is set to (``problem(base=...)``)
PROBLEM_PATH = "problems/"
PROBLEM_BASE = "https://data.uppsala.se/" + PROBLEM_PATH


class PublisherError(Exception):
    status = 500
    title = "Internal server error"
    slug = "internal"

    def __init__(self, detail: str = "", **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra

    def problem(self, instance: str | None = None, base: str | None = None) -> dict[str, Any]:
        """The RFC 9457 body for this error; its ``type`` is the page documenting it, under
        ``base`` (the server's) or the canonical one."""
        body: dict[str, Any] = {
            "type": (PROBLEM_BASE if base is None else base + PROBLEM_PATH) + self.slug,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance is not None:
            body["instance"] = instance
        body.update(self.extra)
        return body

    def headers(self) -> dict[str, str]:
        return {}


class ConfigError(PublisherError):
    title = "Invalid configuration"
    slug = "config"


class DataError(PublisherError):
    title = "Data cannot be loaded"
    slug = "data"


class DataSyntaxError(DataError):
    title = "Syntax error in data"
    slug = "data-syntax"

    def __init__(self, path: str, line: int, column: int, message: str) -> None:
        super().__init__(f"{path}:{line}:{column}: {message}")
        self.path, self.line, self.column, self.message = path, line, column, message


class HttpError(PublisherError):
    status = 400


class BadRequest(HttpError):
    status = 400
    title = "Bad request"
    slug = "bad-request"


class QuerySyntaxError(BadRequest):
    title = "Malformed SPARQL query"
    slug = "query-syntax"


class UpdateRefused(BadRequest):
    title = "Updates are not accepted"
    slug = "update-refused"


class QueryRefused(BadRequest):
    title = "Query refused"
    slug = "query-refused"


class ResourceNotFound(HttpError):
    status = 404
    title = "Not found"
    slug = "not-found"


class MethodNotAllowed(HttpError):
    status = 405
    title = "Method not allowed"
    slug = "method-not-allowed"

    def __init__(self, detail: str = "", allow: str = "GET, HEAD, OPTIONS", **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.allow = allow

    def headers(self) -> dict[str, str]:
        return {"Allow": self.allow}


class PreconditionFailed(HttpError):
    status = 412
    title = "Precondition failed"
    slug = "precondition-failed"


class NotAcceptable(HttpError):
    status = 406
    title = "Not acceptable"
    slug = "not-acceptable"

    def __init__(self, available: list[str], detail: str = "") -> None:
        super().__init__(
            detail or "None of the requested media types is available. Available: "
            + ", ".join(available),
            available=available,
        )


class PayloadTooLarge(HttpError):
    status = 413
    title = "Request too large"
    slug = "too-large"


class RequestTimeout(HttpError):
    status = 408
    title = "Request timeout"
    slug = "request-timeout"


class RangeNotSatisfiable(HttpError):
    status = 416
    title = "Range not satisfiable"
    slug = "range-not-satisfiable"


class UriTooLong(HttpError):
    status = 414
    title = "URI too long"
    slug = "uri-too-long"


class HeadersTooLarge(HttpError):
    status = 431
    title = "Request header fields too large"
    slug = "headers-too-large"


class UnsupportedMediaType(HttpError):
    status = 415
    title = "Unsupported media type"
    slug = "unsupported-media-type"


class MethodNotImplemented(HttpError):
    status = 501
    title = "Not implemented"
    slug = "not-implemented"


class ServiceUnavailable(HttpError):
    status = 503
    title = "Service unavailable"
    slug = "unavailable"
    retry_after = 5

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class QueryTimeout(ServiceUnavailable):
    title = "Query timed out"
    slug = "query-timeout"


class QueryOutOfMemory(ServiceUnavailable):
    title = "Query took too much memory"
    slug = "query-memory"


class AnswerCut(BaseException):
    """An answer that failed after its head had gone (past ``max_response_bytes``, or a
    query that failed mid-stream): it can only be left unfinished, so that the server
    closes the connection and the client sees the cut, never a short answer that looks
    whole. A BaseException, so that the framework's handlers, which answer an Exception
    with an error response (too late here) and log it with its traceback, let it through
    to the app's edge (routes/front.py), which ends the request there."""

