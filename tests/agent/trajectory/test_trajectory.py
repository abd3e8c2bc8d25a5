"""The trajectory format: record, load, truncation, bad files; and the AgentNetBench importer on real data."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from guiagent.agent.actions import Click, Finished, Hotkey, Target, Type
from guiagent.agent.eval.benchmarks.agentnetbench.importer import load_agentnetbench
from guiagent.agent.eval.sources import load_source
from guiagent.agent.policy.coords import ScreenGeometry
from guiagent.agent.trajectory.format import (
    FILE,
    TrajectoryError,
    action_from_dict,
    action_to_dict,
    geometry_to_dict,
    load_trajectory,
)
from guiagent.agent.trajectory.recorder import Recorder
from tests.helpers.data import TESTS_DATA

DATA = TESTS_DATA
SCREEN = ScreenGeometry((0, 0), (320, 200), (320, 200))


def record_two_steps(folder: Path) -> Path:
    with Recorder(folder, task="open settings", screen=geometry_to_dict(SCREEN), model="tiny") as recorder:
        for step in (1, 2):
            recorder.record(
                step,
                Image.new("RGB", (320, 200), "white"),
                raw=f"answer {step}",
                actions=[action_to_dict(Click(Target((1.0, 2.0), (3, 4))))],
                outcomes=["executed"],
            )
    return folder


def test_record_and_load_round_trip(tmp_path):
    trajectory = load_trajectory(record_two_steps(tmp_path / "run"))
    assert trajectory.task == "open settings" and trajectory.screen == SCREEN
    assert [s.step for s in trajectory.steps] == [1, 2] and trajectory.steps[1].raw == "answer 2"
    assert trajectory.steps[0].image.exists() and trajectory.warnings == []
    assert trajectory.header["versions"]["guiagent"]


def test_every_action_survives_json(tmp_path):
    actions = [
        Click(Target((1.5, 2.5), (3, 4), True), "right", 2),
        Type("it's\n"),
        Hotkey(("ctrl", "c")),
        Finished("done"),
    ]
    assert [action_from_dict(action_to_dict(a)) for a in actions] == actions


def test_a_truncated_last_line_is_reported_and_skipped(tmp_path):
    folder = record_two_steps(tmp_path / "run")
    with (folder / FILE).open("a") as handle:
        handle.write('{"kind": "step", "step": 3, "image": "images/00')  # the process died mid-write
    trajectory = load_trajectory(folder)
    assert len(trajectory.steps) == 2
    assert "cut off mid-write" in trajectory.warnings[0]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "does not start with a guiagent trajectory header"),
        ('{"kind": "header", "format": "guiagent-trajectory", "version": 1}\nnot json\n', "line 2, is not valid JSON"),
        ('{"kind": "header", "format": "guiagent-trajectory", "version": 99}\n', "has format version 99"),
    ],
)
def test_broken_files_get_one_sentence(tmp_path, content, message):
    (tmp_path / FILE).write_text(content)
    with pytest.raises(TrajectoryError) as error:
        load_trajectory(tmp_path)
    assert message in error.value.message and error.value.hint


def test_missing_screenshots_are_skipped_with_a_warning(tmp_path):
    folder = record_two_steps(tmp_path / "run")
    (folder / "images" / "0001.png").unlink()
    trajectory = load_trajectory(folder)
    assert [s.step for s in trajectory.steps] == [2] and "is missing" in trajectory.warnings[0]


def test_an_existing_trajectory_is_never_overwritten(tmp_path):
    record_two_steps(tmp_path / "run")
    with pytest.raises(TrajectoryError, match="never overwritten"):
        Recorder(tmp_path / "run", task="x")


def test_real_agentnetbench_trajectories_import(tmp_path):
    bundled = load_source("bundled")
    [other] = load_agentnetbench(DATA / "agentnetbench")
    assert bundled[0].name == "s_df0fd37049f470c2" and len(bundled[0].steps) == 7
    assert other.name == "s_a96285eb665bef92" and len(other.steps) == 10
    step = other.steps[1]
    assert step.expected["schema"] == "agentnetbench" and len(step.expected["alternative_options"]) == 1
    assert other.geometry(step).image_size == Image.open(step.image).size  # relative coordinates: the screenshot
    assert bundled[0].task.startswith("Search for George Orwell on Goodreads")
    with Recorder(tmp_path / "copy", task=other.task, source=other.source) as recorder:
        for imported in other.steps:
            recorder.record(imported.step, Image.open(imported.image), expected=imported.expected)
    copy = load_trajectory(tmp_path / "copy")  # the canonical format keeps the ground truth
    assert [s.expected for s in copy.steps] == [s.expected for s in other.steps] and copy.source == "agentnetbench"


def test_unknown_sources_say_what_is_supported(tmp_path):
    with pytest.raises(TrajectoryError, match="does not exist"):
        load_source(tmp_path / "nope")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(TrajectoryError, match="neither a guiagent trajectory nor a benchmark layout") as error:
        load_source(tmp_path)
    assert "AgentNetBench" in error.value.hint
