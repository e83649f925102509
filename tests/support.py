"""Test helpers shared across test modules."""

from __future__ import annotations

from typing import Any


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    """Every failure path goes through here: the RFC 9457 shape, locked in one place."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert set(body) >= {"type", "title", "status", "detail"}
    assert body["status"] == status
    assert body["type"].startswith("https://")
    assert "Traceback" not in response.text
    return body  # type: ignore[no-any-return]
