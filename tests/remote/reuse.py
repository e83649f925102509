"""Run existing tests against the remote store without copying them.

``reusing(module, fixtures)`` picks the test functions of a module that take one of the
given fixtures (with their parametrize marks, which live on the function). Placed in a
module of tests/remote/, they are collected again there, and their fixtures resolve to
tests/remote/conftest.py's (``server`` in front of Virtuoso) or to the module's own
overrides.
"""

from __future__ import annotations

import inspect
from types import ModuleType
from typing import Any


def reusing(module: ModuleType, fixtures: set[str], skip: dict[str, str] | None = None,
                ) -> dict[str, Any]:
    """{name: test function} of ``module``'s tests that take any of ``fixtures``; those named
    in ``skip`` are left out (the reason is for the reader: every one is documented)."""
    found = {}
    for name, value in vars(module).items():
        if not name.startswith("test_") or not inspect.isfunction(value):
            continue
        if name in (skip or {}):
            continue
        if fixtures & set(inspect.signature(value).parameters):
            found[name] = value
    return found
