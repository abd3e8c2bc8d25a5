"""AndroidControl: the step-sample JSON the GUI-KV and STaR-KV AndroidControl harnesses read, as trajectories.

Layout (UGround's ``500_steps.json``, read by ``eval/androidcontrol_eval.py`` of SalesforceAIResearch/GUI-KV and
kawhiiiileo/STaR-KV): one JSON list of step samples::

    {"episode_id": 1024, "step": 7, "screenshot": "1024/screenshot_7.png", "goal": "...",
     "step_instruction": "...", "previous_actions": ["...", ...],
     "action": {"action_type": "click", "x": 561, "y": 2092},
     "accessibility_tree": [{"text": ..., "content_description": ..., "bbox_pixels": {"x_min", "x_max", "y_min",
                             "y_max"}, ...}, ...]}

``action.action_type`` is one of click | long_press | type_text | scroll | navigate_back | open_app | wait | status
(navigate_home is accepted too; AndroidControl has it) with ``x``, ``y`` (pixels of the original screenshot),
``text``, ``direction``, ``goal_status``, ``app_name`` as the type needs. The accessibility tree may nest lists of
nodes (the harnesses recurse into lists); it is flattened here, nodes kept as they are. The samples' step number is
``step`` in UGround's published file and ``step_index`` in STaR-KV's reader; either is accepted (``step_index``
wins when both are present).

Paths, as the harness launch scripts set them: GUI-KV ``--androidcontrol_test AndroidControl/data`` (holding
``500_steps.json``) and ``--androidcontrol_imgs AndroidControl/images``; STaR-KV ``androidcontrol/data`` and
``androidcontrol``. ``screenshot`` is relative to the images folder and must stay inside it (absolute paths are
used as they are). Without ``images`` the first of ``<json folder>/../images`` (GUI-KV), ``<json folder>/..``
(STaR-KV) and ``<json folder>`` that holds the samples' screenshots is used.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from guiagent.agent.eval.benchmarks.files import (
    PROBES,
    check_limit,
    image_path,
    pick_image_root,
    read_json_file,
    screenshot_geometry,
)
from guiagent.agent.policy.coords import ScreenGeometry
from guiagent.agent.trajectory.format import Step, Trajectory, TrajectoryError
from guiagent.agent.trajectory.records import a_type, is_number, type_name

SCHEMA = "androidcontrol"
SOURCE = "androidcontrol"
DATASET_FILE = "500_steps.json"  # the file name both harnesses default to
ACTION_TYPES = (
    "click",
    "long_press",
    "type_text",
    "scroll",
    "navigate_back",
    "navigate_home",
    "open_app",
    "wait",
    "status",
)
# Fields an action of each type must carry to be scored (type_text may lack x, y: the harnesses then score text).
ACTION_FIELDS = {
    "click": ("x", "y"),
    "long_press": ("x", "y"),
    "type_text": ("text",),
    "scroll": ("direction",),
    "open_app": ("app_name",),
    "status": ("goal_status",),
}
BBOX_KEYS = ("x_min", "x_max", "y_min", "y_max")

FORMAT_HINT = (
    "Each AndroidControl step sample needs 'screenshot', 'goal' and 'action' {'action_type', ...}, "
    "as in the 500_steps.json the GUI-KV / STaR-KV harnesses read."
)


def load_androidcontrol(path: Path, images: Path | None = None, limit: int | None = None) -> list[Trajectory]:
    """Trajectories from an AndroidControl step-sample JSON (or the folder holding ``500_steps.json``).

    Samples are grouped into one trajectory per ``episode_id`` (in order of first appearance), steps ordered by
    ``step_index`` / ``step`` (file order when a sample has neither); a sample without ``episode_id`` is a
    trajectory of its own. ``limit`` keeps the first ``limit`` samples of the file before grouping, like the
    harnesses' ``--debug N``. Samples whose screenshot is missing are skipped with a warning on the trajectory they
    belong to (or on the first trajectory, when their whole episode is gone); none usable is an error.
    """
    check_limit(limit)
    path = Path(path).expanduser()
    if path.is_dir():
        path = path / DATASET_FILE
        if not path.exists():
            raise TrajectoryError(
                f"'{path.parent}' has no {DATASET_FILE}.",
                "Pass the AndroidControl step-sample JSON itself (e.g. AndroidControl/data/500_steps.json).",
            )
    data = read_json_file(
        path, "AndroidControl file", "Pass the step-sample JSON the harnesses read (e.g. data/500_steps.json)."
    )
    if not isinstance(data, list):
        raise TrajectoryError(
            f"AndroidControl file '{path}' holds a JSON {type_name(data)}, not a list of step samples.",
            FORMAT_HINT,
        )
    if not data:
        raise TrajectoryError(f"AndroidControl file '{path}' holds no step samples.", FORMAT_HINT)
    samples = [_sample(path, index, raw) for index, raw in enumerate(data[:limit])]
    if not samples:
        return []

    json_dir = path.parent
    root, looked = pick_image_root(
        images,
        [json_dir.parent / "images", json_dir.parent, json_dir],
        [s["screenshot"] for s in samples[:PROBES]],
        "AndroidControl",
    )

    # group by episode, in order of first appearance
    groups: dict[Any, list[dict[str, Any]]] = {}
    for sample in samples:
        key = (
            ("episode", _hashable(sample["episode_id"]))
            if sample["episode_id"] is not None
            else ("sample", sample["index"])
        )
        groups.setdefault(key, []).append(sample)

    trajectories: list[Trajectory] = []
    orphans: list[str] = []  # warnings about samples whose whole trajectory was dropped
    for (kind, _), members in groups.items():
        warnings: list[str] = []
        if all(m["order"] is not None for m in members):
            members = sorted(members, key=lambda m: m["order"])
        elif len(members) > 1:
            warnings.append(
                f"{path.name}: episode {members[0]['episode_id']} has samples without 'step' / 'step_index'; "
                "its steps are kept in file order."
            )
        orders = [m["order"] for m in members if m["order"] is not None]
        if len(set(orders)) != len(orders):
            warnings.append(
                f"{path.name}: episode {members[0]['episode_id']} has repeated step numbers; "
                "ties are kept in file order."
            )
        steps: list[Step] = []
        for sample in members:
            if sample["action"]["action_type"] not in ACTION_TYPES:
                warnings.append(
                    f"{path.name} sample {sample['index']}: action_type '{sample['action']['action_type']}' is not "
                    f"one of {', '.join(ACTION_TYPES)}; it is kept but no prediction will match it."
                )
            absolute = Path(sample["screenshot"]).is_absolute()  # used as it is (see the module doc)
            image = Path(sample["screenshot"]) if absolute else image_path(root, sample["screenshot"])
            geometry, problem = screenshot_geometry(image)
            if geometry is None:
                warnings.append(f"{path.name} sample {sample['index']}: {problem}; the sample is skipped.")
                continue
            steps.append(_step(len(steps) + 1, image, geometry, sample))
        first = members[0]
        if not steps:
            orphans.extend(warnings)
            continue
        name = f"episode_{first['episode_id']}" if kind == "episode" else f"sample_{first['index']:04d}"
        trajectories.append(
            Trajectory(
                task=first["goal"],
                steps=steps,
                screen=steps[0].screen,
                source=SOURCE,
                name=name,
                meta={
                    "file": str(path),
                    "images": str(root),
                    "episode_id": first["episode_id"],
                    "sample_indices": [s["index"] for s in members],
                },
                warnings=warnings,
            )
        )
    if not trajectories:
        raise TrajectoryError(
            f"None of the {len(samples)} screenshots named in '{path}' could be read "
            f"(looked under {', '.join(str(p) for p in looked)}).",
            "Pass images= the folder the 'screenshot' paths are relative to (the harnesses' --androidcontrol_imgs).",
        )
    if orphans:
        trajectories[0].warnings.extend(orphans)
    return trajectories


def _hashable(value: Any) -> Any:
    return json.dumps(value, sort_keys=True) if isinstance(value, (dict, list)) else value


def _sample(path: Path, index: int, raw: Any) -> dict[str, Any]:
    """A validated step sample (fields the importer uses), or a TrajectoryError naming the field and sample."""
    where = f"AndroidControl file '{path}', sample {index} (0-based)"
    if not isinstance(raw, dict):
        raise TrajectoryError(f"{where} is a JSON {type_name(raw)}, not an object.", FORMAT_HINT)

    def field(name: str, kind: type, required: bool, default: Any = None) -> Any:
        if raw.get(name) is None:
            if required:
                raise TrajectoryError(f"{where} has no '{name}' field.", FORMAT_HINT)
            return default
        value = raw[name]
        if not isinstance(value, kind):
            raise TrajectoryError(f"{where} has '{name}' as {a_type(value)}, not {a_type(kind())}.", FORMAT_HINT)
        return value

    screenshot = field("screenshot", str, True)
    if not screenshot.strip():
        raise TrajectoryError(f"{where} has an empty 'screenshot' path.", FORMAT_HINT)
    goal = field("goal", str, True)
    step_instruction = field("step_instruction", str, False)
    previous = field("previous_actions", list, False, [])
    for position, entry in enumerate(previous):
        if not isinstance(entry, str):
            raise TrajectoryError(
                f"{where} has previous_actions[{position}] as {a_type(entry)}, not a string.", FORMAT_HINT
            )
    action = field("action", dict, True)
    action_type = action.get("action_type")
    if action_type is None:
        raise TrajectoryError(f"{where} has no 'action.action_type' field.", FORMAT_HINT)
    if not isinstance(action_type, str):
        raise TrajectoryError(f"{where} has 'action.action_type' as {a_type(action_type)}, not a string.", FORMAT_HINT)
    for name in ACTION_FIELDS.get(action_type, ()):
        if action.get(name) is None:
            raise TrajectoryError(f"{where} is a '{action_type}' action without 'action.{name}'.", FORMAT_HINT)
    for name in ("x", "y"):
        if action.get(name) is not None and not is_number(action[name]):
            raise TrajectoryError(
                f"{where} has 'action.{name}' as {a_type(action[name])}, not a number of pixels.", FORMAT_HINT
            )
    for name in ("text", "direction", "goal_status", "app_name"):
        if action.get(name) is not None and not isinstance(action[name], str):
            raise TrajectoryError(f"{where} has 'action.{name}' as {a_type(action[name])}, not a string.", FORMAT_HINT)
    tree = field("accessibility_tree", list, False, [])
    nodes = _flatten(tree, where)

    episode_id = raw.get("episode_id")
    order = None
    for name in ("step_index", "step"):
        if raw.get(name) is not None:
            value = raw[name]
            if not isinstance(value, int) or isinstance(value, bool):
                raise TrajectoryError(f"{where} has '{name}' as {a_type(value)}, not a whole number.", FORMAT_HINT)
            order = value
            break
    return {
        "index": index,
        "episode_id": episode_id,
        "order": order,
        "screenshot": screenshot,
        "goal": goal,
        "step_instruction": step_instruction,
        "previous_actions": list(previous),
        "action": dict(action),
        "accessibility_tree": nodes,
    }


def _flatten(tree: list[Any], where: str) -> list[dict[str, Any]]:
    """The nodes of a (possibly nested) accessibility tree, depth first, checked for a usable ``bbox_pixels``."""
    nodes: list[dict[str, Any]] = []
    stack: list[tuple[list[Any], int]] = [(tree, 0)]
    while stack:
        items, position = stack.pop()
        if position >= len(items):
            continue
        stack.append((items, position + 1))
        item = items[position]
        if isinstance(item, list):
            stack.append((item, 0))
            continue
        number = len(nodes)
        if not isinstance(item, dict):
            raise TrajectoryError(
                f"{where} has accessibility_tree node {number} as {a_type(item)}, not an object.",
                "Accessibility tree nodes are objects with 'bbox_pixels', 'text' and 'content_description'.",
            )
        bbox = item.get("bbox_pixels")
        if not isinstance(bbox, dict) or not all(is_number(bbox.get(k)) for k in BBOX_KEYS):
            raise TrajectoryError(
                f"{where} has accessibility_tree node {number} without a 'bbox_pixels' of numbers "
                f"{{{', '.join(BBOX_KEYS)}}}.",
                "The harnesses look up the ground-truth element by these pixel boxes.",
            )
        for name in ("text", "content_description"):
            if item.get(name) is not None and not isinstance(item[name], str):
                raise TrajectoryError(
                    f"{where} has accessibility_tree node {number} with '{name}' as {a_type(item[name])}, "
                    "not a string.",
                    "The harnesses compare these labels as text.",
                )
        nodes.append(dict(item))
    return nodes


def _step(number: int, image: Path, geometry: ScreenGeometry, sample: dict[str, Any]) -> Step:
    expected = {
        "schema": SCHEMA,
        "action": sample["action"],
        "accessibility_tree": sample["accessibility_tree"],
        "image_size": list(geometry.image_size),
        "previous_actions": sample["previous_actions"],
        "step_instruction": sample["step_instruction"],
        "episode_id": sample["episode_id"],
        "step_index": sample["order"],
    }
    return Step(step=number, image=image, screen=geometry, instruction=sample["step_instruction"], expected=expected)
