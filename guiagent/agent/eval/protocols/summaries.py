"""The harnesses' reported aggregates, computed from a replay's per-step records (``StepResult.record()``).

A record carries the step's ``score`` and ``trajectory`` and, flattened in, the protocol's ``HarnessScore.extra``
(what each aggregate groups by). Each function returns the harness's own figure names.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from statistics import fmean
from typing import Any

from guiagent.agent.eval.benchmarks.mind2web.scorer import mind2web_macro

Record = dict[str, Any]


def _mean(values: Iterable[float]) -> float:
    listed = list(values)
    return fmean(listed) if listed else 0.0


def _by(records: list[Record], key: Callable[[Record], Any]) -> dict[Any, list[float]]:
    groups: dict[Any, list[float]] = {}
    for record in records:
        groups.setdefault(key(record), []).append(float(record["score"]))
    return groups


def agentnetbench_summary(records: list[Record]) -> dict[str, Any]:
    """``overall_score``: mean step score; ``average_trajectory_score``: mean of the per-trajectory means."""
    trajectories = _by(records, lambda r: r["trajectory"])
    return {
        "overall_score": _mean(float(r["score"]) for r in records),
        "average_trajectory_score": _mean(_mean(v) for v in trajectories.values()),
        "steps": len(records),
        "trajectories": len(trajectories),
    }


def androidcontrol_summary(records: list[Record]) -> dict[str, Any]:
    """``step_accuracy`` over every step; ``grounding_accuracy`` over the ground-truth click / long-press / type."""
    grounding = [float(r["score"]) for r in records if r.get("grounding")]
    return {
        "step_accuracy": _mean(float(r["score"]) for r in records),
        "grounding_accuracy": _mean(grounding),
        "steps": len(records),
        "grounding_steps": len(grounding),
    }


def screenspot_v2_summary(records: list[Record]) -> dict[str, Any]:
    """Per split the text and icon accuracies (0 where a split has none); their means over the splits; the average.

    As ``screenspotv2_eval.py`` reports it: a macro over the splits run, not weighted by their sizes.
    """
    splits: dict[Any, dict[str, list[float]]] = {}
    for record in records:
        kinds = splits.setdefault(record.get("split"), {"text": [], "icon": []})
        kinds.setdefault(record.get("data_type"), []).append(float(record["score"]))
    per_split = {
        str(split): {"text_accuracy": _mean(kinds["text"]), "icon_accuracy": _mean(kinds["icon"])}
        for split, kinds in splits.items()
    }
    text = _mean(s["text_accuracy"] for s in per_split.values())
    icon = _mean(s["icon_accuracy"] for s in per_split.values())
    return {
        "overall_accuracy": (text + icon) / 2,
        "text_accuracy": text,
        "icon_accuracy": icon,
        "splits": per_split,
        "samples": len(records),
    }


def screenspot_pro_summary(records: list[Record]) -> dict[str, Any]:
    """Micro accuracy over every sample and over the text / icon samples (``ui_type``)."""
    kinds = _by(records, lambda r: r.get("ui_type"))
    return {
        "overall_accuracy": _mean(float(r["score"]) for r in records),
        "text_accuracy": _mean(kinds.get("text", [])),
        "icon_accuracy": _mean(kinds.get("icon", [])),
        "samples": len(records),
    }


def _task(record: Record) -> str:
    return str(record.get("annotation_id") or record["trajectory"])


def mind2web_summary(records: list[Record]) -> dict[str, Any]:
    """Macro over ``annotation_id`` of element accuracy, operation F1 and step success (missing steps count 0)."""
    scored = [r for r in records if "element_accuracy" in r]
    recorded = {task: len(v) for task, v in _by(scored, _task).items()}  # when a record lacks ``task_steps``
    steps = [(_task(r), int(r.get("task_steps") or recorded[_task(r)]), r) for r in scored]
    macro = mind2web_macro(steps)
    return {name: value for name, value in macro.items() if name != "per_task"}
