"""The on-disk trajectory format: what a run did (or what a benchmark says should be done), step by step.

A trajectory is a folder::

    DIR/
      trajectory.jsonl     one JSON object per line: a header, then one record per step (and setting changes)
      images/0001.png      the screenshot of each step

The file is written append-only and flushed after every step, so a crash or Ctrl-C loses at most the step in
flight; a truncated last line (the process died mid-write) is detected on load, reported, and skipped.

Reading never trusts the file: every record a reader uses is checked field by field (records.py) and a wrong
one is one sentence naming the file, line and field; a step's ``image`` must resolve (links followed) inside
the trajectory folder, so no file outside it is ever opened; screenshots are checked when loaded (a missing or
unreadable one skips its step with a warning) and decoded only when used. The loader never changes a file.

Header (first line)::

    {"kind": "header", "format": "guiagent-trajectory", "version": 1, "task": "...", "source": "recorded",
     "screen": {"origin": [0, 0], "logical_size": [w, h], "image_size": [w, h]},
     "model": "...", "method": "...", "budget": "...", "created": "2026-11-21T20:00:00+00:00",
     "versions": {"guiagent": "...", ...}, "meta": {...}}

Step::

    {"kind": "step", "step": 1, "image": "images/0001.png", "screen": {...} (when it differs from the header),
     "instruction": "..." (a per-step instruction, e.g. ScreenSpot), "raw": "model text", "thought": "...",
     "actions": [{"type": "click", ...}], "outcomes": ["executed"], "status": "continue",
     "timings": {"prefill_s": ...}, "cache": {CacheStats.summary()},
     "expected": {"schema": "agentnetbench" | "androidcontrol" | "screenspot" | "recorded", ...}}

``expected`` is the ground truth a replay scores against, in the benchmark's own schema.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from guiagent.agent.actions import (
    Action,
    CallUser,
    Click,
    Drag,
    Finished,
    Hotkey,
    KeyUp,
    MobileAction,
    Move,
    Press,
    Scroll,
    Target,
    Type,
    Wait,
)
from guiagent.agent.policy.coords import ScreenGeometry
from guiagent.agent.trajectory import images
from guiagent.agent.trajectory.records import (
    FieldError,
    a_type,
    brief,
    check_action,
    check_header,
    check_step,
    text,
    unencodable_field,
    whole,
)
from guiagent.errors import GuiAgentError

FORMAT = "guiagent-trajectory"
VERSION = 1
FILE = "trajectory.jsonl"
MAX_LINE = 16 * 2**20  # bytes; a real record is a few KiB (an AndroidControl step with its a11y tree, ~100 KiB)
DAMAGED = "The file is damaged; keep the lines before it and drop the rest (guiagent never changes the file)."
EDITED = "The file was edited or damaged; fix or drop that line (guiagent never changes the file)."
OUTSIDE = "A trajectory's screenshots live in its own folder (images/NNNN.png); guiagent reads nothing outside it."
_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")  # a \ud800-style escape: JSON's only way to a lone surrogate


class TrajectoryError(GuiAgentError):
    """A trajectory folder or file that cannot be read as one."""


@dataclass
class Step:
    """One step: the screenshot and what happened (or should happen) on it."""

    step: int
    image: Path
    screen: ScreenGeometry | None = None
    instruction: str | None = None
    raw: str = ""
    thought: str = ""
    actions: list[dict[str, Any]] = field(default_factory=list)
    outcomes: list[str] = field(default_factory=list)
    status: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    cache: dict[str, Any] | None = None
    expected: dict[str, Any] | None = None
    where: str = ""  # "FILE, line N" for a loaded step (for messages)


@dataclass
class Trajectory:
    """A task and its steps; ``folder`` is where images are resolved from."""

    task: str
    steps: list[Step]
    screen: ScreenGeometry | None = None
    source: str = "recorded"
    name: str = ""
    meta: dict[str, Any] = field(default_factory=dict)
    header: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def geometry(self, step: Step) -> ScreenGeometry:
        """The screen of a step (its own, else the trajectory's, else the screenshot's size)."""
        if step.screen is not None:
            return step.screen
        if self.screen is not None:
            return self.screen
        try:
            size = images.inspect(step.image, verify=False)  # checked when loaded; decoded right after
        except images.ImageProblem as problem:
            raise _unusable(step, problem) from problem
        return ScreenGeometry((0, 0), size, size)


def load_screenshot(step: Step) -> Image.Image:
    """A step's screenshot as RGB; one sentence naming the step when it cannot be decoded."""
    try:
        return images.decode(step.image)
    except images.ImageProblem as problem:
        raise _unusable(step, problem) from problem


def _unusable(step: Step, problem: images.ImageProblem) -> TrajectoryError:
    where = f"{step.where}: the" if step.where else "The"
    return TrajectoryError(
        f"{where} screenshot {step.image} of step {step.step} {problem}.",
        "Restore the file, or drop the step's line from the trajectory (a copy of the folder keeps the original).",
    )


# -- geometry and actions as JSON ------------------------------------------------------------------------------
def geometry_to_dict(geometry: ScreenGeometry) -> dict[str, list[int]]:
    return {
        "origin": list(geometry.origin),
        "logical_size": list(geometry.logical_size),
        "image_size": list(geometry.image_size),
    }


def _target(target: Target | None) -> dict[str, Any] | None:
    if target is None:
        return None
    return {"screen": list(target.screen), "model": list(target.model), "clamped": target.clamped}


def action_to_dict(action: Action) -> dict[str, Any]:
    """A JSON-ready description of an action (type name, fields, targets with model and screen points)."""
    match action:
        case Click(target=t, button=b, clicks=c):
            return {"type": "click", "target": _target(t), "button": b, "clicks": c}
        case Move(target=t):
            return {"type": "move", "target": _target(t)}
        case Drag(start=s, end=e):
            return {"type": "drag", "start": _target(s), "end": _target(e)}
        case Scroll(direction=d, target=t, amount=a):
            return {"type": "scroll", "direction": d, "target": _target(t), "amount": a}
        case Hotkey(keys=k):
            return {"type": "hotkey", "keys": list(k)}
        case Press(key=k):
            return {"type": "press", "key": k}
        case KeyUp(key=k):
            return {"type": "keyup", "key": k}
        case Type(text=t):
            return {"type": "type", "text": t}
        case Wait(seconds=s):
            return {"type": "wait", "seconds": s}
        case Finished(content=c):
            return {"type": "finished", "content": c}
        case CallUser(content=c):
            return {"type": "call_user", "content": c}
        case MobileAction(name=n, target=t, text=x):
            return {"type": "mobile", "name": n, "target": _target(t), "text": x}
    raise TypeError(f"not an action: {action!r}")


def _target_from(data: dict[str, Any] | None) -> Target | None:
    if data is None:
        return None
    return Target(model=tuple(data["model"]), screen=tuple(data["screen"]), clamped=bool(data.get("clamped")))


def action_from_dict(data: dict[str, Any]) -> Action:
    """The inverse of ``action_to_dict`` (for scoring replays against a recorded run); checked first."""
    try:
        check_action(data, "action")
    except FieldError as error:
        raise TrajectoryError(f"A recorded action is malformed: {error}.", EDITED) from error
    kind = data.get("type")
    match kind:
        case "click":
            return Click(_target_from(data["target"]), data.get("button", "left"), data.get("clicks", 1))
        case "move":
            return Move(_target_from(data["target"]))
        case "drag":
            return Drag(_target_from(data["start"]), _target_from(data["end"]))
        case "scroll":
            return Scroll(data["direction"], _target_from(data.get("target")), data.get("amount", 5))
        case "hotkey":
            return Hotkey(tuple(data["keys"]))
        case "press":
            return Press(data["key"])
        case "keyup":
            return KeyUp(data["key"])
        case "type":
            return Type(data["text"])
        case "wait":
            return Wait(data.get("seconds", 5.0))
        case "finished":
            return Finished(data.get("content", ""))
        case "call_user":
            return CallUser(data.get("content", ""))
        case "mobile":
            return MobileAction(data["name"], _target_from(data.get("target")), data.get("text", ""))
    raise AssertionError(f"check_action let an unknown type through: {kind!r}")


# -- reading ---------------------------------------------------------------------------------------------------
def read_records(path: Path) -> tuple[list[tuple[int, dict[str, Any]]], list[str]]:
    """(line number, record) for each JSON line of a trajectory file, and warnings.

    A truncated last line is skipped with a warning (the run was interrupted mid-write); anything else that is
    not one JSON object per line is one sentence naming the line.
    """
    records: list[tuple[int, dict[str, Any]]] = []
    warnings: list[str] = []
    try:
        handle = path.open("rb")
    except OSError as error:
        raise TrajectoryError(f"{path} cannot be read ({error.strerror}).", "Check the file's permissions.") from error
    with handle:
        for number in itertools.count(1):
            line = handle.readline(MAX_LINE + 1)
            if len(line) > MAX_LINE:
                raise TrajectoryError(
                    f"{path}, line {number}, is longer than {MAX_LINE // 2**20} MiB, far beyond any record.", DAMAGED
                )
            if not line.endswith(b"\n"):  # text after the last newline never finished
                if line.strip():
                    warnings.append(
                        f"{path}: the last line was cut off mid-write (the run was interrupted); it is ignored."
                    )
                break
            record = _parse_line(path, number, line)
            if record is not None:
                records.append((number, record))
    return records, warnings


def _parse_line(path: Path, number: int, line: bytes) -> dict[str, Any] | None:
    where = f"{path}, line {number},"
    try:
        decoded = line.decode("utf-8-sig" if number == 1 else "utf-8")
    except UnicodeDecodeError as error:
        raise TrajectoryError(f"{where} is not UTF-8 text (byte {error.start + 1} of the line).", DAMAGED) from error
    if not decoded.strip():
        return None
    try:
        record = json.loads(decoded)
    except json.JSONDecodeError as error:
        raise TrajectoryError(f"{where} is not valid JSON ({error.msg}).", DAMAGED) from error
    except RecursionError as error:
        raise TrajectoryError(f"{where} is not valid JSON (it nests deeper than a record can).", DAMAGED) from error
    except ValueError as error:  # e.g. a number with more digits than Python converts
        raise TrajectoryError(f"{where} is not valid JSON ({brief(error)}).", DAMAGED) from error
    if not isinstance(record, dict):
        raise TrajectoryError(f"{where} is {a_type(record)}, not a JSON object.", EDITED)
    if _SURROGATE.search(line) and (name := unencodable_field(record)) is not None:
        raise TrajectoryError(f"{path}, line {number}: '{name}' holds text that is not valid Unicode.", EDITED)
    return record


def load_trajectory(folder: str | Path) -> Trajectory:
    """Read a trajectory folder written by ``Recorder`` (or by an importer); see the module doc for the rules."""
    folder = Path(folder)
    path = folder / FILE if folder.is_dir() else folder
    if not (path.exists() or path.is_symlink()):
        raise TrajectoryError(
            f"'{folder}' has no {FILE}, so it is not a guiagent trajectory.",
            "Pass a folder written by 'guiagent run' or a supported benchmark folder.",
        )
    root = path.parent.resolve()
    if not _resolve(path, f"{path}").is_relative_to(root):
        raise TrajectoryError(f"{path} is a link to a file outside its folder ({path.resolve()}).", OUTSIDE)
    if not path.is_file():
        raise TrajectoryError(f"{path} is not a file.", "Pass a folder written by 'guiagent run'.")
    records, warnings = read_records(path)
    header_line, header = records[0] if records else (0, {})
    if header.get("kind") != "header" or header.get("format") != FORMAT:
        raise TrajectoryError(
            f"{path} does not start with a guiagent trajectory header.",
            "Pass a folder written by 'guiagent run' or a supported benchmark folder.",
        )
    version = _checked(path, header_line, header.get("version"), lambda value: whole(value, "version", 1))
    if version > VERSION:
        raise TrajectoryError(
            f"{path} has format version {version}; this guiagent reads up to {VERSION}.", "Upgrade guiagent."
        )
    fields = _checked(path, header_line, header, check_header)
    steps: list[Step] = []
    skipped: list[str] = []  # why each step without a usable screenshot was left out
    seen: dict[int, int] = {}  # step number -> line
    for number, record in records[1:]:
        kind = _checked(path, number, record.get("kind"), lambda value: text(value, "kind"))
        if kind == "header":
            raise TrajectoryError(
                f"{path}, line {number}, is a second header (the first is line {header_line}).", EDITED
            )
        if kind == "step":
            step = _load_step(path, root, number, record, seen)
            if isinstance(step, Step):
                steps.append(step)
            else:
                skipped.append(step)
        elif kind != "note":
            warnings.append(f"{path}, line {number}: record kind {kind[:40]!r} is unknown; the line is ignored.")
    if skipped and not steps:
        raise TrajectoryError(
            f"{path}: none of its {len(skipped)} step(s) has a usable screenshot, so there is nothing to replay.",
            f"The first: {skipped[0]}",
        )
    warnings += skipped
    return Trajectory(
        task=fields["task"],
        steps=steps,
        screen=fields["screen"],
        source=fields["source"],
        name=fields["name"] or root.name,
        meta=dict(fields["meta"]),
        header=header,
        warnings=warnings,
    )


def _load_step(path: Path, root: Path, number: int, record: dict[str, Any], seen: dict[int, int]) -> Step | str:
    """A checked step, or why it is skipped (its screenshot is missing or unreadable)."""
    where = f"{path}, line {number}"
    fields = _checked(path, number, record, check_step)
    if fields["step"] in seen:
        raise TrajectoryError(f"{where}: 'step' {fields['step']} repeats line {seen[fields['step']]}.", EDITED)
    seen[fields["step"]] = number
    image = _inside(root, record["image"], where)
    try:
        images.inspect(image)
    except images.ImageProblem as problem:
        return f"{where}: step {fields['step']}'s screenshot {str(image)[:200]} {problem}; the step is skipped."
    return Step(image=image, where=where, **fields)


def _inside(root: Path, name: str, where: str) -> Path:
    """The screenshot ``name`` resolved (links followed) inside ``root``, or one sentence refusing it."""
    if Path(name).is_absolute():
        raise TrajectoryError(
            f"{where}: 'image' is the absolute path {name[:200]!r}, not a path inside the folder.", OUTSIDE
        )
    resolved = _resolve(root / name, where)
    if not resolved.is_relative_to(root):
        raise TrajectoryError(f"{where}: 'image' {name[:200]!r} leads outside the trajectory folder.", OUTSIDE)
    return resolved


def _resolve(path: Path, where: str) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError) as error:  # RuntimeError: a symlink loop
        raise TrajectoryError(
            f"{where}: the path {str(path)[:200]!r} cannot be resolved ({brief(error)}).", OUTSIDE
        ) from error


def _checked(path: Path, number: int, value: Any, check) -> Any:
    """``check(value)``, with a ``FieldError`` turned into one sentence naming the file and line."""
    try:
        return check(value)
    except FieldError as error:
        raise TrajectoryError(f"{path}, line {number}: {error}.", EDITED) from error
