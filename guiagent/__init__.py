"""guiagent: a GUI agent on your desktop, with a local VLM and a rolling, compressed KV cache.

Heavy imports (torch, transformers) are deferred: ``import guiagent`` is cheap, and ``guiagent.KVSession``
or ``guiagent.load_model`` load them on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["KVSession", "CacheStats", "LoadedModel", "load_model", "__version__"]

if TYPE_CHECKING:
    from guiagent.agent.model.loaded import LoadedModel
    from guiagent.agent.model.loading import load_model
    from guiagent.compression.session import KVSession
    from guiagent.compression.stats import CacheStats

_LAZY = {
    "KVSession": "guiagent.compression.session",
    "CacheStats": "guiagent.compression.stats",
    "LoadedModel": "guiagent.agent.model.loaded",
    "load_model": "guiagent.agent.model.loading",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'guiagent' has no attribute {name!r}")
