"""Uppsala kommun's international relations, published as Linked Open Data."""

__version__ = "0.1.0"

__all__ = ["Settings", "__version__", "create_app", "load_settings"]

#: where each public name lives; imported on first use, so that importing a submodule
#: (a query worker's ``publisher.evaluate``) does not load the web application
_LAZY = {"create_app": "publisher.app", "Settings": "publisher.config",
         "load_settings": "publisher.config"}


def __getattr__(name: str) -> object:
    if name not in _LAZY:
        raise AttributeError(f"module 'publisher' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value
