"""The AgentNetBench protocols against what the GUI-KV / STaR-KV drivers produced (tests/data/harness/agentnetbench)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from guiagent.agent.eval.benchmarks.agentnetbench.importer import load_agentnetbench
from guiagent.agent.eval.benchmarks.agentnetbench.predictions import agentnetbench_actions
from guiagent.agent.eval.benchmarks.agentnetbench.scorer import score_agentnetbench
from guiagent.agent.eval.protocols import BENCHMARKS, PROTOCOLS, get_protocol
from guiagent.agent.eval.protocols.agentnetbench import GuiKVOpenCUA, GuiKVUITars, StarKVOpenCUA, StarKVUITars
from guiagent.agent.policy.coords import ImageGrid, ScreenGeometry
from guiagent.agent.policy.uitars_parser import parse_uitars
from guiagent.agent.trajectory.format import Step, Trajectory
from guiagent.errors import ConfigError

DATA = Path(__file__).resolve().parents[3] / "data"
FIXTURES = DATA / "harness" / "agentnetbench"
COMBINATIONS = [(harness, family) for harness in ("guikv", "starkv") for family in ("uitars", "opencua")]


def _fixture(kind: str, harness: str, family: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{kind}-{harness}-{family}.json").read_text(encoding="utf-8"))


def _trajectory(steps_from: list[int]) -> Trajectory:
    real = load_agentnetbench(DATA / "agentnetbench")[0]
    steps = [copy.copy(real.steps[index]) for index in steps_from]
    for number, step in enumerate(steps, 1):
        step.step = number
    return Trajectory(task=real.task, steps=steps, source=real.source, name=real.name)


def _portable(messages: list[dict[str, Any]], names: dict[int, str]) -> list[dict[str, Any]]:
    """Our messages in the fixture's form: each image object replaced by the file it was read from."""
    out = []
    for message in messages:
        content = message["content"]
        if isinstance(content, list):
            content = [
                {"type": "image", "image": names[id(item["image"])]} if item["type"] == "image" else item
                for item in content
            ]
        out.append({"role": message["role"], "content": content})
    return out


def _as_fixture(value: Any) -> Any:
    return json.loads(json.dumps(value))


def _check(result: Any, expected: dict[str, Any]) -> None:
    assert result.score == pytest.approx(expected["score"], rel=1e-12, abs=1e-300)
    assert _as_fixture(result.predicted) == expected["predicted_actions"]
    assert result.extra["used_alternative"] == expected["used_alternative"]
    assert (result.extra["error"] is None) == (expected["error"] is None), (result.extra, expected["error"])


@pytest.mark.parametrize(("harness", "family"), COMBINATIONS)
def test_messages_and_step_scores_equal_the_driver_step_by_step(harness: str, family: str) -> None:
    fixture = _fixture("messages", harness, family)
    protocol = get_protocol(harness, "agentnetbench", family)
    trajectory = _trajectory(fixture["steps_from"])
    screenshots = [Image.open(step.image) for step in trajectory.steps]  # lazily: only identities are compared
    names = {id(image): step.image.name for image, step in zip(screenshots, trajectory.steps, strict=True)}
    answers = fixture["answers"]
    assert len(fixture["steps"]) == len(trajectory.steps) == 13
    for expected in fixture["steps"]:
        index = expected["step_index"]
        messages = protocol.messages(trajectory, index, screenshots[: index + 1], answers[:index])
        assert _portable(messages, names) == expected["messages"], f"step {index}"
        _check(protocol.score(trajectory, index, answers[index], screenshots[index].size), expected)


def test_the_fixtures_show_the_layouts_the_protocols_document() -> None:
    """A readable summary of the layouts at step 6 (the 7th): what the long fixtures pin down."""

    def layout(harness: str, family: str) -> list[str]:
        step = _fixture("messages", harness, family)["steps"][6]["messages"]
        return [
            m["role"][0]
            + ":"
            + (
                "text"
                if isinstance(m["content"], str)
                else "+".join(
                    c["image"].removeprefix("s_a96285eb665bef92_") if c["type"] == "image" else "prompt"
                    for c in m["content"]
                )
            )
            for m in step
        ]

    # UI-TARS: steps 0-1 as text only, the last 4 with their screenshot before their answer
    assert layout("guikv", "uitars") == [
        "a:text",
        "a:text",
        "u:4.png",
        "a:text",
        "u:5.png",
        "a:text",
        "u:6.png",
        "a:text",
        "u:7.png",
        "a:text",
        "u:8.png+prompt",
    ]
    assert layout("starkv", "uitars") == layout("guikv", "uitars")
    # GUI-KV OpenCUA: screenshot t-2 (6.png) before each of the steps older than 4, none for the last 4
    assert layout("guikv", "opencua") == ["u:6.png", "a:text", "u:6.png", *["a:text"] * 5, "u:8.png+prompt"]
    assert layout("starkv", "opencua") == ["s:text", "u:8.png+prompt"]


def _case_step(case: dict[str, Any]) -> Trajectory:
    expected = {
        "schema": "agentnetbench",
        "ground_truth_actions": case["ground_truth_actions"],
        "alternative_options": case["alternative_options"],
    }
    return Trajectory(task="t", steps=[Step(step=1, image=Path("unused.png"), expected=expected)], name=case["case"])


@pytest.mark.parametrize(("harness", "family"), COMBINATIONS)
def test_each_scripted_prediction_scores_as_the_driver_scores_it(harness: str, family: str) -> None:
    protocol = get_protocol(harness, "agentnetbench", family)
    for case in _fixture("scoring", harness, family)["cases"]:
        result = protocol.score(_case_step(case), 0, case["raw"], tuple(case["image_size"]))
        try:
            _check(result, case)
        except AssertionError as error:
            raise AssertionError(f"{case['case']} ({case['name']}): {error}") from error


def _case(harness: str, family: str, name: str) -> dict[str, Any]:
    return next(case for case in _fixture("scoring", harness, family)["cases"] if case["name"] == name)


@pytest.mark.parametrize(
    ("name", "harness_score"),
    [
        ("drag against a recorded moveTo + dragTo", 0.0),  # harness: only 'dragto' at the end point
        ("scroll against a recorded moveTo + scroll", 0.0),  # harness: only 'scroll', vs a moveTo first
        ("hotkey ctrl c against ctrl c", 0.0),  # harness: 'ctrl' renamed 'control'
        ("finished without 'success'", 0.0),  # harness: terminate success needs "success" in the text
    ],
)
def test_known_divergences_from_the_native_scorer(name: str, harness_score: float) -> None:
    case = _case("guikv", "uitars", name)
    width, height = case["image_size"]
    geometry = ScreenGeometry((0, 0), (width, height), (width, height))
    parsed = parse_uitars(case["raw"], geometry, ImageGrid(min_pixels=78_400, max_pixels=12_845_056))
    native = score_agentnetbench(
        agentnetbench_actions(parsed.actions, geometry), case["ground_truth_actions"], case["alternative_options"]
    )
    assert native.score == pytest.approx(1.0, abs=1e-9)
    for harness in ("guikv", "starkv"):
        fixture = _case(harness, "uitars", name)
        assert fixture["score"] == harness_score
        assert (
            get_protocol(harness, "agentnetbench", "uitars")
            .score(_case_step(fixture), 0, fixture["raw"], (width, height))
            .score
            == harness_score
        )


def test_the_two_harnesses_part_on_these_answers() -> None:
    """STaR-KV's parsers read what GUI-KV's reject (a selection; the fixtures hold the full lists)."""
    for family, name in [
        ("uitars", "a call without 'Action:'"),
        ("uitars", "two 'Action:' lines"),
        ("uitars", "float point"),
        ("opencua", "natural language with a point"),
        ("opencua", "scroll with a keyword argument"),
    ]:
        assert _case("guikv", family, name)["score"] == 0
        assert _case("starkv", family, name)["score"] == 1.0


def test_limits_and_classes() -> None:
    # UI-TARS: the Qwen2.5-VL processor built with the driver's limits; OpenCUA: the checkpoint's own processor
    # (the parse still converts with 100*28*28, see harness_parsing's pixel rule).
    for cls, min_pixels in ((GuiKVUITars, 78_400), (StarKVUITars, 78_400), (GuiKVOpenCUA, 3136), (StarKVOpenCUA, 3136)):
        assert (cls.benchmark, cls.max_new_tokens, cls.min_pixels, cls.max_pixels) == (
            "agentnetbench",
            1000,
            min_pixels,
            12_845_056,
        )
        assert isinstance(get_protocol(cls.name, cls.benchmark, cls.family), cls)


def test_a_step_without_agentnetbench_ground_truth_is_refused() -> None:
    trajectory = Trajectory(task="t", steps=[Step(step=1, image=Path("x.png"), expected={"schema": "recorded"})])
    with pytest.raises(ConfigError, match="no AgentNetBench ground truth"):
        GuiKVUITars().score(trajectory, 0, "Action: wait()", (1468, 956))


def test_messages_need_the_history_they_rebuild() -> None:
    trajectory = _trajectory([0, 1, 2])
    with pytest.raises(ValueError, match="earlier answers"):
        GuiKVUITars().messages(trajectory, 2, [Image.new("RGB", (8, 8))] * 3, ["a"])


@pytest.mark.parametrize(
    ("name", "benchmark", "family", "message"),
    [
        ("gk", "agentnetbench", "uitars", "'gk' is not a known evaluation protocol"),
        ("guikv", "agentnet", "uitars", "'agentnet' is not a known benchmark"),
        ("guikv", "agentnetbench", "qwen", "'qwen' is not a known model family"),
        ("native", "agentnetbench", "uitars", "There is no 'native' protocol for agentnetbench"),
    ],
)
def test_registry_errors_say_what_exists(name: str, benchmark: str, family: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        get_protocol(name, benchmark, family)
    assert caught.value.hint
    assert "native" in PROTOCOLS and "agentnetbench" in BENCHMARKS
