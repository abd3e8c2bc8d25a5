"""Multimodal-Mind2Web cases: GUI-KV's ``eval/multimodal_mind2web_eval.py`` on our fixture tasks.

The harness reads UGround's block files, not the dataset card's records, so each step of
``tests/data/benchmarks/mind2web/cross_task_blocks.jsonl`` (read with our importer) is written as one UGround
sample (``task``, ``bbox`` = the positive boxes [x, y, w, h], ``previous_actions`` = the ``action_reprs`` before
the step, ``operation``, ``value``, ``total_steps``) in a temporary ``cross_task_blocks.jsonl`` (the domain and
website files empty), with the step's screenshot as block ``0.png``. One run per (step, scripted answer); the
harness's ``previous_actions_text`` is seeded with "" because a first sample without previous actions otherwise
raises NameError (see ``guiagent.agent.eval.protocols.mind2web``). Written under ``out_dir/mind2web``:
``messages.json`` (per family and step: the first prompt's messages, images as the fixture's screenshot path, and
how many prompts the step took) and ``scores.json`` (per family, script and step: raw answer, element accuracy,
operation F1, step success).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from guiagent.agent.eval.benchmarks.mind2web.importer import load_mind2web
from guiagent.agent.eval.protocols.harness_parsing import harness_resize
from guiagent.agent.eval.protocols.mind2web import previous_actions
from guiagent.agent.trajectory.format import Step, Trajectory
from guiagent.tools.harness_cases.scripted import MODEL_PATHS, run_main, write_rows

DATA = Path(__file__).resolve().parents[3] / "tests" / "data" / "benchmarks" / "mind2web"
SCRIPT = "eval/multimodal_mind2web_eval.py"


def _centre(step: Step, offset: float = 0) -> tuple[int, int]:
    """The first positive box's centre (plus ``offset`` box widths) in the model's resized pixels."""
    x, y, w, h = step.expected["boxes"][0]
    width, height = step.screen.image_size
    resized_h, resized_w = harness_resize(height, width)
    return round((x + w / 2 + offset * w) * resized_w / width), round((y + h / 2) * resized_h / height)


def _value(step: Step) -> str:
    return step.expected["operation"]["value"] or "boots"


Answer = Callable[[Step], str]
SCRIPTS: dict[str, dict[str, Answer]] = {
    "uitars": {
        "click_target": lambda s: "Thought: t\nAction: click(point='<point>{} {}</point>')".format(*_centre(s)),
        "click_outside": lambda s: "Thought: t\nAction: click(point='<point>{} {}</point>')".format(*_centre(s, 3)),
        "type_value": lambda s: f"Thought: t\nAction: type(content='{_value(s)}')",
        "select_target": lambda s: "Action: select(point='<point>{} {}</point>', content='{}')".format(
            *_centre(s), _value(s)
        ),
        "scroll_down": lambda s: "Action: scroll(point='<point>{} {}</point>', direction='down')".format(*_centre(s)),
        "hotkey": lambda s: "Action: hotkey(key='enter')",
        "no_action": lambda s: "Thought: the button is visible.",
    },
    "opencua": {
        "click_target": lambda s: "```python\npyautogui.click(x={}, y={})\n```".format(*_centre(s)),
        "move_to_outside": lambda s: "pyautogui.moveTo(x={}, y={})".format(*_centre(s, 3)),
        "write_value": lambda s: f"```python\npyautogui.write(message='{_value(s)}')\n```",
        "scroll_down": lambda s: "```python\npyautogui.scroll(-5)\n```",
        "press_enter": lambda s: "```python\npyautogui.press('enter')\n```",
        "terminate": lambda s: "```python\ncomputer.terminate(status='success')\n```",
    },
}


def _sample(trajectory: Trajectory, index: int) -> dict[str, Any]:
    step = trajectory.steps[index]
    expected = step.expected
    return {
        "annotation_id": expected["annotation_id"],
        "action_uid": expected["action_uid"],
        "task": trajectory.task,
        "bbox": expected["boxes"],
        "previous_actions": previous_actions(trajectory, index),
        "operation": expected["operation"]["op"],
        "value": expected["operation"]["value"],
        "total_steps": expected["task_steps"],
    }


def _run(root: Path, family: str, trajectory: Trajectory, index: int, raw: str) -> tuple[Any, str]:
    sample = _sample(trajectory, index)
    with tempfile.TemporaryDirectory() as folder:
        data, images = Path(folder, "data"), Path(folder, "images")
        block = images / "cross_task" / f"{sample['annotation_id']}_{sample['action_uid']}" / "0.png"
        block.parent.mkdir(parents=True)
        block.symlink_to(trajectory.steps[index].image)
        data.mkdir()
        for task in ("domain", "task", "website"):
            lines = [json.dumps(sample)] if task == "task" else []
            (data / f"cross_{task}_blocks.jsonl").write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
        argv = ["--model_path", MODEL_PATHS[family], "--mm_mind2web_imgs", str(images)]
        argv += ["--mm_mind2web_test", str(data), "--task", "all"]
        run = run_main(root, SCRIPT, argv, lambda messages: raw, seed={"previous_actions_text": ""})
        return run, str(block)


def _named(messages: list[dict[str, Any]], block: str, step: Step) -> list[dict[str, Any]]:
    for message in messages:
        for part in message["content"] if isinstance(message["content"], list) else []:
            if part.get("type") == "image":
                assert part["image"] == block
                part["image"] = str(step.image.relative_to(DATA))
    return messages


def generate(guikv_root: str | Path, starkv_root: str | Path | None, out_dir: str | Path) -> list[Path]:
    """Write ``out_dir/mind2web/{messages,scores}.json`` (GUI-KV only); the paths written."""
    trajectories = load_mind2web(DATA / "cross_task_blocks.jsonl")
    messages, scores = [], []
    for family, scripts in SCRIPTS.items():
        for trajectory in trajectories:
            for index, step in enumerate(trajectory.steps):
                key = {"family": family, "annotation_id": trajectory.name, "step": index}
                for script, make in scripts.items():
                    run, block = _run(Path(guikv_root), family, trajectory, index, make(step))
                    found = run.namespace
                    element, f1, success = (
                        found[name][0][0] for name in ("all_element_acc", "all_operation_f1", "all_step_acc")
                    )
                    scores.append(
                        key
                        | {
                            "script": script,
                            "raw": make(step),
                            "element_accuracy": element,
                            "operation_f1": f1,
                            "step_success": success,
                            "prompts": len(run.recorder.calls),
                        }
                    )
                    if script == next(iter(scripts)):
                        messages.append(key | {"messages": _named(run.recorder.calls[0], block, step)})
    return write_rows(Path(out_dir) / "mind2web", {"messages.json": messages, "scores.json": scores})
