"""AndroidControl step scores, faithful copies of the two published harnesses, quirks included (``quirk:``).

- ``strict``: the GUI-KV ``androidcontrol_eval.py`` rule (tap inside the smallest a11y box around the GT point);
- ``lenient``: the STaR-KV ``androidcontrol_eval.py`` rule (its UI-TARS branch: inflated boxes, distance
  fallbacks, lenient typing, app-name and back-button heuristics).

Predictions come from ``predictions.androidcontrol_action``.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from typing import Any

_GROUNDED = ("click", "long_press", "type_text")


def _contains(box: Mapping[str, float], x: float, y: float, margin: float = 0.0) -> bool:
    return box["x_min"] - margin <= x <= box["x_max"] + margin and box["y_min"] - margin <= y <= box["y_max"] + margin


def _area(node: Mapping[str, Any]) -> float:
    box = node["bbox_pixels"]
    return (box["x_max"] - box["x_min"]) * (box["y_max"] - box["y_min"])


def _smallest_node(x: float, y: float, tree: Sequence[Any]) -> Mapping[str, Any] | None:
    """The smallest a11y node containing (x, y) in the nested node lists (the first one wins a tie)."""
    best, best_area = None, math.inf
    for node in tree:
        if isinstance(node, list):
            candidate = _smallest_node(x, y, node)
        elif isinstance(node, dict) and _contains(node["bbox_pixels"], x, y):
            candidate = node
        else:
            continue
        if candidate is not None and _area(candidate) < best_area:
            best, best_area = candidate, _area(candidate)
    return best


def _labels(node: Mapping[str, Any]) -> tuple[str, str]:
    return (node.get("text") or "").lower(), (node.get("content_description") or "").lower()


def _exact_match(
    predicted: Mapping[str, Any], action: Mapping[str, Any], scroll_match: Callable[[Any, Any], bool]
) -> float:
    """The harnesses' fall-through: same action type, plus scroll direction / goal status where they apply.

    quirk: open_app against open_app matches on the type alone (the app name is never compared).
    """
    kind = predicted["action_type"]
    if kind != action.get("action_type", ""):
        return 0.0
    if kind == "scroll":
        return float(scroll_match(action.get("direction", ""), predicted["direction"]))
    if kind == "status":
        return float(action.get("goal_status", "") == predicted["status"])
    return 1.0


def _strict(predicted: Mapping[str, Any], expected: Mapping[str, Any]) -> float:
    """GUI-KV ``androidcontrol_eval.py``: GT element = smallest a11y box around GT (x, y); tap inside it."""
    action, tree = expected.get("action", {}), expected.get("accessibility_tree", [])
    kind, gt_kind, point = predicted["action_type"], action.get("action_type", ""), predicted["point"]
    if kind in ("click", "long_press", "type") and gt_kind in _GROUNDED:
        kind = "type_text" if kind == "type" else kind
        # quirk: a typed text carries no point (UI-TARS's neither), so a type_text step can never score here
        if kind != gt_kind or "x" not in action or "y" not in action or not tree or point is None:
            return 0.0
        node = _smallest_node(action["x"], action["y"], tree)
        if node is None or not _contains(node["bbox_pixels"], *point):
            return 0.0
        return float(kind != "type_text" or action.get("text", "") == predicted["text"])
    if kind == "click" and gt_kind in ("open_app", "navigate_back"):
        node = _smallest_node(*point, tree) if point is not None and tree else None
        text, description = _labels(node) if node is not None else ("", "")
        wanted = (action.get("app_name") or "").lower() if gt_kind == "open_app" else "back"
        return float(bool(wanted) and (wanted in text or wanted in description))
    return _exact_match(predicted, action, lambda gt, pred: gt == pred)


def _scoring_size(size: Sequence[int]) -> tuple[int, int]:
    """quirk: STaR-KV shrinks screenshots over 1200x2600 and scores with the smaller size. With UI-TARS the
    point itself still comes out in original pixels (its parser divides by the shrunk size's grid while the
    model saw the original), so only the size-based margins and regions shrink; we reproduce that."""
    width, height = size
    if width > 1200 or height > 2600:
        ratio = min(1200 / width, 2600 / height)
        return int(width * ratio), int(height * ratio)
    return width, height


def _normalize_typing(text: Any) -> str:
    text = unicodedata.normalize("NFKC", str(text or ""))
    for quote in ("\u2019", "\u2018", "\u0060", "\u00b4"):
        text = text.replace(quote, "'")
    return " ".join(text.replace("'", "").split()).lower()


def _typing_match(predicted: Any, expected: Any) -> bool:
    """STaR-KV's lenient text match: normalized equality, e-mails without spaces, one wrong digit in a 4-8 digit
    number, or containment either way for texts of 5+ characters."""
    if not expected:
        return False
    pred, gt = _normalize_typing(predicted), _normalize_typing(expected)
    if pred == gt:
        return True
    raw_pred, raw_gt = str(predicted or ""), str(expected or "")
    if "@" in raw_gt and "@" in raw_pred and re.sub(r"\s+", "", raw_gt.lower()) == re.sub(r"\s+", "", raw_pred.lower()):
        return True
    if pred.rstrip("\n").rstrip("\\n") == gt:  # quirk: strips trailing backslashes *and* letters n, not "\\n"
        return True
    if pred.isdigit() and gt.isdigit() and len(pred) == len(gt) and 4 <= len(gt) <= 8:
        if sum(a != b for a, b in zip(gt, pred, strict=True)) <= 1:
            return True
    return len(gt) >= 5 and bool(pred) and (gt in pred or pred in gt)


def _near(point: tuple[float, float], action: Mapping[str, Any], size: tuple[int, int]) -> bool:
    """L-infinity distance to the GT point within max(72 px, 10% of the shorter side)."""
    threshold = max(72.0, 0.10 * min(size))
    return abs(point[0] - float(action["x"])) <= threshold and abs(point[1] - float(action["y"])) <= threshold


def _lenient_grounded(predicted: Mapping[str, Any], expected: Mapping[str, Any], size: tuple[int, int]) -> float:
    """Clicks and typing: click ~ long_press, a box inflated by max(8 px, 1.5%), an L-infinity fallback."""
    action, tree = expected.get("action", {}), expected.get("accessibility_tree", [])
    kind = "type_text" if predicted["action_type"] == "type" else predicted["action_type"]
    gt_kind, point = action.get("action_type", ""), predicted["point"]
    if kind != gt_kind and not {kind, gt_kind} <= {"click", "long_press"}:
        return 0.0
    has_point = "x" in action and "y" in action
    if kind == "type_text" and "text" in action and not has_point:
        return float(_typing_match(predicted["text"], action.get("text")))
    if not has_point or point is None:
        return 0.0
    text_ok = kind != "type_text" or _typing_match(predicted["text"], action.get("text", ""))
    node = _smallest_node(action["x"], action["y"], tree) if tree else None
    margin = max(8.0, 0.015 * min(size))
    hit = node is not None and _contains(node["bbox_pixels"], *point, margin=margin)
    return float(text_ok and (hit or _near(point, action, size)))


def _app_tokens(app: str) -> list[str]:
    app = app.strip().lower().removeprefix("the ").strip()
    return [token for token in re.sub(r"[^a-z0-9]+", " ", app).split() if len(token) >= 3]


def _compact(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", text.lower())


def _names_app(app: str, text: str, description: str) -> bool:
    """The tapped node names the app: substring, every significant token, or punctuation-free containment."""
    if not app:
        return False
    if app in text or app in description:
        return True
    blob, tokens = f"{text} {description}", _app_tokens(app)
    if blob.strip() and len(tokens) >= 2 and all(token in blob for token in tokens):
        return True
    if blob.strip() and len(tokens) == 1 and len(tokens[0]) >= 4 and tokens[0] in blob:
        return True
    compact = _compact(app)
    return len(compact) >= 4 and compact in _compact(text + description)


def _app_in_instruction(expected: Mapping[str, Any], app: str) -> bool:
    app = app.strip().lower().removeprefix("the ").strip()
    if not app:
        return False
    parts = [str(expected.get("goal", "")), str(expected.get("step_instruction", ""))]
    blob = " ".join(parts + [str(part) for part in expected.get("previous_actions") or []]).lower()
    spaced_blob, spaced_app = re.sub(r"[^a-z0-9]+", " ", blob), re.sub(r"[^a-z0-9]+", " ", app).strip()
    return (
        app in blob
        or bool(spaced_app and spaced_app in spaced_blob)
        or any(len(token) >= 3 and token in spaced_blob for token in spaced_app.split())
    )


def _lenient_open_app(predicted: Mapping[str, Any], expected: Mapping[str, Any], size: tuple[int, int]) -> float:
    """A click for open_app: the node names the app, or the app is in the instruction and the tap avoids the
    status bar (top 6%) and the right edge (last 3%)."""
    action, tree, point = expected.get("action", {}), expected.get("accessibility_tree", []), predicted["point"]
    if point is None:
        return 0.0
    app = (action.get("app_name") or "").lower()
    node = _smallest_node(*point, tree) if tree else None
    if node is not None and _names_app(app, *_labels(node)):
        return 1.0
    plausible = point[1] >= 0.06 * size[1] and point[0] <= 0.97 * size[0]
    return float(plausible and _app_in_instruction(expected, action.get("app_name") or ""))


def _suggests_back(text: str, description: str) -> bool:
    blob = f"{text} {description}"
    markers = ("navigate up", "navigate_up", "go back", "go_back")
    return bool(blob.strip()) and (any(marker in blob for marker in markers) or bool(re.search(r"\bback\b", blob)))


def _back_corner(point: tuple[float, float], size: tuple[int, int]) -> bool:
    """Top-left or top-right corner, where OEM back buttons and gestures sit."""
    (x, y), (width, height) = point, size
    return (x <= 0.30 * width and y <= 0.36 * height) or (x >= 0.80 * width and y <= 0.14 * height)


def _lenient_back(predicted: Mapping[str, Any], expected: Mapping[str, Any], size: tuple[int, int]) -> float:
    """navigate_back: the back button, a node labelled back, the toolbar's top-left, or a top corner."""
    tree, point = expected.get("accessibility_tree", []), predicted["point"]
    if predicted["action_type"] == "navigate_back":
        return 1.0
    if point is None:
        return 0.0
    if not tree:
        return float(_back_corner(point, size))
    node = _smallest_node(*point, tree)
    if node is not None and _suggests_back(*_labels(node)):
        return 1.0
    x, y = point[0] / size[0], point[1] / size[1]
    if 0.0 <= x <= 0.16 and 0.0 <= y <= 0.46:  # the Material back arrow in the top-left toolbar
        return 1.0
    return float(node is None and _back_corner(point, size))


def _scroll_axis(direction: Any) -> str:
    """The first of down/up/left/right named in the text, else the text itself."""
    text = str(direction if direction is not None else "").lower()
    found = [
        (match.start(), word) for word in ("down", "up", "left", "right") if (match := re.search(rf"\b{word}\b", text))
    ]
    return min(found)[1] if found else text.strip()


def _scroll_axes_match(expected: Any, predicted: Any) -> bool:
    """quirk: STaR-KV counts up == down and left == right (AndroidControl labels and instructions disagree)."""
    gt, pred = _scroll_axis(expected), _scroll_axis(predicted)
    if not gt or not pred:
        return gt == pred
    return gt == pred or {gt, pred} in ({"up", "down"}, {"left", "right"})


def _lenient(predicted: Mapping[str, Any], expected: Mapping[str, Any]) -> float:
    """STaR-KV ``androidcontrol_eval.py`` (its UI-TARS / non-legacy branch)."""
    action = expected.get("action", {})
    kind, gt_kind = predicted["action_type"], action.get("action_type", "")
    size = _scoring_size(expected["image_size"])
    if kind in ("click", "long_press", "type") and gt_kind in _GROUNDED:
        return _lenient_grounded(predicted, expected, size)
    if kind == "click" and gt_kind == "open_app":
        return _lenient_open_app(predicted, expected, size)
    if kind in ("click", "navigate_back") and gt_kind == "navigate_back":
        return _lenient_back(predicted, expected, size)
    return _exact_match(predicted, action, _scroll_axes_match)


_ANDROIDCONTROL_RULES = {"strict": _strict, "lenient": _lenient}


def score_androidcontrol(predicted: Mapping[str, Any], expected: Mapping[str, Any], rule: str = "strict") -> float:
    """1.0 if the predicted step counts as correct under ``rule``, else 0.0.

    ``predicted`` comes from ``androidcontrol_action``. ``expected`` is an AndroidControl step sample: ``action``
    ({action_type, x, y, text, direction, goal_status, app_name}, pixels), ``accessibility_tree`` (nested lists of
    nodes with ``bbox_pixels``), ``image_size`` (width, height), and for the lenient open_app rule ``goal``,
    ``step_instruction`` and ``previous_actions``. ``rule``: "strict" (GUI-KV) or "lenient" (STaR-KV).
    """
    if rule not in _ANDROIDCONTROL_RULES:
        raise ValueError(f"unknown AndroidControl rule {rule!r}; choose one of {', '.join(_ANDROIDCONTROL_RULES)}")
    return _ANDROIDCONTROL_RULES[rule](predicted, expected)
