"""Dry-run replay: recorded screenshots through the agent's own loop, each step scored.

Each trajectory is an ``AgentLoop`` run in dry-run mode, whose capture hands out the recorded screens: a dry run is
the live run minus input, by construction. No input event is ever sent, nothing is judged or asked for, and every
recorded step is replayed whatever the model answers. The text history is the model's own (closed loop), the
screenshots are the recorded ones, as in the published harnesses. Each step is scored against the trajectory's
ground truth with the rule its schema calls for (AgentNetBench's official evaluator by default; ``--metric``
picks the papers' variant or AndroidControl's).

The report: ``OUT/steps.jsonl`` (one record per step: trajectory, step, image, predicted, expected, score, raw,
parse errors, cache, timings) and ``OUT/summary.json`` (step accuracy, steps, per-trajectory scores, memory
and timing summaries, the configuration).
"""

from __future__ import annotations

import json
import statistics
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from PIL import Image

from guiagent.agent.actions import Action, Click, Drag, Move, ParsedResponse, Scroll, describe
from guiagent.agent.eval import scoring as metrics
from guiagent.agent.eval.benchmarks.mind2web.scorer import mind2web_macro
from guiagent.agent.policy.coords import ScreenGeometry
from guiagent.agent.run.loop import AgentLoop, StepEvent, StepGate
from guiagent.agent.trajectory.format import Step, Trajectory, action_from_dict, load_screenshot
from guiagent.errors import ConfigError

DEFAULT_METRIC = {
    "agentnetbench": "agentnetbench",
    "recorded": "agentnetbench",
    "androidcontrol": "androidcontrol-strict",
    "screenspot": "grounding",
    "mind2web": "mind2web",
}


@dataclass
class StepResult:
    trajectory: str
    step: int
    image: str
    predicted: Any
    expected: Any
    score: float
    raw: str
    parse_errors: list[str]
    cache: dict[str, Any] | None
    timings: dict[str, float]
    schema: str
    extra: dict[str, Any] = field(default_factory=dict)
    kept: list[dict[str, Any]] | None = None  # per screenshot the cache holds: its kept map (``kept_maps``)

    def record(self) -> dict[str, Any]:
        return {
            "trajectory": self.trajectory,
            "step": self.step,
            "image": self.image,
            "predicted": self.predicted,
            "expected": self.expected,
            "score": round(self.score, 6),
            "schema": self.schema,
            "raw": self.raw,
            "parse_errors": self.parse_errors,
            "cache": self.cache,
            "timings": self.timings,
            **({"kept": self.kept} if self.kept is not None else {}),
            **self.extra,
        }


def score_step(
    step: Step, parsed: ParsedResponse | None, geometry: ScreenGeometry, metric: str | None
) -> tuple[Any, Any, float, dict[str, Any]]:
    """(predicted, expected, score, extra) of one step, in the ground truth's own schema."""
    actions: tuple[Action, ...] = parsed.actions if parsed is not None else ()
    expected = step.expected or {"schema": "recorded", "actions": step.actions}
    schema = expected.get("schema", "recorded")
    rule = metric or DEFAULT_METRIC.get(schema)
    if rule not in metrics.METRICS:
        raise ConfigError(f"Unknown metric '{metric}'.", f"Use one of {', '.join(metrics.METRICS)}.")
    if schema in ("agentnetbench", "recorded"):
        if not rule.startswith("agentnetbench"):
            raise ConfigError(
                f"Metric '{rule}' does not score {schema} trajectories.", "Use agentnetbench or agentnetbench-papers."
            )
        predicted = metrics.agentnetbench_actions(actions, geometry)
        if schema == "recorded":
            recorded = [action_from_dict(a) for a in step.actions]
            truth, alternatives = metrics.agentnetbench_actions(recorded, geometry), []
        else:
            truth, alternatives = expected["ground_truth_actions"], expected.get("alternative_options") or []
        result = metrics.METRICS[rule](predicted, truth, alternatives)
        return (
            predicted,
            truth,
            result.score,
            {"per_type": result.per_type, "used_alternative": result.used_alternative},
        )
    if schema == "androidcontrol":
        predicted = metrics.androidcontrol_action(actions, geometry)
        return predicted, expected["action"], metrics.METRICS[rule](predicted, expected), {}
    if schema == "screenspot":
        point = first_point(actions, geometry)
        score = metrics.grounding_hit(point, tuple(expected["bbox"])) if point is not None else 0.0
        return ({"point": list(point)} if point else None), expected, score, {}
    if schema == "mind2web":
        if rule != "mind2web":
            raise ConfigError(f"Metric '{rule}' does not score mind2web trajectories.", "Use mind2web.")
        predicted = metrics.mind2web_operation(actions, geometry)
        step_metrics = metrics.METRICS[rule](predicted, expected)
        return predicted, expected, step_metrics.score, {"mind2web": vars(step_metrics)}
    raise ConfigError(f"Ground truth schema '{schema}' is unknown.", "Re-import the benchmark data.")


def first_point(actions: Iterable[Action], geometry: ScreenGeometry) -> tuple[float, float] | None:
    """The first point an answer names, relative (0-1) to the screen (what grounding benchmarks score)."""
    for action in actions:
        target = action.start if isinstance(action, Drag) else getattr(action, "target", None)
        if isinstance(action, (Click, Move, Drag, Scroll)) and target is not None:
            (ox, oy), (w, h) = geometry.origin, geometry.logical_size
            return (target.screen[0] - ox) / w, (target.screen[1] - oy) / h
    return None


@dataclass
class ReplaySummary:
    steps: list[StepResult]
    config: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        from guiagent.agent.eval.protocols import harness_summary  # the published harnesses' aggregates

        scores = [s.score for s in self.steps]
        by_trajectory: dict[str, list[float]] = {}
        for s in self.steps:
            by_trajectory.setdefault(s.trajectory, []).append(s.score)
        held = [s.cache["bytes_held"] for s in self.steps if s.cache]
        full = [s.cache["bytes_full"] for s in self.steps if s.cache]
        step_times = [sum(v for k, v in s.timings.items() if k != "capture_s") for s in self.steps]
        return {
            "step_accuracy": statistics.fmean(scores) if scores else 0.0,
            "steps": len(scores),
            "parse_failures": sum(1 for s in self.steps if s.parse_errors and s.predicted in ([], None)),
            "trajectories": {name: statistics.fmean(v) for name, v in by_trajectory.items()},
            "average_trajectory_score": statistics.fmean(statistics.fmean(v) for v in by_trajectory.values())
            if by_trajectory
            else 0.0,
            **_mind2web_summary(self.steps),
            **({"harness": harness} if (harness := harness_summary([s.record() for s in self.steps])) else {}),
            "memory": {
                "mean_bytes_held": statistics.fmean(held) if held else None,
                "max_bytes_held": max(held) if held else None,
                "mean_bytes_full": statistics.fmean(full) if full else None,
                "held_over_full": (sum(held) / sum(full)) if full else None,
            },
            "timing": {
                "mean_step_s": statistics.fmean(step_times) if step_times else None,
                **{f"mean_{name}": _mean(self.steps, name) for name in ("prefill_s", "compress_s", "decode_s")},
            },
            **self.config,
        }


def _mind2web_summary(steps: list[StepResult]) -> dict[str, Any]:
    """Mind2Web's per-task macro (element accuracy, operation F1, step success), when any step is Mind2Web's."""
    scored = [
        (s.trajectory, s.expected.get("task_steps", 1), s.extra["mind2web"])
        for s in steps
        if s.schema == "mind2web" and "mind2web" in s.extra
    ]
    return {"mind2web": mind2web_macro(scored)} if scored else {}


def _mean(steps: list[StepResult], name: str) -> float | None:
    values = [s.timings[name] for s in steps if name in s.timings]
    return statistics.fmean(values) if values else None


@dataclass(frozen=True)
class RecordedScreen:
    """What the loop's capture returns in a replay: one recorded step's screenshot and geometry."""

    image: Image.Image
    geometry: ScreenGeometry


class RecordedScreens:
    """The replay's capture: each recorded step's screenshot and geometry in turn."""

    def __init__(self, trajectory: Trajectory) -> None:
        self.trajectory = trajectory
        self._steps = iter(trajectory.steps)

    def __call__(self) -> RecordedScreen:
        step = next(self._steps)
        geometry = self.trajectory.geometry(step)
        return RecordedScreen(load_screenshot(step), geometry)  # one sentence naming the step when undecodable


class NoInput:
    """The replay's executor and human: a dry-run loop calls neither, and were it to, nothing is sent or approved."""

    def execute(self, action: Action) -> None:
        raise RuntimeError(f"A replay sends no input, yet the loop tried to run {describe(action)}.")

    def confirm(self, action: Action, reason: str) -> bool:
        return False

    def ask(self, question: str) -> bool:
        return False


def step_result(
    trajectory: Trajectory, step: Step, event: StepEvent, metric: str | None, decider: Any = None
) -> StepResult:
    """The record of one loop step on a recorded ``step``, scored against its ground truth.

    A decider with its own ``score_step`` (a published harness's protocol) scores the raw answer its way;
    otherwise ``metric`` (or the schema's default) scores the parsed actions. A decider with a KV ``session``
    also records which patches of each screenshot its cache still holds.
    """
    index = trajectory.steps.index(step)
    if hasattr(decider, "score_step"):
        predicted, expected, score, extra = decider.score_step(index, event.raw, event.screenshot.size)
    else:
        predicted, expected, score, extra = score_step(step, event.parsed, event.geometry, metric)
    return StepResult(
        trajectory=trajectory.name,
        step=step.step,
        image=str(step.image),
        predicted=predicted,
        expected=expected,
        score=score,
        raw=event.raw,
        parse_errors=list(event.parse_errors),
        cache=event.stats.summary() if event.stats is not None else None,
        timings=dict(event.timings),
        schema=(step.expected or {}).get("schema", "recorded"),
        extra=extra,
        kept=_kept_screens(trajectory, index, decider),
    )


def _kept_screens(trajectory: Trajectory, index: int, decider: Any) -> list[dict[str, Any]] | None:
    """The kept map of every screenshot the decider's cache still holds at step ``index`` (None: no cache).

    The session's last screenshot is this step's and each one before it the step before (rolling or rebuilt
    alike); ``share`` is one byte per token (see ``kept_map.encode``).
    """
    session = getattr(decider, "session", None)
    if session is None:
        return None
    from guiagent.compression.kept_map import encode, kept_maps  # torch: loaded already when there is a session

    last = len(session.spans) - 1
    return [
        {
            "image": str(trajectory.steps[index - (last - kept.index)].image),
            "age": last - kept.index,
            "rows": kept.rows,
            "cols": kept.cols,
            "share": encode(kept.share),
        }
        for kept in kept_maps(session)
        if last - kept.index <= index and float(kept.share.max()) > 0
    ]


def replay(
    trajectories: list[Trajectory],
    make_decider: Callable[[Trajectory], Any],
    *,
    metric: str | None = None,
    config: dict[str, Any] | None = None,
    on_step: Callable[[StepResult], None] | None = None,
    on_event: Callable[[StepEvent], None] | None = None,
    on_capture: Callable[[RecordedScreen], RecordedScreen] | None = None,
    gate: StepGate | None = None,
    stop: threading.Event | None = None,
) -> ReplaySummary:
    """Replay every step of every trajectory; ``make_decider`` gives a fresh decider (and history) per task.

    ``on_event`` receives each step as the loop reports it (for the dashboard; steps are numbered on across
    trajectories), ``on_capture`` each recorded screen as the model is about to see it (the dashboard shows it
    at once, not after the step); ``gate`` pauses between steps and ``stop`` ends the replay early (the steps
    done so far are kept).
    """
    results: list[StepResult] = []
    gate, stop, config = gate or StepGate(), stop or threading.Event(), config or {}

    def scored(trajectory: Trajectory, first: int, decider: Any, event: StepEvent) -> None:
        result = step_result(trajectory, trajectory.steps[event.step - first], event, metric, decider)
        results.append(result)
        if on_event is not None:
            on_event(event)
        if on_step is not None:
            on_step(result)

    for trajectory in trajectories:
        decider = make_decider(trajectory)
        if not trajectory.steps:  # a recording that ended before its first step: nothing to replay
            continue
        first, no_input, screens = len(results) + 1, NoInput(), RecordedScreens(trajectory)
        loop = AgentLoop(
            decider,
            screens if on_capture is None else lambda screens=screens: on_capture(screens()),
            no_input,
            no_input,
            max_steps=len(trajectory.steps),
            stop=stop,
            on_event=partial(scored, trajectory, first, decider),
            gate=gate,
            first_step=first,
            dry_run=True,
        )
        if loop.run().status == "stopped":
            return ReplaySummary(results, dict(config, metric=metric or config.get("metric", "default"), stopped=True))
    return ReplaySummary(results, dict(config, metric=metric or config.get("metric", "default")))


def write_report(summary: ReplaySummary, out: str | Path) -> Path:
    """``OUT/steps.jsonl`` and ``OUT/summary.json``."""
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        with (out / "steps.jsonl").open("w", encoding="utf-8") as handle:
            for result in summary.steps:
                handle.write(json.dumps(result.record(), ensure_ascii=False, default=str) + "\n")
        (out / "summary.json").write_text(json.dumps(summary.as_dict(), indent=2, default=str) + "\n")
    except OSError as error:
        raise ConfigError(
            f"The report cannot be written to '{out}' ({error.strerror or error}).", "Choose another --report folder."
        ) from error
    return out
