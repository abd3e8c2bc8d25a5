"""Benchmark importers: AndroidControl step samples and ScreenSpot-v2 / -Pro grounding samples as trajectories."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from guiagent.agent.eval.benchmarks.androidcontrol.importer import ACTION_TYPES, load_androidcontrol
from guiagent.agent.eval.benchmarks.screenspot import load_screenspot_pro, load_screenspot_v2
from guiagent.agent.policy.coords import ScreenGeometry
from guiagent.agent.trajectory.format import TrajectoryError
from tests.helpers.data import TESTS_DATA

DATA = TESTS_DATA / "benchmarks"
AC = DATA / "androidcontrol"
AC_JSON = AC / "data" / "500_steps.json"
V2 = DATA / "screenspot_v2"
PRO = DATA / "screenspot_pro"


def one_sentence(error: pytest.ExceptionInfo[TrajectoryError], *needles: str) -> str:
    """The error's message: one sentence, with a hint, naming everything in ``needles``."""
    message = error.value.message
    assert message.endswith(".") and ". " not in message.replace("0-based)", ""), message
    assert error.value.hint, "every error carries a hint"
    for needle in needles:
        assert needle in message, (needle, message)
    return message


def write_json(path: Path, data) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path


@pytest.fixture
def ac_copy(tmp_path: Path) -> Path:
    shutil.copytree(AC, tmp_path / "AndroidControl")
    return tmp_path / "AndroidControl"


@pytest.fixture
def ac_samples() -> list[dict]:
    return json.loads(AC_JSON.read_text(encoding="utf-8"))


# -- AndroidControl --------------------------------------------------------------------------------------------
def test_androidcontrol_groups_samples_by_episode_in_step_order():
    trajectories = load_androidcontrol(AC_JSON)

    # episodes in order of first appearance in the file (7961's step 2 is the first sample)
    assert [t.name for t in trajectories] == ["episode_7961", "episode_4662"]
    notes, zoho = trajectories
    assert notes.task == "In the Keep notes app, pin the note titled Groceries."
    assert zoho.task == "Open Zoho Meeting and join the meeting with ID 4815162342."
    for trajectory, episode in ((notes, 7961), (zoho, 4662)):
        assert trajectory.source == "androidcontrol"
        assert trajectory.warnings == []
        assert trajectory.meta["episode_id"] == episode
        assert [s.step for s in trajectory.steps] == [1, 2, 3, 4]
        assert [s.image for s in trajectory.steps] == [
            AC / "images" / str(episode) / f"screenshot_{i}.png" for i in range(4)
        ]
        assert [s.expected["step_index"] for s in trajectory.steps] == [0, 1, 2, 3]
        for step in trajectory.steps:
            assert step.screen == ScreenGeometry((0, 0), (270, 480), (270, 480))
            assert step.expected["schema"] == "androidcontrol"
            assert step.expected["image_size"] == [270, 480]
            assert step.expected["episode_id"] == episode
            assert step.instruction == step.expected["step_instruction"]
        assert trajectory.screen == ScreenGeometry((0, 0), (270, 480), (270, 480))
    # file positions of the samples, in step order
    assert notes.meta["sample_indices"] == [3, 7, 0, 5]
    assert zoho.meta["sample_indices"] == [2, 1, 6, 4]
    assert [s.instruction for s in zoho.steps] == [
        "Open the Zoho Meeting app",
        "Click on the Join a meeting button",
        "Type the meeting ID 4815162342 in the Meeting ID field",
        "Wait for the meeting to load",
    ]
    types = [s.expected["action"]["action_type"] for t in trajectories for s in t.steps]
    assert set(types) == set(ACTION_TYPES) - {"navigate_home"}  # every type the harnesses score, once
    assert len(types) == len(set(types))


def test_androidcontrol_expected_payload():
    zoho = load_androidcontrol(AC_JSON)[1]
    typing = zoho.steps[2]
    assert typing.expected["action"] == {"action_type": "type_text", "text": "4815162342", "x": 135, "y": 150}
    assert typing.expected["previous_actions"] == ["Open the Zoho Meeting app", "Click on the Join a meeting button"]
    assert typing.expected["step_instruction"] == "Type the meeting ID 4815162342 in the Meeting ID field"
    # the nested tree [[back], [layout, field]] comes out flat, depth first, nodes untouched
    tree = typing.expected["accessibility_tree"]
    assert [n["content_description"] or n["text"] or n["class_name"] for n in tree] == [
        "Navigate up",
        "android.widget.LinearLayout",
        "Meeting ID",
    ]
    assert tree[2]["bbox_pixels"] == {"x_min": 20, "x_max": 250, "y_min": 130, "y_max": 170}
    assert tree[2]["resource_name"] == "com.zoho.meeting:id/meeting_id"
    first = zoho.steps[0]
    assert first.expected["action"] == {"action_type": "open_app", "app_name": "Zoho Meeting"}
    assert first.expected["previous_actions"] == []
    notes = load_androidcontrol(AC_JSON)[0]
    assert notes.steps[1].expected["action"] == {"action_type": "scroll", "direction": "down"}
    assert notes.steps[2].expected["action"] == {"action_type": "long_press", "x": 135, "y": 360}
    assert notes.steps[3].expected["action"] == {"action_type": "status", "goal_status": "successful"}


def test_androidcontrol_accepts_the_data_folder_and_explicit_images(ac_copy: Path):
    by_folder = load_androidcontrol(AC / "data")
    assert [len(t.steps) for t in by_folder] == [4, 4]
    moved = ac_copy.parent / "screens"
    (ac_copy / "images").rename(moved)
    trajectories = load_androidcontrol(ac_copy / "data" / "500_steps.json", images=moved)
    assert trajectories[0].steps[0].image == moved / "7961" / "screenshot_0.png"


def test_androidcontrol_finds_images_in_the_starkv_layout(tmp_path: Path):
    # STaR-KV: ANDROIDCONTROL_TEST=androidcontrol/data, ANDROIDCONTROL_IMGS=androidcontrol
    root = tmp_path / "androidcontrol"
    shutil.copytree(AC / "images", root)
    shutil.copytree(AC / "data", root / "data")
    trajectories = load_androidcontrol(root / "data" / "500_steps.json")
    assert trajectories[1].steps[0].image == root / "4662" / "screenshot_0.png"
    assert trajectories[1].meta["images"] == str(root)


def test_androidcontrol_limit_counts_samples_in_file_order():
    # the first three samples: 7961 step 2, 4662 step 1, 4662 step 0 (like the harnesses' --debug 3)
    trajectories = load_androidcontrol(AC_JSON, limit=3)
    assert [(t.name, [s.expected["step_index"] for s in t.steps]) for t in trajectories] == [
        ("episode_7961", [2]),
        ("episode_4662", [0, 1]),
    ]
    assert load_androidcontrol(AC_JSON, limit=0) == []
    with pytest.raises(TrajectoryError) as error:
        load_androidcontrol(AC_JSON, limit=-1)
    one_sentence(error, "limit")


def test_androidcontrol_step_index_and_samples_without_episode(ac_copy: Path, ac_samples: list[dict]):
    for sample in ac_samples:
        sample["step_index"] = sample.pop("step")  # STaR-KV's name for the step number
    loose = [dict(ac_samples[0]), dict(ac_samples[1])]
    for sample in loose:
        del sample["episode_id"]
    path = write_json(ac_copy / "data" / "500_steps.json", ac_samples + loose)
    trajectories = load_androidcontrol(path)
    assert [t.name for t in trajectories] == ["episode_7961", "episode_4662", "sample_0008", "sample_0009"]
    assert [s.expected["step_index"] for s in trajectories[1].steps] == [0, 1, 2, 3]
    assert [len(t.steps) for t in trajectories] == [4, 4, 1, 1]
    assert trajectories[2].task == ac_samples[0]["goal"]
    assert trajectories[2].meta["episode_id"] is None


def test_androidcontrol_keeps_file_order_when_step_numbers_are_missing(ac_copy: Path, ac_samples: list[dict]):
    del ac_samples[1]["step"]  # 4662 step 1
    path = write_json(ac_copy / "data" / "500_steps.json", ac_samples)
    zoho = load_androidcontrol(path)[1]
    assert [s.expected["step_index"] for s in zoho.steps] == [None, 0, 3, 2]
    assert any("file order" in w for w in zoho.warnings)


def test_androidcontrol_skips_samples_whose_screenshot_is_missing(ac_copy: Path):
    (ac_copy / "images" / "4662" / "screenshot_2.png").unlink()
    (ac_copy / "images" / "4662" / "screenshot_3.png").write_bytes(b"not a png")
    trajectories = load_androidcontrol(ac_copy / "data" / "500_steps.json")
    zoho = trajectories[1]
    assert [s.expected["step_index"] for s in zoho.steps] == [0, 1]
    assert [s.step for s in zoho.steps] == [1, 2]
    assert len(zoho.warnings) == 2
    assert "screenshot_2.png does not exist" in zoho.warnings[0]
    assert "screenshot_3.png cannot be read as an image" in zoho.warnings[1]
    assert trajectories[0].warnings == []


def test_androidcontrol_warning_of_a_dropped_episode_lands_on_the_first_trajectory(ac_copy: Path):
    shutil.rmtree(ac_copy / "images" / "4662")
    trajectories = load_androidcontrol(ac_copy / "data" / "500_steps.json")
    assert [t.name for t in trajectories] == ["episode_7961"]
    assert len(trajectories[0].warnings) == 4
    assert all("4662/screenshot_" in w for w in trajectories[0].warnings)


def test_androidcontrol_no_usable_screenshot_is_an_error(ac_copy: Path):
    shutil.rmtree(ac_copy / "images")
    with pytest.raises(TrajectoryError) as error:
        load_androidcontrol(ac_copy / "data" / "500_steps.json")
    one_sentence(error, "None of the 8 screenshots", "500_steps.json")
    assert "androidcontrol_imgs" in error.value.hint


@pytest.mark.parametrize(
    ("change", "needles"),
    [
        (lambda s: s.pop("goal"), ["sample 2 (0-based)", "no 'goal' field"]),
        (lambda s: s.pop("screenshot"), ["sample 2 (0-based)", "no 'screenshot' field"]),
        (lambda s: s.pop("action"), ["sample 2 (0-based)", "no 'action' field"]),
        (lambda s: s["action"].pop("action_type"), ["sample 2 (0-based)", "'action.action_type'"]),
        (lambda s: s["action"].update(action_type="click"), ["'click' action without 'action.x'"]),
        (lambda s: s["action"].update(action_type="click", x="12", y=3), ["'action.x' as a string"]),
        (lambda s: s["action"].update(action_type="scroll"), ["'scroll' action without 'action.direction'"]),
        (lambda s: s.update(goal=["open"]), ["'goal' as a list, not a string"]),
        (lambda s: s.update(previous_actions="Open the app"), ["'previous_actions' as a string, not a list"]),
        (lambda s: s.update(previous_actions=[3]), ["previous_actions[0] as a number"]),
        (lambda s: s.update(step="0"), ["'step' as a string, not a whole number"]),
        (lambda s: s.update(accessibility_tree=[{"text": "OK"}]), ["accessibility_tree node 0", "'bbox_pixels'"]),
        (lambda s: s.update(accessibility_tree=[[{"bbox_pixels": {}}]]), ["accessibility_tree node 0"]),
        (lambda s: s.update(accessibility_tree=["OK"]), ["node 0 as a string, not an object"]),
        (lambda s: s.update(accessibility_tree={"nodes": []}), ["'accessibility_tree' as an object, not a list"]),
    ],
)
def test_androidcontrol_malformed_samples_name_the_field_and_sample(ac_copy, ac_samples, change, needles):
    change(ac_samples[2])
    path = write_json(ac_copy / "data" / "500_steps.json", ac_samples)
    with pytest.raises(TrajectoryError) as error:
        load_androidcontrol(path)
    one_sentence(error, "500_steps.json", *needles)


def test_androidcontrol_file_errors(tmp_path: Path):
    with pytest.raises(TrajectoryError) as error:
        load_androidcontrol(tmp_path / "missing.json")
    one_sentence(error, "missing.json", "does not exist")

    with pytest.raises(TrajectoryError) as error:
        load_androidcontrol(tmp_path)
    one_sentence(error, str(tmp_path), "has no 500_steps.json")

    broken = tmp_path / "broken.json"
    broken.write_text('[\n  {"goal": "x",\n   "screenshot": }\n]\n', encoding="utf-8")
    with pytest.raises(TrajectoryError) as error:
        load_androidcontrol(broken)
    one_sentence(error, "broken.json", "not valid JSON", "line 3")

    with pytest.raises(TrajectoryError) as error:
        load_androidcontrol(write_json(tmp_path / "object.json", {"samples": []}))
    one_sentence(error, "object.json", "JSON object, not a list of step samples")

    with pytest.raises(TrajectoryError) as error:
        load_androidcontrol(write_json(tmp_path / "empty.json", []))
    one_sentence(error, "empty.json", "no step samples")

    with pytest.raises(TrajectoryError) as error:
        load_androidcontrol(write_json(tmp_path / "strings.json", ["a"]))
    one_sentence(error, "strings.json", "sample 0 (0-based) is a JSON string, not an object")

    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xff\xfe\x00[")
    with pytest.raises(TrajectoryError) as error:
        load_androidcontrol(binary)
    one_sentence(error, "binary.json", "not UTF-8")

    with pytest.raises(TrajectoryError) as error:
        load_androidcontrol(AC_JSON, images=tmp_path / "nowhere")
    one_sentence(error, "nowhere", "image folder")


def test_androidcontrol_unknown_action_type_is_kept_with_a_warning(ac_copy: Path, ac_samples: list[dict]):
    ac_samples[0]["action"] = {"action_type": "input_text", "text": "hi"}
    path = write_json(ac_copy / "data" / "500_steps.json", ac_samples)
    notes = load_androidcontrol(path)[0]
    assert notes.steps[2].expected["action"]["action_type"] == "input_text"
    assert any("'input_text'" in w for w in notes.warnings)


# -- ScreenSpot-v2 ---------------------------------------------------------------------------------------------
def test_screenspot_v2_loads_every_split_as_one_step_trajectories():
    trajectories = load_screenspot_v2(V2)
    assert [t.name for t in trajectories] == [
        "mobile_0000",
        "mobile_0001",
        "desktop_0000",
        "desktop_0001",
        "web_0000",
        "web_0001",
    ]
    assert [t.steps[0].expected["split"] for t in trajectories] == ["mobile"] * 2 + ["desktop"] * 2 + ["web"] * 2
    assert [t.steps[0].expected["data_type"] for t in trajectories] == ["text", "icon"] * 3
    for trajectory in trajectories:
        assert trajectory.source == "screenspot-v2"
        assert len(trajectory.steps) == 1
        step = trajectory.steps[0]
        assert step.step == 1
        assert trajectory.task == step.instruction
        assert step.image.parent == V2 / "screenspotv2_image"
        assert step.image.exists()
        assert step.expected["schema"] == "screenspot"
        assert step.expected["variant"] == "v2"
        assert trajectory.warnings == []

    mobile = trajectories[0]
    assert mobile.task == "open the settings menu"
    assert mobile.steps[0].screen == ScreenGeometry((0, 0), (270, 480), (270, 480))
    assert mobile.steps[0].image.name == "mobile_0b6e4f0e-4c34-4b1b-9a8e-2f0d6a1c1a01.png"
    # bbox [x, y, w, h] = [20, 40, 100, 30] px on 270x480 -> [x1, y1, x2, y2] / size
    assert mobile.steps[0].expected["bbox"] == pytest.approx([20 / 270, 40 / 480, 120 / 270, 70 / 480])
    assert mobile.steps[0].expected["bbox_pixels"] == [20, 40, 120, 70]
    assert mobile.steps[0].expected["data_source"] == "ios"
    desktop = trajectories[2]
    assert desktop.steps[0].screen == ScreenGeometry((0, 0), (480, 270), (480, 270))
    # [48, 27, 96, 27] px on 480x270
    assert desktop.steps[0].expected["bbox"] == pytest.approx([0.1, 0.1, 0.3, 0.2])
    web_icon = trajectories[5]
    assert web_icon.task == "open the shopping cart"
    # [360, 10, 30, 30] px on 400x300
    assert web_icon.steps[0].expected["bbox"] == pytest.approx([0.9, 10 / 300, 0.975, 40 / 300])
    assert web_icon.steps[0].expected["image_size"] == [400, 300]


def test_screenspot_v2_splits_and_limit():
    web = load_screenspot_v2(V2, splits=("web",))
    assert [t.name for t in web] == ["web_0000", "web_0001"]
    assert [t.name for t in load_screenspot_v2(V2, splits="desktop")] == ["desktop_0000", "desktop_0001"]
    # limit is per split, like the harnesses' --debug N
    assert [t.name for t in load_screenspot_v2(V2, limit=1)] == ["mobile_0000", "desktop_0000", "web_0000"]
    assert load_screenspot_v2(V2, limit=0) == []


def test_screenspot_v2_image_folders(tmp_path: Path):
    # STaR-KV's prepared layout: annotations/ and images/ side by side
    shutil.copytree(V2, tmp_path / "prepared" / "annotations", ignore=shutil.ignore_patterns("*.png"))
    shutil.copytree(V2 / "screenspotv2_image", tmp_path / "prepared" / "images")
    shutil.rmtree(tmp_path / "prepared" / "annotations" / "screenspotv2_image")
    trajectories = load_screenspot_v2(tmp_path / "prepared" / "annotations")
    assert trajectories[0].steps[0].image.parent == tmp_path / "prepared" / "images"
    # an explicit folder wins
    explicit = load_screenspot_v2(V2, images=tmp_path / "prepared" / "images", splits=("mobile",))
    assert explicit[0].steps[0].image.parent == tmp_path / "prepared" / "images"


def test_screenspot_v2_missing_images_are_skipped_then_an_error(tmp_path: Path):
    folder = tmp_path / "ScreenSpot-v2"
    shutil.copytree(V2, folder)
    (folder / "screenspotv2_image" / "pc_5c1a9d2e-7f3b-4e6a-8d2c-1b9e0f4a3c02.png").unlink()
    trajectories = load_screenspot_v2(folder)
    assert [t.name for t in trajectories] == ["mobile_0000", "mobile_0001", "desktop_0000", "web_0000", "web_0001"]
    assert len(trajectories[0].warnings) == 1
    assert "screenspot_desktop_v2.json sample 1" in trajectories[0].warnings[0]
    assert "pc_5c1a9d2e-7f3b-4e6a-8d2c-1b9e0f4a3c02.png does not exist" in trajectories[0].warnings[0]

    shutil.rmtree(folder / "screenspotv2_image")
    with pytest.raises(TrajectoryError) as error:
        load_screenspot_v2(folder)
    one_sentence(error, "None of the 6 ScreenSpot-v2 images")


@pytest.mark.parametrize(
    ("change", "needles"),
    [
        (lambda s: s.pop("bbox"), ["sample 1 (0-based)", "no 'bbox' field"]),
        (lambda s: s.update(bbox=[1, 2, 3]), ["'bbox' [1, 2, 3], not a list of 4 pixel numbers"]),
        (lambda s: s.update(bbox=[1, 2, "3", 4]), ["not a list of 4 pixel numbers"]),
        (lambda s: s.pop("instruction"), ["no 'instruction' field"]),
        (lambda s: s.pop("img_filename"), ["no 'img_filename' field"]),
        (lambda s: s.pop("data_type"), ["no 'data_type' field"]),
        (lambda s: s.update(instruction=7), ["'instruction' as a number, not a string"]),
    ],
)
def test_screenspot_v2_malformed_samples(tmp_path: Path, change, needles):
    folder = tmp_path / "v2"
    shutil.copytree(V2, folder)
    samples = json.loads((folder / "screenspot_web_v2.json").read_text(encoding="utf-8"))
    change(samples[1])
    write_json(folder / "screenspot_web_v2.json", samples)
    with pytest.raises(TrajectoryError) as error:
        load_screenspot_v2(folder)
    one_sentence(error, "screenspot_web_v2.json", *needles)


def test_screenspot_v2_folder_errors(tmp_path: Path):
    with pytest.raises(TrajectoryError) as error:
        load_screenspot_v2(tmp_path / "nope")
    one_sentence(error, "nope", "does not exist")

    folder = tmp_path / "v2"
    shutil.copytree(V2, folder)
    (folder / "screenspot_web_v2.json").unlink()
    with pytest.raises(TrajectoryError) as error:
        load_screenspot_v2(folder)
    one_sentence(error, "has no screenspot_web_v2.json")
    assert "splits=" in error.value.hint
    assert len(load_screenspot_v2(folder, splits=("mobile", "desktop"))) == 4

    with pytest.raises(TrajectoryError) as error:
        load_screenspot_v2(folder, splits=("tablet",))
    one_sentence(error, "'tablet'")

    (folder / "screenspot_mobile_v2.json").write_text('[{"img_filename": "a.png",\n "bbox": [1, 2, 3, 4],,}]')
    with pytest.raises(TrajectoryError) as error:
        load_screenspot_v2(folder, splits=("mobile",))
    one_sentence(error, "screenspot_mobile_v2.json", "not valid JSON", "line 2")

    write_json(folder / "screenspot_mobile_v2.json", {"img_filename": "a.png"})
    with pytest.raises(TrajectoryError) as error:
        load_screenspot_v2(folder, splits=("mobile",))
    one_sentence(error, "screenspot_mobile_v2.json", "JSON object, not a list of samples")


# -- ScreenSpot-Pro --------------------------------------------------------------------------------------------
def test_screenspot_pro_loads_every_annotation_file():
    trajectories = load_screenspot_pro(PRO / "annotations")
    # files in name order: photoshop_windows.json, pycharm_macos.json
    assert [t.name for t in trajectories] == ["photoshop_windows_0", "pycharm_macos_0", "pycharm_macos_1"]
    for trajectory in trajectories:
        assert trajectory.source == "screenspot-pro"
        assert len(trajectory.steps) == 1
        step = trajectory.steps[0]
        assert trajectory.task == step.instruction
        assert step.screen == ScreenGeometry((0, 0), (384, 216), (384, 216))
        assert step.expected["schema"] == "screenspot"
        assert step.expected["variant"] == "pro"
        assert step.expected["gt_type"] == "positive"
        assert trajectory.warnings == []
    brush, run, open_file = trajectories
    assert brush.task == "select the brush tool"
    assert brush.steps[0].image == PRO / "images" / "photoshop_windows" / "screenshot_2024-11-27_10-05-41.png"
    assert brush.steps[0].expected["platform"] == "windows"
    assert brush.steps[0].expected["application"] == "photoshop"
    assert brush.steps[0].expected["group"] == "Creative"
    assert brush.steps[0].expected["ui_type"] == "icon"
    # bbox [x1, y1, x2, y2] = [0, 40, 19, 59] px, img_size [384, 216]
    assert brush.steps[0].expected["bbox"] == pytest.approx([0.0, 40 / 216, 19 / 384, 59 / 216])
    assert run.steps[0].image == open_file.steps[0].image  # two targets on one screenshot
    assert open_file.task == "open the file main.py"
    assert open_file.steps[0].expected["ui_type"] == "text"
    assert open_file.steps[0].expected["group"] == "Dev"
    # [300, 100, 360, 112] px on 384x216
    assert open_file.steps[0].expected["bbox"] == pytest.approx([0.78125, 100 / 216, 0.9375, 112 / 216])
    assert open_file.steps[0].expected["bbox_pixels"] == [300, 100, 360, 112]
    assert open_file.steps[0].expected["id"] == "pycharm_macos_1"


def test_screenspot_pro_limit_and_dataset_root():
    assert [t.name for t in load_screenspot_pro(PRO / "annotations", limit=2)] == [
        "photoshop_windows_0",
        "pycharm_macos_0",
    ]
    assert load_screenspot_pro(PRO / "annotations", limit=0) == []
    assert len(load_screenspot_pro(PRO)) == 3  # the dataset root, holding annotations/ and images/


def test_screenspot_pro_normalises_by_img_size_and_warns_when_it_differs(tmp_path: Path):
    root = tmp_path / "ScreenSpot-Pro"
    shutil.copytree(PRO, root)
    path = root / "annotations" / "photoshop_windows.json"
    samples = json.loads(path.read_text(encoding="utf-8"))
    samples[0]["img_size"] = [768, 432]
    write_json(path, samples)
    brush = load_screenspot_pro(root / "annotations")[0]
    assert brush.steps[0].expected["bbox"] == pytest.approx([0.0, 40 / 432, 19 / 768, 59 / 432])
    assert brush.steps[0].screen.image_size == (384, 216)
    assert any("img_size [768, 432] differs" in w for w in brush.warnings)

    del samples[0]["img_size"]  # without img_size: the file's own size
    write_json(path, samples)
    brush = load_screenspot_pro(root / "annotations")[0]
    assert brush.steps[0].expected["bbox"] == pytest.approx([0.0, 40 / 216, 19 / 384, 59 / 216])


def test_screenspot_pro_missing_images(tmp_path: Path):
    root = tmp_path / "ScreenSpot-Pro"
    shutil.copytree(PRO, root)
    shutil.rmtree(root / "images" / "pycharm_mac")
    trajectories = load_screenspot_pro(root / "annotations")
    assert [t.name for t in trajectories] == ["photoshop_windows_0"]
    assert len(trajectories[0].warnings) == 2
    assert all("pycharm_macos.json sample" in w for w in trajectories[0].warnings)

    shutil.rmtree(root / "images")
    with pytest.raises(TrajectoryError) as error:
        load_screenspot_pro(root / "annotations")
    one_sentence(error, "None of the 3 ScreenSpot-Pro images")
    # an explicit images folder
    found = load_screenspot_pro(root / "annotations", images=PRO / "images")
    assert len(found) == 3


@pytest.mark.parametrize(
    ("change", "needles"),
    [
        (lambda s: s.pop("ui_type"), ["sample 1 (0-based)", "no 'ui_type' field"]),
        (lambda s: s.pop("bbox"), ["no 'bbox' field"]),
        (lambda s: s.update(img_size=[384]), ["'img_size' [384], not [width, height]"]),
        (lambda s: s.update(img_size=[0, 216]), ["'img_size' [0, 216]"]),
        (lambda s: s.update(platform=1), ["'platform' as a number, not a string"]),
    ],
)
def test_screenspot_pro_malformed_samples(tmp_path: Path, change, needles):
    root = tmp_path / "ScreenSpot-Pro"
    shutil.copytree(PRO, root)
    path = root / "annotations" / "pycharm_macos.json"
    samples = json.loads(path.read_text(encoding="utf-8"))
    change(samples[1])
    write_json(path, samples)
    with pytest.raises(TrajectoryError) as error:
        load_screenspot_pro(root / "annotations")
    one_sentence(error, "pycharm_macos.json", *needles)


def test_screenspot_pro_folder_errors(tmp_path: Path):
    with pytest.raises(TrajectoryError) as error:
        load_screenspot_pro(tmp_path / "annotations")
    one_sentence(error, "does not exist")

    (tmp_path / "annotations").mkdir()
    with pytest.raises(TrajectoryError) as error:
        load_screenspot_pro(tmp_path / "annotations")
    one_sentence(error, "has no *.json files")

    (tmp_path / "annotations" / "app_linux.json").write_text("[\n\n  {oops}\n]")
    with pytest.raises(TrajectoryError) as error:
        load_screenspot_pro(tmp_path / "annotations")
    one_sentence(error, "app_linux.json", "not valid JSON", "line 3")
