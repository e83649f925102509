"""The Linked Data suite (tests/test_linked_data.py and the real-server JSON-LD check) against
a publisher in front of Virtuoso: every resource in every format, JSON-LD, navigability."""

from __future__ import annotations

import pytest

from tests import test_embedded_jsonld, test_linked_data
from tests.remote.reuse import reusing

pytestmark = pytest.mark.slow
things = test_linked_data.things  # the module's own fixture, over our server
globals().update(reusing(test_linked_data, {"server", "things"}))
globals().update(reusing(test_embedded_jsonld, {"server"}))
