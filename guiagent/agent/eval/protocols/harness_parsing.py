"""The harnesses' answer parsers, re-implemented from their documented behaviour (their code is not copied).

UI-TARS (``ui_tars_utils.parse_action_to_structure_output``, model_type "qwen25vl"): ``<point>x y</point>`` becomes
``(x,y)``, ``point=`` becomes ``start_box=``, the text after the last ``"Action: "`` is split on ``")\\n\\n"`` and
each call is read with ``ast``; box values are divided by the smart-resized width/height (resize of the ORIGINAL
size with the harness's own limits) and kept as the harness keeps them: the string of a 4-float list. GUI-KV's
version is strict (any unparsable call raises); STaR-KV's strips ``<think>``, accepts a case-insensitive
``Action:`` (split after the first one), falls back to the first bare action call, accepts float points and
positional ``click(x, y)`` and returns only the first call.

OpenCUA (``opencua_utils.extract_actions`` and ``opencua_parse_action``, the same in both harnesses): lines that
start with ``pyautogui.`` / ``computer.`` are matched with regular expressions, absolute pixels divided by
``opencua_utils.smart_resize`` of the original size (``opencua_resize``) with 100*28*28 .. 16384*28*28.

The pixel rule for OpenCUA (every benchmark, both harnesses): the model sees what the checkpoint's own image
processor makes of the screenshot (``AutoImageProcessor.from_pretrained(OpenCUA-7B)``, no overrides: its
preprocessor_config's 3136 .. 12845056, ``PROCESSOR_PIXELS``, the protocols' ``min_pixels`` / ``max_pixels``),
while the answer's pixels are converted with ``MIN_PIXELS`` / ``MAX_PIXELS`` (100*28*28 .. 16384*28*28, the
``extract_actions`` / ``opencua_parse_action`` arguments), a different grid: the harness's mismatch, kept.

Every failure the harness would raise on raises ``HarnessParseError``; the protocols map it as the harness's
``except`` does (an empty prediction, or STaR-KV's fallbacks).
"""

from __future__ import annotations

import ast
import math
import re
from typing import Any

FACTOR = 28
MIN_PIXELS = 100 * 28 * 28  # ui_tars_utils.MIN_PIXELS / MAX_PIXELS, used by every parse call
MAX_PIXELS = 16384 * 28 * 28
PROCESSOR_PIXELS = (3136, 12845056)  # [external] UI-TARS-1.5-7B / OpenCUA-7B preprocessor_config.json limits
_CTRL = ("cmd", "command")


class HarnessParseError(ValueError):
    """The harness's parser raises here (the caller's ``except`` decides what that scores)."""


def harness_resize(
    height: int, width: int, min_pixels: int = MIN_PIXELS, max_pixels: int = MAX_PIXELS
) -> tuple[int, int]:
    """``ui_tars_utils.smart_resize``: like the processor's, but sides start at ``max(28, ...)``."""
    if min(height, width) <= 0:
        raise HarnessParseError(f"image size {width}x{height}")
    if max(height, width) / min(height, width) > 200:
        raise HarnessParseError(f"aspect ratio of {width}x{height} above 200")
    h_bar = max(FACTOR, round(height / FACTOR) * FACTOR)
    w_bar = max(FACTOR, round(width / FACTOR) * FACTOR)
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h_bar = math.floor(height / beta / FACTOR) * FACTOR
        w_bar = math.floor(width / beta / FACTOR) * FACTOR
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / FACTOR) * FACTOR
        w_bar = math.ceil(width * beta / FACTOR) * FACTOR
    return h_bar, w_bar


def opencua_resize(height: int, width: int) -> tuple[int, int]:
    """``opencua_utils.smart_resize`` with the harness's limits: a side under 28 raises, no aspect-ratio check."""
    if height < FACTOR or width < FACTOR:
        raise HarnessParseError(f"image size {width}x{height} below {FACTOR}")
    h_bar, w_bar = max(1, round(height / FACTOR)) * FACTOR, max(1, round(width / FACTOR)) * FACTOR
    if h_bar * w_bar > MAX_PIXELS:
        beta = math.sqrt((height * width) / MAX_PIXELS)
        h_bar = max(1, math.floor(height / beta / FACTOR)) * FACTOR
        w_bar = max(1, math.floor(width / beta / FACTOR)) * FACTOR
    elif h_bar * w_bar < MIN_PIXELS:
        beta = math.sqrt(MIN_PIXELS / (height * width))
        h_bar = math.ceil(height * beta / FACTOR) * FACTOR
        w_bar = math.ceil(width * beta / FACTOR) * FACTOR
    return h_bar, w_bar


# -- UI-TARS ----------------------------------------------------------------------------------------------------
_POINT = {
    False: re.compile(r"<point>(\d+)\s+(\d+)</point>"),
    True: re.compile(r"<point>\s*([\d.]+)\s+([\d.]+)\s*</point>"),
}
_TYPE_CALL = re.compile(r"type\(content='(.*?)'\)")
_FIRST_CALL = re.compile(r"(?is)\b(click|left_double|right_single|drag|scroll|type|hotkey|wait|finished)\s*\(")
_ACTION_KEY = re.compile(r"(?i)\bAction:\s*")


def _points(text: str, lenient: bool) -> str:
    def tuple_of(match: re.Match[str]) -> str:
        try:  # GUI-KV: int() of the digits (huge values stay exact); STaR-KV: int(float()) (huge ones overflow)
            x, y = (int(float(v)) if lenient else int(v) for v in match.groups())
        except (ValueError, OverflowError) as error:
            raise HarnessParseError(str(error)) from error
        return f"({x},{y})"

    return _POINT[lenient].sub(tuple_of, re.sub(r"\[EOS\]", "", text)).strip()


def _balanced_call(text: str) -> str | None:
    """STaR-KV's fallback: the first action call with its parentheses balanced."""
    match = _FIRST_CALL.search(text)
    if match is None:
        return None
    start = text.find("(", match.start())
    depth = 0
    for end in range(start, len(text)):
        depth += {"(": 1, ")": -1}.get(text[end], 0)
        if depth == 0:
            return text[match.start(1) : end + 1]
    return None


def _call_strings(text: str, lenient: bool) -> list[str]:
    if lenient:
        if _ACTION_KEY.search(text) is None:
            call = _balanced_call(text)
            return [call.strip()] if call else []
        pieces = [p.strip() for p in _ACTION_KEY.split(text, maxsplit=1)[-1].split(")\n\n")]
        pieces = [p for p in pieces if p]
    else:
        if "Action:" not in text:
            return []
        pieces = text.split("Action: ")[-1].split(")\n\n")
    calls = []
    for piece in pieces:
        if "type(content" in piece:
            if not piece.strip().endswith(")"):
                piece = piece.strip() + ")"
            if not _TYPE_CALL.search(piece):
                raise HarnessParseError("type(content=...) not closed")
            content = _TYPE_CALL.sub(lambda m: m.group(1), piece)
            piece = "type(content='" + re.sub(r"(?<!\\)'", r"\\'", content) + "')"
        if not piece.strip().endswith(")"):
            piece = piece.strip() + ")"
        calls.append(piece)
    return calls


def _value(node: ast.expr, lenient: bool) -> Any:
    """A keyword value: GUI-KV keeps constants only; STaR-KV also tuples, lists and negative numbers."""
    if isinstance(node, ast.Constant):
        return node.value
    if not lenient:
        return None
    if isinstance(node, (ast.Tuple, ast.List)):
        values = [_value(e, lenient) for e in node.elts]
        return tuple(values) if isinstance(node, ast.Tuple) else values
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _value(node.operand, lenient)
        return -inner if isinstance(inner, (int, float)) else None
    try:
        return ast.literal_eval(ast.unparse(node))
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None


def _call(source: str, lenient: bool) -> tuple[str | None, dict[str, Any]] | None:
    try:
        node = ast.parse(source.strip() if lenient else source, mode="eval").body
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None
    if not isinstance(node, ast.Call):
        return None
    func = node.func
    name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
    try:  # any error here: the harness's parse_action returns None (the call does not parse)
        kwargs = {kw.arg: _value(kw.value, lenient) for kw in node.keywords}
        if lenient and name == "click" and len(node.args) >= 2:  # STaR-KV's positional click(x, y)
            x, y = (_value(a, lenient) for a in node.args[:2])
            if x is not None and y is not None:
                kwargs.setdefault("point", f"({int(float(x))},{int(float(y))})")
    except Exception:  # noqa: BLE001 - the harness's parse_action turns any failure into "cannot parse"
        return None
    return name, kwargs


def parse_uitars(
    text: str, size: tuple[int, int], *, lenient: bool, min_pixels: int = MIN_PIXELS, max_pixels: int = MAX_PIXELS
) -> list[dict[str, Any]]:
    """``[{"action_type", "action_inputs"}]`` as the harness's parser returns them (``lenient``: STaR-KV's)."""
    text = text.strip()
    if lenient:
        text = re.sub(r"<think>[\s\S]*?</think>", "\n", text, flags=re.IGNORECASE).strip()
    if "<point>" in text:
        text = _points(text, lenient)
    for old, new in (("start_point=", "start_box="), ("end_point=", "end_box="), ("point=", "start_box=")):
        text = text.replace(old, new)
    height, width = harness_resize(size[1], size[0], min_pixels, max_pixels)
    calls = _call_strings(text, lenient)
    parsed = [_call(c.replace("\n", "\\n").lstrip(), lenient) for c in calls]
    actions = []
    for call in parsed:
        if call is None:
            raise HarnessParseError("an action call does not parse")
        name, params = call
        inputs: dict[str, Any] = {}
        for key, param in params.items():
            if param == "":
                continue
            if key is None or not isinstance(param, str):
                raise HarnessParseError(f"{key}={param!r}")  # the harness's .lstrip() / .strip() fails
            inputs[key.strip()] = param.lstrip()
            if "start_box" in key or "end_box" in key:
                try:
                    numbers = [float(n) for n in param.lstrip().replace("(", "").replace(")", "").split(",")]
                except ValueError as error:
                    raise HarnessParseError(str(error)) from error
                scaled = [n / (height if i % 2 else width) for i, n in enumerate(numbers)]
                inputs[key.strip()] = str(scaled * 2 if len(scaled) == 2 else scaled)
        actions.append({"action_type": name, "action_inputs": inputs})
        if lenient:
            break
    return actions


def literal(value: Any) -> Any:
    """``ast.literal_eval`` of a parsed value, ``""`` when it is not a literal (the harnesses' bare except)."""
    try:
        return ast.literal_eval(value)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return ""


# -- OpenCUA ----------------------------------------------------------------------------------------------------
_XY = re.compile(r"x=([\d.]+),\s*y=([\d.]+)")
_QUOTED = re.compile(r"['\"]([^'\"]+)['\"]")
_CLICK_PREFIXES = (
    "pyautogui.click",
    "pyautogui.moveTo",
    "pyautogui.dragTo",
    "pyautogui.doubleClick",
    "pyautogui.rightClick",
    "pyautogui.middleClick",
    "pyautogui.tripleClick",
    "computer.tripleClick",
)


def _ctrl(keys: list[str]) -> list[str]:
    return ["ctrl" if k.strip().lower() in _CTRL else k.strip() for k in keys]


def _relative(match: re.Match[str], resized: tuple[int, int]) -> tuple[float, float]:
    try:
        x, y = (float(v) for v in match.groups())
    except ValueError as error:  # "1.2.3": the harness's float() raises
        raise HarnessParseError(str(error)) from error
    return x / resized[1], y / resized[0]


def _pyautogui(line: str, resized: tuple[int, int]) -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    coords = _XY.search(line)
    if coords:
        point = _relative(coords, resized)
        if "click" in line and "doubleClick" not in line and "rightClick" not in line:
            found.append(("click", point))
        else:
            name = next((n for n in ("moveTo", "doubleClick", "rightClick", "dragTo") if n in line), None)
            if name:
                found.append((name, point))
    message = re.search(r"message=['\"](.+?)['\"]", line)
    positional = None if message else re.search(r"pyautogui\.write\((['\"])(.*?)\1\)", line)
    if message or positional:
        found.append(("write", message.group(1) if message else positional.group(2)))
    keys = re.findall(r"keys=\[(.*?)\]", line)
    if keys:
        named = [a or b for a, b in re.findall(r"['\"]([^'\"]*)['\"]|(\w+)", keys[0]) if a or b]
        found.append(("hotkey" if "hotkey" in line else "press", _ctrl(named)))
    if "hotkey(" in line and "keys=" not in line:
        inside = re.search(r"pyautogui\.hotkey\((.*)\)", line)
        parts = _QUOTED.findall(inside.group(1)) if inside else []
        if parts:
            found.append(("hotkey", _ctrl(parts)))
    if "press(" in line and "keys=" not in line:
        inside = re.search(r"pyautogui\.press\((.*)\)", line)
        if inside:
            argument = inside.group(1).strip()
            one = _QUOTED.search(argument)
            pressed = _QUOTED.findall(argument) if argument.startswith("[") else [one.group(1)] if one else []
            if pressed:
                found.append(("hotkey" if len(pressed) > 1 else "press", _ctrl(pressed)))
    scroll = re.search(r"pyautogui\.scroll\(([-\d]+)\)", line)
    if scroll:
        try:
            found.append(("scroll", int(scroll.group(1))))
        except ValueError as error:
            raise HarnessParseError(str(error)) from error
    return found


def extract_opencua(text: str, size: tuple[int, int]) -> list[tuple[str, Any]]:
    """``extract_actions``: ``(type, value)`` per recognised call; points relative, scroll an int, keys a list."""
    resized = opencua_resize(size[1], size[0])
    actions: list[tuple[str, Any]] = []
    for raw in (text or "").strip().split("\n"):
        line = raw.strip()
        if line.startswith("computer.terminate"):
            status = re.search(r"status=['\"](\w+)['\"]", line)
            if status:
                actions.append(("terminate", status.group(1)))
                continue
        if line.startswith("computer.triple_click"):
            coords = _XY.search(line)
            if coords:
                actions.append(("triple_click", _relative(coords, resized)))
                continue
        if line.startswith("pyautogui."):
            actions.extend(_pyautogui(line, resized))
    return actions


def opencua_click(text: str, size: tuple[int, int]) -> tuple[float, float]:
    """``opencua_parse_action(...)[0]["coordinate"]``: the first two numbers of the first click-like line.

    Every click-like line is read first, as the harness does: one with a single number raises even after a good one.
    """
    if not text:
        raise HarnessParseError("empty answer")
    resized = opencua_resize(size[1], size[0])
    points = []
    for raw in text.split("\n"):
        line = raw.strip()
        if line.startswith(_CLICK_PREFIXES):
            numbers = [float(n) for n in re.findall(r"[-+]?\d*\.\d+|[-+]?\d+", line)][:2]
            if len(numbers) == 1:
                raise HarnessParseError("a click line with one number")
            if numbers:
                points.append((numbers[0] / resized[1], numbers[1] / resized[0]))
    if not points:
        raise HarnessParseError("no click-like line")
    return points[0]
