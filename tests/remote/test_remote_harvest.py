"""The harvest suite (tests/routes/test_catalog.py's real-server tests) against a publisher in
front of Virtuoso: the DCAT-AP-SE catalogue a portal harvests, its dumps and checksums,
VoID counts equal to SPARQL counts, and check-harvest."""

from __future__ import annotations

import pytest

from tests.remote.reuse import reusing
from tests.routes import test_catalog

pytestmark = pytest.mark.slow
served = test_catalog.served
globals().update(reusing(test_catalog, {"server", "served"}))
