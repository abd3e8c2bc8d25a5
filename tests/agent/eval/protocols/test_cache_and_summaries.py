"""Each protocol's cache layout and press settings (as the harness drivers set them), and the harness aggregates."""

from __future__ import annotations

import pytest

from guiagent.agent.eval.harness_replay import configured_press
from guiagent.agent.eval.protocols import get_protocol, harness_summary, protocol_classes
from guiagent.agent.eval.protocols.summaries import (
    agentnetbench_summary,
    androidcontrol_summary,
    mind2web_summary,
    screenspot_pro_summary,
    screenspot_v2_summary,
)

# What each STaR-KV driver runs (sk eval/*_eval.py add_starkv_kv_arguments overrides + finalize_starkv_args).
_ANB_AC = {
    "alpha": 2.0,
    "temperature": 3.5,
    "prior_lambda": 0.5,
    "profile_steps": 5,
    "profile_decay": 0.9,
    "profile_tau": 1.0,
    "lambda_ramp": 10,
    "temporal": True,
    "temporal_rho": 0.9,
    "temporal_delta": 0.1,
    "temporal_eps": 0.0,
    "temporal_discount_min": 0.0,
    "temporal_warmup": 0,
    "entropy": True,
    "entropy_min": 0.95,
    "entropy_max": 1.05,
    "entropy_smooth": 0.0,
}
# ScreenSpot: the CLI defaults, MI prior / temporal / AEB off (store_true flags not passed).
_OFF = {"profile_steps": 0, "lambda_ramp": 0, "temporal": False, "temporal_warmup": 20, "entropy": False}
_SCREENSPOT = _ANB_AC | _OFF | {"entropy_min": 0.5, "entropy_max": 1.5}
STARKV = {
    "agentnetbench": _ANB_AC,
    "androidcontrol": _ANB_AC,
    "screenspot-v2": _SCREENSPOT | {"temperature": 1.0},
    "screenspot-pro": _SCREENSPOT,
}
RESET = {"agentnetbench": "trajectory"}  # every other harness treats each step as its own sample


@pytest.mark.parametrize("key", sorted(protocol_classes()), ids="/".join)
def test_cache_layout(key: tuple[str, str, str]) -> None:
    name, benchmark, family = key
    protocol = get_protocol(name, benchmark, family)
    exact_unrepeat = name == "starkv" and family == "opencua"  # every other path stores the repeated heads
    assert protocol.cache.heads == ("kv" if exact_unrepeat else "query")
    assert protocol.cache.window == 8
    assert protocol.cache.reset == RESET.get(benchmark, "step")


@pytest.mark.parametrize("key", sorted(k for k in protocol_classes() if k[0] == "starkv"), ids="/".join)
def test_starkv_press_carries_the_drivers_settings(key: tuple[str, str, str]) -> None:
    protocol = get_protocol(*key)
    press = configured_press("starkv", protocol)
    carried = {field: getattr(press, field) for field in STARKV[key[1]]}
    assert carried == STARKV[key[1]]
    assert press.real_grid is False  # the papers' square-grid guess
    assert press.window == 8


def test_opencua_feeds_the_checkpoints_processor_limits_everywhere() -> None:
    for (_, _, family), cls in protocol_classes().items():
        if family == "opencua":
            assert (cls.min_pixels, cls.max_pixels) == (3136, 12845056), cls.__name__


def _records(rows: list[tuple], fields: tuple[str, ...]) -> list[dict]:
    return [dict(zip(("trajectory", "score", *fields), row, strict=True)) for row in rows]


def test_agentnetbench_summary() -> None:
    records = _records([("a", 1.0), ("a", 0.0), ("a", 0.5), ("b", 1.0)], ())
    summary = agentnetbench_summary(records)
    assert summary["overall_score"] == pytest.approx(2.5 / 4)
    assert summary["average_trajectory_score"] == pytest.approx((0.5 + 1.0) / 2)
    assert (summary["steps"], summary["trajectories"]) == (4, 2)


def test_androidcontrol_summary() -> None:
    rows = [("e", 1.0, True), ("e", 0.0, True), ("e", 1.0, False), ("e", 1.0, False), ("e", 0.0, True)]
    summary = androidcontrol_summary(_records(rows, ("grounding",)))
    assert summary["step_accuracy"] == pytest.approx(3 / 5)
    assert summary["grounding_accuracy"] == pytest.approx(1 / 3)
    assert summary["grounding_steps"] == 3


def test_screenspot_v2_summary_is_a_macro_over_the_splits() -> None:
    rows = [
        ("s", 1.0, "mobile", "text"),
        ("s", 1.0, "mobile", "text"),
        ("s", 0.0, "mobile", "icon"),
        ("s", 0.0, "desktop", "text"),
        ("s", 1.0, "desktop", "icon"),
        ("s", 1.0, "web", "text"),
        ("s", 0.0, "web", "text"),  # web has no icon sample: its icon accuracy is 0, as the harness reports it
    ]
    summary = screenspot_v2_summary(_records(rows, ("split", "data_type")))
    assert summary["text_accuracy"] == pytest.approx((1.0 + 0.0 + 0.5) / 3)
    assert summary["icon_accuracy"] == pytest.approx((0.0 + 1.0 + 0.0) / 3)
    assert summary["overall_accuracy"] == pytest.approx((0.5 + 1 / 3) / 2)
    assert summary["splits"]["web"] == {"text_accuracy": 0.5, "icon_accuracy": 0.0}


def test_screenspot_pro_summary_is_micro() -> None:
    rows = [("p", 1.0, "text"), ("p", 1.0, "text"), ("p", 0.0, "text"), ("p", 0.0, "icon")]
    summary = screenspot_pro_summary(_records(rows, ("ui_type",)))
    assert summary["overall_accuracy"] == pytest.approx(0.5)
    assert summary["text_accuracy"] == pytest.approx(2 / 3)
    assert summary["icon_accuracy"] == 0.0


def test_mind2web_summary_is_a_macro_over_tasks_with_missing_steps_as_zero() -> None:
    fields = ("element_accuracy", "operation_f1", "step_success", "annotation_id", "task_steps")
    rows = [
        ("t1", 1.0, 1.0, 1.0, 1.0, "t1", 2),  # t1: 2 steps, both recorded
        ("t1", 0.0, 1.0, 0.5, 0.0, "t1", 2),
        ("t2", 1.0, 1.0, 1.0, 1.0, "t2", 4),  # t2: 4 steps, 1 recorded
    ]
    summary = mind2web_summary(_records(rows, fields))
    assert summary["element_accuracy"] == pytest.approx((1.0 + 0.25) / 2)
    assert summary["operation_f1"] == pytest.approx((0.75 + 0.25) / 2)
    assert summary["step_success"] == pytest.approx((0.5 + 0.25) / 2)
    assert summary["tasks"] == 2


def test_harness_summary_finds_the_protocol_from_the_records() -> None:
    records = [
        {"trajectory": "s", "score": 1.0, "split": "mobile", "data_type": "text"},
        {"trajectory": "s", "score": 0.0, "split": "mobile", "data_type": "icon"},
    ]
    which = {"protocol": "starkv", "protocol_benchmark": "screenspot-v2", "protocol_family": "uitars"}
    summary = harness_summary([{**r, **which} for r in records])
    assert summary["protocol"] == "starkv" and summary["benchmark"] == "screenspot-v2"
    assert summary["overall_accuracy"] == pytest.approx(0.5)
    assert harness_summary(records) == {}  # no protocol named: nothing to compute
    native = {"protocol": "native", "protocol_benchmark": "screenspot-v2", "protocol_family": "uitars"}
    assert harness_summary([{**records[0], **native}]) == {}


def test_replay_summary_carries_the_harness_block() -> None:
    from guiagent.agent.eval.replay import ReplaySummary, StepResult

    which = {"protocol": "guikv", "protocol_benchmark": "androidcontrol", "protocol_family": "uitars"}

    def step(index: int, score: float, grounding: bool) -> StepResult:
        extra = {**which, "grounding": grounding}
        return StepResult("e", index, "x.png", {}, {}, score, "", [], None, {}, "androidcontrol", extra)

    summary = ReplaySummary([step(0, 1.0, True), step(1, 0.0, True), step(2, 1.0, False)], {}).as_dict()
    harness = summary["harness"]
    assert (harness["protocol"], harness["benchmark"], harness["family"]) == ("guikv", "androidcontrol", "uitars")
    assert harness["step_accuracy"] == pytest.approx(2 / 3)
    assert harness["grounding_accuracy"] == pytest.approx(0.5)
    plain = StepResult("e", 0, "x.png", {}, {}, 1.0, "", [], None, {}, "androidcontrol")
    assert "harness" not in ReplaySummary([plain], {}).as_dict()  # steps the native scorer scored
