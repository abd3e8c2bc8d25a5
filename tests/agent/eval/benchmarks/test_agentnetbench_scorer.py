"""AgentNetBench scoring: our actions in the benchmark's schema, the official step score and the papers' variant,
with hand-computed expectations (arithmetic in the comments)."""

from __future__ import annotations

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
from guiagent.agent.eval.benchmarks.agentnetbench.predictions import agentnetbench_actions
from guiagent.agent.eval.benchmarks.agentnetbench.scorer import (
    AgentNetScore,
    score_agentnetbench,
    score_agentnetbench_papers,
)
from guiagent.agent.policy.coords import ScreenGeometry
from tests.agent.eval.benchmarks.builders import keys, pointed, scroll, target, terminate, write

# exp(-120 * (0.03 - 0.01*sqrt(2))) = exp(-120 * 0.0158578644) = exp(-1.90294373) = 0.1491290
NEAR_MISS_003 = 0.1491289777
# exp(-120 * (0.05 - 0.0141421356)) = exp(-4.30294373) = 0.0135287
NEAR_MISS_005 = 0.0135286756


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
