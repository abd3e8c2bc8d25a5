"""Replays under a published harness's protocol: its prompts into a query-head cache, its scorer, its report."""

from __future__ import annotations

import json

import pytest
import torch

from guiagent.agent.eval.harness_replay import benchmark_of, configured_press, protocol_for
from guiagent.agent.eval.replay import replay
from guiagent.agent.eval.sources import load_source
from guiagent.agent.run.runner import RunOptions, replay_deciders
from guiagent.compression.chat import message_images, render
from tests.helpers.cli import guiagent, one_error
from tests.helpers.data import TESTS_DATA


@pytest.fixture(scope="module")
def bundled():
    return load_source(str(TESTS_DATA / "agentnetbench"))


def harness_replay(trajectories, method: str = "snapkv", protocol: str = "guikv"):
    options = RunOptions(task="replay", model="tiny", max_new_tokens=3, retries=0, protocol=protocol)
    make_decider, set_cell = replay_deciders(options)
    set_cell(method, "20")
    deciders = []

    def tracked(trajectory):
        deciders.append(make_decider(trajectory))
        return deciders[-1]

    return replay(trajectories, tracked), deciders


def test_each_step_prefills_exactly_the_harness_prompt_into_a_query_head_cache(bundled):
    trajectory = bundled[0]
    summary, deciders = harness_replay([trajectory])
    decider = deciders[0]
    session, protocol = decider.session, decider.protocol
    assert session.heads == "query" and session.cache_heads == session.loaded.num_heads
    last = len(trajectory.steps) - 1
    messages = protocol.messages(trajectory, last, decider.screenshots, decider.answers[:last])
    processor = session.loaded.processor
    expected = processor(
        text=[render(processor, messages, add_generation_prompt=True)],
        images=message_images(messages) or None,
        return_tensors="pt",
    )["input_ids"][0]
    prompt = session.token_ids[: expected.numel()]
    assert torch.equal(prompt, expected)  # the cache holds the last step's harness prompt, then its answer
    assert len(summary.steps) == len(trajectory.steps)


def test_steps_are_scored_by_the_harness_scorer(bundled):
    trajectory = bundled[0]
    summary, deciders = harness_replay([trajectory])
    protocol = deciders[0].protocol
    for index, result in enumerate(summary.steps):
        size = deciders[0].screenshots[index].size
        assert result.score == protocol.score(trajectory, index, result.raw, size).score
        assert result.extra["protocol"] == "guikv"


def test_the_harness_settings_reach_the_press(bundled):
    protocol = protocol_for("starkv", bundled[0], "uitars")
    press = configured_press("starkv", protocol)
    assert press.window == protocol.cache.window
    for name, value in protocol.cache.press_params.get("starkv", {}).items():
        assert getattr(press, name) == value
    assert configured_press("full", protocol) is None


def test_the_replay_report_says_which_protocol_scored_it(capsys, monkeypatch, tmp_path):
    code, lines = guiagent(
        capsys, monkeypatch, "replay", "bundled", "--model", "tiny", "--protocol", "starkv", "--method", "starkv",
        "--budget", "20", "--max-new-tokens", "2", "--report", str(tmp_path), "--no-tui",
    )  # fmt: skip
    assert code == 0, lines
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["protocol"] == "starkv" and summary["layout"] == "rebuild"
    assert summary["metric"] == "the starkv harness's"
    held, full = summary["memory"]["mean_bytes_held"], summary["memory"]["mean_bytes_full"]
    assert held > 0.2 * full  # 20% of the tokens, on every query head: more memory than 20% of the GQA cache


def test_eval_under_a_protocol_skips_fidelity_and_names_the_protocol(capsys, monkeypatch, tmp_path):
    code, lines = guiagent(
        capsys, monkeypatch, "eval", "bundled", "--model", "tiny", "--protocol", "guikv", "--methods", "full,snapkv",
        "--budgets", "20", "--max-new-tokens", "2", "--out", str(tmp_path),
    )  # fmt: skip
    assert code == 0, lines
    assert any(line.startswith("Fidelity skipped: it follows guiagent's own turns") for line in lines)
    assert "guikv protocol" in (tmp_path / "results.md").read_text()


def test_bad_protocol_requests_are_one_sentence(capsys, monkeypatch, tmp_path, bundled):
    code, lines = guiagent(capsys, monkeypatch, "replay", "bundled", "--model", "tiny", "--protocol", "papers")
    assert code == 2 and "'papers' is not one of" in " ".join(" ".join(lines).split())
    code, lines = guiagent(
        capsys, monkeypatch, "replay", "bundled", "--model", "tiny", "--protocol", "guikv", "--metric", "agentnetbench"
    )
    one_error(code, lines, "--metric agentnetbench cannot be combined with --protocol guikv")
    recorded = bundled[0]
    recorded.steps = [type(step)(**{**vars(step), "expected": None}) for step in recorded.steps]
    with pytest.raises(Exception, match="no published harness evaluates"):
        benchmark_of(recorded)


def test_pixel_limits_move_the_processor_and_the_grid_together():
    from PIL import Image

    from guiagent import load_model

    loaded = load_model("tiny")
    image = Image.new("RGB", (1920, 1080))
    before = loaded.processor(text=["<|vision_start|><|image_pad|><|vision_end|>"], images=[image])["image_grid_thw"]
    loaded.set_pixel_limits(78_400, 12_845_056)
    after = loaded.processor(text=["<|vision_start|><|image_pad|><|vision_end|>"], images=[image])["image_grid_thw"]
    assert after[0].prod() > before[0].prod()
    assert (loaded.image.min_pixels, loaded.image.max_pixels) == (78_400, 12_845_056)
