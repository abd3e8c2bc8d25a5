"""guiagent's optional parts, the extra that installs each, and one sentence when one is missing.

The core install replays and evaluates headless; ``desktop`` (``guiagent run``), ``tui`` (the dashboard) and
``plot`` (results.png, bench.png) are extras, so an evaluation node does not carry a desktop stack. Modules are
checked by name (``importlib.util.find_spec``), without importing them.
"""

from __future__ import annotations

import importlib.util
import sys

from guiagent.errors import GuiAgentError

EXTRAS: dict[str, tuple[str, ...]] = {
    "desktop": ("mss", "pyautogui", "pyperclip", *(("Xlib",) if sys.platform.startswith("linux") else ())),
    "tui": ("textual", "textual_image", "rich_pixels"),
    "plot": ("matplotlib",),
}


class MissingExtra(GuiAgentError):
    """Something needs an extra that is not installed."""


def missing(extra: str) -> list[str]:
    """The modules of ``extra`` that are not installed."""
    return [name for name in EXTRAS[extra] if importlib.util.find_spec(name) is None]


def available(extra: str) -> bool:
    return not missing(extra)


def require(extra: str, what: str) -> None:
    """Raise one sentence naming the extra when ``what`` cannot run without it."""
    absent = missing(extra)
    if absent:
        raise MissingExtra(
            f"{what} needs guiagent's {extra} extra ({', '.join(absent)} not installed).",
            f"Install it: pip install 'guiagent[{extra}]'.",
        )


def versions() -> dict[str, str]:
    """The versions a result depends on, for every report: guiagent's, Python's and the installed torch and
    transformers (read from their metadata, so nothing heavy is imported)."""
    from importlib.metadata import PackageNotFoundError, version

    # the package this module is part of is imported already; named at run time, so the layers stay as they are
    found = {"guiagent": sys.modules["guiagent"].__version__, "python": sys.version.split()[0]}
    for name in ("torch", "transformers"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found
