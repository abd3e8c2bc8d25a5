"""AgentNetBench step scores, each a faithful copy of a published evaluator, quirks included (marked ``quirk:``).

Numbers are only comparable with published ones when they are computed the same way:

- ``score_agentnetbench``: OpenCUA's official ``evaluation/agentnetbench/eval.py``
  (``ActionEvaluator.evaluate_action``) plus its ``run.py`` alternative handling (xlang-ai/OpenCUA @ 1d70f20);
- ``score_agentnetbench_papers``: the GUI-KV / STaR-KV harness (``agentnetbench_eval.py``: first action only).

Both take predictions already in the benchmark's schema (``predictions.agentnetbench_actions``).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import editdistance


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
    similarity = 1.0 - editdistance.eval(predicted, expected) / longest  # the official evaluator's library
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
