"""Multimodal-Mind2Web: the per-step jsonl importer, the action mapping, the metric and its macro, a replay.

The fixture (tests/data/benchmarks/mind2web) uses the dataset card's field names: task A (3 steps: CLICK,
TYPE "Boston", SELECT "One-way") stores ``operation`` and candidates as JSON strings, as the card does; task B
(2 steps: TYPE "hiking boots", CLICK with two positive candidates) is an export that decoded them. The file
interleaves the two tasks and lists task B's steps in reverse, so grouping and ordering are exercised.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from PIL import Image

from guiagent.agent.actions import Click, Finished, Scroll, Target, Type
from guiagent.agent.eval.benchmarks.mind2web.importer import is_mind2web, load_mind2web
from guiagent.agent.eval.benchmarks.mind2web.predictions import mind2web_operation
from guiagent.agent.eval.benchmarks.mind2web.scorer import mind2web_macro, operation_f1, score_mind2web
from guiagent.agent.eval.replay import replay
from guiagent.agent.eval.scoring import METRICS
from guiagent.agent.eval.sources import load_source
from guiagent.agent.policy.coords import ScreenGeometry
from guiagent.agent.run.runner import RunOptions, replay_deciders
from guiagent.agent.trajectory.format import TrajectoryError, load_trajectory
from guiagent.agent.trajectory.recorder import Recorder
from tests.agent.eval.benchmarks.test_importers import one_sentence
from tests.helpers.data import TESTS_DATA

M2W = TESTS_DATA / "benchmarks" / "mind2web"
JSONL = M2W / "cross_task_blocks.jsonl"
TASK_A, TASK_B = "6d8c7c4b-2f5e-4d0a-9a51-1f0e3c2a7b10", "0f3e9a2d-77c1-4b8e-8d2f-5a6b4c3d2e1f"
SCREEN = ScreenGeometry((0, 0), (336, 252), (336, 252))
ANSWERS = [  # UI-TARS answers, one per step; the 336 x 252 screenshots keep their size, so points are pixels
    "Action: click(start_box='(70,50)')",  # A1: inside [20,30,120,70]
    "Action: type(content='Boston MA')",  # A2: no point
    "Action: click(start_box='(280,35)')",  # A3: inside [240,20,320,50]
    "Action: type(content='hiking boots')",  # B1: no point
    "Action: click(start_box='(25,225)')",  # B2: inside the second positive box [0,200,50,250]
]


def test_the_fixture_loads_as_one_trajectory_per_task_in_step_order():
    assert is_mind2web(JSONL) and is_mind2web(M2W)
    first, second = load_mind2web(JSONL)
    assert (first.name, second.name) == (TASK_A, TASK_B)
    assert first.task == "Find a one-way flight from Boston to Denver." and first.source == "mind2web"
    assert first.meta["website"] == "united" and second.meta["domain"] == "Shopping"
    assert [s.image.name for s in first.steps] == ["a0.png", "a1.png", "a2.png"]
    assert [s.image.name for s in second.steps] == ["b0.png", "b1.png"]  # reversed in the file
    assert [s.expected["operation"]["op"] for s in first.steps] == ["CLICK", "TYPE", "SELECT"]
    assert first.steps[1].expected["operation"]["value"] == "Boston"
    assert first.steps[0].expected["boxes"] == [[20, 30, 120, 70]]  # "20,30,100,40" is x, y, w, h
    assert second.steps[1].expected["boxes"] == [[150, 180, 210, 220], [0, 200, 50, 250]]
    assert second.steps[1].expected["operation"]["original_op"] == "HOVER"
    assert {s.expected["task_steps"] for s in first.steps} == {3}
    assert first.geometry(first.steps[0]).image_size == (336, 252)
    assert load_source(M2W)[0].name == TASK_A and len(load_source(JSONL, limit=1)) == 1


def test_a_loaded_task_round_trips_through_a_recorded_trajectory(tmp_path: Path):
    task = load_mind2web(JSONL)[0]
    with Recorder(tmp_path / "run", task=task.task, source="mind2web") as recorder:
        for step in task.steps:
            recorder.record(step.step, Image.open(step.image), expected=step.expected)
    loaded = load_trajectory(tmp_path / "run")
    assert [s.expected for s in loaded.steps] == [s.expected for s in task.steps]


def test_operation_f1_is_the_token_set_f1():
    assert operation_f1("CLICK", "CLICK") == 1.0
    # {TYPE, Boston, MA} vs {TYPE, Boston}: 2 shared, precision 2/3, recall 1, F1 = 2*(2/3)/(2/3+1) = 0.8
    assert operation_f1("TYPE Boston MA", "TYPE Boston") == pytest.approx(0.8)
    # {TYPE, new, york} vs {TYPE, york, city, ny}: 2 shared, precision 2/3, recall 1/2, F1 = (2/3)/(7/6) = 4/7
    assert operation_f1("TYPE new york", "TYPE york city ny") == pytest.approx(4 / 7)
    assert operation_f1("CLICK", "SELECT One-way") == 0.0 and operation_f1("", "") == 1.0
    assert operation_f1("", "CLICK") == 0.0


def test_step_metrics_hand_computed():
    expected = {"operation": {"op": "TYPE", "value": "Boston"}, "boxes": [[20, 100, 220, 130]]}
    hit = score_mind2web({"op": "TYPE", "value": "Boston", "point": [220, 130]}, expected)  # on the edge
    assert (hit.element_accuracy, hit.operation_f1, hit.step_success) == (1.0, 1.0, 1.0)
    partial = score_mind2web({"op": "type", "value": "Boston MA", "point": [20, 99]}, expected)  # 1 px above
    assert (partial.element_accuracy, partial.operation_f1, partial.step_success) == (0.0, pytest.approx(0.8), 0.0)
    assert METRICS["mind2web"] is score_mind2web


def test_the_macro_pads_missing_steps_with_zero():
    steps = [
        (TASK_A, 3, {"element_accuracy": 1, "operation_f1": 1, "step_success": 1}),
        (TASK_A, 3, {"element_accuracy": 0, "operation_f1": 0.8, "step_success": 0}),
        (TASK_B, 2, {"element_accuracy": 1, "operation_f1": 1, "step_success": 1}),  # B's other step is missing
    ]
    summary = mind2web_macro(steps)
    # A: element 1/3, F1 (1 + 0.8 + 0)/3 = 0.6, SR 1/3; B: element 1/2, F1 1/2, SR 1/2 (the missing step is 0)
    assert summary["per_task"][TASK_A] == pytest.approx(
        {"element_accuracy": 1 / 3, "operation_f1": 0.6, "step_success": 1 / 3}
    )
    # macro: element (1/3 + 1/2)/2 = 5/12, F1 (0.6 + 0.5)/2 = 0.55, SR 5/12
    assert summary["element_accuracy"] == pytest.approx(5 / 12) and summary["operation_f1"] == pytest.approx(0.55)
    assert summary["step_success"] == pytest.approx(5 / 12) and summary["tasks"] == 2


def _at(x: int, y: int) -> Target:
    return Target(model=(x, y), screen=(x, y))


def test_our_actions_as_mind2web_operations():
    assert mind2web_operation([Click(_at(10, 20))], SCREEN) == {"op": "CLICK", "value": "", "point": [10, 20]}
    # click the field, then type: the operation is the typing, the element the clicked one; Enter is dropped
    typed = mind2web_operation([Click(_at(5, 6)), Type("Boston\n")], SCREEN)
    assert typed == {"op": "TYPE", "value": "Boston", "point": [5, 6]}
    assert mind2web_operation([Scroll("down", _at(1, 2))], SCREEN)["op"] == "SCROLL"
    assert mind2web_operation([Finished("done")], SCREEN) == {"op": "FINISHED", "value": "", "point": None}
    assert mind2web_operation([], SCREEN) == {"op": "", "value": "", "point": None}
    half = ScreenGeometry((100, 0), (168, 126), (336, 252))  # a screen at half the screenshot's size, offset
    assert mind2web_operation([Click(Target(model=(0, 0), screen=(110, 10)))], half)["point"] == [20, 20]


def _replay(tmp_path: Path, trajectories) -> dict:
    script = tmp_path / "answers.txt"
    script.write_text("\n---\n".join(ANSWERS))
    make_decider, _ = replay_deciders(RunOptions(task="replay", model=f"scripted:{script}"))
    return replay(trajectories, make_decider).as_dict()  # the mind2web schema picks the mind2web metric


def test_replaying_the_fixture_with_scripted_answers(tmp_path: Path):
    summary = _replay(tmp_path, load_source(JSONL))
    # A1 CLICK hit: 1/1/1; A2 TYPE "Boston MA", no point: 0/0.8/0; A3 CLICK on the SELECT box: 1/0/0
    # B1 TYPE "hiking boots", no point: 0/1/0; B2 CLICK in the second positive box: 1/1/1
    # A: element 2/3, F1 (1 + 0.8 + 0)/3 = 0.6, SR 1/3; B: element 1/2, F1 1, SR 1/2
    # macro: element (2/3 + 1/2)/2 = 7/12, F1 (0.6 + 1)/2 = 0.8, SR (1/3 + 1/2)/2 = 5/12
    m2w = summary["mind2web"]
    assert m2w["element_accuracy"] == pytest.approx(7 / 12) and m2w["operation_f1"] == pytest.approx(0.8)
    assert m2w["step_success"] == pytest.approx(5 / 12)
    assert summary["step_accuracy"] == pytest.approx(2 / 5)  # the replay's own score: step success per step


def test_a_missing_screenshot_skips_its_step_and_counts_zero(tmp_path: Path):
    folder = shutil.copytree(M2W, tmp_path / "m2w")
    (folder / "screenshots" / "b1.png").unlink()
    trajectories = load_mind2web(folder / "cross_task_blocks.jsonl")
    assert len(trajectories[1].steps) == 1 and "b1.png" in trajectories[1].warnings[0]
    m2w = _replay(tmp_path, trajectories)["mind2web"]
    # A as before (2/3, 0.6, 1/3); B: B1 scored 0/1/0 over 2 steps -> 0, 0.5, 0
    # macro: element (2/3 + 0)/2 = 1/3, F1 (0.6 + 0.5)/2 = 0.55, SR (1/3 + 0)/2 = 1/6
    assert m2w["element_accuracy"] == pytest.approx(1 / 3) and m2w["operation_f1"] == pytest.approx(0.55)
    assert m2w["step_success"] == pytest.approx(1 / 6)


def _edited(tmp_path: Path, line: int, change) -> Path:
    folder = shutil.copytree(M2W, tmp_path / "m2w", dirs_exist_ok=True)
    path = folder / "cross_task_blocks.jsonl"
    records = [json.loads(text) for text in path.read_text(encoding="utf-8").splitlines()]
    change(records[line - 1])
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def _box(record: dict, rect: str) -> None:
    record["pos_candidates"] = [json.dumps({"tag": "a", "attributes": json.dumps({"bounding_box_rect": rect})})]


@pytest.mark.parametrize(
    ("line", "change", "needles"),
    [
        (1, lambda r: r.pop("confirmed_task"), ["line 1", "'confirmed_task' is missing"]),
        (3, lambda r: r.update(operation='{"op": "HOVER"}'), ["line 3", "'operation.op'", "HOVER"]),
        (1, lambda r: r.update(operation="{not json"), ["line 1", "'operation'", "not valid JSON"]),
        (2, lambda r: r.update(pos_candidates="none"), ["line 2", "'pos_candidates' is a string"]),
        (1, lambda r: _box(r, "1,2,3"), ["line 1", "pos_candidates[0].attributes.bounding_box_rect", "'1,2,3'"]),
        (1, lambda r: _box(r, "1,2,nan,4"), ["line 1", "bounding_box_rect.w"]),
        (1, lambda r: r.update(screenshot="../outside.png"), ["line 1", "'screenshot'", "outside"]),
        (1, lambda r: r.update(screenshot={"path": None, "bytes": "iVBOR"}), ["line 1", "embedded bytes"]),
        (1, lambda r: r.update(target_action_index="first"), ["line 1", "'target_action_index'", "'first'"]),
    ],
)
def test_malformed_records_name_the_file_line_and_field(tmp_path: Path, line, change, needles):
    path = _edited(tmp_path, line, change)
    with pytest.raises(TrajectoryError) as error:
        load_mind2web(path)
    one_sentence(error, str(path), *needles)


def test_file_errors(tmp_path: Path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"annotation_id": "x", "confirmed_task": "t", "operation": {}}\n[1, 2]\n', encoding="utf-8")
    with pytest.raises(TrajectoryError) as error:
        load_mind2web(bad)
    one_sentence(error, "line 1", "'operation.op' is missing")
    bad.write_text("[1, 2]\n", encoding="utf-8")
    with pytest.raises(TrajectoryError) as error:
        load_mind2web(bad)
    one_sentence(error, "line 1", "a list, not an object")
    with pytest.raises(TrajectoryError) as error:
        load_mind2web(tmp_path / "empty")
    one_sentence(error, "no Multimodal-Mind2Web .jsonl files")
    assert not is_mind2web(bad) and not is_mind2web(tmp_path / "empty")
