"""Multimodal-Mind2Web: one JSON record per step in a ``.jsonl`` file, grouped into one trajectory per task.

Field names and where they come from:

- the HF dataset card (huggingface.co/datasets/osunlp/Multimodal-Mind2Web, README ``dataset_info``): per step
  ``action_uid, raw_html, cleaned_html, operation (string), pos_candidates / neg_candidates (lists of strings),
  website, domain, subdomain, annotation_id, confirmed_task, screenshot (image), action_reprs (list of strings),
  target_action_index, target_action_reprs`` (strings);
- the Mind2Web card (its "Data Fields", repeated in the card's history): ``operation`` = ``{op: CLICK | TYPE |
  SELECT, original_op (adds HOVER, ENTER, mapped to CLICK; not used), value}``; a candidate is ``{tag,
  attributes, backend_node_id, is_original_target, is_top_level_target}`` whose ``attributes`` is a JSON string
  with ``bounding_box_rect`` = ``"x,y,w,h"`` in page pixels (the full-page screenshot's pixels);
- GUI-KV's harness (research digest seeds.md 5.5): reads ``cross_{task,website,domain}_blocks.jsonl`` exports.

The card stores ``operation`` and each candidate as JSON strings; exports often decode them, so both are read.
``screenshot`` must be a file: a path relative to the jsonl's folder (or ``images``), or the ``datasets`` Image
dict ``{"path": ..., "bytes": null}``. Embedded bytes / base64 are refused (the loader never writes files);
export the screenshots first. Steps are ordered by ``target_action_index`` (file order when absent).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from guiagent.agent.eval.benchmarks.files import check_limit, image_path, screenshot_geometry
from guiagent.agent.trajectory.format import Step, Trajectory, TrajectoryError
from guiagent.agent.trajectory.records import FieldError, a_type, items, number, obj, one_of, text

SCHEMA = "mind2web"
OPS = ("CLICK", "TYPE", "SELECT")
HINT = (
    "A Multimodal-Mind2Web step is one JSON line with 'annotation_id', 'confirmed_task', 'operation' {op, value}, "
    "'pos_candidates' (with attributes.bounding_box_rect 'x,y,w,h') and 'screenshot' (a file path), "
    "as the osunlp/Multimodal-Mind2Web dataset card names them."
)
_KEYS = ("annotation_id", "confirmed_task", "operation")


def is_mind2web(path: Path) -> bool:
    """A ``.jsonl`` file (or a folder of them) whose first line is a Mind2Web step."""
    files = [path] if path.is_file() else sorted(path.glob("*.jsonl"))[:3] if path.is_dir() else []
    for file in files:
        if file.suffix != ".jsonl":
            continue
        try:
            with file.open(encoding="utf-8") as handle:
                first = json.loads(handle.readline(2**24) or "null")
        except (OSError, ValueError, RecursionError):  # unreadable, not UTF-8, not JSON: not this layout
            continue
        if isinstance(first, dict) and all(key in first for key in _KEYS):
            return True
    return False


def load_mind2web(path: str | Path, images: str | Path | None = None, limit: int | None = None) -> list[Trajectory]:
    """One trajectory per ``annotation_id`` (first-seen order) of a jsonl file or every jsonl in a folder.

    ``limit`` counts tasks. A step whose screenshot is missing is skipped with a warning; the task keeps its full
    step count (``expected.task_steps``), so the metric counts the skipped step as 0, as GUI-KV pads.
    """
    check_limit(limit)
    path = Path(path).expanduser()
    files = [path] if path.is_file() else sorted(path.glob("*.jsonl"))
    if not files:
        raise TrajectoryError(f"'{path}' has no Multimodal-Mind2Web .jsonl files.", HINT)
    tasks: dict[str, list[dict[str, Any]]] = {}
    for file in files:
        root = Path(images).expanduser() if images else file.parent
        for record in _records(file, root):
            tasks.setdefault(record["annotation_id"], []).append(record)
    return [_trajectory(annotation, steps) for annotation, steps in list(tasks.items())[:limit]]


def _records(file: Path, root: Path) -> list[dict[str, Any]]:
    try:
        lines = file.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError as error:
        raise TrajectoryError(f"Mind2Web file '{file}' is not UTF-8 text (byte {error.start}).", HINT) from error
    except OSError as error:
        raise TrajectoryError(f"Mind2Web file '{file}' cannot be read ({error.strerror}).", HINT) from error
    records = []
    for number_, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"Mind2Web file '{file}', line {number_}"
        try:
            raw = json.loads(line)
        except (ValueError, RecursionError) as error:
            raise TrajectoryError(f"{where} is not valid JSON ({type(error).__name__}).", HINT) from error
        if not isinstance(raw, dict):
            raise TrajectoryError(f"{where} is {a_type(raw)}, not an object.", HINT)
        try:
            records.append(_record(raw, root) | {"where": where, "line": number_, "file": str(file)})
        except FieldError as error:
            raise TrajectoryError(f"{where}: {error}.", HINT) from error
    return records


def _decoded(value: Any, field: str) -> Any:
    """The card stores objects as JSON strings; exports often decode them. Either way, the object."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except (ValueError, RecursionError) as error:
            raise FieldError(field, "is a string that is not valid JSON") from error
    return value


def _box(candidate: Any, field: str) -> list[float]:
    """A candidate's ``bounding_box_rect`` "x,y,w,h" (page pixels) as [x1, y1, x2, y2]."""
    data = obj(_decoded(candidate, field), field)
    attributes = obj(_decoded(data.get("attributes"), f"{field}.attributes"), f"{field}.attributes")
    rect = text(attributes.get("bounding_box_rect"), f"{field}.attributes.bounding_box_rect")
    try:
        x, y, w, h = (float(part) for part in rect.split(","))
    except ValueError as error:
        raise FieldError(f"{field}.attributes.bounding_box_rect", f"is {rect[:60]!r}, not 'x,y,w,h'") from error
    for name, value in zip("xywh", (x, y, w, h), strict=True):
        number(value, f"{field}.attributes.bounding_box_rect.{name}")
    return [x, y, x + w, y + h]


def _screenshot(value: Any, root: Path) -> Path | None:
    if isinstance(value, dict) and value.get("path") is None and value.get("bytes") is not None:
        raise FieldError("screenshot", "holds embedded bytes, which this loader does not unpack; export them to files")
    name = text(value.get("path") if isinstance(value, dict) else value, "screenshot")
    if name.startswith("data:") or len(name) > 4096:
        raise FieldError("screenshot", "holds base64 data, which this loader does not unpack; export it to a file")
    return image_path(root, name)


def _record(raw: dict[str, Any], root: Path) -> dict[str, Any]:
    operation = obj(_decoded(raw.get("operation"), "operation"), "operation")
    op = one_of(text(operation.get("op"), "operation.op").upper(), "operation.op", OPS)
    value = operation.get("value") or ""
    text(value, "operation.value")
    index = raw.get("target_action_index")
    if index is not None:
        try:
            index = int(index)
        except (TypeError, ValueError) as error:
            raise FieldError("target_action_index", f"is {str(index)[:40]!r}, not a whole number") from error
    candidates = items(raw.get("pos_candidates"), "pos_candidates")
    return {
        "annotation_id": text(raw.get("annotation_id"), "annotation_id"),
        "confirmed_task": text(raw.get("confirmed_task"), "confirmed_task"),
        "operation": {"op": op, "value": value, "original_op": str(operation.get("original_op") or op)},
        "boxes": [_box(c, f"pos_candidates[{n}]") for n, c in enumerate(candidates)],
        "image": _screenshot(raw.get("screenshot"), root),
        "screenshot": str(raw["screenshot"].get("path") if isinstance(raw["screenshot"], dict) else raw["screenshot"]),
        "target_action_index": index,
        "target_action_reprs": str(raw.get("target_action_reprs") or ""),
        "action_uid": str(raw.get("action_uid") or ""),
        "meta": {name: raw.get(name) for name in ("website", "domain", "subdomain", "action_reprs")},
    }


def _trajectory(annotation: str, records: list[dict[str, Any]]) -> Trajectory:
    records = sorted(records, key=lambda r: (r["target_action_index"] is None, r["target_action_index"] or 0))
    first = records[0]
    trajectory = Trajectory(
        task=first["confirmed_task"],
        steps=[],
        source=SCHEMA,
        name=annotation,
        meta={"annotation_id": annotation, "file": first["file"], **first["meta"]},
    )
    for number_, record in enumerate(records, start=1):
        image = record["image"]
        if image is None:
            raise TrajectoryError(f"{record['where']} has a 'screenshot' that leads outside its folder.", HINT)
        geometry, problem = screenshot_geometry(image)
        if geometry is None:
            trajectory.warnings.append(f"{annotation} step {number_}: {problem}; step skipped (scores 0).")
            continue
        expected = {
            "schema": SCHEMA,
            "operation": record["operation"],
            "boxes": record["boxes"],
            "task_steps": len(records),
            "annotation_id": annotation,
            "action_uid": record["action_uid"],
            "target_action_index": record["target_action_index"],
            "target_action_reprs": record["target_action_reprs"],
        }
        trajectory.steps.append(
            Step(step=number_, image=image, screen=geometry, expected=expected, where=record["where"])
        )
    if not trajectory.steps:
        raise TrajectoryError(
            f"Mind2Web task '{annotation}': none of its screenshots exist.", "Pass --images with their folder."
        )
    return trajectory
