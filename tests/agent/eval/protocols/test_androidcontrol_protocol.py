"""The AndroidControl protocols against what the published harnesses rendered and scored (tests/data/harness)."""

from __future__ import annotations

import json

import pytest

from guiagent.agent.eval.benchmarks.androidcontrol.importer import load_androidcontrol
from guiagent.agent.eval.protocols.androidcontrol import (
    GuikvAndroidControlOpenCUA,
    GuikvAndroidControlUITars,
    StarkvAndroidControlOpenCUA,
    StarkvAndroidControlUITars,
)
from guiagent.errors import ConfigError
from guiagent.tools.harness_cases.androidcontrol import without_trees
from tests.agent.eval.protocols.harness_fixtures import BENCHMARKS, plain, rendered, rows

PROTOCOLS = {
    ("guikv", "uitars"): GuikvAndroidControlUITars,
    ("guikv", "opencua"): GuikvAndroidControlOpenCUA,
    ("starkv", "uitars"): StarkvAndroidControlUITars,
    ("starkv", "opencua"): StarkvAndroidControlOpenCUA,
}
FOLDER = BENCHMARKS / "androidcontrol"


@pytest.fixture(scope="module")
def steps(tmp_path_factory):
    """(dataset, episode_id, step) -> (trajectory, index), for the fixture file and its "no_tree" variant."""
    samples = json.loads((FOLDER / "data" / "500_steps.json").read_text(encoding="utf-8"))
    variant = tmp_path_factory.mktemp("no_tree") / "500_steps.json"
    variant.write_text(json.dumps(without_trees(samples)), encoding="utf-8")
    found = {}
    for dataset, path in (("fixture", FOLDER / "data" / "500_steps.json"), ("no_tree", variant)):
        for trajectory in load_androidcontrol(path, images=FOLDER / "images"):
            for index, step in enumerate(trajectory.steps):
                found[(dataset, step.expected["episode_id"], step.expected["step_index"])] = (trajectory, index)
    return found


@pytest.mark.parametrize("key", sorted(PROTOCOLS))
def test_messages_are_the_harness_messages(key, steps):
    cases = [r for r in rows("androidcontrol", "messages.json") if (r["harness"], r["family"]) == key]
    assert len(cases) == 16  # 8 samples x 2 levels
    for case in cases:
        protocol = PROTOCOLS[key](level=case["level"])
        trajectory, index = steps[("fixture", case["episode_id"], case["step"])]
        assert rendered(protocol, trajectory, index, FOLDER / "images") == case["messages"], case


@pytest.mark.parametrize("key", sorted(PROTOCOLS))
def test_scripted_answers_score_as_the_harness(key, steps):
    cases = [r for r in rows("androidcontrol", "scores.json") if (r["harness"], r["family"]) == key]
    assert cases
    protocol = PROTOCOLS[key]()
    wrong = []
    for case in cases:
        trajectory, index = steps[(case["dataset"], case["episode_id"], case["step"])]
        got = protocol.score(trajectory, index, case["raw"], trajectory.steps[index].screen.image_size)
        if (got.score, plain(got.predicted)) != (case["score"], plain(case["prediction"])):
            wrong.append((case["script"], case["episode_id"], case["step"], got.score, got.predicted, case))
    assert not wrong, wrong[:3]


def test_fixture_covers_the_quirks():
    scores = {
        (r["harness"], r["family"], r["script"], r["episode_id"], r["step"]): r["score"]
        for r in rows("androidcontrol", "scores.json")
        if r["dataset"] == "fixture"
    }
    type_step, scroll_step = (4662, 2), (7961, 1)
    assert scores[("guikv", "uitars", "type", *type_step)] == 0  # a type carries no point: never scorable
    assert scores[("guikv", "opencua", "scroll_down", *scroll_step)] == 0  # scroll(-5) keeps the int direction
    assert scores[("starkv", "opencua", "scroll_up", *scroll_step)] == 1  # up == down, word from the answer
    assert scores[("guikv", "uitars", "open_app", 4662, 0)] == 1  # open_app is matched by name only
    assert scores[("starkv", "opencua", "natural_wait", 4662, 3)] == 1  # the keyword fallback (in-loop import)


def test_the_level_is_checked():
    with pytest.raises(ConfigError):
        GuikvAndroidControlUITars(level="mid")
    assert GuikvAndroidControlUITars.max_new_tokens == 600
