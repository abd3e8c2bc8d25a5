"""Scoring rules for replayed benchmark steps, each a faithful copy of a published evaluator.

Numbers are only comparable with published ones when they are computed the same way, so every rule here follows
one reference evaluator, quirks included (each marked ``quirk:``), rather than what the benchmark "should" mean:

- ``agentnetbench``: OpenCUA's official ``evaluation/agentnetbench/eval.py`` (``ActionEvaluator.evaluate_action``)
  plus its ``run.py`` alternative handling (xlang-ai/OpenCUA @ 1d70f20);
- ``agentnetbench-papers``: the GUI-KV / STaR-KV harness (``agentnetbench_eval.py``: first action only);
- ``androidcontrol-strict`` / ``androidcontrol-lenient``: the GUI-KV / STaR-KV ``androidcontrol_eval.py`` rules;
- ``grounding``: ScreenSpot-v2 / -Pro point-in-box, with the GUI-KV macro average for v2.

Predictions are our own actions converted to each benchmark's schema (``agentnetbench_actions``,
``androidcontrol_action``), so the same scorer serves every model we parse.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from guiagent.agent.actions import (
    Action,
    CallUser,
    Click,
    Drag,
    Finished,
    Hotkey,
    MobileAction,
    Move,
    Press,
    Scroll,
    Target,
    Type,
    Wait,
)
from guiagent.agent.policy.coords import ScreenGeometry

# ---------------------------------------------------------------------------------------------------------------
# AgentNetBench: our actions in the benchmark's own ground-truth schema

_CLICK_KINDS = {2: "doubleClick", 3: "tripleClick"}
_SCROLLS = {"up": ("scroll", 5), "down": ("scroll", -5), "left": ("hscroll", -5), "right": ("hscroll", 5)}
_FAILURE = re.compile(r"fail|infeasible|impossible|unsolvable")


def _relative(target: Target, geometry: ScreenGeometry) -> dict[str, float]:
    """A screen point as the 0-1 fraction of its monitor that AgentNetBench positions use."""
    (ox, oy), (width, height) = geometry.origin, geometry.logical_size
    return {"x": round((target.screen[0] - ox) / width, 4), "y": round((target.screen[1] - oy) / height, 4)}


def _pointed(kind: str, target: Target, geometry: ScreenGeometry) -> dict[str, Any]:
    return {"type": kind, "params": {"position": _relative(target, geometry)}}


def _keyed(kind: str, keys: list[str]) -> dict[str, Any]:
    return {"type": kind, "params": {"keys": keys}}


def _terminate(status: str) -> dict[str, Any]:
    return {"type": "terminate", "params": {"status": status}}


def _typed(text: str) -> list[dict[str, Any]]:
    """``write`` the text; a trailing newline is Enter, which the benchmark records as its own ``press``."""
    body = text.removesuffix("\n")
    written = [{"type": "write", "params": {"text": body}}] if body else []
    return written + ([_keyed("press", ["enter"])] if body != text else [])


def _scrolled(direction: str, target: Target | None, geometry: ScreenGeometry) -> dict[str, Any]:
    kind, amount = _SCROLLS[direction]
    params: dict[str, Any] = {"amount": amount}
    if target is not None:
        params["position"] = _relative(target, geometry)
    return {"type": kind, "params": params}


def _agentnet_action(action: Action, geometry: ScreenGeometry) -> list[dict[str, Any]]:
    match action:
        case Click(target=target, button="right"):
            return [_pointed("rightClick", target, geometry)]
        case Click(target=target, button="middle"):
            return [_pointed("middleClick", target, geometry)]
        case Click(target=target, clicks=clicks):
            return [_pointed(_CLICK_KINDS.get(clicks, "click"), target, geometry)]
        case Move(target=target):
            return [_pointed("moveTo", target, geometry)]
        case Drag(start=start, end=end):
            return [_pointed("moveTo", start, geometry), _pointed("dragTo", end, geometry)]
        case Type(text=text):
            return _typed(text)
        case Hotkey(keys=keys):
            return [_keyed("hotkey", [key.lower() for key in keys])]
        case Press(key=key):
            return [_keyed("press", [key])]
        case Scroll(direction=direction, target=target):
            # the benchmark records a scroll at a point as moveTo + scroll (what pyautogui does): so do we
            moved = [_pointed("moveTo", target, geometry)] if target is not None else []
            return moved + [_scrolled(direction, target, geometry)]
        case Finished(content=content):
            return [_terminate("failure" if _FAILURE.search(content.lower()) else "success")]
        case CallUser():
            return [_terminate("failure")]
        case MobileAction(name="long_press", target=Target() as target):
            return [_pointed("click", target, geometry)]
        case MobileAction(name="press_back"):
            return [_keyed("press", ["escape"])]
    return []  # Wait, KeyUp and the other mobile buttons have no AgentNetBench counterpart


def agentnetbench_actions(actions: Sequence[Action], geometry: ScreenGeometry) -> list[dict[str, Any]]:
    """Our parsed actions as AgentNetBench ground-truth dicts (``{"type", "params"}``), so both sides share a schema.

    Positions are fractions of the monitor (``geometry``), rounded to 4 decimals like the benchmark's own.
    """
    return [converted for action in actions for converted in _agentnet_action(action, geometry)]


# ---------------------------------------------------------------------------------------------------------------
# AgentNetBench scoring


@dataclass(frozen=True)
class AgentNetScore:
    """One step's score: ``score`` in [0, 1], the per-ground-truth-type means behind it, and whether an
    ``alternative_options`` entry replaced the ground truth."""

    score: float
    per_type: dict[str, float]
    used_alternative: bool = False


_Prediction = tuple[str, Any]  # the (type, value) tuples the reference evaluators score
_POINTED = ("click", "doubleclick", "rightclick", "tripleclick", "moveto", "dragto")
_COORD_THRESHOLD = 0.01 * 2**0.5
_ALPHA = 120
_WRITE_THRESHOLD = 0.8
_VALUE_FIELDS = {
    "write": "text",
    "press": "keys",
    "hotkey": "keys",
    "scroll": "amount",
    "hscroll": "amount",
    "terminate": "status",
}


def _prediction_tuple(action: Mapping[str, Any]) -> _Prediction:
    """A {type, params} dict as the reference evaluators' tuple: (type, point | text | keys | amount | status)."""
    kind, params = action["type"], action.get("params", {})
    lowered = kind.lower()
    if lowered in _POINTED or lowered == "triple_click":  # OpenCUA's own name for a triple click
        return kind, (params["position"]["x"], params["position"]["y"])
    field = _VALUE_FIELDS.get(lowered)
    return kind, params.get(field) if field else None


def _edit_distance(a: str, b: str) -> int:
    """Levenshtein distance over characters (what the ``editdistance`` package computes)."""
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i]
        for j, char_b in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b)))
        previous = current
    return previous[-1]


def _in_rel_bbox(x: Any, y: Any, bbox: Any) -> bool:
    """Point inside a relative [x, y, w, h] box, edges included; a malformed box never matches."""
    try:
        left, top, width, height = (float(value) for value in bbox[:4])
        x, y = float(x), float(y)
    except (TypeError, ValueError, IndexError):
        return False
    return left <= x <= left + width and top <= y <= top + height


def _point_credit(point: tuple[float, float], target: tuple[float, float], bboxes: Sequence[Any]) -> float:
    """1 inside any box; else 1 within 0.01*sqrt(2) of the target, decaying as exp(-120 * excess distance)."""
    (px, py), (gx, gy) = point, target
    if any(_in_rel_bbox(px, py, bbox) for bbox in bboxes):
        return 1.0
    distance = ((px - gx) ** 2 + (py - gy) ** 2) ** 0.5
    return 1.0 if distance <= _COORD_THRESHOLD else math.exp(-_ALPHA * (distance - _COORD_THRESHOLD))


def _write_credit(predicted: str, expected: str) -> float:
    """Edit similarity of lower-cased, stripped texts: 1 from 0.8 up, else similarity / 0.8.

    quirk: the official code also multiplies by 0.9 when only one side ends with a newline, but tests that after
    ``strip()`` has removed every trailing newline, so the penalty never applies; it is left out here.
    """
    predicted, expected = predicted.lower().strip(), expected.lower().strip()
    longest = max(len(predicted), len(expected))
    if longest == 0:
        return 1.0
    similarity = 1.0 - _edit_distance(predicted, expected) / longest
    return 1.0 if similarity >= _WRITE_THRESHOLD else similarity / _WRITE_THRESHOLD


def _key_credit(predicted: Any, expected: Any, *, fallback_equal: bool) -> float:
    """Same set of lower-cased keys, order ignored (``ctrl c`` == ``C Ctrl``)."""
    if isinstance(predicted, list) and isinstance(expected, list):
        return float({key.lower() for key in predicted} == {key.lower() for key in expected})
    return float(fallback_equal and predicted == expected)  # quirk: official falls back to ==, the papers' to 0


def _is_enter(keys: Any) -> bool:
    return isinstance(keys, list) and len(keys) == 1 and keys[0].lower() in ("enter", "return")


def _merged_ground_truth(actions: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """write + press/hotkey Enter -> one write ending in a newline, as the official evaluator folds them.

    quirk: the official code appends the newline to the caller's own dict (a shallow copy shares ``params``),
    so evaluating the same ground truth twice grows it; we copy instead, which scores the same.
    """
    merged: list[Mapping[str, Any]] = []
    i = 0
    while i < len(actions):
        action = actions[i]
        following = actions[i + 1] if i + 1 < len(actions) else None
        if (
            following is not None
            and action["type"].lower() == "write"
            and following["type"].lower() in ("press", "hotkey")
            and _is_enter(following["params"].get("keys", []))
        ):
            params = dict(action["params"])
            field = "text" if "text" in params else "content"
            params[field] = params[field] + "\n"
            merged.append({**action, "params": params})
            i += 2
        else:
            merged.append(action)
            i += 1
    return merged


def _merged_predictions(predictions: Sequence[_Prediction]) -> list[_Prediction]:
    """The same fold on the predicted side, where only ``press`` (not ``hotkey``) Enter merges."""
    merged: list[_Prediction] = []
    i = 0
    while i < len(predictions):
        kind, value = predictions[i]
        following = predictions[i + 1] if i + 1 < len(predictions) else None
        if following is not None and kind.lower() == "write" and following[0].lower() == "press":
            if _is_enter(following[1]):
                merged.append(("write", value + "\n"))
                i += 2
                continue
        merged.append((kind, value))
        i += 1
    return merged


def _official_credit(kind: str, value: Any, action: Mapping[str, Any]) -> float | None:
    """Credit for one same-typed (prediction, ground truth) pair; None for types the official code has no rule for."""
    params = action["params"]
    if kind in _POINTED:
        bboxes = [box["rel_bbox"] for box in action["metadata"].get("bboxes", [])] if "metadata" in action else []
        return _point_credit(value, (params["position"]["x"], params["position"]["y"]), bboxes)
    if kind == "write":
        return _write_credit(value, params.get("content", "") or params.get("text", ""))
    if kind in ("press", "hotkey"):
        return _key_credit(value, params.get("keys", []), fallback_equal=True)
    if kind == "scroll":
        return 1.0  # type match is enough: direction and amount are not compared
    return None


def _evaluate_official(
    predictions: Sequence[_Prediction], ground_truth: Sequence[Mapping[str, Any]]
) -> tuple[float, dict[str, float]]:
    """``ActionEvaluator.evaluate_action``: (total, per-type means)."""
    if not ground_truth or not predictions:
        return 0.0, {}
    truth, predicted = _merged_ground_truth(ground_truth), _merged_predictions(predictions)
    # quirk: this shortcut compares the type strings as written (a "Terminate" falls through to the generic path,
    # where it has no rule) and the status case-sensitively.
    if truth[0]["type"] == "terminate":
        done = predicted[0][0] == "terminate" and predicted[0][1] == truth[0]["params"]["status"]
        return (1.0, {"terminate": 1.0}) if done else (0.0, {"terminate": 0.0})
    kinds = [action["type"].lower() for action in truth]
    if predicted[0][0].lower() not in kinds:  # only the first predicted type gates the whole step
        return 0.0, dict.fromkeys(kinds, 0.0)
    totals: dict[str, float] = {}
    counts: Counter[str] = Counter()
    for i, (kind, action) in enumerate(zip(kinds, truth, strict=True)):
        counts[kind] += 1
        if i >= len(predicted) or predicted[i][0].lower() != kind:
            totals[kind] = totals.get(kind, 0.0)
            continue
        credit = _official_credit(kind, predicted[i][1], action)
        if credit is not None:  # quirk: a matched type without a rule (hscroll, a later terminate) is left out
            totals[kind] = totals.get(kind, 0.0) + credit
    per_type = {kind: total / counts[kind] for kind, total in totals.items()}
    return (sum(per_type.values()) / len(per_type) if per_type else 0.0), per_type


def score_agentnetbench(
    predicted: Sequence[Mapping[str, Any]],
    ground_truth: Sequence[Mapping[str, Any]],
    alternatives: Sequence[Sequence[Mapping[str, Any]]] | None = None,
) -> AgentNetScore:
    """The official AgentNetBench step score (OpenCUA ``eval.py`` + ``run.py``), the one the benchmark reports.

    All predicted actions are compared position by position with the ground truth, after folding write + Enter on
    both sides; an alternative is tried only when the ground truth scores below 1 and kept only when strictly
    better. An empty prediction (a parse failure) scores 0. ``alternatives=None`` means none: ``run.py`` itself
    would crash on a null ``alternative_options`` once a step scores below 1.
    """
    if not predicted:
        return AgentNetScore(0.0, {})
    predictions = [_prediction_tuple(action) for action in predicted]
    best, used = _evaluate_official(predictions, ground_truth), False
    if best[0] < 1.0:
        for option in alternatives or ():
            candidate = _evaluate_official(predictions, option)
            if candidate[0] > best[0]:
                best, used = candidate, True
    return AgentNetScore(best[0], best[1], used)


def _papers_credit(
    prediction: _Prediction,
    action: Mapping[str, Any],
    alternatives: Sequence[Sequence[Mapping[str, Any]]] | None,
) -> float:
    """GUI-KV / STaR-KV ``evaluate_action``: one predicted action against one ground-truth action."""
    kind = prediction[0].lower()
    kind = "tripleclick" if kind == "triple_click" else kind
    if kind != action["type"].lower():
        for option in alternatives or ():
            if option and option[0]["type"].lower() == kind:
                return _papers_credit(prediction, option[0], None)  # the first same-typed alternative decides
        return 0.0
    params, value = action["params"], prediction[1]
    if kind in _POINTED:
        position, metadata = params.get("position", {}), action.get("metadata") or {}
        bboxes = [box["rel_bbox"] for box in metadata.get("bboxes", [])]
        return _point_credit(value, (position.get("x", 0), position.get("y", 0)), bboxes)
    if kind == "write":
        return _write_credit(str(value), params.get("text", params.get("content", "")))
    if kind in ("press", "hotkey"):
        return _key_credit(value, params.get("keys", []), fallback_equal=False)
    if kind == "terminate":
        return float(value == params.get("status", ""))
    return float(kind == "scroll")


def score_agentnetbench_papers(
    predicted: Sequence[Mapping[str, Any]],
    ground_truth: Sequence[Mapping[str, Any]],
    alternatives: Sequence[Sequence[Mapping[str, Any]]] | None = None,
) -> AgentNetScore:
    """AgentNetBench as the GUI-KV / STaR-KV harnesses score it (their papers' "step accuracy").

    Only the first predicted action against the first ground-truth action (no write + Enter folding); on a type
    mismatch the first alternative of the predicted type stands in; a 0 then takes the best alternative.
    """
    if not predicted or not ground_truth:
        return AgentNetScore(0.0, {})
    prediction = _prediction_tuple(predicted[0])
    score, used = _papers_credit(prediction, ground_truth[0], alternatives), False
    # quirk: a stand-in chosen on a type mismatch above does not set the harness's used_alternative flag
    if score == 0 and alternatives:
        for option in alternatives:
            candidate = _papers_credit(prediction, option[0], None) if option else 0.0
            if candidate > score:
                score, used = candidate, True
    return AgentNetScore(score, {ground_truth[0]["type"].lower(): score}, used)


# ---------------------------------------------------------------------------------------------------------------
# AndroidControl

_INFEASIBLE_WORDS = ("unsuccessful", "infeasible", "impossible", "cannot", "can't", "unable", "fail", "error")
_GROUNDED = ("click", "long_press", "type_text")


def _pixel(target: Target, geometry: ScreenGeometry) -> tuple[float, float]:
    """A screen point in screenshot pixels (AndroidControl's x, y and a11y boxes are in those)."""
    (ox, oy), (width, height), (image_w, image_h) = geometry.origin, geometry.logical_size, geometry.image_size
    return (target.screen[0] - ox) * image_w / width, (target.screen[1] - oy) * image_h / height


def _goal_status(content: str) -> str:
    """finished(content) -> AndroidControl's goal_status, by the harnesses' keyword rule."""
    if content in ("successful", "infeasible"):
        return content
    return "infeasible" if any(word in content.lower() for word in _INFEASIBLE_WORDS) else "successful"


def _ac_prediction(kind: str, point: tuple[float, float] | None = None, **fields: str) -> dict[str, Any]:
    return {"action_type": kind, "point": point, "text": "", "direction": "", "status": "", "app_name": ""} | fields


def androidcontrol_action(actions: Sequence[Action], geometry: ScreenGeometry) -> dict[str, Any]:
    """The first action (the only one the harnesses score) as an AndroidControl prediction dict.

    Keys: ``action_type`` (click, long_press, type, scroll, navigate_back, open_app, wait, status; anything else
    keeps its own name, e.g. ``press_home`` or ``drag``, and never matches, as in the harnesses), ``point``
    (x, y in screenshot pixels, or None), ``text`` (typed text, trailing Enter dropped), ``direction`` (scroll),
    ``status`` (successful | infeasible) and ``app_name``. No action at all gives ``action_type`` "".
    """
    if not actions:
        return _ac_prediction("")
    match actions[0]:
        case Click(target=target):
            return _ac_prediction("click", _pixel(target, geometry))
        case MobileAction(name="long_press", target=Target() as target):
            return _ac_prediction("long_press", _pixel(target, geometry))
        case Type(text=text):
            return _ac_prediction("type", text=text.removesuffix("\n"))
        case Scroll(direction=direction, target=target):
            return _ac_prediction("scroll", _pixel(target, geometry) if target else None, direction=direction)
        case MobileAction(name="press_back"):
            return _ac_prediction("navigate_back")
        case MobileAction(name="open_app", text=text):
            return _ac_prediction("open_app", app_name=text)
        case Wait():
            return _ac_prediction("wait")
        case Finished(content=content):
            return _ac_prediction("status", status=_goal_status(content))
        case MobileAction(name=name):
            return _ac_prediction(name)
        case other:
            return _ac_prediction(type(other).__name__.lower())


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


# ---------------------------------------------------------------------------------------------------------------
# Grounding (ScreenSpot-v2 / ScreenSpot-Pro)


def grounding_hit(point: tuple[float, float], bbox: tuple[float, float, float, float]) -> float:
    """1.0 if the normalized point lies in the normalized [x1, y1, x2, y2] box, edges included."""
    (x, y), (x1, y1, x2, y2) = point, bbox
    return float(x1 <= x <= x2 and y1 <= y <= y2)


def micro_accuracy(scores: Iterable[float]) -> float:
    """Mean over all samples (ScreenSpot-Pro's overall accuracy); 0 for none."""
    values = list(scores)
    return sum(values) / len(values) if values else 0.0


def screenspot_v2_accuracy(records: Iterable[Mapping[str, Any]]) -> float:
    """ScreenSpot-v2's reported overall: (mean over splits of text accuracy + mean over splits of icon accuracy) / 2.

    Each record has ``split`` (mobile, desktop, web), ``data_type`` (text; anything else counts as icon, as in the
    harness) and ``hit`` (0/1). A macro average, not sample-weighted. quirk: a split without text (or icon)
    samples contributes an accuracy of 0 to that mean, as in the harness.
    """
    splits: dict[str, dict[str, list[float]]] = {}
    for record in records:
        kinds = splits.setdefault(record["split"], {"text": [], "icon": []})
        kinds["text" if record["data_type"] == "text" else "icon"].append(float(record["hit"]))
    if not splits:
        return 0.0
    text = sum(micro_accuracy(kinds["text"]) for kinds in splits.values()) / len(splits)
    icon = sum(micro_accuracy(kinds["icon"]) for kinds in splits.values()) / len(splits)
    return (text + icon) / 2


METRICS: dict[str, Callable[..., Any]] = {
    "agentnetbench": score_agentnetbench,
    "agentnetbench-papers": score_agentnetbench_papers,
    "androidcontrol-strict": partial(score_androidcontrol, rule="strict"),
    "androidcontrol-lenient": partial(score_androidcontrol, rule="lenient"),
    "grounding": grounding_hit,
}
