"""Compression methods, one module each, registered by name (``registry.py``); users register their own the same way.

Adding a built-in method: a ``<name>_press.py`` with a ``ScorerPress`` (or ``Press``) dataclass whose field
defaults are the published values, a ``register_press`` line below, a row in the press test table, a README line.
"""

from __future__ import annotations

from guiagent.compression.presses.base import CacheView, ImageSpan, LayerView, Press, ScorerPress
from guiagent.compression.presses.guikv_press import GUIKVPress
from guiagent.compression.presses.pyramidkv_press import PyramidKVPress
from guiagent.compression.presses.registry import (
    get_press,
    method_defaults,
    method_names,
    method_types,
    normalize_method,
    register_press,
)
from guiagent.compression.presses.snapkv_press import SnapKVPress
from guiagent.compression.presses.starkv_press import StarKVPress
from guiagent.compression.presses.vlcache_press import VLCachePress

# the order the CLI and the dashboard list them in
register_press("starkv", StarKVPress)
register_press("guikv", GUIKVPress)
register_press("snapkv", SnapKVPress)
register_press("pyramidkv", PyramidKVPress)
register_press("vlcache", VLCachePress)

__all__ = [
    "CacheView",
    "GUIKVPress",
    "ImageSpan",
    "LayerView",
    "Press",
    "PyramidKVPress",
    "ScorerPress",
    "SnapKVPress",
    "StarKVPress",
    "VLCachePress",
    "get_press",
    "method_defaults",
    "method_names",
    "method_types",
    "normalize_method",
    "register_press",
]
