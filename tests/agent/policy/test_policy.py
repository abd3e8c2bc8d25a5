"""Policies: prompts, the rolling and rebuild layouts, and the model decider on the tiny model."""

from __future__ import annotations

import pytest

from guiagent import KVSession
from guiagent.agent.policy.coords import ImageGrid, ScreenGeometry
from guiagent.agent.policy.opencua import OpenCUAPolicy
from guiagent.agent.policy.uitars import UITarsPolicy
from guiagent.agent.run.decide import ModelDecider
from guiagent.errors import ConfigError
from tests.conftest import noise_image

GRID = ImageGrid()


def shots(n):
    return [noise_image(280, 168, 40 + i) for i in range(n)]


def test_uitars_prompts():
    computer = UITarsPolicy("open settings", GRID).prompt()
    assert "click(start_box='<|box_start|>(x1,y1)<|box_end|>')" in computer
    assert "call_user() # Submit the task and call the user" in computer
    assert computer.endswith("## User Instruction\nopen settings\n") and "Use English in `Thought` part." in computer
    mobile = UITarsPolicy("open settings", GRID, variant="mobile").prompt()
    assert "open_app(app_name='')" in mobile and "press_back()" in mobile and "hotkey" not in mobile
    assert "## Output Format\n\nAction: ..." in UITarsPolicy("x", GRID, variant="grounding").prompt()
    with pytest.raises(ConfigError, match="variant must be one of computer, mobile, grounding"):
        UITarsPolicy("x", GRID, variant="tablet")
    with pytest.raises(ConfigError, match="instruction is empty"):
        UITarsPolicy("  ", GRID)


def test_rolling_layout_is_append_only():
    policy = UITarsPolicy("open settings", GRID)
    images = shots(3)
    first = policy.rolling_messages(images[0])
    policy.record(images[0], "Action: wait()")
    second = policy.rolling_messages(images[1])
    assert second[: len(first)] == first  # the cache of step 1 is a prefix of step 2's conversation
    assert [m["role"] for m in second] == ["system", "user", "user", "assistant", "user"]
    assert second[3]["content"] == "Action: wait()"


def test_rebuild_layout_keeps_the_published_window():
    policy = UITarsPolicy("open settings", GRID, layout="rebuild", history_images=3, history_responses=2)
    images = shots(5)
    for step in range(4):
        policy.record(images[step], f"answer {step + 1}")
    messages = policy.messages(images[4])
    images_sent = [
        item["image"]
        for m in messages
        if isinstance(m["content"], list)
        for item in m["content"]
        if item.get("type") == "image"
    ]
    assert images_sent == images[2:5]  # the last 2 history screenshots + the current one
    answers = [m["content"] for m in messages if m["role"] == "assistant"]
    assert answers == ["# Step 3:\nStep 3:\nanswer 3", "# Step 4:\nStep 4:\nanswer 4"]
    assert messages[-1]["content"][1]["text"] == policy.prompt()  # the prompt comes last


def test_opencua_policy_defaults():
    policy = OpenCUAPolicy("open settings", GRID)
    head = policy.head()
    assert head[0]["content"].startswith("You are a GUI agent.") and "Thought:\n  - Step by Step" in head[0]["content"]
    assert "Observation:" not in head[0]["content"]
    assert "Observation:" in OpenCUAPolicy("x", GRID, level="L3").head()[0]["content"]
    assert head[1]["content"].startswith("\n# Task Instruction:\nopen settings")  # the agent's leading newline
    assert policy.history_images == 3 and policy.history_answer(2, "x") == "# Step 2:\nx"
    with pytest.raises(ConfigError, match="coordinates must be 'qwen25' or 'relative'"):
        OpenCUAPolicy("x", GRID, coordinates="absolute")
    with pytest.raises(ConfigError, match="history must be one of action, thought, observation"):
        OpenCUAPolicy("x", GRID, history="code")


@pytest.mark.parametrize("layout", ["rolling", "rebuild"])
def test_model_decider_reports_unparsable_answers_and_rewinds_retries(tiny, layout):
    geometry = ScreenGeometry((0, 0), (280, 168), (280, 168))
    grid = ImageGrid(tiny.image.min_pixels, tiny.image.max_pixels)
    with KVSession(tiny, method="starkv", budget=50) as session:
        decider = ModelDecider(session, UITarsPolicy("open settings", grid, layout=layout), retries=2, max_new_tokens=6)
        for step, image in enumerate(shots(3), start=1):
            decision = decider.decide(image, geometry)
            assert decision.parsed is None and len(decision.errors) == 3  # greedy + two sampled retries
            assert decision.stats is session.stats or decision.stats.logical_tokens == session.logical_tokens
            assert len(session.spans) == step  # rolling: every screenshot; rebuild: the last 5 (here all)
            assert len(session.last_tokens) == 6  # only the last attempt stays in the cache
        if layout == "rolling":
            assert decision.prompt_tokens < session.logical_tokens  # the step prefilled only its new turn
            assert session.stats.bytes_held < session.stats.bytes_full


def test_rolling_fragments_follow_the_chat_template(tiny):
    """Between the model's answers, the rolling cache holds exactly what the chat template renders."""
    import torch

    from guiagent.compression.chat import render

    grid = ImageGrid(tiny.image.min_pixels, tiny.image.max_pixels)
    policy = UITarsPolicy("open settings", grid)
    geometry = ScreenGeometry((0, 0), (280, 168), (280, 168))
    with KVSession(tiny) as session:
        decider = ModelDecider(session, policy, retries=0, max_new_tokens=2)
        answers = []
        for image in shots(2):
            decider.decide(image, geometry)
            answers.append(range(session.logical_tokens - len(session.last_tokens), session.logical_tokens))
        keep = torch.ones(session.logical_tokens, dtype=torch.bool)
        for answer in answers:
            keep[list(answer)] = False
        without_answers = session.token_ids[keep]
    messages = [dict(m, content="") if m["role"] == "assistant" else m for m in policy.rolling_messages()]
    rendered = render(tiny.processor, messages, add_generation_prompt=False)
    expected = tiny.processor(text=[rendered], images=policy.screenshots, return_tensors="pt")["input_ids"][0]
    # the template closes the last answer with "<|im_end|>\n"; the cache stops at the answer
    assert without_answers.tolist() == expected.tolist()[:-2]
