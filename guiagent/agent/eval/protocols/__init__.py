"""Evaluation protocols by (harness name, benchmark, model family), found in this package's benchmark modules.

Each benchmark module (``agentnetbench``, ``androidcontrol``, ``screenspot``, ``mind2web``) defines public
``Protocol`` subclasses whose class variables ``name`` / ``benchmark`` / ``family`` say what they reproduce;
``get_protocol`` imports the modules on first use and picks the class by those, so a module can be added
without touching this file. ``native`` runs that have no class here use the policy's own prompts and scorer.
"""

from __future__ import annotations

import importlib
import inspect
from functools import cache
from typing import Any

from guiagent.agent.eval.protocols.base import Protocol
from guiagent.errors import ConfigError

PROTOCOLS = ("native", "guikv", "starkv")
BENCHMARKS = ("agentnetbench", "androidcontrol", "screenspot-v2", "screenspot-pro", "mind2web")
FAMILIES = ("uitars", "opencua")
_MODULES = ("agentnetbench", "androidcontrol", "screenspot", "mind2web")

Key = tuple[str, str, str]


@cache
def protocol_classes() -> dict[Key, type[Protocol]]:
    """Every concrete protocol class of the package's benchmark modules, by (name, benchmark, family)."""
    found: dict[Key, type[Protocol]] = {}
    for module_name in _MODULES:
        qualified = f"{__name__}.{module_name}"
        try:
            module = importlib.import_module(qualified)
        except ModuleNotFoundError as error:
            if error.name != qualified:  # the module exists but something it imports does not
                raise
            continue
        for attribute, value in vars(module).items():
            if (
                isinstance(value, type)
                and issubclass(value, Protocol)
                and value.__module__ == qualified
                and not attribute.startswith("_")
                and not inspect.isabstract(value)
            ):
                found[(value.name, value.benchmark, value.family)] = value
    return found


def _choose(what: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(f"'{value}' is not a known {what}.", f"Choose one of: {', '.join(allowed)}.")


def get_protocol(name: str, benchmark: str, family: str) -> Protocol:
    """The protocol ``name`` for ``benchmark`` and model ``family``; a ``ConfigError`` saying what exists if none."""
    _choose("evaluation protocol", name, PROTOCOLS)
    _choose("benchmark", benchmark, BENCHMARKS)
    _choose("model family", family, FAMILIES)
    classes = protocol_classes()
    chosen = classes.get((name, benchmark, family))
    if chosen is None:
        available = sorted(f"{n} ({f})" for n, b, f in classes if b == benchmark)
        raise ConfigError(
            f"There is no '{name}' protocol for {benchmark} with {family} models.",
            f"Available for {benchmark}: {', '.join(available) or 'none'}"
            + ("; the native protocol uses the model's own policy." if name == "native" else "."),
        )
    return chosen()


def harness_summary(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The harness's aggregates (``Protocol.summarize``) over the step records a protocol scored.

    Records name their protocol (``protocol``, ``protocol_benchmark``, ``protocol_family``, set by
    ``HarnessDecider.score_step``); records without them are left out. One protocol gives its block with the
    three names in it; several (a replay over mixed data) give ``{"groups": [block, ...]}``; none gives ``{}``.
    """
    groups: dict[Key, list[dict[str, Any]]] = {}
    for record in records:
        key = (record.get("protocol"), record.get("protocol_benchmark"), record.get("protocol_family"))
        if all(isinstance(part, str) for part in key) and key in protocol_classes():
            groups.setdefault(key, []).append(record)
    blocks = [
        {"protocol": key[0], "benchmark": key[1], "family": key[2], **get_protocol(*key).summarize(rows)}
        for key, rows in groups.items()
    ]
    return blocks[0] if len(blocks) == 1 else {"groups": blocks} if blocks else {}
