"""Broken benchmark files and screenshots: one sentence naming the file, the step or sample, and the field; an
image path that leads out of the images folder is refused without the file being opened."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from guiagent.agent.eval.benchmarks.agentnetbench.importer import load_agentnetbench
from guiagent.agent.eval.benchmarks.androidcontrol.importer import load_androidcontrol
from guiagent.agent.eval.benchmarks.screenspot import load_screenspot_v2
from guiagent.agent.eval.sources import load_source
from guiagent.agent.trajectory.format import TrajectoryError, load_screenshot
from tests.agent.trajectory.test_broken_trajectories import watching_opens
from tests.helpers.data import TESTS_DATA

DATA = TESTS_DATA
TASK = "s_a96285eb665bef92.json"


@pytest.fixture
def agentnet(tmp_path: Path) -> Path:
    shutil.copytree(DATA / "agentnetbench", tmp_path / "agentnet")
    return tmp_path / "agentnet"


def edit_task(folder: Path, edit) -> Path:
    path = folder / TASK
    task = json.loads(path.read_text(encoding="utf-8"))
    edit(task)
    path.write_text(json.dumps(task), encoding="utf-8")
    return path


def refused(call, *needles: str) -> str:
    with pytest.raises(TrajectoryError) as error:
        call()
    message = error.value.message
    assert message.endswith(".") and error.value.hint, message
    for needle in needles:
        assert needle in message, (needle, message)
    return message


@pytest.mark.parametrize(
    ("edit", "needles"),
    [
        (lambda t: t["steps"].__setitem__(1, [1, 2]), ("step 2", "is a list, not an object")),
        (lambda t: t["steps"][1].pop("image"), ("step 2", "lacks 'image'")),
        (lambda t: t["steps"][1].__setitem__("image", 7), ("step 2", "'image' is a number")),
        (lambda t: t["steps"][1].__setitem__("image", "../../../../etc/hostname"), ("step 2", "leads outside")),
        (lambda t: t["steps"][1].__setitem__("image", "/etc/hostname"), ("step 2", "leads outside")),
        (lambda t: t["steps"][1].__setitem__("ground_truth_actions", {}), ("step 2", "'ground_truth_actions' is")),
        (
            lambda t: t["steps"][1]["ground_truth_actions"][0]["params"].pop("position"),
            ("step 2", "'ground_truth_actions[0].params.position' is missing"),
        ),
        (
            lambda t: t["steps"][1]["ground_truth_actions"][0]["params"]["position"].__setitem__("x", "0.5"),
            ("step 2", "'ground_truth_actions[0].params.position.x'"),
        ),
        (
            lambda t: t["steps"][1].__setitem__("alternative_options", [[{"type": 5, "params": {}}]]),
            ("step 2", "'alternative_options[0][0].type'"),
        ),
        (
            lambda t: t["steps"][1]["ground_truth_actions"][0].__setitem__("metadata", {"bboxes": [{}]}),
            ("step 2", "rel_bbox' is missing"),
        ),
    ],
)
def test_a_broken_agentnetbench_task_names_its_step_and_field(agentnet, edit, needles):
    path = edit_task(agentnet, edit)
    with watching_opens() as opened:
        refused(lambda: load_agentnetbench(agentnet), str(path), *needles)
    assert not any(Path(name).resolve() == Path("/etc/hostname").resolve() for name in opened)


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b"\xff\xfe garbage", "not UTF-8 text"),
        (b'{"task_id": "x", "steps": [', "not valid JSON"),
        (b'{"task_id": "x", "steps": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nests too deeply"),
        (b'{"task_id": "x", "steps": [], "n": ' + b"9" * 5000 + b"}", "not valid JSON"),
    ],
)
def test_an_unreadable_agentnetbench_file_is_one_sentence(agentnet, content, needle):
    (agentnet / TASK).write_bytes(content)
    refused(lambda: load_agentnetbench(agentnet), TASK, needle)
    refused(lambda: load_source(agentnet), "neither a guiagent trajectory nor a benchmark layout")


def test_broken_agentnetbench_screenshots_skip_their_step_or_stop_the_replay_with_a_sentence(agentnet):
    images = sorted((agentnet / "images").iterdir())
    images[0].write_bytes(b"not an image")
    images[1].write_bytes(b"")
    truncated = images[2].read_bytes()[:1000]  # the header is whole: seen when the step is decoded
    images[2].write_bytes(truncated)
    [trajectory] = load_agentnetbench(agentnet)
    assert len(trajectory.steps) == len(images) - 2
    assert len(trajectory.warnings) == 2 and all("cannot be read as an image" in w for w in trajectory.warnings)
    [step] = [s for s in trajectory.steps if s.image == images[2]]
    refused(lambda: load_screenshot(step), str(images[2]), f"step {step.step}", "cannot be decoded")


def test_androidcontrol_paths_out_of_the_images_folder_are_never_opened(tmp_path):
    shutil.copytree(DATA / "benchmarks" / "androidcontrol", tmp_path / "ac")
    path = tmp_path / "ac" / "data" / "500_steps.json"
    samples = json.loads(path.read_text(encoding="utf-8"))
    samples[0]["screenshot"] = "../../../../../../etc/hostname"
    path.write_text(json.dumps(samples), encoding="utf-8")
    with watching_opens() as opened:
        trajectories = load_androidcontrol(path)
    assert not any(Path(name).resolve() == Path("/etc/hostname").resolve() for name in opened)
    warnings = [w for t in trajectories for w in t.warnings]
    assert any("sample 0" in w and "leads outside the images folder" in w for w in warnings), warnings


def test_androidcontrol_labels_that_are_not_text_are_refused(tmp_path):
    shutil.copytree(DATA / "benchmarks" / "androidcontrol", tmp_path / "ac")
    path = tmp_path / "ac" / "data" / "500_steps.json"
    samples = json.loads(path.read_text(encoding="utf-8"))
    node = next(n for n in samples[0]["accessibility_tree"] if isinstance(n, dict))
    node["text"] = 42
    path.write_text(json.dumps(samples), encoding="utf-8")
    refused(lambda: load_androidcontrol(path), "sample 0", "'text' as a number")


def test_screenspot_paths_out_of_the_images_folder_are_skipped(tmp_path):
    shutil.copytree(DATA / "benchmarks" / "screenspot_v2", tmp_path / "v2")
    path = tmp_path / "v2" / "screenspot_mobile_v2.json"
    samples = json.loads(path.read_text(encoding="utf-8"))
    samples[0]["img_filename"] = "../../../../../../etc/hostname"
    path.write_text(json.dumps(samples), encoding="utf-8")
    with watching_opens() as opened:
        trajectories = load_screenspot_v2(tmp_path / "v2")
    assert not any(Path(name).resolve() == Path("/etc/hostname").resolve() for name in opened)
    assert any("leads outside the images folder" in w for w in trajectories[0].warnings)


def test_screenspot_boxes_must_be_finite_numbers(tmp_path):
    shutil.copytree(DATA / "benchmarks" / "screenspot_v2", tmp_path / "v2")
    path = tmp_path / "v2" / "screenspot_mobile_v2.json"
    samples = json.loads(path.read_text(encoding="utf-8"))
    samples[0]["bbox"] = [1, 2, float("nan"), 4]
    path.write_text(json.dumps(samples), encoding="utf-8")  # json writes NaN, and reads it back
    refused(lambda: load_screenspot_v2(tmp_path / "v2"), "sample 0", "'bbox'")
