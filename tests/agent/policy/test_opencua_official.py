"""Our OpenCUA policy against OpenCUA's own AgentNetBench agent (xlang-ai/OpenCUA @ 1d70f20, shipped with its MIT
licence in tests/data/official/opencua): its prompts, its message order and history, and the (type, value) actions
its ``extract_actions`` gives the official evaluator."""

from __future__ import annotations

import base64
import importlib.util
import sys
import types
from typing import Any

import pytest
from PIL import Image

from guiagent.agent.eval.benchmarks.agentnetbench.predictions import agentnetbench_actions
from guiagent.agent.policy.coords import ImageGrid, ScreenGeometry
from guiagent.agent.policy.opencua import SYSTEM_PROMPTS, OpenCUAPolicy
from guiagent.agent.policy.opencua_parser import parse_opencua
from tests.helpers.data import TESTS_DATA

OFFICIAL = TESTS_DATA / "official" / "opencua"
PROMPTS = OFFICIAL / "agent_prompts"
GRID = ImageGrid()
SCREEN = ScreenGeometry((0, 0), (1000, 1000), (1000, 1000))
LEVELS = ("L1", "L2", "L3")


def _fixture(name: str) -> str:
    return (PROMPTS / name).read_text(encoding="utf-8")


class _StubBaseAgent:
    """Stands in for the agent's BaseAgent (an OpenAI client pool): only what prompt() and parsing use."""

    def __init__(self, model: str, client: Any = None) -> None:
        self.model, self.client, self.image_dir = model, client, None

    @staticmethod
    def load_image(image_file: str, image_dir: str) -> bytes:
        return image_file.encode()  # the "image" is its file name, so a message says which step it shows


@pytest.fixture
def agent_module(monkeypatch) -> types.ModuleType:
    """OpenCUA's agent/opencua.py, loaded unchanged inside a stand-in package that provides ``.base_agent``."""
    package = types.ModuleType("_opencua_agent")
    package.__path__ = []
    base = types.ModuleType("_opencua_agent.base_agent")
    base.BaseAgent = _StubBaseAgent
    monkeypatch.setitem(sys.modules, "_opencua_agent", package)
    monkeypatch.setitem(sys.modules, "_opencua_agent.base_agent", base)
    spec = importlib.util.spec_from_file_location("_opencua_agent.opencua", OFFICIAL / "agentnetbench_agent_opencua.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "_opencua_agent.opencua", module)
    spec.loader.exec_module(module)
    return module


def _agent(module: types.ModuleType, **options: Any) -> Any:
    agent = module.OpenCUA("opencua-7b", object(), **options)
    agent.image_dir = "images"
    return agent


# -- prompts ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("level", LEVELS)
def test_system_prompt_is_the_agents(level: str, agent_module: types.ModuleType) -> None:
    expected = _fixture(f"{level}.txt")
    assert _agent(agent_module, l_number=level.lower()).SYSTEM_PROMPTS == expected  # the fixture is the agent's
    assert SYSTEM_PROMPTS[level] == expected
    assert OpenCUAPolicy("x", GRID, level=level).head()[0] == {"role": "system", "content": expected}


def test_the_fixed_prompt_details() -> None:
    """The three details that used to differ: terminate's enum, L2's indented line, the instruction's newline."""
    for level in LEVELS:
        assert '"enum": ["success", "failure"]' in SYSTEM_PROMPTS[level] and '"fail"' not in SYSTEM_PROMPTS[level]
    assert "    - Describe expected final text outcome\n    - Use first-person perspective" in SYSTEM_PROMPTS["L2"]
    assert "    - Describe expected final text outcome\n  - Use first-person perspective" in SYSTEM_PROMPTS["L3"]
    assert OpenCUAPolicy("open settings", GRID).prompt().startswith("\n# Task Instruction:\nopen settings\n\n")


def test_instruction_is_the_agents(agent_module: types.ModuleType) -> None:
    trajectory = {"high_level_task_description": "Open the settings", "steps": [{"image": "0.png"}]}
    text = _agent(agent_module).prompt(trajectory, 0)[-1]["content"][-1]["text"]
    assert text == _fixture("instruction.txt").format(instruction="Open the settings")
    assert OpenCUAPolicy("Open the settings", GRID).prompt() == text


# -- history and message order ---------------------------------------------------------------------------------


def _step(i: int) -> dict[str, Any]:
    monologue = {"observation": f"screen {i}", "thought": f"I should do {i}.", "low_level_instruction": f"Do {i}."}
    return {"image": f"{i}.png", "action": f"pyautogui.click(x=0.{i + 1}, y=0.5)", "inner_monologue": monologue}


def _answer(step: dict[str, Any]) -> str:
    """What OpenCUA-7B writes for that step (observation, thought, action, then its code)."""
    inner = step["inner_monologue"]
    return (
        f"## Observation:\n{inner['observation']}\n\n## Thought:\n{inner['thought']}\n\n"
        f"## Action:\n{inner['low_level_instruction']}\n\n## Code:\n```python\n{step['action']}\n```\n"
    )


def _agent_view(messages: list[dict[str, Any]]) -> list[tuple[str, list[tuple[str, str]]]]:
    """The agent's messages as (role, [("image", file) | ("text", text)])."""
    view = []
    for message in messages:
        content = message["content"]
        if isinstance(content, str):
            view.append((message["role"], [("text", content)]))
            continue
        items = []
        for item in content:
            if item["type"] == "image_url":
                items.append(("image", base64.b64decode(item["image_url"]["url"].split(",", 1)[1]).decode()))
            else:
                items.append(("text", item["text"]))
        view.append((message["role"], items))
    return view


def _our_view(messages: list[dict[str, Any]], files: dict[int, str]) -> list[tuple[str, list[tuple[str, str]]]]:
    view = []
    for message in messages:
        content = message["content"]
        if isinstance(content, str):
            view.append((message["role"], [("text", content)]))
            continue
        items = [("image", files[id(i["image"])]) if i["type"] == "image" else ("text", i["text"]) for i in content]
        view.append((message["role"], items))
    return view


@pytest.mark.parametrize("history", ["action", "thought", "observation"])
@pytest.mark.parametrize("steps", [1, 4, 12])  # 12: both keep only the last 10 answers
def test_rebuild_messages_are_the_agents(history: str, steps: int, agent_module: types.ModuleType) -> None:
    """System prompt, the last two screenshots, the last ten steps in the history template, then the current
    screenshot with the instruction: message for message, string for string."""
    trajectory = {"high_level_task_description": "Open the settings", "steps": [_step(i) for i in range(steps + 1)]}
    expected = _agent_view(_agent(agent_module, l_number="l2", history=history).prompt(trajectory, steps))

    policy = OpenCUAPolicy("Open the settings", GRID, layout="rebuild", history=history)
    images = [Image.new("RGB", (28, 28)) for _ in range(steps + 1)]
    files = {id(image): f"{i}.png" for i, image in enumerate(images)}
    for i in range(steps):
        policy.record(images[i], _answer(trajectory["steps"][i]))
    assert _our_view(policy.messages(images[steps]), files) == expected


def test_history_step_rendering(agent_module: types.ModuleType) -> None:
    step = _step(2)
    module = agent_module
    inner = step["inner_monologue"]
    for history, template in [
        ("action", module.ACTION_HISTORY_TEMPLATE),
        ("thought", module.THOUGHT_HISTORY_TEMPLATE),
        ("observation", module.OBSERVATION_HISTORY_TEMPLATE),
    ]:
        expected = module.STEP_TEMPLATE.format(step_num=3) + template.format(
            observation=inner["observation"], thought=inner["thought"], action=inner["low_level_instruction"]
        )
        assert OpenCUAPolicy("x", GRID, history=history).history_answer(3, _answer(step)) == expected
    assert OpenCUAPolicy("x", GRID).history_answer(3, _answer(step)) == (
        "# Step 3:\n## Thought:\nI should do 2.\n\n## Action:\nDo 2.\n"  # run.py's default: thought history
    )


# -- the actions the evaluator sees ----------------------------------------------------------------------------


def _as_evaluated(action: dict[str, Any]) -> tuple[str, Any]:
    """Our {type, params} prediction as the evaluator's (type, value) tuple (keys lowercased, as it compares them)."""
    kind, params = action["type"], action["params"]
    if "position" in params and kind not in ("scroll", "hscroll"):
        return kind, (params["position"]["x"], params["position"]["y"])
    if "keys" in params:
        return kind, [key.lower() for key in params["keys"]]
    return kind, params.get("text", params.get("status", params.get("amount")))


def _ours(code: str) -> list[tuple[str, Any]]:
    parsed = parse_opencua(f"## Code:\n```python\n{code}\n```", SCREEN, GRID, coordinates="relative")
    return [_as_evaluated(action) for action in agentnetbench_actions(parsed.actions, SCREEN)]


def _theirs(agent_module: types.ModuleType, code: str) -> list[tuple[str, Any]]:
    agent = _agent(agent_module)
    actions = agent.extract_actions(agent.parse_response(f"## Code:\n```python\n{code}\n```"))
    return [(kind, [key.lower() for key in value] if isinstance(value, list) else value) for kind, value in actions]


@pytest.mark.parametrize(
    "code",
    [
        "computer.terminate(status='success')",
        "computer.terminate(status='failure')",
        "pyautogui.hotkey(keys=['cmd', 'c'])",  # the form OpenCUA's data (and model) writes
        "pyautogui.hotkey(keys=['Command', 'shift', 't'])",
        "pyautogui.hotkey('cmd', 'v')",
        "pyautogui.hotkey(['cmd', 'a'])",
        "pyautogui.hotkey(keys=['ctrl', 'F'])",
        "pyautogui.press('cmd')",
        "pyautogui.press(keys=['enter'])",
        "pyautogui.click(x=0.25, y=0.75)",
        "pyautogui.doubleClick(x=0.25, y=0.75)",
        "pyautogui.rightClick(x=0.25, y=0.75)",
        "pyautogui.moveTo(x=0.125, y=0.5)\npyautogui.dragTo(x=0.875, y=0.5, button='left')",
        "pyautogui.write(message='hello world')",
        "pyautogui.scroll(-5)",
    ],
)
def test_extracted_actions_are_the_agents(code: str, agent_module: types.ModuleType) -> None:
    """terminate(status), cmd -> ctrl in press and hotkey, and the common actions: what the agent's extract_actions
    hands the evaluator, we hand it too."""
    assert _ours(code) == _theirs(agent_module, code)


def test_triple_click_is_named_as_the_evaluator_matches(agent_module: types.ModuleType, monkeypatch) -> None:
    """The one deliberate difference: the agent emits "triple_click" (and drops pyautogui.tripleClick altogether),
    which eval.py never matches with the ground truth's "tripleClick"; we emit "tripleClick"."""
    for code in ("computer.triple_click(x=0.25, y=0.75)", "pyautogui.tripleClick(x=0.25, y=0.75)"):
        assert _ours(code) == [("tripleClick", (0.25, 0.75))]
    assert _theirs(agent_module, "computer.triple_click(x=0.25, y=0.75)") == [("triple_click", (0.25, 0.75))]
    assert _theirs(agent_module, "pyautogui.tripleClick(x=0.25, y=0.75)") == []  # "click" is not in "tripleClick"

    stub = types.ModuleType("editdistance")
    stub.eval = lambda a, b: 0 if a == b else max(len(a), len(b))  # unused by pointed actions
    monkeypatch.setitem(sys.modules, "editdistance", stub)
    spec = importlib.util.spec_from_file_location("_opencua_eval", OFFICIAL / "agentnetbench_eval.py")
    official = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(official)
    truth = [{"type": "tripleClick", "params": {"position": {"x": 0.25, "y": 0.75}}}]
    score = official.ActionEvaluator().evaluate_action
    ours = _ours("pyautogui.tripleClick(x=0.25, y=0.75)")
    assert score({"ground_truth_actions": truth, "predicted_actions": ours})["total"] == 1.0
    for theirs in ("computer.triple_click(x=0.25, y=0.75)", "pyautogui.tripleClick(x=0.25, y=0.75)"):
        predicted = _theirs(agent_module, theirs)
        assert score({"ground_truth_actions": truth, "predicted_actions": predicted})["total"] == 0.0
