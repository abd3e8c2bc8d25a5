"""STaR-KV's lenient AndroidControl scoring and fallback parsers (its ``eval/androidcontrol_eval.py``).

What it accepts beyond GUI-KV's strict check (``androidcontrol_scoring.strict_correct``):

- click and long_press are interchangeable; the GT element box is inflated by max(8 px, 1.5 % of the shorter
  side) for UI-TARS (OpenCUA with its default legacy prompts keeps the exact box and exact typed text);
- a miss still counts when the point is within max(72 px, 10 % of the shorter side) of the GT pixel (L-infinity),
  also when the GT has no element under it or the tree is empty;
- type_text without x/y: normalised text match (NFKC, quotes, whitespace, e-mail spacing, a trailing newline, one
  wrong digit in 4-8 digit numbers, or either text containing the other when the GT has >= 5 characters);
- open_app: the app name (tokens or compacted) in the clicked element, or ANY click below the top 6 % and left of
  the right 3 % when the app name appears in the goal, step instruction or previous actions;
- navigate_back: a clicked element saying back / navigate up / go back, any click in the top-left toolbar region
  (x <= 0.16, y <= 0.46 relative), or, without an element, the top-left 30 % x 36 % or top-right corner;
- scroll: up matches down and left matches right; the direction word may come from anywhere in the answer.
"""

from __future__ import annotations

import re
from typing import Any

from guiagent.agent.eval.benchmarks.androidcontrol.scorer import _scoring_size, _typing_match
from guiagent.agent.eval.protocols import androidcontrol_scoring as strict

# The same rules as the benchmark's own lenient scorer (``benchmarks.androidcontrol.scorer``), shared, not rewritten:
# screenshots above 1200x2600 are LANCZOS-downscaled and parsed and scored in those pixels; the typed-text match.
scoring_size = _scoring_size
typing_matches = _typing_match
DIRECTIONS = ("down", "up", "left", "right")
BACK_WORDS = ("press back", "go back", "navigate back", "back button", "return to")


# -- text helpers -----------------------------------------------------------------------------------------------
def scroll_word(text: Any) -> str | None:
    """The direction word that appears first in ``text`` (whole words)."""
    lowered = ("" if text is None else str(text)).lower()
    hits = [(m.start(), word) for word in DIRECTIONS if (m := re.search(rf"\b{word}\b", lowered))]
    return min(hits)[1] if hits else None


def scroll_matches(gt: str, predicted: str) -> bool:
    ground = scroll_word(gt) or (gt or "").strip().lower()
    mine = scroll_word(predicted) or (predicted or "").strip().lower()
    if not ground or not mine:
        return ground == mine
    return ground == mine or {ground, mine} in ({"up", "down"}, {"left", "right"})


def _alnum(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text)


def _app(name: str) -> str:
    app = (name or "").strip().lower()
    return app[4:].strip() if app.startswith("the ") else app


def app_in_instructions(expected: dict[str, Any], task: str, app_name: str) -> bool:
    app = _app(app_name)
    if not app:
        return False
    blob = " ".join([task, expected.get("step_instruction") or "", *map(str, expected.get("previous_actions") or [])])
    blob = blob.lower()
    words = _alnum(app).strip()
    if app in blob or (words and words in _alnum(blob)):
        return True
    return any(len(token) >= 3 and token in _alnum(blob) for token in words.split())


def app_in_element(app_name: str, text: str, description: str) -> bool:
    compact = re.sub(r"[^a-z0-9]+", "", app_name.lower())
    if compact and len(compact) >= 4 and compact in re.sub(r"[^a-z0-9]+", "", f"{text}{description}".lower()):
        return True
    blob = f"{text} {description}".lower()
    if not blob.strip():
        return False
    tokens = [t for t in _alnum(_app(app_name)).split() if len(t) >= 3]
    if len(tokens) >= 2:
        return all(t in blob for t in tokens)
    return len(tokens) == 1 and len(tokens[0]) >= 4 and tokens[0] in blob


def says_back(text: str, description: str) -> bool:
    blob = f"{text} {description}"
    if not blob.strip():
        return False
    if any(word in blob for word in ("navigate up", "navigate_up", "go back", "go_back")):
        return True
    return re.search(r"\bback\b", blob) is not None


# -- scoring ----------------------------------------------------------------------------------------------------
def near(where: tuple[float, float], gt: dict[str, Any], size: tuple[int, int]) -> bool:
    if "x" not in gt or "y" not in gt:
        return False
    limit = max(72.0, 0.10 * min(size))
    return abs(where[0] * size[0] - float(gt["x"])) <= limit and abs(where[1] * size[1] - float(gt["y"])) <= limit


def _inflated(box: dict[str, float], x: float, y: float, size: tuple[int, int]) -> bool:
    margin = max(8.0, 0.015 * float(min(size)))
    return box["x_min"] - margin <= x <= box["x_max"] + margin and box["y_min"] - margin <= y <= box["y_max"] + margin


def _grounding(prediction: dict[str, Any], mine: str, gt: dict, tree: list, size: tuple, strict_box: bool) -> bool:
    where, content, gt_text = strict.point(prediction), prediction["content"], gt.get("text", "")
    text_ok = mine != "type_text" or typing_matches(content, gt_text)
    if "x" not in gt or "y" not in gt:
        return mine == "type_text" and "text" in gt and bool(gt.get("text")) and typing_matches(content, gt["text"])
    if where is None:
        return False
    if not tree:
        return near(where, gt, size) and (mine != "type_text" or (bool(gt_text) and typing_matches(content, gt_text)))
    target = strict.smallest_node(gt["x"], gt["y"], tree)
    if target is None:
        return near(where, gt, size) and text_ok
    x, y, box = where[0] * size[0], where[1] * size[1], target["bbox_pixels"]
    if strict.inside(box, x, y) if strict_box else _inflated(box, x, y, size):
        return mine != "type_text" or (gt_text == content if strict_box else typing_matches(content, gt_text))
    return near(where, gt, size) and text_ok


def _open_app(where, gt: dict[str, Any], expected: dict, task: str, tree: list, size: tuple) -> bool:
    if where is None:
        return False
    if tree:
        node = strict.smallest_node(where[0] * size[0], where[1] * size[1], tree)
        app = (gt.get("app_name") or "").lower()
        if node and app:
            text, description = strict.labels(node)
            if any(label and app in label for label in (text, description)) or app_in_element(app, text, description):
                return True
    if gt.get("action_type") != "open_app" or not app_in_instructions(expected, task, gt.get("app_name") or ""):
        return False
    return where[1] * size[1] >= 0.06 * size[1] and where[0] * size[0] <= 0.97 * size[0]


def _corner(where: tuple[float, float], size: tuple[int, int]) -> bool:
    x, y = where[0] * size[0], where[1] * size[1]
    return (x <= 0.30 * size[0] and y <= 0.36 * size[1]) or (x >= 0.80 * size[0] and y <= 0.14 * size[1])


def _back(where: tuple[float, float] | None, tree: list, size: tuple[int, int]) -> bool:
    if where is None:
        return False
    if not tree:
        return _corner(where, size)
    node = strict.smallest_node(where[0] * size[0], where[1] * size[1], tree)
    if node is not None and says_back(*strict.labels(node)):
        return True
    if 0.0 <= where[0] <= 0.16 and 0.0 <= where[1] <= 0.46:
        return True
    return node is None and _corner(where, size)


def lenient_correct(
    prediction: dict[str, Any], raw: str, expected: dict[str, Any], task: str, size: tuple, strict_box: bool
) -> bool:
    """STaR-KV's step check (``strict_box``: OpenCUA's exact box and text with its default legacy prompts)."""
    gt, tree = expected["action"], expected["accessibility_tree"]
    gt_type, operation, where = gt.get("action_type", ""), prediction["operation"], strict.point(prediction)
    if operation in ("click", "long_press", "type") and gt_type in strict.GROUNDING_TYPES:
        mine = "type_text" if operation == "type" else operation
        pair = {mine, gt_type} <= {"click", "long_press"}
        return (mine == gt_type or pair) and _grounding(prediction, mine, gt, tree, size, strict_box)
    if (operation, gt_type) in (("click", "open_app"), ("open_app", "click")):
        return operation == "click" and _open_app(where, gt, expected, task, tree, size)
    if gt_type == "navigate_back" and operation in ("click", "press_back"):
        return operation == "press_back" or _back(where, tree, size)
    mapped = strict.OPERATION_TO_GT.get(operation, operation)
    if mapped != gt_type:
        return False
    if mapped == "scroll":
        return scroll_matches(gt.get("direction", ""), _scroll_direction(prediction["direction"], raw))
    if mapped == "status":
        return gt.get("goal_status", "") == prediction["content"]
    return True


def _scroll_direction(direction: Any, raw: str) -> str:
    """The parsed direction, else the whole answer (OpenCUA's int direction lands here)."""
    text = "" if direction is None else str(direction)
    if scroll_word(text) or text.strip().lower() in DIRECTIONS:
        return text
    return raw or text or ""


# -- fallback parsers -------------------------------------------------------------------------------------------
def _clamped(pair: tuple[str, str], size: tuple[int, int], cast: type) -> tuple[float, float]:
    x = max(0, min(size[0], cast(pair[0])))
    y = max(0, min(size[1], cast(pair[1])))
    return x / max(1, size[0]), y / max(1, size[1])


def fallback_prediction(raw: str, size: tuple[int, int]) -> dict[str, Any]:
    """``_fallback_parse_prediction``: the last "Action:" line read by keywords; numbers taken as pixels."""
    text = str(raw or "")
    blocks = re.findall(r"Action:\s*([^\n]+)", text, flags=re.IGNORECASE)
    line = blocks[-1] if blocks else text
    low = line.lower()
    prediction = strict.empty_prediction()
    if "press_back" in low:
        prediction["operation"] = "press_back"
    elif "wait(" in low:
        prediction["operation"] = "wait"
    elif "finished(" in low:
        found = re.search(r"content\s*=\s*['\"]([^'\"]+)['\"]", line, flags=re.IGNORECASE)
        status = strict.finished_status(found.group(1).strip().lower()) if found else "successful"
        prediction |= {"operation": "finished", "content": status}
    elif "type(" in low:
        found = re.search(r"content\s*=\s*['\"]([^'\"]*)", line, flags=re.IGNORECASE)
        prediction |= {"operation": "type", "content": found.group(1) if found else ""}
    elif "scroll(" in low:
        found = re.search(r"direction\s*=\s*['\"]?([a-zA-Z]+)", line, flags=re.IGNORECASE)
        prediction |= {"operation": "scroll", "direction": found.group(1).lower() if found else scroll_word(text) or ""}
    elif "click(" in low or "long_press(" in low:
        prediction["operation"] = "long_press" if "long_press(" in low else "click"
    if prediction["operation"] in ("click", "long_press"):
        numbers = re.findall(r"(-?\d+)\s*,\s*(-?\d+)", line) or re.findall(r"(-?\d+)\s*,\s*(-?\d+)", text)
        if numbers:
            x, y = _clamped(numbers[-1], size, float)
            prediction["click_point"] = [x, y, x, y]
    return prediction


_REGIONS = (
    (("top-left", "upper left"), (0.1, 0.1)),
    (("top-right", "upper right"), (0.9, 0.1)),
    (("bottom-left", "lower left"), (0.1, 0.9)),
    (("bottom-right", "lower right"), (0.9, 0.9)),
    (("top", "upper", "header"), (0.5, 0.15)),
    (("bottom", "lower", "footer"), (0.5, 0.85)),
    (("left",), (0.2, 0.5)),
    (("right",), (0.8, 0.5)),
)


def opencua_fallback(raw: str, size: tuple[int, int]) -> dict[str, Any]:
    """``fallback_parse_opencua_output``: keywords of a natural-language answer (a click defaults to the centre)."""
    text = str(raw or "").strip().lower()
    prediction = strict.empty_prediction()
    if any(word in text for word in BACK_WORDS):
        prediction["operation"] = "press_back"
    elif any(word in text for word in ("wait", "pause", "sleep", "loading", "finish loading")):
        prediction["operation"] = "wait"
    elif any(word in text for word in ("scroll", "swipe", "slide")):
        pairs = (("down", "bottom"), ("up", "top"), ("right",), ("left",))
        direction = next((words[0] for words in pairs if any(w in text for w in words)), "down")
        prediction |= {"operation": "scroll", "direction": direction}
    elif any(word in text for word in ("type", "write", "enter", "input", "fill")):
        quotes = re.findall(r"['\"]([^'\"]+)['\"]", str(raw or ""))
        said = re.search(r"(?:type|write|enter)\s+(?:'|\"|`)?(.+?)(?:\.|$)", text, re.IGNORECASE)
        content = quotes[-1] if quotes else said.group(1).strip() if said else ""
        prediction |= {"operation": "type", "content": content}
    elif "long press" in text or "hold" in text or "long-press" in text:
        prediction["operation"] = "long_press"
    elif any(word in text for word in ("click", "tap", "press", "select")):
        prediction["operation"] = "click"
    if prediction["operation"] in ("click", "long_press"):
        where = next((spot for words, spot in _REGIONS if any(w in text for w in words)), (0.5, 0.5))
        numbers = re.findall(r"(-?\d+)\s*,\s*(-?\d+)", str(raw or "")) or re.findall(
            r"x[=:]\s*(-?\d+)[,\s]+y[=:]\s*(-?\d+)", str(raw or ""), re.IGNORECASE
        )
        prediction["click_point"] = list(_clamped(numbers[-1], size, int) if numbers else where)
    return prediction
