"""AgentNetBench cases, made by running the harness's own ``agentnetbench_eval.py`` main loop on a scripted model.

The main block of the driver is executed as written by ``scripted.run_main`` (argument parsing, history building,
prompt filling, parsing, conversion, ``evaluate_action`` and its alternative loop, the results JSON), in a fresh
copy of the imported module's globals, with only the model side replaced: the processor / tokenizer record the
messages they are asked to template and the model "generates" a scripted answer. Globals the driver keeps across steps
(GUI-KV's stale ``hist_img_path`` for OpenCUA) therefore behave as in a real run. Each driver runs with its
default KV method (GUI-KV ``original``; STaR-KV ``starkv``: its ``original`` mode crashes in a config print),
whose calls (and the vision-token analysis feeding them) are no-ops here: they change neither prompts nor
scores.

Two kinds of cases per harness x family: ``messages-*.json`` (every step of the real trajectory
``tests/data/agentnetbench/s_a96285eb665bef92.json`` with a scripted answer per step: the messages sent, the
converted prediction and the score) and ``scoring-*.json`` (scripted answers against single ground-truth steps,
real or synthetic: the converted prediction, score and error, as the results JSON records them).
"""

from __future__ import annotations

import itertools
import json
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image

from guiagent.tools.harness_cases.agentnetbench_cases import (
    ANSWERS,
    CASES,
    MODELS,
    SYNTHETIC,
    TRAJECTORY,
)
from guiagent.tools.harness_cases.scripted import run_main

DRIVER = "eval/agentnetbench_eval.py"
DATA = Path(__file__).resolve().parents[3] / "tests" / "data" / "agentnetbench"
LONGER = 3  # steps of the trajectory repeated after its end
_CASE_MARK = re.compile(r"Scoring case (\d{3})\.")
Messages = list[dict[str, Any]]


def run_driver(
    root: Path, family: str, data: Path, images: Path, answer: Callable[[Messages], str]
) -> tuple[list[Messages], list[dict[str, Any]]]:
    """Run the driver's main loop (``scripted.run_main``) on ``data`` (task JSONs): the conversations it sent, in
    order, and its results JSON's ``detailed_results``."""
    with tempfile.TemporaryDirectory() as results:
        argv = ["--model_path", MODELS[family], "--agentnetbench_data", str(data), "--agentnetbench_imgs", str(images)]
        run = run_main(root, DRIVER, [*argv, "--results_dir", results, "--device", "cpu"], answer)
        report = json.loads((Path(results) / "agentnetbench_results_budget.json").read_text(encoding="utf-8"))
    return run.recorder.calls, report["detailed_results"]


def _portable(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Messages with image paths reduced to file names (the fixture must not name this machine's folders)."""
    out = []
    for message in messages:
        content = message["content"]
        if isinstance(content, list):
            content = [
                {"type": "image", "image": Path(item["image"]).name} if item["type"] == "image" else dict(item)
                for item in content
            ]
        out.append({"role": message["role"], "content": content})
    return out


def _result(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "predicted_actions": row["predicted_actions"],
        "score": row["score"],
        "used_alternative": row.get("used_alternative", False),
        "error": row.get("error"),
    }


def messages_cases(root: Path, family: str, data: Path) -> dict[str, Any]:
    """Every step of the real trajectory, then its first steps again (``steps_from``: 13 steps, so the 10-turn
    text-history limit cuts in), answered from ``ANSWERS`` in turn: messages sent, prediction, score."""
    task = json.loads((data / f"{TRAJECTORY}.json").read_text(encoding="utf-8"))
    steps_from = [*range(len(task["steps"])), *range(LONGER)]
    task["steps"] = [task["steps"][index] for index in steps_from]
    answers = [ANSWERS[family][index % len(ANSWERS[family])] for index in range(len(steps_from))]
    calls = itertools.count()
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / f"{TRAJECTORY}.json").write_text(json.dumps(task), encoding="utf-8")
        conversations, rows = run_driver(root, family, Path(folder), data / "images", lambda _: answers[next(calls)])
    return {
        "family": family,
        "model_path": MODELS[family],
        "trajectory": TRAJECTORY,
        "steps_from": steps_from,
        "answers": answers,
        "steps": [
            {"step_index": index, "messages": _portable(sent), **_result(row)}
            for index, (sent, row) in enumerate(zip(conversations, rows, strict=True))
        ],
    }


def _ground_truth(data: Path, source: int | str) -> tuple[str, dict[str, Any], tuple[int, int]]:
    """(label, step dict, image size) of a real trajectory step (an index) or a synthetic one (a name)."""
    if isinstance(source, str):
        step, size = SYNTHETIC[source]
        return f"synthetic:{source}", step, size
    task = json.loads((data / f"{TRAJECTORY}.json").read_text(encoding="utf-8"))
    step = task["steps"][source]
    with Image.open(data / "images" / step["image"]) as image:
        size = image.size
    return f"{TRAJECTORY}:{source}", step, size


def scoring_cases(root: Path, family: str, data: Path) -> dict[str, Any]:
    """Each scripted answer of ``CASES`` against its single ground-truth step (one task per case)."""
    cases = CASES[family]
    with tempfile.TemporaryDirectory() as folder:
        tasks, images = Path(folder) / "tasks", Path(folder) / "images"
        tasks.mkdir()
        images.mkdir()
        described = []
        for number, (source, name, raw) in enumerate(cases):
            label, step, size = _ground_truth(data, source)
            case = f"case-{number:03d}"
            Image.new("RGB", size).save(images / f"{case}.png")  # only its size matters to the score
            task = {
                "task_id": case,
                "high_level_task_description": f"Scoring case {number:03d}.",
                "steps": [
                    {
                        "image": f"{case}.png",
                        "ground_truth_actions": step["ground_truth_actions"],
                        "alternative_options": step.get("alternative_options") or [],
                        "milestone": False,
                    }
                ],
            }
            (tasks / f"{case}.json").write_text(json.dumps(task), encoding="utf-8")
            described.append(
                {
                    "case": case,
                    "name": name,
                    "ground_truth": label,
                    "image_size": list(size),
                    "ground_truth_actions": task["steps"][0]["ground_truth_actions"],
                    "alternative_options": task["steps"][0]["alternative_options"],
                    "raw": raw,
                }
            )

        def answer(sent: list[dict[str, Any]]) -> str:
            match = _CASE_MARK.search(sent[-1]["content"][-1]["text"])
            assert match is not None
            return cases[int(match.group(1))][2]

        rows = {row["task_id"]: row for row in run_driver(root, family, tasks, images, answer)[1]}
    return {
        "family": family,
        "model_path": MODELS[family],
        "cases": [{**case, **_result(rows[case["case"]])} for case in described],
    }


def generate(guikv_root: str | Path, starkv_root: str | Path, out_dir: str | Path) -> list[Path]:
    """Write ``out_dir/agentnetbench/{messages,scoring}-{harness}-{family}.json``; the paths written."""
    out = Path(out_dir) / "agentnetbench"
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for harness, root in (("guikv", Path(guikv_root)), ("starkv", Path(starkv_root))):
        for family in MODELS:
            for kind, make in (("messages", messages_cases), ("scoring", scoring_cases)):
                path = out / f"{kind}-{harness}-{family}.json"
                payload = {"harness": harness, **make(root.expanduser().resolve(), family, DATA)}
                path.write_text(json.dumps(payload, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
                written.append(path)
    return written
