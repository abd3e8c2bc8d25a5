"""Method settings as configuration: the presses' dataclass defaults, overridden by a config file and ``--set``.

The defaults live in one place, the press dataclasses (``method_defaults``); users only say what differs:

- ``--config FILE``: YAML ``{methods: {starkv: {alpha: 1.0}}}`` (unknown keys, methods and fields refused);
- ``--set METHOD.FIELD=VALUE`` (repeatable, after the file: later wins), typed by the field's annotation.
  ``VALUE`` may list several values (``snapkv.kernel_size=3,5``): ``guiagent eval`` sweeps them, one cell each.

``MethodSettings`` holds only the values that differ from the defaults, in a canonical order, so two runs
configured the same way compare equal, and ``resolved(method)`` is always the defaults plus these.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from guiagent.compression.presses import get_press, method_defaults, method_types, normalize_method
from guiagent.compression.presses.registry import FULL
from guiagent.errors import ConfigError

Triple = tuple[str, str, Any]  # (method, field, value)
SET_HINT = "Write --set METHOD.FIELD=VALUE, e.g. --set starkv.alpha=1.0."
TRUE, FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")
KINDS = {bool: "true or false", int: "a whole number", float: "a number", str: "text"}


@dataclass(frozen=True)
class MethodSettings:
    """User overrides of method settings (only the values that differ from a press's defaults)."""

    values: tuple[Triple, ...] = ()

    @classmethod
    def build(cls, triples: Iterable[Triple]) -> MethodSettings:
        """From (method, field, value) in the order given (later wins), dropping values equal to the default;
        a value its press refuses (``pooling=median``) is refused here, before any model loads."""
        chosen: dict[tuple[str, str], Any] = {}
        for method, name, value in triples:
            chosen[(method, name)] = value
        kept = [(m, f, v) for (m, f), v in chosen.items() if method_defaults(m).get(f) != v]
        settings = cls(tuple(sorted(kept, key=lambda t: (t[0], t[1]))))
        for method in dict.fromkeys(m for m, _, _ in kept):
            get_press(method, **settings.of(method))
        return settings

    @classmethod
    def from_dict(cls, data: Mapping[str, Mapping[str, Any]] | None) -> MethodSettings:
        """From ``{method: {field: value}}`` (a grid file's or a config file's), each value checked and typed."""
        return cls.build(typed(m, f, v) for m, fields in (data or {}).items() for f, v in fields.items())

    def of(self, method: str) -> dict[str, Any]:
        """The overrides of ``method`` alone."""
        name = normalize_method(method)
        return {f: v for m, f, v in self.values if m == name}

    def only(self, method: str) -> MethodSettings:
        """These settings restricted to ``method`` (what one eval cell depends on)."""
        name = normalize_method(method)
        return MethodSettings(tuple(t for t in self.values if t[0] == name))

    def resolved(self, method: str) -> dict[str, Any]:
        """``method``'s press defaults, then the overrides (empty for ``full``); a rolling context adds its
        observers (``RollingContext.resolved``)."""
        return {**method_defaults(method), **self.of(method)}

    def as_dict(self) -> dict[str, dict[str, Any]]:
        result: dict[str, dict[str, Any]] = {}
        for method, name, value in self.values:
            result.setdefault(method, {})[name] = value
        return result

    def label(self, method: str) -> str:
        """``kernel_size3-alpha1.0``: the overrides of ``method`` in a file-safe form ("" when none), for cell names."""
        return "-".join(re.sub(r"[^A-Za-z0-9._]+", "_", f"{f}{v}") for f, v in self.of(method).items())


def typed(method: str, name: str, value: Any) -> Triple:
    """(method, field, value) checked against the registry and converted to the field's type."""
    try:
        method = normalize_method(method)
    except ConfigError as error:
        raise ConfigError(f"{error.message} (in a method setting '{method}.{name}')", error.hint) from None
    types = method_types(method)
    if method == FULL or name not in types:
        known = ", ".join(types) or "none (it keeps the whole cache)"
        raise ConfigError(f"Method '{method}' has no setting '{name}'; its settings: {known}.", SET_HINT)
    return method, name, convert(value, types[name], f"{method}.{name}")


def convert(value: Any, kind: type, where: str) -> Any:
    """``value`` (text from the command line, or YAML's) as ``kind``: bool, int, float or str."""
    text = str(value).strip()
    try:
        if kind is bool:
            if isinstance(value, bool) or text.lower() in TRUE + FALSE:
                return value if isinstance(value, bool) else text.lower() in TRUE
            raise ValueError
        if kind is int and not isinstance(value, bool):
            return int(text)
        if kind is float and not isinstance(value, bool):
            return float(text)
        if kind is str:
            return text
    except ValueError:
        pass
    raise ConfigError(f"{where} takes {KINDS.get(kind, kind.__name__)}, not '{value}'.", SET_HINT)


def parse_set(text: str) -> tuple[str, str, list[Any]]:
    """``METHOD.FIELD=VALUE[,VALUE...]`` as (method, field, typed values)."""
    match = re.fullmatch(r"\s*([\w-]+)\.(\w+)\s*=(.*)", text)
    if match is None:
        raise ConfigError(f"'{text}' is not a method setting.", SET_HINT)
    method, name, values = match.groups()
    items = [v.strip() for v in values.split(",")]
    if not all(items):
        raise ConfigError(f"'{text}' has an empty value.", SET_HINT)
    checked = [typed(method, name, v) for v in items]
    return checked[0][0], checked[0][1], [t[2] for t in checked]


def load_config(path: str | Path) -> MethodSettings:
    """A ``--config`` file: YAML with one key, ``methods: {METHOD: {FIELD: VALUE}}``."""
    import yaml

    path = Path(path).expanduser()
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as error:
        raise ConfigError(f"The config file '{path}' cannot be read ({error}).", "Pass a readable YAML file.") from None
    hint = "Write methods: {starkv: {alpha: 1.0}}."
    if not isinstance(data, dict) or set(data) - {"methods"}:
        raise ConfigError(f"The config file '{path}' may only hold the key 'methods'.", hint)
    methods = data.get("methods") or {}
    if not isinstance(methods, dict) or not all(isinstance(v, dict) for v in methods.values()):
        raise ConfigError(f"In '{path}', 'methods' must map each method to its settings.", hint)
    return MethodSettings.from_dict(methods)


def sweep(base: MethodSettings, sets: Iterable[str]) -> list[MethodSettings]:
    """``base`` (a config file's) with each ``--set`` on top; one ``MethodSettings`` per combination of the
    listed values (a single one when every ``--set`` has one value)."""
    parsed = [parse_set(text) for text in sets]
    choices = [[(m, f, v) for v in values] for m, f, values in parsed]
    return list(dict.fromkeys(MethodSettings.build([*base.values, *combo]) for combo in itertools.product(*choices)))


def method_settings(config: str | None, sets: Iterable[str], *, sweeps: bool = False) -> list[MethodSettings]:
    """``--config`` then ``--set``; several combinations only where the command sweeps (``guiagent eval``)."""
    found = sweep(load_config(config) if config else MethodSettings(), sets)
    if len(found) > 1 and not sweeps:
        raise ConfigError("Only guiagent eval sweeps a setting over several values.", "Give each --set one value.")
    return found
