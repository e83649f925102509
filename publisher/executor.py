"""What the routes run queries with, local or remote: the ``QueryExecutor`` and
``QueryEvaluation`` protocols, and the errors a query's messages report (``error_from``).

Two executors implement them: publisher.workers' ``WorkerPool`` (worker processes over a
local store) and publisher.passthrough's ``RemoteExecutor`` (query slots over a remote
store). Both receive the messages of publisher.evaluate's ``run_job``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any, Protocol

from publisher.errors import BadRequest, QueryOutOfMemory
from publisher.evaluate import Job
from publisher.sparql import syntax_error


class QueryEvaluation(Protocol):
    """A running query whose head has arrived (``Evaluation``; passthrough's
    ``RemoteEvaluation``)."""

    truncated: bool

    @property
    def whole(self) -> bytes | None:
        """The whole body when it came at once, else None (then ``chunks`` streams it)."""

    def chunks(self) -> AsyncIterator[bytes]:
        """The body, once."""


class QueryExecutor(Protocol):
    """What the routes run queries with: ``WorkerPool`` over a local store,
    passthrough's ``RemoteExecutor`` over a remote one."""

    @property
    def workers(self) -> Sequence[Any]:
        """One entry per query slot (what /readyz counts)."""

    @property
    def pids(self) -> list[int]: ...

    def start(self) -> None: ...

    async def close(self) -> None: ...

    async def evaluate(self, job: Job) -> QueryEvaluation: ...


def error_from(message: tuple[Any, ...], memory_mb: int = 0) -> Exception:
    """The HttpError for a worker's ("error", kind, text) message; ``memory_mb``: the
    workers' memory bound (settings.query_memory_mb), named when a query crossed it."""
    if message[1] == "http":
        error: Exception = message[2]
        return error
    if message[1] == "syntax":
        return syntax_error(message[2])
    if message[1] == "memory":
        return out_of_memory(memory_mb)
    return BadRequest(f"The query could not be evaluated: {message[2]}")


def out_of_memory(memory_mb: int) -> QueryOutOfMemory:
    """A query stopped at the memory a worker may take for one (``query_memory_mb``)."""
    bound = f" of {memory_mb} MB" if memory_mb else ""
    return QueryOutOfMemory(f"The query needed more memory than the limit{bound} one query "
                            "may take, and was stopped. Make it more specific, or build "
                            "shorter strings, and try again.")
