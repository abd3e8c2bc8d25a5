"""The method registry: a name for each press class, the built-in methods and any a user registers.

A method is named once, by ``register_press``; its settings and their defaults are the class's dataclass fields.
Users' presses live in their own modules, imported on the first lookup so that the CLI and the dashboard know
them by name: the modules ``GUIAGENT_PRESSES`` names (comma-separated), then the ``guiagent.presses`` entry points
of installed packages.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
import os
import re
import typing
from functools import cache, partial
from importlib.metadata import entry_points
from typing import Any

from guiagent.compression.presses.base import Press
from guiagent.errors import ConfigError

FULL = "full"  # no press: the whole cache is kept
FULL_ALIASES = (FULL, "none", "original")
PLUGINS_ENV = "GUIAGENT_PRESSES"
ENTRY_POINT_GROUP = "guiagent.presses"
_PRESSES: dict[str, type[Press]] = {}


def register_press(name: str, cls: type[Press]) -> type[Press]:
    """Make ``cls`` the method ``name`` for ``get_press``, ``KVSession(method=...)``, ``--method`` and the
    dashboard; returns ``cls``. Registering the same class under the same name again does nothing."""
    if not (isinstance(cls, type) and issubclass(cls, Press)):
        raise ConfigError(f"register_press('{name}', ...) got {cls!r}, not a Press class.", "Subclass Press.")
    if not re.fullmatch(r"[a-z0-9]+", name) or name in FULL_ALIASES:
        raise ConfigError(
            f"'{name}' cannot name a method.",
            f"Use lowercase letters and digits, other than {', '.join(FULL_ALIASES)}.",
        )
    registered = _PRESSES.get(name)
    if registered is not None and registered is not cls:
        raise ConfigError(f"Method '{name}' is {registered.__name__} already.", "Register yours under another name.")
    if cls.__dict__.get("name", name) != name:
        raise ConfigError(f"{cls.__name__} is method '{cls.name}' already.", "Register a subclass of it instead.")
    cls.name = name
    _PRESSES[name] = cls
    return cls


@cache
def load_plugins() -> None:
    """Import the modules that register users' presses (``GUIAGENT_PRESSES``, then the entry points), once."""
    modules = [m.strip() for m in os.environ.get(PLUGINS_ENV, "").split(",") if m.strip()]
    sources = [(f"{PLUGINS_ENV} module '{m}'", partial(importlib.import_module, m)) for m in modules]
    sources += [
        (f"'{ENTRY_POINT_GROUP}' entry point '{e.name} = {e.value}'", e.load)
        for e in entry_points(group=ENTRY_POINT_GROUP)
    ]
    for source, load in sources:
        try:
            load()
        except ImportError as error:
            raise ConfigError(f"The {source} cannot be imported: {error}.", "Check the name and sys.path.") from error


def method_names() -> tuple[str, ...]:
    """``full`` and every registered method, in registration order (what the CLI and the dashboard offer)."""
    load_plugins()
    return (FULL, *_PRESSES)


def normalize_method(name: str) -> str:
    """``GUI-KV``, ``gui_kv`` and ``guikv`` name the same method; unknown names get a suggestion."""
    names = method_names()
    key = name.lower().replace("-", "").replace("_", "").strip()
    if key in FULL_ALIASES:
        return FULL
    if key in _PRESSES:
        return key
    close = difflib.get_close_matches(key, names, n=1)
    hint = f"Did you mean '{close[0]}'? " if close else ""
    raise ConfigError(f"Unknown compression method '{name}'.", f"{hint}Choose one of {', '.join(names)}.")


def method_defaults(name: str) -> dict[str, Any]:
    """The method's settings and their defaults: the press's dataclass fields (empty for ``full``)."""
    cls = _PRESSES.get(normalize_method(name))
    if cls is None or not dataclasses.is_dataclass(cls):
        return {}
    return {f.name: f.default for f in dataclasses.fields(cls) if f.init and f.default is not dataclasses.MISSING}


def method_types(name: str) -> dict[str, Any]:
    """The method's settings and their annotated types (what a ``--set`` value is converted to)."""
    cls = _PRESSES.get(normalize_method(name))
    if cls is None:
        return {}
    hints = typing.get_type_hints(cls)
    return {field: hints[field] for field in method_defaults(name)}


def get_press(name: str, **overrides: Any) -> Press | None:
    """A fresh press for ``name`` with its defaults and ``overrides``; None for ``full``."""
    method = normalize_method(name)
    if method == FULL:
        return None
    try:
        return _PRESSES[method](**overrides)
    except (TypeError, ValueError) as error:
        raise ConfigError(
            f"Settings {overrides} do not fit method '{method}': {error}.",
            f"Its settings: {', '.join(method_defaults(method)) or 'none'}.",
        ) from error
