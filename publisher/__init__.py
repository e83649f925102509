"""Uppsala kommun's international relations, published as Linked Open Data."""

__version__ = "0.1.0"

from publisher.app import create_app  # noqa: E402
from publisher.config import Settings, load_settings  # noqa: E402

__all__ = ["Settings", "__version__", "create_app", "load_settings"]
