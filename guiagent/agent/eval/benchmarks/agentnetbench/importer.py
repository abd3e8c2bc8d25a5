"""AgentNetBench: one JSON per task plus an ``images/`` folder, as the benchmark ships it.

Layout (xlang-ai/OpenCUA ``evaluation/agentnetbench``, and the GUI-KV / STaR-KV drivers): every ``*.json`` in the
folder except those starting with ``mapping`` is a task ``{task_id, high_level_task_description,
user_task_description, steps: [{step_num, image, action, ground_truth_actions, alternative_options?, milestone,
inner_monologue}]}``; screenshots are ``images/<image>``. Ground-truth coordinates are relative (0-1) to the
screenshot, so each step's screen is the screenshot itself.
"""

from __future__ import annotations

import json
from pathlib import Path

from guiagent.agent.eval.benchmarks.files import image_path, read_json_file, screenshot_geometry
from guiagent.agent.trajectory.format import Step, Trajectory, TrajectoryError
from guiagent.agent.trajectory.records import FieldError, a_type, check_agentnet_actions, items, text

SCHEMA = "agentnetbench"
HINT = (
    "An AgentNetBench task is an object with 'task_id' and 'steps': [{'image', 'ground_truth_actions', "
    "'alternative_options'?, ...}], as OpenCUA's evaluation/agentnetbench ships it."
)


def is_agentnetbench(folder: Path) -> bool:
    """A folder of task JSONs (with ``steps`` and ``task_id``) and an images folder."""
    if not folder.is_dir():
        return False
    for path in sorted(folder.glob("*.json"))[:3]:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError):  # unreadable, not UTF-8, not JSON: not a task file
            continue
        if isinstance(data, dict) and "task_id" in data and "steps" in data:
            return True
    return False


def load_agentnetbench(
    folder: str | Path, images: str | Path | None = None, limit: int | None = None
) -> list[Trajectory]:
    """Every task of an AgentNetBench folder as a trajectory (sorted by file name, as the STaR-KV driver)."""
    folder = Path(folder)
    image_dir = Path(images) if images else folder / "images"
    files = sorted(p for p in folder.glob("*.json") if not p.name.startswith("mapping"))
    if not files:
        raise TrajectoryError(
            f"'{folder}' has no AgentNetBench task JSON files.",
            "Point at the folder that holds the task *.json files and images/.",
        )
    return [_load_task(path, image_dir) for path in files[:limit]]


def _load_task(path: Path, image_dir: Path) -> Trajectory:
    task = read_json_file(path, "AgentNetBench task file", "Re-download the benchmark file.")
    if not isinstance(task, dict) or not isinstance(task.get("steps"), list):
        raise TrajectoryError(
            f"{path} has no 'steps' list, so it is not an AgentNetBench task.", "Point at AgentNetBench task files."
        )
    try:
        description = task.get("high_level_task_description") or task.get("user_task_description") or ""
        trajectory = Trajectory(
            task=text(description, "high_level_task_description"),
            steps=[],
            source=SCHEMA,
            name=str(task.get("task_id", path.stem)),
            meta={"file": str(path), "meta_info": task.get("meta_info")},
        )
    except FieldError as error:
        raise TrajectoryError(f"AgentNetBench task file '{path}': {error}.", HINT) from error
    for index, step in enumerate(task["steps"], start=1):
        where = f"AgentNetBench task file '{path}', step {index}"
        if not isinstance(step, dict):
            raise TrajectoryError(f"{where} is {a_type(step)}, not an object.", HINT)
        if "image" not in step or "ground_truth_actions" not in step:
            raise TrajectoryError(f"{where} lacks 'image' or 'ground_truth_actions'.", HINT)
        try:
            name = text(step["image"], "image")
            check_agentnet_actions(step["ground_truth_actions"], "ground_truth_actions")
            for position, option in enumerate(items(step.get("alternative_options") or [], "alternative_options")):
                check_agentnet_actions(option, f"alternative_options[{position}]")
        except FieldError as error:
            raise TrajectoryError(f"{where}: {error}.", HINT) from error
        image = image_path(image_dir, name)
        if image is None:
            raise TrajectoryError(f"{where} has 'image' {name[:200]!r}, which leads outside {image_dir}.", HINT)
        if not image.exists():
            trajectory.warnings.append(f"{path.name} step {index}: screenshot {image} is missing; step skipped.")
            continue
        geometry, problem = screenshot_geometry(image)
        if geometry is None:
            trajectory.warnings.append(f"{path.name} step {index}: {problem}; step skipped.")
            continue
        trajectory.steps.append(
            Step(
                step=index,
                image=image,
                expected={
                    "schema": SCHEMA,
                    "ground_truth_actions": step["ground_truth_actions"],
                    "alternative_options": step.get("alternative_options") or [],
                    "milestone": bool(step.get("milestone", False)),
                    "step_num": step.get("step_num", index),
                    "action": step.get("action", ""),
                },
            )
        )
    if not trajectory.steps:
        raise TrajectoryError(
            f"{path}: none of its screenshots exist in {image_dir}.", "Pass --images with the folder that holds them."
        )
    return trajectory
