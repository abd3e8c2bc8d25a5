"""The Multimodal-Mind2Web step metrics and their per-task macro, as GUI-KV's harness computes them.

Per step (research digest seeds.md 5.5, Mind2Web's own ``calculate_f1``):

- element accuracy: 1 if the predicted point lies inside any positive candidate's box (edges included), else 0;
- operation F1: token-set F1 between "OP value" of prediction and ground truth (whitespace tokens, case kept, the
  op upper-cased as Mind2Web writes it; both empty = 1, one empty = 0);
- step success: element accuracy is 1 and operation F1 is 1.

Macro: each task (``annotation_id``) averages its steps over its full step count, so a step that was not scored
(a missing screenshot, a replay stopped early) counts 0; the benchmark figure is the mean over tasks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Mind2WebStep:
    element_accuracy: float
    operation_f1: float
    step_success: float

    @property
    def score(self) -> float:
        """The step's score in a replay: its step success."""
        return self.step_success


def operation_f1(predicted: str, expected: str) -> float:
    """Token-set F1 of two "OP value" strings (Mind2Web's ``calculate_f1``)."""
    pred, label = set(predicted.split()), set(expected.split())
    if not pred and not label:
        return 1.0
    if not pred or not label:
        return 0.0
    common = len(pred & label)
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(label)
    return 2 * precision * recall / (precision + recall)


def _inside(point: Sequence[float], box: Sequence[float]) -> bool:
    return box[0] <= point[0] <= box[2] and box[1] <= point[1] <= box[3]


def operation_text(op: str, value: str) -> str:
    return f"{op.upper()} {value}".strip()


def score_mind2web(predicted: Mapping[str, Any], expected: Mapping[str, Any]) -> Mind2WebStep:
    """``predicted`` from ``mind2web_operation``; ``expected`` the importer's: ``operation`` {op, value} and
    ``boxes`` [[x1, y1, x2, y2], ...] in screenshot pixels."""
    point = predicted.get("point")
    element = float(point is not None and any(_inside(point, box) for box in expected.get("boxes") or []))
    truth = expected.get("operation") or {}
    f1 = operation_f1(
        operation_text(predicted.get("op", ""), predicted.get("value", "")),
        operation_text(truth.get("op", ""), truth.get("value", "")),
    )
    return Mind2WebStep(element, f1, float(element == 1.0 and f1 == 1.0))


METRIC_NAMES = ("element_accuracy", "operation_f1", "step_success")


def mind2web_macro(steps: Iterable[tuple[str, int, Mapping[str, float]]]) -> dict[str, Any]:
    """Macro over tasks of ``(annotation_id, task_steps, step metrics)``: each task's sum over its step count."""
    sums: dict[str, dict[str, float]] = {}
    counts: dict[str, int] = {}
    for annotation, task_steps, values in steps:
        total = sums.setdefault(annotation, dict.fromkeys(METRIC_NAMES, 0.0))
        for name in METRIC_NAMES:
            total[name] += float(values.get(name, 0.0))
        counts[annotation] = max(counts.get(annotation, 0), int(task_steps))
    per_task = {a: {n: v / max(counts[a], 1) for n, v in totals.items()} for a, totals in sums.items()}
    macro = {n: (sum(t[n] for t in per_task.values()) / len(per_task) if per_task else 0.0) for n in METRIC_NAMES}
    return {**macro, "tasks": len(per_task), "per_task": per_task}
