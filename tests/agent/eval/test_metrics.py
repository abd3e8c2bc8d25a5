"""Benchmark scoring rules: hand-computed expectations (arithmetic in the comments) and a randomized cross-check
against OpenCUA's official AgentNetBench evaluator (shipped in tests/data/official/opencua with its licence)."""

from __future__ import annotations

import copy
import importlib.util
import math
import random
import sys
import types

import pytest

from guiagent.agent.actions import (
    CallUser,
    Click,
    Drag,
    Finished,
    Hotkey,
    KeyUp,
    MobileAction,
    Move,
    Press,
    Scroll,
    Target,
    Type,
    Wait,
)
from guiagent.agent.eval.metrics import (
    METRICS,
    AgentNetScore,
    agentnetbench_actions,
    androidcontrol_action,
    grounding_hit,
    micro_accuracy,
    score_agentnetbench,
    score_agentnetbench_papers,
    score_androidcontrol,
    screenspot_v2_accuracy,
)
from guiagent.agent.policy.coords import ScreenGeometry
from tests.helpers.data import TESTS_DATA

# exp(-120 * (0.03 - 0.01*sqrt(2))) = exp(-120 * 0.0158578644) = exp(-1.90294373) = 0.1491290
NEAR_MISS_003 = 0.1491289777
# exp(-120 * (0.05 - 0.0141421356)) = exp(-4.30294373) = 0.0135287
NEAR_MISS_005 = 0.0135286756


# ---------------------------------------------------------------------------------------------------------------
# builders for AgentNetBench dicts


def pointed(kind: str, x: float, y: float, bboxes: list | None = None) -> dict:
    """A click-like action; ``bboxes=None`` leaves out ``metadata`` altogether."""
    action = {"type": kind, "params": {"position": {"x": x, "y": y}}}
    if bboxes is not None:
        action["metadata"] = {"bboxes": [{"rel_bbox": box} for box in bboxes]}
    return action


def write(text: str) -> dict:
    return {"type": "write", "params": {"text": text}}


def keys(kind: str, *names) -> dict:
    return {"type": kind, "params": {"keys": list(names)}}


def scroll(amount: int) -> dict:
    return {"type": "scroll", "params": {"amount": amount}}


def terminate(status: str, kind: str = "terminate") -> dict:
    return {"type": kind, "params": {"status": status}}


def target(x: int, y: int) -> Target:
    return Target(model=(x, y), screen=(x, y))


# ---------------------------------------------------------------------------------------------------------------
# agentnetbench_actions

# A second monitor to the right of and above the primary: origin (1920, -100), 1280x900 logical.
SIDE = ScreenGeometry(origin=(1920, -100), logical_size=(1280, 900), image_size=(2560, 1800))


def side(x: int, y: int) -> Target:
    """A point given relative to the side monitor's top-left corner."""
    return target(1920 + x, -100 + y)


def test_positions_are_relative_to_the_monitor_and_rounded():
    # x = 333 / 1280 = 0.26015625 -> 0.2602; y = 300 / 900 = 0.33333 -> 0.3333
    assert agentnetbench_actions([Click(side(333, 300))], SIDE) == [pointed("click", 0.2602, 0.3333)]


@pytest.mark.parametrize(
    ("action", "kind"),
    [
        (Click(side(640, 450)), "click"),
        (Click(side(640, 450), clicks=2), "doubleClick"),
        (Click(side(640, 450), clicks=3), "tripleClick"),
        (Click(side(640, 450), button="right"), "rightClick"),
        (Click(side(640, 450), button="middle"), "middleClick"),
        (Move(side(640, 450)), "moveTo"),
        (MobileAction("long_press", target=side(640, 450)), "click"),
    ],
)
def test_pointed_actions(action, kind):
    # 640 / 1280 = 0.5, 450 / 900 = 0.5
    assert agentnetbench_actions([action], SIDE) == [pointed(kind, 0.5, 0.5)]


def test_drag_is_move_then_drag_to():
    # start 128/1280 = 0.1, 90/900 = 0.1; end 1152/1280 = 0.9, 810/900 = 0.9
    actions = agentnetbench_actions([Drag(side(128, 90), side(1152, 810))], SIDE)
    assert actions == [pointed("moveTo", 0.1, 0.1), pointed("dragTo", 0.9, 0.9)]


def test_type_and_type_with_enter():
    assert agentnetbench_actions([Type("hello")], SIDE) == [write("hello")]
    assert agentnetbench_actions([Type("hello\n")], SIDE) == [write("hello"), keys("press", "enter")]
    assert agentnetbench_actions([Type("\n")], SIDE) == [keys("press", "enter")]


def test_keys():
    assert agentnetbench_actions([Hotkey(("Ctrl", "C"))], SIDE) == [keys("hotkey", "ctrl", "c")]
    assert agentnetbench_actions([Press("Enter")], SIDE) == [keys("press", "Enter")]


def test_scrolls():
    up = agentnetbench_actions([Scroll("up", side(640, 450))], SIDE)
    # a scroll at a point is recorded by the benchmark as moveTo + scroll (step s_df0fd37049f470c2 #4)
    assert up == [
        {"type": "moveTo", "params": {"position": {"x": 0.5, "y": 0.5}}},
        {"type": "scroll", "params": {"amount": 5, "position": {"x": 0.5, "y": 0.5}}},
    ]
    assert agentnetbench_actions([Scroll("down")], SIDE) == [scroll(-5)]
    assert agentnetbench_actions([Scroll("left")], SIDE) == [{"type": "hscroll", "params": {"amount": -5}}]
    assert agentnetbench_actions([Scroll("right")], SIDE) == [{"type": "hscroll", "params": {"amount": 5}}]


@pytest.mark.parametrize(
    ("action", "status"),
    [
        (Finished("All done."), "success"),
        (Finished(""), "success"),
        (Finished("The task is INFEASIBLE"), "failure"),
        (Finished("I failed to find it"), "failure"),
        (Finished("failure"), "failure"),
        (Finished("Impossible: no such file"), "failure"),
        (Finished("unsolvable"), "failure"),
        (CallUser("please log in"), "failure"),
    ],
)
def test_terminal_actions(action, status):
    assert agentnetbench_actions([action], SIDE) == [terminate(status)]


def test_actions_without_a_counterpart_vanish():
    dropped = [Wait(1), KeyUp("shift"), MobileAction("press_home"), MobileAction("open_app", text="Maps")]
    assert agentnetbench_actions(dropped, SIDE) == []
    assert agentnetbench_actions([MobileAction("press_back")], SIDE) == [keys("press", "escape")]


def test_sequence_keeps_order():
    sequence = [Click(side(640, 450)), Type("abc\n"), Wait(), Finished("ok")]
    assert agentnetbench_actions(sequence, SIDE) == [
        pointed("click", 0.5, 0.5),
        write("abc"),
        keys("press", "enter"),
        terminate("success"),
    ]


# ---------------------------------------------------------------------------------------------------------------
# score_agentnetbench: clicks


def test_bbox_hit_scores_one_however_far_the_recorded_point():
    gt = [pointed("click", 0.9, 0.9, [[0.4, 0.4, 0.2, 0.2]])]
    # (0.5, 0.5) and the corner (0.4, 0.4) are inside [0.4, 0.6] x [0.4, 0.6]; the distance to (0.9, 0.9) is 0.57
    assert score_agentnetbench([pointed("click", 0.5, 0.5)], gt) == AgentNetScore(1.0, {"click": 1.0}, False)
    assert score_agentnetbench([pointed("click", 0.4, 0.4)], gt).score == 1.0


def test_inside_the_distance_threshold():
    # no bbox: d = 0.01 <= 0.01*sqrt(2) = 0.01414 -> 1
    assert score_agentnetbench([pointed("click", 0.51, 0.5)], [pointed("click", 0.5, 0.5, [])]).score == 1.0


def test_near_miss_gets_partial_credit():
    # d = 0.03 -> exp(-120 * (0.03 - 0.0141421)) = 0.14913
    result = score_agentnetbench([pointed("click", 0.53, 0.5)], [pointed("click", 0.5, 0.5, [[0.0, 0.0, 0.1, 0.1]])])
    assert result.score == pytest.approx(NEAR_MISS_003, abs=1e-9)
    # 3-4-5 triangle: d = 0.05 -> exp(-120 * 0.0358579) = 0.013529
    result = score_agentnetbench([pointed("doubleClick", 0.53, 0.54)], [pointed("doubleClick", 0.5, 0.5, [])])
    assert result.score == pytest.approx(NEAR_MISS_005, abs=1e-9)


def test_far_miss_is_about_zero():
    # d = 0.8 * sqrt(2) = 1.1314 -> exp(-120 * 1.117) = exp(-134) ~ 6e-59
    result = score_agentnetbench([pointed("click", 0.1, 0.1)], [pointed("click", 0.9, 0.9, [[0.85, 0.85, 0.1, 0.1]])])
    assert 0.0 < result.score < 1e-50


def test_no_metadata_scores_by_distance_only():
    # no "metadata" key at all: d = 0.03 -> 0.14913; a malformed box is ignored the same way
    assert score_agentnetbench([pointed("moveTo", 0.53, 0.5)], [pointed("moveTo", 0.5, 0.5)]).score == pytest.approx(
        NEAR_MISS_003, abs=1e-9
    )
    malformed = pointed("dragTo", 0.5, 0.5, [[0.0, 0.0]])
    assert score_agentnetbench([pointed("dragTo", 0.53, 0.5)], [malformed]).score == pytest.approx(NEAR_MISS_003)


# ---------------------------------------------------------------------------------------------------------------
# score_agentnetbench: writing


@pytest.mark.parametrize(
    ("predicted", "expected", "score"),
    [
        ("george orwell", "george orwell", 1.0),  # exact
        ("  George ORWELL ", "george orwell", 1.0),  # lower() and strip() on both sides
        ("george orwel", "george orwell", 1.0),  # edit distance 1 of 13: 1 - 1/13 = 0.923 >= 0.8 -> 1
        ("abcdx", "abcde", 1.0),  # 1 - 1/5 = 0.8, the threshold itself -> 1
        ("kitten", "sitting", 5 / 7),  # distance 3 of 7: (1 - 3/7) / 0.8 = (4/7) / 0.8 = 5/7 = 0.714
        ("abxyz", "abcde", 0.5),  # distance 3 of 5: 0.4 / 0.8 = 0.5
        ("cat", "dog", 0.0),  # distance 3 of 3: 0
        ("  ", "", 1.0),  # both empty after strip -> 1
        ("abc\n", "abc", 1.0),  # the 0.9 newline factor never applies (strip() removed the newline first)
        ("abc", "abc\n", 1.0),
    ],
)
def test_write_similarity(predicted, expected, score):
    result = score_agentnetbench([write(predicted)], [write(expected)])
    assert result.score == pytest.approx(score, abs=1e-12)
    assert result.per_type == {"write": pytest.approx(score, abs=1e-12)}


def test_write_reads_content_before_text():
    # official: params.get("content") or params.get("text"): "xyz" vs "abc" is distance 3 of 3 -> 0
    gt = [{"type": "write", "params": {"text": "abc", "content": "xyz"}}]
    assert score_agentnetbench([write("abc")], gt).score == 0.0
    # an empty content falls back to text
    assert score_agentnetbench([write("abc")], [{"type": "write", "params": {"text": "abc", "content": ""}}]).score == 1


def test_ground_truth_write_and_enter_merge():
    # GT write + press Enter -> one write "hello\n"; a bare predicted write then scores 1 with no "press" type
    # (unmerged it would be write 1, press 0 -> 0.5)
    result = score_agentnetbench([write("hello")], [write("hello"), keys("press", "enter")])
    assert result == AgentNetScore(1.0, {"write": 1.0}, False)
    # hotkey Return merges on the ground-truth side too
    assert score_agentnetbench([write("x")], [write("x"), keys("hotkey", "Return")]).per_type == {"write": 1.0}


def test_predicted_write_and_enter_merge():
    gt = [write("hi\n"), pointed("click", 0.5, 0.5, [])]
    # predicted write + press Enter folds into one, so the click lines up with the GT click: (1 + 1) / 2 = 1
    merged = [write("hi"), keys("press", "enter"), pointed("click", 0.5, 0.5)]
    assert score_agentnetbench(merged, gt) == AgentNetScore(1.0, {"write": 1.0, "click": 1.0}, False)
    # a predicted *hotkey* Enter does not fold: position 1 is hotkey vs click -> click 0; (1 + 0) / 2 = 0.5
    unmerged = [write("hi"), keys("hotkey", "enter"), pointed("click", 0.5, 0.5)]
    assert score_agentnetbench(unmerged, gt) == AgentNetScore(0.5, {"write": 1.0, "click": 0.0}, False)


def test_merging_does_not_touch_the_callers_ground_truth():
    gt = [write("hello"), keys("press", "enter")]
    score_agentnetbench([write("hello")], gt)
    assert gt == [write("hello"), keys("press", "enter")]


# ---------------------------------------------------------------------------------------------------------------
# score_agentnetbench: keys, scroll, terminate


def test_hotkey_is_a_set_of_keys_regardless_of_order_and_case():
    assert score_agentnetbench([keys("hotkey", "C", "CTRL")], [keys("hotkey", "ctrl", "c")]).score == 1.0
    assert score_agentnetbench([keys("hotkey", "ctrl", "v")], [keys("hotkey", "ctrl", "V")]).score == 1.0
    assert score_agentnetbench([keys("hotkey", "ctrl", "v", "shift")], [keys("hotkey", "ctrl", "v")]).score == 0.0


def test_press_mismatch():
    assert score_agentnetbench([keys("press", "tab")], [keys("press", "enter")]) == AgentNetScore(0.0, {"press": 0.0})
    # press and hotkey are different types: the first-type gate fails
    assert score_agentnetbench([keys("press", "enter")], [keys("hotkey", "enter")]).per_type == {"hotkey": 0.0}


def test_keys_that_are_not_lists_fall_back_to_equality():
    # official quirk: a non-list value is compared with == ("enter" == "enter" -> 1)
    string_keys = {"type": "press", "params": {"keys": "enter"}}
    assert score_agentnetbench([string_keys], [string_keys]).score == 1.0


def test_scroll_needs_only_the_type():
    # amount +5 vs -3 and no position: still 1
    assert score_agentnetbench([scroll(5)], [scroll(-3)]).score == 1.0


def test_types_without_a_rule_drop_out_of_the_average():
    # official quirk: a matched hscroll gets no score entry at all
    hscroll = {"type": "hscroll", "params": {"amount": 5}}
    assert score_agentnetbench([hscroll], [hscroll]) == AgentNetScore(0.0, {})
    # [click hit, hscroll]: only click counts -> 1.0
    gt = [pointed("click", 0.5, 0.5, []), hscroll]
    assert score_agentnetbench([pointed("click", 0.5, 0.5), hscroll], gt) == AgentNetScore(1.0, {"click": 1.0})


def test_terminate():
    assert score_agentnetbench([terminate("success")], [terminate("success")]) == AgentNetScore(1.0, {"terminate": 1})
    assert score_agentnetbench([terminate("failure")], [terminate("success")]) == AgentNetScore(0.0, {"terminate": 0})
    assert score_agentnetbench([pointed("click", 0.5, 0.5)], [terminate("success")]).score == 0.0
    # official quirk: type and status are compared as written
    assert score_agentnetbench([terminate("Success")], [terminate("success")]).score == 0.0
    assert score_agentnetbench([terminate("success", "Terminate")], [terminate("success")]).score == 0.0


# ---------------------------------------------------------------------------------------------------------------
# score_agentnetbench: sequences


def test_first_predicted_type_gates_the_step():
    # write is not among the GT types -> 0 for every GT type
    gt = [pointed("click", 0.5, 0.5, []), keys("press", "enter")]
    assert score_agentnetbench([write("x"), pointed("click", 0.5, 0.5)], gt) == AgentNetScore(
        0.0, {"click": 0.0, "press": 0.0}
    )


def test_gate_passes_but_positions_disagree():
    # real step (s_df0fd37049f470c2 #4): GT moveTo + scroll; a lone predicted scroll passes the gate (scroll is a
    # GT type) but position 0 is moveTo vs scroll -> 0 and position 1 has no prediction -> 0
    gt = [
        pointed("moveTo", 0.7792, 0.4648, [[0.0, 0.19925, 1.0, 0.7562083333333334]]),
        {"type": "scroll", "params": {"position": {"x": 0.7792, "y": 0.4648}, "amount": -3}, "metadata": {}},
    ]
    assert score_agentnetbench([scroll(-5)], gt) == AgentNetScore(0.0, {"moveto": 0.0, "scroll": 0.0})
    # moveTo (0.5, 0.5) is inside the page box, then scroll: (1 + 1) / 2
    assert score_agentnetbench([pointed("moveTo", 0.5, 0.5), scroll(-5)], gt).score == 1.0


def test_multi_action_ground_truth_is_averaged_per_type_then_over_types():
    gt = [pointed("click", 0.2, 0.2, []), pointed("click", 0.8, 0.8, []), write("hello")]
    predicted = [pointed("click", 0.2, 0.2), pointed("click", 0.83, 0.8), write("hello")]
    # click: (1 + 0.14913) / 2 = 0.574564; write: 1; total (0.574564 + 1) / 2 = 0.787282
    result = score_agentnetbench(predicted, gt)
    assert result.per_type == {"click": pytest.approx(0.5745644889, abs=1e-9), "write": 1.0}
    assert result.score == pytest.approx(0.7872822444, abs=1e-9)


def test_more_and_fewer_predictions_than_ground_truth():
    # extra predictions are ignored
    gt = [pointed("click", 0.5, 0.5, [])]
    assert score_agentnetbench([pointed("click", 0.5, 0.5), write("junk"), scroll(5)], gt).score == 1.0
    # a missing prediction scores 0 for its GT type: moveto 1, dragto 0 -> 0.5
    drag = [pointed("moveTo", 0.1, 0.1, []), pointed("dragTo", 0.9, 0.9, [])]
    assert score_agentnetbench([pointed("moveTo", 0.1, 0.1)], drag) == AgentNetScore(0.5, {"moveto": 1.0, "dragto": 0})


def test_parse_failure_and_empty_ground_truth_score_zero():
    assert score_agentnetbench([], [pointed("click", 0.5, 0.5)]) == AgentNetScore(0.0, {}, False)
    # even with an alternative that would match: run.py never evaluates an empty prediction
    assert score_agentnetbench([], [write("a")], [[write("a")]]).score == 0.0
    assert score_agentnetbench([write("a")], []).score == 0.0


# ---------------------------------------------------------------------------------------------------------------
# alternatives

# Real step (s_a96285eb665bef92 #2): the GT button at the right, an alternative button at the left.
REAL_GT = [
    pointed(
        "click", 0.8556, 0.4691, [[0.7917711171662125, 0.40852510460251046, 0.11313351498637603, 0.0802928870292887]]
    )
]
REAL_ALT = [
    pointed(
        "click", 0.166, 0.4346, [[0.05918256130790191, 0.39034518828451886, 0.17155994550408718, 0.10752092050209205]]
    )
]


def test_alternative_replaces_the_ground_truth_when_strictly_better():
    # (0.15, 0.44) is inside the alternative's box [0.059, 0.231] x [0.390, 0.498] but 0.706 from the GT point
    result = score_agentnetbench([pointed("click", 0.15, 0.44)], REAL_GT, [REAL_ALT])
    assert result == AgentNetScore(1.0, {"click": 1.0}, True)
    # without alternatives: exp(-120 * (0.706 - 0.014)) ~ 7e-37
    assert score_agentnetbench([pointed("click", 0.15, 0.44)], REAL_GT).score < 1e-30


def test_alternatives_are_not_tried_when_the_ground_truth_scores_one():
    result = score_agentnetbench([pointed("click", 0.85, 0.45)], REAL_GT, [REAL_ALT])
    assert result == AgentNetScore(1.0, {"click": 1.0}, False)


def test_an_equal_or_worse_alternative_is_not_used():
    gt = [pointed("click", 0.5, 0.5, [])]
    equal = [pointed("click", 0.5, 0.5, [[0.9, 0.9, 0.05, 0.05]])]  # the same point: also 0.14913
    worse = [pointed("click", 0.5, 0.9, [])]
    result = score_agentnetbench([pointed("click", 0.5, 0.53)], gt, [equal, worse])
    assert result.score == pytest.approx(NEAR_MISS_003, abs=1e-9)
    assert result.used_alternative is False


def test_the_best_alternative_wins():
    gt = [pointed("click", 0.9, 0.9, [])]
    near = [pointed("click", 0.53, 0.5, [])]  # d = 0.03 -> 0.14913
    exact = [pointed("click", 0.5, 0.5, [])]  # d = 0 -> 1
    assert score_agentnetbench([pointed("click", 0.5, 0.5)], gt, [near, exact, near]) == AgentNetScore(
        1.0, {"click": 1.0}, True
    )


# ---------------------------------------------------------------------------------------------------------------
# score_agentnetbench_papers (GUI-KV / STaR-KV harness)


def test_papers_scores_only_the_first_action():
    gt = [pointed("click", 0.5, 0.5, []), write("x")]
    predicted = [pointed("click", 0.5, 0.5), write("completely different")]
    # official: click 1, write ("completely different" vs "x": distance 20 of 20 -> 0) -> 0.5
    assert score_agentnetbench(predicted, gt).score == 0.5
    # papers: first vs first only -> 1
    assert score_agentnetbench_papers(predicted, gt) == AgentNetScore(1.0, {"click": 1.0}, False)


def test_papers_click_rules_match_the_official_ones():
    assert score_agentnetbench_papers([pointed("click", 0.15, 0.44)], REAL_ALT).score == 1.0  # inside the box
    gt = [pointed("moveTo", 0.5, 0.5, [])]
    assert score_agentnetbench_papers([pointed("moveTo", 0.53, 0.5)], gt).score == pytest.approx(NEAR_MISS_003)


def test_papers_write():
    # no folding: GT write + Enter against a bare write is just "hello" vs "hello"
    assert score_agentnetbench_papers([write("Hello ")], [write("hello"), keys("press", "enter")]).score == 1.0
    # distance 3 of 7: (4/7) / 0.8 = 5/7
    assert score_agentnetbench_papers([write("kitten")], [write("sitting")]).score == pytest.approx(5 / 7)
    # the harness reads text before content ("abc" == "abc" -> 1); the official reads content first -> 0
    gt = [{"type": "write", "params": {"text": "abc", "content": "xyz"}}]
    assert score_agentnetbench_papers([write("abc")], gt).score == 1.0


def test_papers_keys_scroll_terminate():
    assert score_agentnetbench_papers([keys("hotkey", "C", "ctrl")], [keys("hotkey", "ctrl", "c")]).score == 1.0
    assert score_agentnetbench_papers([keys("press", "tab")], [keys("press", "enter")]).score == 0.0
    # non-list keys: the harness gives 0 where the official code compares with == (-> 1)
    string_keys = {"type": "press", "params": {"keys": "enter"}}
    assert score_agentnetbench_papers([string_keys], [string_keys]).score == 0.0
    assert score_agentnetbench_papers([scroll(5)], [scroll(-3)]).score == 1.0
    # the harness lower-cases the type, so "Terminate" matches (official: 0)
    assert score_agentnetbench_papers([terminate("success", "Terminate")], [terminate("success")]).score == 1.0
    assert score_agentnetbench_papers([terminate("failure")], [terminate("success")]).score == 0.0


def test_papers_triple_click_naming():
    gt = [pointed("tripleClick", 0.5, 0.5, [])]
    triple = [pointed("triple_click", 0.5, 0.5)]
    assert score_agentnetbench_papers(triple, gt).score == 1.0
    assert score_agentnetbench(triple, gt).score == 0.0  # official: "triple_click" is not a GT type


def test_papers_type_mismatch_uses_the_first_same_typed_alternative():
    gt = [pointed("click", 0.5, 0.5, [])]
    alternatives = [[keys("press", "enter")], [write("abc")], [write("zzz")]]
    # write vs click -> first alternative starting with write: "abc" == "abc" -> 1; quirk: flag stays False
    assert score_agentnetbench_papers([write("abc")], gt, alternatives) == AgentNetScore(1.0, {"click": 1.0}, False)
    # the official rule: GT gate fails (0), alternative [write "abc"] scores 1 -> used
    assert score_agentnetbench([write("abc")], gt, alternatives) == AgentNetScore(1.0, {"write": 1.0}, True)


def test_papers_zero_takes_the_best_alternative():
    gt = [pointed("click", 0.9, 0.9, [])]
    alternatives = [[], [pointed("click", 0.53, 0.5, [])], [pointed("click", 0.5, 0.5, [])]]
    # quirk: GT d = 0.566 -> exp(-120 * 0.552) ~ 2e-29 is not 0, so the harness never looks at the alternatives
    assert score_agentnetbench_papers([pointed("click", 0.5, 0.5)], gt, alternatives).score < 1e-20
    # same type, wrong status -> 0 -> the max over the alternatives' first actions: "failure" == "failure" -> 1
    gt = [terminate("success")]
    alternatives = [[terminate("failure")], [terminate("success")]]
    assert score_agentnetbench_papers([terminate("failure")], gt, alternatives) == AgentNetScore(
        1.0, {"terminate": 1.0}, True
    )
    # nothing matches: GT 0, alternatives 0 and 0 -> 0
    assert score_agentnetbench_papers([terminate("other")], gt, alternatives) == AgentNetScore(0.0, {"terminate": 0})
    # write vs terminate: the first write alternative stands in ("zzz" vs "abc": distance 3 of 3 -> 0); that 0
    # then takes the max over all alternatives: "abc" -> 1
    write_alts = [[write("zzz")], [write("abc")]]
    assert score_agentnetbench_papers([write("abc")], gt, write_alts) == AgentNetScore(1.0, {"terminate": 1.0}, True)


def test_papers_parse_failure():
    assert score_agentnetbench_papers([], [write("a")], [[write("a")]]) == AgentNetScore(0.0, {}, False)
    assert score_agentnetbench_papers([write("a")], []).score == 0.0


# ---------------------------------------------------------------------------------------------------------------
# AndroidControl

SEND = {"bbox_pixels": {"x_min": 100, "x_max": 300, "y_min": 1000, "y_max": 1100}, "text": "Send"}
UP = {"bbox_pixels": {"x_min": 0, "x_max": 120, "y_min": 80, "y_max": 200}, "content_description": "Navigate up"}
BACK = {"bbox_pixels": {"x_min": 900, "x_max": 1080, "y_min": 2200, "y_max": 2400}, "text": "Back"}
MAPS = {"bbox_pixels": {"x_min": 500, "x_max": 700, "y_min": 1500, "y_max": 1700}, "text": "Google Maps"}
COMPACT = {"bbox_pixels": {"x_min": 800, "x_max": 1000, "y_min": 1500, "y_max": 1700}, "text": "GoogleMaps"}
ROOT = {"bbox_pixels": {"x_min": 0, "x_max": 1080, "y_min": 0, "y_max": 2400}, "text": ""}
TREE = [[ROOT], [SEND, [UP, BACK]], [MAPS, COMPACT]]
PHONE = (1080, 2400)


def step(action: dict, tree: list | None = None, size=PHONE, **extra) -> dict:
    return {"action": action, "accessibility_tree": TREE if tree is None else tree, "image_size": size} | extra


def pred(kind: str, point=None, **fields) -> dict:
    return {"action_type": kind, "point": point, "text": "", "direction": "", "status": "", "app_name": ""} | fields


def both(predicted: dict, expected: dict) -> tuple[float, float]:
    return score_androidcontrol(predicted, expected, "strict"), score_androidcontrol(predicted, expected, "lenient")


CLICK_SEND = step({"action_type": "click", "x": 200, "y": 1050})


def test_androidcontrol_click_in_the_smallest_box_around_the_gt_point():
    # GT (200, 1050) lies in ROOT and SEND; SEND (200x100) is the smaller -> the target box [100, 300] x [1000, 1100]
    assert both(pred("click", (290, 1090)), CLICK_SEND) == (1.0, 1.0)
    assert both(pred("click", (300, 1100)), CLICK_SEND) == (1.0, 1.0)  # edges count
    # long_press for click: strict needs the same type; lenient treats them alike
    assert both(pred("long_press", (200, 1050)), CLICK_SEND) == (0.0, 1.0)


def test_androidcontrol_lenient_margin_and_distance_fallback():
    # margin = max(8, 0.015 * 1080 = 16.2) = 16.2: x = 315 <= 300 + 16.2 -> lenient hit, strict miss
    assert both(pred("click", (315, 1050)), CLICK_SEND) == (0.0, 1.0)
    # outside the inflated box (y 1157 > 1116.2) but L-inf to (200, 1050) = max(100, 107) <= max(72, 108) = 108
    assert both(pred("click", (300, 1157)), CLICK_SEND) == (0.0, 1.0)
    # dy = 109 > 108 -> miss
    assert both(pred("click", (200, 1159)), CLICK_SEND) == (0.0, 0.0)
    # no a11y tree: strict cannot score, lenient falls back to the distance (dx 100 <= 108)
    no_tree = step({"action_type": "click", "x": 200, "y": 1050}, tree=[])
    assert both(pred("click", (300, 1050)), no_tree) == (0.0, 1.0)
    # a GT point outside every node: no box, distance only
    nowhere = step({"action_type": "click", "x": 200, "y": 1050}, tree=[[MAPS]])
    assert both(pred("click", (250, 1100)), nowhere) == (0.0, 1.0)


def test_androidcontrol_lenient_uses_a_shrunk_size_for_large_screenshots():
    # 1440x3120 is scored as 1200x2600 (ratio 1200/1440 = 2600/3120 = 0.8333): threshold max(72, 120) = 120
    large = step({"action_type": "click", "x": 500, "y": 500}, tree=[], size=(1440, 3120))
    assert both(pred("click", (630, 500)), large) == (0.0, 0.0)  # dx 130 > 120 (it would pass 144 unshrunk)
    assert both(pred("click", (615, 500)), large) == (0.0, 1.0)  # dx 115 <= 120


def test_androidcontrol_type_text():
    with_point = step({"action_type": "type_text", "x": 200, "y": 1050, "text": "hello"})
    # quirk (strict): a typed text has no point, so GT type_text steps never score; lenient also needs a point here
    assert both(pred("type", text="hello"), with_point) == (0.0, 0.0)
    without_point = step({"action_type": "type_text", "text": "Hello  World"})
    # lenient: normalized (case, spaces) equality
    assert both(pred("type", text="hello world"), without_point) == (0.0, 1.0)


@pytest.mark.parametrize(
    ("typed", "expected", "score"),
    [
        ("hello world", "Hello  World", 1.0),  # normalized equality
        ("it’s", "its", 1.0),  # curly quote -> ' -> removed
        ("a @ b.com", "a@b.com", 1.0),  # e-mails compared without whitespace
        ("123457", "123456", 1.0),  # one wrong digit in a 6-digit number
        ("123467", "123456", 0.0),  # two wrong digits
        ("pizza hut downtown", "pizza hut", 1.0),  # containment, GT of 9 >= 5 characters
        ("cat", "cats", 0.0),  # containment needs 5+ characters
        ("john", "joh", 1.0),  # quirk: rstrip("\\n") strips a trailing letter n
        ("anything", "", 0.0),  # empty GT text never matches
    ],
)
def test_androidcontrol_lenient_typing(typed, expected, score):
    assert (
        score_androidcontrol(pred("type", text=typed), step({"action_type": "type_text", "text": expected}), "lenient")
        == score
    )


def test_androidcontrol_open_app():
    gt = step({"action_type": "open_app", "app_name": "Google Maps"}, goal="Open Google Maps and find a cafe")
    # a tap on the node that names the app: "google maps" in "google maps"
    assert both(pred("click", (600, 1600)), gt) == (1.0, 1.0)
    # "GoogleMaps" does not contain "google maps" (strict); lenient finds both tokens "google" and "maps" in it
    assert both(pred("click", (900, 1600)), gt) == (0.0, 1.0)
    # quirk: open_app against open_app compares the type only
    assert both(pred("open_app", app_name="Chrome"), gt) == (1.0, 1.0)
    # a tap on "Send": lenient accepts it because the goal names the app and the tap is below the status bar
    # (y 1050 >= 0.06 * 2400 = 144) and left of the edge (x 200 <= 0.97 * 1080 = 1047.6)
    assert both(pred("click", (200, 1050)), gt) == (0.0, 1.0)
    assert both(pred("click", (200, 100)), gt) == (0.0, 0.0)  # y 100 < 144: the status bar
    unnamed = step({"action_type": "open_app", "app_name": "Google Maps"}, goal="Find a cafe")
    assert both(pred("click", (200, 1050)), unnamed) == (0.0, 0.0)


def test_androidcontrol_navigate_back():
    gt = step({"action_type": "navigate_back"})
    assert both(pred("navigate_back"), gt) == (1.0, 1.0)
    assert both(pred("click", (1000, 2300)), gt) == (1.0, 1.0)  # node text "Back"
    # "Navigate up" has no "back": strict 0; lenient knows the label
    assert both(pred("click", (60, 140)), gt) == (0.0, 1.0)
    # the top-left toolbar (x 150/1080 = 0.139 <= 0.16, y 1000/2400 = 0.417 <= 0.46): lenient only
    assert both(pred("click", (150, 1000)), gt) == (0.0, 1.0)
    assert both(pred("click", (600, 1000)), gt) == (0.0, 0.0)
    # no tree: top-right corner (x 1000 >= 0.8 * 1080 = 864, y 200 <= 0.14 * 2400 = 336)
    bare = step({"action_type": "navigate_back"}, tree=[])
    assert both(pred("click", (1000, 200)), bare) == (0.0, 1.0)
    assert both(pred("click", (500, 1200)), bare) == (0.0, 0.0)


def test_androidcontrol_scroll_wait_status():
    down = step({"action_type": "scroll", "direction": "down"})
    assert both(pred("scroll", direction="down"), down) == (1.0, 1.0)
    assert both(pred("scroll", direction="up"), down) == (0.0, 1.0)  # quirk (lenient): up == down
    assert both(pred("scroll", direction="left"), down) == (0.0, 0.0)
    assert both(pred("wait"), step({"action_type": "wait"})) == (1.0, 1.0)
    done = step({"action_type": "status", "goal_status": "successful"})
    assert both(pred("status", status="successful"), done) == (1.0, 1.0)
    assert both(pred("status", status="infeasible"), done) == (0.0, 0.0)
    assert both(pred("press_home"), step({"action_type": "navigate_home"})) == (0.0, 0.0)
    assert both(pred(""), CLICK_SEND) == (0.0, 0.0)  # parse failure


def test_androidcontrol_unknown_rule():
    with pytest.raises(ValueError, match="unknown AndroidControl rule"):
        score_androidcontrol(pred("wait"), step({"action_type": "wait"}), "loose")


HIDPI_PHONE = ScreenGeometry(origin=(0, 0), logical_size=(540, 1200), image_size=(1080, 2400))


def test_androidcontrol_action_conversion():
    # screen (100, 200) on a 2x screen -> screenshot pixels (200, 400)
    assert androidcontrol_action([Click(target(100, 200)), Wait()], HIDPI_PHONE) == pred("click", (200.0, 400.0))
    long_press = androidcontrol_action([MobileAction("long_press", target=target(100, 200))], HIDPI_PHONE)
    assert long_press == pred("long_press", (200.0, 400.0))
    assert androidcontrol_action([Type("hi\n")], HIDPI_PHONE) == pred("type", text="hi")
    assert androidcontrol_action([Scroll("down")], HIDPI_PHONE) == pred("scroll", direction="down")
    assert androidcontrol_action([Scroll("up", target(10, 20))], HIDPI_PHONE) == pred(
        "scroll", (20.0, 40.0), direction="up"
    )
    assert androidcontrol_action([MobileAction("press_back")], HIDPI_PHONE) == pred("navigate_back")
    assert androidcontrol_action([MobileAction("open_app", text="Maps")], HIDPI_PHONE) == pred(
        "open_app", app_name="Maps"
    )
    assert androidcontrol_action([Wait()], HIDPI_PHONE) == pred("wait")
    assert androidcontrol_action([Finished("done")], HIDPI_PHONE) == pred("status", status="successful")
    assert androidcontrol_action([Finished("I cannot do this")], HIDPI_PHONE) == pred("status", status="infeasible")
    assert androidcontrol_action([Finished("infeasible")], HIDPI_PHONE) == pred("status", status="infeasible")
    assert androidcontrol_action([MobileAction("press_home")], HIDPI_PHONE) == pred("press_home")
    assert androidcontrol_action([Drag(target(1, 1), target(2, 2))], HIDPI_PHONE) == pred("drag")
    assert androidcontrol_action([], HIDPI_PHONE) == pred("")


def test_androidcontrol_end_to_end_from_actions():
    # a tap at screen (145, 525) = pixel (290, 1050), inside SEND
    predicted = androidcontrol_action([Click(target(145, 525))], HIDPI_PHONE)
    assert both(predicted, CLICK_SEND) == (1.0, 1.0)


# ---------------------------------------------------------------------------------------------------------------
# grounding


def test_grounding_hit():
    box = (0.4, 0.4, 0.6, 0.6)
    assert grounding_hit((0.5, 0.5), box) == 1.0
    assert grounding_hit((0.6, 0.4), box) == 1.0  # edges count
    assert grounding_hit((0.61, 0.5), box) == 0.0
    assert grounding_hit((0.5, 0.39), box) == 0.0


def test_screenspot_v2_macro_average():
    hits = {
        ("mobile", "text"): [1, 1, 0, 1],  # 0.75
        ("mobile", "icon"): [1, 0],  # 0.5
        ("desktop", "text"): [1],  # 1.0
        ("desktop", "icon"): [0, 0, 1],  # 1/3
        ("web", "text"): [0, 1],  # 0.5
        ("web", "icon"): [1],  # 1.0
    }
    records = [{"split": s, "data_type": t, "hit": h} for (s, t), values in hits.items() for h in values]
    # text: (0.75 + 1 + 0.5) / 3 = 0.75; icon: (0.5 + 1/3 + 1) / 3 = 0.61111; overall (0.75 + 0.61111) / 2 = 0.680556
    assert screenspot_v2_accuracy(records) == pytest.approx(0.6805555556, abs=1e-9)
    # the micro average differs: 8 hits of 13 = 0.615385
    assert micro_accuracy(r["hit"] for r in records) == pytest.approx(8 / 13)


def test_screenspot_v2_missing_type_counts_as_zero():
    # quirk: a split without icon samples has icon accuracy 0: (1 + 0) / 2 = 0.5
    assert screenspot_v2_accuracy([{"split": "mobile", "data_type": "text", "hit": 1}]) == 0.5
    assert screenspot_v2_accuracy([]) == 0.0
    assert micro_accuracy([]) == 0.0


def test_metrics_registry():
    assert set(METRICS) == {
        "agentnetbench",
        "agentnetbench-papers",
        "androidcontrol-strict",
        "androidcontrol-lenient",
        "grounding",
    }
    assert METRICS["agentnetbench"]([write("a")], [write("a")]).score == 1.0
    assert METRICS["androidcontrol-strict"](pred("click", (315, 1050)), CLICK_SEND) == 0.0
    assert METRICS["androidcontrol-lenient"](pred("click", (315, 1050)), CLICK_SEND) == 1.0
    assert METRICS["grounding"]((0.5, 0.5), (0, 0, 1, 1)) == 1.0


# ---------------------------------------------------------------------------------------------------------------
# cross-check against the official evaluator

# OpenCUA's evaluation/agentnetbench/eval.py at 1d70f20, shipped with its MIT licence (see its README there)
OFFICIAL_EVALUATOR = TESTS_DATA / "official" / "opencua" / "agentnetbench_eval.py"


def _levenshtein(a: str, b: str) -> int:
    """Stand-in for the ``editdistance`` package (row by row, written independently of the code under test)."""
    row = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        diagonal, row[0] = row[0], i
        for j in range(1, len(b) + 1):
            above = row[j]
            row[j] = min(above + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1]))
            diagonal = above
    return row[len(b)]


@pytest.fixture
def official_evaluator(monkeypatch):
    stub = types.ModuleType("editdistance")
    stub.eval = _levenshtein
    monkeypatch.setitem(sys.modules, "editdistance", stub)  # so eval.py does not pip install it
    spec = importlib.util.spec_from_file_location("opencua_agentnetbench_eval", OFFICIAL_EVALUATOR)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.ActionEvaluator()


POINTED_TYPES = ["click", "doubleClick", "rightClick", "tripleClick", "moveTo", "dragTo"]
WORDS = ["george orwell", "CardPhotoForm", "stat6011", "help me polish this: ", "SPOTIFY", "a", "", "hello world"]


def _random_point(rng: random.Random) -> tuple[float, float]:
    return round(rng.random(), 4), round(rng.random(), 4)


def _random_ground_truth_action(rng: random.Random) -> dict:
    kind = rng.choice(POINTED_TYPES * 2 + ["write", "write", "press", "hotkey", "scroll", "hscroll", "terminate"])
    if kind in POINTED_TYPES:
        x, y = _random_point(rng)
        action = {"type": kind, "params": {"position": {"x": x, "y": y}}}
        metadata = rng.choice(["none", "empty", "boxes", "around", "malformed"])
        if metadata == "empty":
            action["metadata"] = {}
        elif metadata == "boxes":
            action["metadata"] = {"bboxes": [{"rel_bbox": [rng.random() * 0.8, rng.random() * 0.8, 0.1, 0.1]}]}
        elif metadata == "around":
            width, height = rng.uniform(0.005, 0.2), rng.uniform(0.005, 0.2)
            action["metadata"] = {"bboxes": [{"rel_bbox": [x - width / 2, y - height / 2, width, height]}]}
        elif metadata == "malformed":
            action["metadata"] = {"bboxes": [{"rel_bbox": [x, y]}]}
        return action
    if kind == "write":
        return {
            "type": "write",
            "params": {rng.choice(["text", "content"]): rng.choice(WORDS) + rng.choice(["", "\n"])},
        }
    if kind == "press":
        return {"type": "press", "params": {"keys": [rng.choice(["enter", "Return", "tab", "Escape"])]}}
    if kind == "hotkey":
        return {"type": "hotkey", "params": {"keys": rng.sample(["ctrl", "Shift", "c", "V", "alt"], rng.randint(1, 3))}}
    if kind in ("scroll", "hscroll"):
        return {"type": kind, "params": {"amount": rng.randint(-10, 10)}}
    return {"type": "terminate", "params": {"status": rng.choice(["success", "failure"])}}


def _random_ground_truth(rng: random.Random) -> list[dict]:
    actions = [_random_ground_truth_action(rng) for _ in range(rng.randint(1, 3))]
    if rng.random() < 0.25:  # a write + Enter pair somewhere
        at = rng.randint(0, len(actions))
        enter = {"type": rng.choice(["press", "hotkey"]), "params": {"keys": [rng.choice(["enter", "Return"])]}}
        actions[at:at] = [{"type": "write", "params": {"text": rng.choice(WORDS)}}, enter]
    return actions


def _mutate_text(rng: random.Random, text: str) -> str:
    choice = rng.random()
    if choice < 0.25:
        return text.upper()
    if choice < 0.5:
        return f"  {text} "
    if choice < 0.75 and text:
        at = rng.randrange(len(text))
        return text[:at] + rng.choice("xyz") + text[at + 1 :]
    return rng.choice(WORDS)


def _prediction_from(rng: random.Random, action: dict) -> dict:
    """A prediction near a ground-truth action: same type (mostly), jittered point, edited text, shuffled keys."""
    kind, params = action["type"], action["params"]
    if rng.random() < 0.15:
        kind = rng.choice(POINTED_TYPES + ["write", "press", "hotkey", "scroll", "terminate", "Terminate"])
    if kind in POINTED_TYPES:
        x, y = (params["position"]["x"], params["position"]["y"]) if "position" in params else _random_point(rng)
        spread = rng.choice([0.0, 0.005, 0.02, 0.05, 0.3])
        return {"type": kind, "params": {"position": {"x": x + rng.gauss(0, spread), "y": y + rng.gauss(0, spread)}}}
    if kind == "write":
        text = params.get("text", params.get("content", rng.choice(WORDS)))
        return {"type": "write", "params": {"text": _mutate_text(rng, text)}}
    if kind in ("press", "hotkey"):
        names = list(params.get("keys", ["enter"]))
        rng.shuffle(names)
        if rng.random() < 0.3:
            names = [name.upper() for name in names]
        if rng.random() < 0.2:
            names.append("shift")
        return {"type": kind, "params": {"keys": names}}
    if kind in ("scroll", "hscroll"):
        return {"type": kind, "params": {"amount": rng.choice([5, -5])}}
    status = params.get("status", "success")
    return {"type": kind, "params": {"status": rng.choice([status, status, "failure", "Success"])}}


def _random_prediction(rng: random.Random, ground_truth: list[dict]) -> list[dict]:
    predicted = [_prediction_from(rng, action) for action in ground_truth]
    for action in predicted[:]:
        if action["type"] == "write" and rng.random() < 0.4:  # write + Enter on the predicted side
            at = predicted.index(action) + 1
            predicted.insert(at, {"type": rng.choice(["press", "press", "hotkey"]), "params": {"keys": ["enter"]}})
    if rng.random() < 0.2:
        predicted = predicted[1:]
    if rng.random() < 0.2:
        predicted.append(_prediction_from(rng, _random_ground_truth_action(rng)))
    if rng.random() < 0.1:
        rng.shuffle(predicted)
    return predicted


def _official_tuple(action: dict) -> tuple:
    """Our dict prediction in the tuple form the official evaluator takes (as OpenCUA's agent builds it)."""
    kind, params = action["type"], action["params"]
    if kind.lower() in ("click", "doubleclick", "rightclick", "tripleclick", "moveto", "dragto"):
        return kind, (params["position"]["x"], params["position"]["y"])
    field = {"write": "text", "press": "keys", "hotkey": "keys", "scroll": "amount", "hscroll": "amount"}
    return kind, params[field.get(kind.lower(), "status")]


def _official_step(evaluator, predicted: list[dict], ground_truth: list[dict], alternatives: list[list[dict]]):
    """run.py's per-step logic around ``evaluate_action`` (deep copies: the official code edits its input)."""
    if not predicted:
        return {"total": 0, "actions": {}}, False
    tuples = [_official_tuple(action) for action in predicted]
    best = evaluator.evaluate_action(
        {"ground_truth_actions": copy.deepcopy(ground_truth), "predicted_actions": list(tuples)}
    )
    used = False
    if best["total"] < 1.0:
        for option in alternatives:
            candidate = evaluator.evaluate_action(
                {"ground_truth_actions": copy.deepcopy(option), "predicted_actions": list(tuples)}
            )
            if candidate["total"] > best["total"]:
                best, used = candidate, True
    return best, used


def test_matches_the_official_evaluator_on_random_steps(official_evaluator, capsys):
    rng = random.Random(20240607)
    distinct_scores = set()
    for case in range(250):
        ground_truth = _random_ground_truth(rng)
        predicted = _random_prediction(rng, ground_truth) if rng.random() < 0.9 else []
        alternatives = [_random_ground_truth(rng) for _ in range(rng.choice([0, 0, 1, 2]))]
        if alternatives and rng.random() < 0.5:  # an alternative the prediction was built from
            predicted = _random_prediction(rng, alternatives[0])
        expected, used = _official_step(official_evaluator, predicted, ground_truth, alternatives)
        snapshot = copy.deepcopy((predicted, ground_truth, alternatives))
        ours = score_agentnetbench(predicted, ground_truth, alternatives)
        assert (predicted, ground_truth, alternatives) == snapshot, "inputs must not be modified"
        context = f"case {case}: predicted={predicted} gt={ground_truth} alternatives={alternatives}"
        assert math.isclose(ours.score, expected["total"], rel_tol=0, abs_tol=1e-9), context
        assert ours.per_type.keys() == expected["actions"].keys(), context
        for kind, value in expected["actions"].items():
            assert math.isclose(ours.per_type[kind], value, rel_tol=0, abs_tol=1e-9), context
        assert ours.used_alternative == used, context
        distinct_scores.add(round(ours.score, 6))
    capsys.readouterr()  # the official evaluator prints as it goes
    # the random steps must exercise partial credit, not only 0 and 1
    assert len(distinct_scores) > 20
