"""AndroidControl cases: the published harnesses' ``eval/androidcontrol_eval.py`` run on our fixture samples.

For each harness (GUI-KV, STaR-KV) and model family (UI-TARS, OpenCUA) the main loop runs over
``tests/data/benchmarks/androidcontrol/data/500_steps.json`` once per scripted answer (``SCRIPTS``: each builds a
raw answer for a sample, aimed at its ground truth or deliberately off) and once per instruction level; written:

- ``messages.json``: per harness, family, level and sample the messages the harness rendered (images as paths
  relative to the images folder);
- ``scores.json``: per harness, family, dataset, script and sample the raw answer, the harness's printed
  ``prediction_response`` and its ``correct_step``; dataset "fixture" is the file as it is, "no_tree" the same
  samples without accessibility trees and with type_text lacking x/y (``without_trees``), which reaches
  STaR-KV's distance, text and region fallbacks.
"""

from __future__ import annotations

import copy
import itertools
import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image

from guiagent.agent.eval.protocols.harness_parsing import harness_resize
from guiagent.tools.harness_cases.scripted import MODEL_PATHS, Run, run_main, write_rows

DATA = Path(__file__).resolve().parents[3] / "tests" / "data" / "benchmarks" / "androidcontrol"
SCRIPT = "eval/androidcontrol_eval.py"
SIZE = (270, 480)  # the fixture screenshots' size
Sample = dict[str, Any]


def target(sample: Sample) -> tuple[float, float]:
    """The pixel a correct tap would hit: the GT point, the app's icon, a back button, else the centre."""
    action = sample["action"]
    if "x" in action and "y" in action:
        return action["x"], action["y"]
    words = {"open_app": (action.get("app_name") or "").lower(), "navigate_back": "navigate up"}.get(
        action["action_type"]
    )
    for node in sample["accessibility_tree"] if words else []:
        labels = f"{node.get('text') or ''} {node.get('content_description') or ''}".lower()
        if words in labels:
            box = node["bbox_pixels"]
            return (box["x_min"] + box["x_max"]) / 2, (box["y_min"] + box["y_max"]) / 2
    return SIZE[0] / 2, SIZE[1] / 2


def model_point(x: float, y: float) -> tuple[int, int]:
    """Original pixels to the smart-resized pixels both models answer in."""
    height, width = harness_resize(SIZE[1], SIZE[0])
    return round(x * width / SIZE[0]), round(y * height / SIZE[1])


def _uitars(call: Callable[[tuple[int, int]], str], offset: tuple[float, float] = (0, 0)) -> Callable[[Sample], str]:
    def answer(sample: Sample) -> str:
        x, y = target(sample)
        return f"Thought: I act on the target.\nAction: {call(model_point(x + offset[0], y + offset[1]))}"

    return answer


def _opencua(code: Callable[[tuple[int, int]], str], offset: tuple[float, float] = (0, 0)) -> Callable[[Sample], str]:
    def answer(sample: Sample) -> str:
        x, y = target(sample)
        call = code(model_point(x + offset[0], y + offset[1]))
        return f"Thought: I act on the target.\nAction: Act.\n```python\n{call}\n```"

    return answer


def _fixed(text: str) -> Callable[[Sample], str]:
    return lambda sample: text


def _point(p: tuple[int, int]) -> str:
    return f"<point>{p[0]} {p[1]}</point>"


SCRIPTS: dict[str, dict[str, Callable[[Sample], str]]] = {
    "uitars": {
        "click_target": _uitars(lambda p: f"click(point='{_point(p)}')"),
        "long_press_target": _uitars(lambda p: f"long_press(point='{_point(p)}')"),
        "click_far": _uitars(lambda p: f"click(point='{_point(model_point(268, 478))}')"),
        "click_offset_60": _uitars(lambda p: f"click(point='{_point(p)}')", offset=(0, 60)),
        "click_offset_25": _uitars(lambda p: f"click(point='{_point(p)}')", offset=(0, 25)),
        "type": _fixed("Thought: type the id.\nAction: type(content='4815162342')"),
        "scroll_down": _fixed("Thought: more.\nAction: scroll(point='<point>140 238</point>', direction='down')"),
        "scroll_up": _fixed("Thought: more.\nAction: scroll(point='<point>140 238</point>', direction='up')"),
        "press_back": _fixed("Thought: back.\nAction: press_back()"),
        "wait": _fixed("Thought: loading.\nAction: wait()"),
        "finished_successful": _fixed("Thought: done.\nAction: finished(content='successful')"),
        "finished_free_text": _fixed("Thought: stuck.\nAction: finished(content='I cannot find the note')"),
        "open_app": _fixed("Thought: open it.\nAction: open_app(app_name='Zoho Meeting')"),
        "no_action": _fixed("Thought: I should tap the Join a meeting button."),
        "bare_call": lambda sample: f"click(point='{_point(model_point(*target(sample)))}')",
        "think_then_action": _uitars(lambda p: f"click(point='{_point(p)}')"),
        "float_point": _uitars(lambda p: f"click(point='<point>{p[0]}.5 {p[1]}.5</point>')"),
        "unquoted_point": _uitars(lambda p: f"click(point={_point(p)})"),
    },
    "opencua": {
        "click_target": _opencua(lambda p: f"pyautogui.click(x={p[0]}, y={p[1]})"),
        "double_click_target": _opencua(lambda p: f"pyautogui.doubleClick(x={p[0]}, y={p[1]})"),
        "triple_click_target": _opencua(lambda p: f"computer.triple_click(x={p[0]}, y={p[1]})"),
        "click_far": _opencua(lambda p: "pyautogui.click(x={}, y={})".format(*model_point(268, 478))),
        "click_offset_60": _opencua(lambda p: f"pyautogui.click(x={p[0]}, y={p[1]})", offset=(0, 60)),
        "write": _fixed("Action: Type the id.\n```python\npyautogui.write(message='4815162342')\n```"),
        "scroll_down": _fixed("Action: Scroll down.\n```python\npyautogui.scroll(-5)\n```"),
        "scroll_up": _fixed("Action: Scroll up.\n```python\npyautogui.scroll(5)\n```"),
        "press_enter": _fixed("```python\npyautogui.press('enter')\n```"),
        "hotkey": _fixed("```python\npyautogui.hotkey('ctrl', 'c')\n```"),
        "terminate_success": _fixed("```python\ncomputer.terminate(status='success')\n```"),
        "terminate_failure": _fixed("```python\ncomputer.terminate(status='failure')\n```"),
        "natural_wait": _fixed("The screen is still loading, so I will wait for it."),
        "natural_back": _fixed("I should go back to the previous screen."),
        "natural_tap": _fixed("Tap the icon in the top-left corner."),
        "bad_number": _fixed("```python\npyautogui.click(x=1.2.3, y=40)\n```"),
    },
}
THINK = "<think>The target is visible.</think>\n"


def _answer(script: str, family: str, samples: dict[str, Sample]) -> Callable[[list[dict[str, Any]]], str]:
    make = SCRIPTS[family][script]

    def answer(messages: list[dict[str, Any]]) -> str:
        image = next(part["image"] for part in messages[-1]["content"] if part.get("type") == "image")
        raw = make(samples[str(image)])
        return THINK + raw if script == "think_then_action" else raw

    return answer


def without_trees(samples: list[Sample]) -> list[Sample]:
    """The "no_tree" dataset: no accessibility trees, type_text without x/y (STaR-KV's fallback branches)."""
    variant = copy.deepcopy(samples)
    for sample in variant:
        sample["accessibility_tree"] = []
        if sample["action"]["action_type"] == "type_text":
            sample["action"] = {k: v for k, v in sample["action"].items() if k not in ("x", "y")}
    return variant


def _run(root: Path, family: str, level: str, script: str, samples: list[Sample], dataset: list[Sample]) -> Run:
    """One harness run over ``dataset``; answers are aimed with the fixture ``samples`` (same screenshots)."""
    images = DATA / "images"
    by_image = {str(images / s["screenshot"]): s for s in samples}
    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "500_steps.json").write_text(json.dumps(dataset), encoding="utf-8")
        argv = ["--model_path", MODEL_PATHS[family], "--androidcontrol_imgs", str(images)]
        argv += ["--androidcontrol_test", folder, "--task", "all", "--instruction_level", level]
        return run_main(root, SCRIPT, argv, _answer(script, family, by_image))


def _relative_images(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    images = str(DATA / "images") + "/"
    for message in messages:
        for part in message["content"] if isinstance(message["content"], list) else []:
            if part.get("type") == "image":
                part["image"] = str(part["image"]).removeprefix(images)
    return messages


def generate(guikv_root: str | Path, starkv_root: str | Path | None, out_dir: str | Path) -> list[Path]:
    """Write ``out_dir/androidcontrol/{messages,scores}.json``; the paths written."""
    samples = json.loads((DATA / "data" / "500_steps.json").read_text(encoding="utf-8"))
    sizes = {Image.open(DATA / "images" / s["screenshot"]).size for s in samples}
    if sizes != {SIZE}:
        raise ValueError(f"The scripts aim in {SIZE} screenshots; the fixture has {sorted(sizes)}.")
    keys = [{"episode_id": s["episode_id"], "step": s["step"]} for s in samples]
    messages, scores = [], []
    datasets = {"fixture": samples, "no_tree": without_trees(samples)}
    roots = {"guikv": guikv_root, "starkv": starkv_root}
    for harness, root in ((h, Path(r)) for h, r in roots.items() if r is not None):
        for family, scripts in SCRIPTS.items():
            for level in ("high", "low"):
                run = _run(root, family, level, next(iter(scripts)), samples, samples)
                for key, rendered in zip(keys, run.recorder.calls, strict=True):
                    entry = {"harness": harness, "family": family, "level": level, **key}
                    messages.append(entry | {"messages": _relative_images(rendered)})
            for (dataset, variant), script in itertools.product(datasets.items(), scripts):
                run = _run(root, family, "high", script, samples, variant)
                predictions = run.printed("prediction_response: ")
                rows = zip(keys, run.recorder.answers, predictions, run.namespace["step_correctness"], strict=True)
                for key, raw, prediction, correct in rows:
                    entry = {"harness": harness, "family": family, "dataset": dataset, "script": script, **key}
                    scores.append(entry | {"raw": raw, "prediction": prediction, "score": correct})
    return write_rows(Path(out_dir) / "androidcontrol", {"messages.json": messages, "scores.json": scores})
