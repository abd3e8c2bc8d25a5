"""How the GUI-KV / STaR-KV AgentNetBench drivers turn a raw answer into the benchmark's (type, value) tuples.

The answers are read by the harnesses' shared parsers (``harness_parsing``: ``parse_uitars``, ``extract_opencua``);
this module holds what only the AgentNetBench drivers add, quirks kept, because the published numbers depend on them:

UI-TARS (``convert_ui_tars_to_agentnetbench_actions``): points are 0-1 fractions of the smart-resized image; only
the first action is converted: drag -> ``dragto`` at its END point, scroll -> ``scroll`` +-5 (direction only),
hotkey keys lower-cased with "ctrl" renamed "control", ``type('x\\n')`` -> write + press Enter, wait -> nothing,
finished -> ``terminate`` "success" only when the content contains "success", else "failure".

OpenCUA: ``parse_response_actions_opencua`` keeps the lines starting "pyautogui." / "computer." (none: no
prediction, and no resize) before ``extract_actions`` reads them; STaR-KV adds ``opencua_fallback`` (keyword
guesses on free text) when nothing was read.

A parse failure raises ``HarnessParseError`` (the drivers catch it and score the step 0).
"""

from __future__ import annotations

import re
from typing import Any

from guiagent.agent.eval.protocols.harness_parsing import (
    HarnessParseError,
    extract_opencua,
    parse_uitars,
)

Predicted = tuple[str, Any]
__all__ = ["HarnessParseError", "opencua_actions", "opencua_fallback", "tars_to_agentnet", "uitars_actions"]


def uitars_actions(text: str, image_size: tuple[int, int], harness: str) -> list[tuple[str | None, dict[str, Any]]]:
    """(action type, inputs) of each action the driver's ``parse_action_to_structure_output`` returns."""
    actions = parse_uitars(text, image_size, lenient=harness == "starkv")
    return [(action["action_type"], action["action_inputs"]) for action in actions]


def _point(value: Any) -> tuple[float, float] | None:
    if isinstance(value, str):
        try:
            numbers = [float(part.strip()) for part in value.strip("[]").split(",")]
        except ValueError:
            return None
        return (numbers[0], numbers[1]) if len(numbers) >= 2 else None
    if isinstance(value, list) and len(value) >= 2:
        return value[0], value[1]
    return None


_POINTED = {"click": "click", "left_double": "doubleclick", "right_single": "rightclick", "long_press": "click"}


def tars_to_agentnet(actions: list[tuple[str | None, dict[str, Any]]]) -> list[Predicted]:
    """The first parsed UI-TARS action in AgentNetBench's tuples (``convert_ui_tars_to_agentnetbench_actions``)."""
    if not actions:
        return []
    kind, inputs = actions[0]
    if kind in _POINTED:
        point = _point(inputs.get("point", inputs.get("start_box", [])))
        return [(_POINTED[kind], point)] if point else []
    if kind == "drag":
        start = _point(inputs.get("start_box", inputs.get("start_point", [])))
        end = _point(inputs.get("end_box", inputs.get("end_point", [])))
        return [("dragto", end)] if start and end else []
    if kind == "hotkey":
        keys = inputs.get("key", inputs.get("keys", ""))
        if isinstance(keys, str) and keys:
            return [("hotkey", [key.replace("ctrl", "control") for key in keys.lower().split()])]
        return [("hotkey", keys)] if isinstance(keys, list) and keys else []
    if kind == "type":
        content = inputs.get("content", "")
        if not content:
            return []
        return [("write", content[:-1]), ("press", ["enter"])] if content.endswith("\n") else [("write", content)]
    if kind == "scroll":
        point, direction = _point(inputs.get("point", inputs.get("start_box", []))), inputs.get("direction", "")
        return [("scroll", 5 if direction in ("up", "right") else -5)] if point and direction else []
    if kind == "press_back":
        return [("press", ["escape"])]
    if kind == "finished":
        content = inputs.get("content", "")
        return [("terminate", "success" if content and "success" in content.lower() else "failure")]
    return []


def opencua_actions(text: str, image_size: tuple[int, int]) -> list[Predicted]:
    """``parse_response_actions_opencua`` + ``extract_actions``: every tuple of the code lines, in order."""
    lines = [line for line in (raw.strip() for raw in text.split("\n")) if line.startswith(("pyautogui.", "computer."))]
    return extract_opencua("\n".join(lines), image_size) if lines else []


_REGIONS = (  # (words, (x, y) or one coordinate), first match wins, as STaR-KV's fallback checks them
    (("top-left", "upper left"), (0.1, 0.1)),
    (("top-right", "upper right"), (0.9, 0.1)),
    (("bottom-left", "lower left"), (0.1, 0.9)),
    (("bottom-right", "lower right"), (0.9, 0.9)),
    (("top", "upper", "header"), (None, 0.15)),
    (("bottom", "lower", "footer"), (None, 0.85)),
    (("left",), (0.2, None)),
    (("right",), (0.8, None)),
    (("center", "middle"), (0.5, 0.5)),
)


def _guessed_point(raw: str, text: str, size: tuple[int, int]) -> tuple[float, float]:
    """STaR-KV's click guess: the last "x, y" pair over the ORIGINAL image size, else a region word's point."""
    pairs = re.findall(r"(-?\d+)\s*,\s*(-?\d+)", raw) or re.findall(
        r"x[=:]\s*(-?\d+)[,\s]+y[=:]\s*(-?\d+)", raw, re.IGNORECASE
    )
    if pairs:
        (width, height), (x, y) = size, (int(n) for n in pairs[-1])
        return max(0, min(width, x)) / max(1, width), max(0, min(height, y)) / max(1, height)
    for words, (x, y) in _REGIONS:
        if any(word in text for word in words):
            return (0.5 if x is None else x), (0.5 if y is None else y)
    return 0.5, 0.5


def opencua_fallback(raw: str, image_size: tuple[int, int]) -> list[Predicted]:
    """STaR-KV's ``fallback_parse_opencua_output`` as the driver maps it, for answers with no code it can read."""
    text = str(raw or "").strip().lower()
    if any(k in text for k in ("press back", "go back", "navigate back", "back button", "return to")):
        return [("press", ["back"])]
    if any(k in text for k in ("wait", "pause", "sleep", "loading", "finish loading")):
        return [("wait", "")]
    if any(k in text for k in ("scroll", "swipe", "slide")):
        directions = (("down", "bottom"), ("up", "top"), ("right",), ("left",))
        found = next((words[0] for words in directions if any(word in text for word in words)), "down")
        return [("scroll", found)]
    if any(k in text for k in ("type", "write", "enter", "input", "fill")):
        quotes = re.findall(r"['\"]([^'\"]+)['\"]", raw)
        if quotes:
            content = quotes[-1]
        else:
            match = re.search(r"(?:type|write|enter)\s+(?:'|\"|`)?(.+?)(?:\.|$)", text, re.IGNORECASE)
            content = match[1].strip() if match else ""
        return [("write", content)] if content else []
    if "long press" in text or "hold" in text or "long-press" in text:
        return []  # the driver has no mapping for the fallback's long_press
    if any(k in text for k in ("click", "tap", "press", "select")):
        return [("click", _guessed_point(raw, text, image_size))]
    return []
