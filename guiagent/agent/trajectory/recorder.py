"""Recorder: writes a trajectory as it happens, one flushed line and one PNG per step.

The header goes out when the recorder opens, each step when it completes (image first, then its line), so an
interrupted run leaves a loadable trajectory with every completed step. Both are fsynced, the image (and its
folder entry) before the line that names it, so after a power cut no line points at a screenshot that never
reached the disk. Nothing is ever overwritten: a folder that already holds a trajectory file or an images/
folder is refused, and every file is created exclusively.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from PIL import Image

from guiagent.agent.actions import TERMINAL, ParsedResponse
from guiagent.agent.trajectory.format import (
    FILE,
    FORMAT,
    VERSION,
    TrajectoryError,
    action_to_dict,
    geometry_to_dict,
)
from guiagent.extras import versions
from guiagent.paths import check_writable, data_home

DISK_HINT = "Check that the disk is not full and the folder is still writable; the steps before are kept."


def default_runs_folder() -> Path:
    """Where runs are recorded unless --record says otherwise: $GUIAGENT_HOME/runs, else the XDG data dir."""
    return data_home() / "runs" / dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")


def check_record_folder(folder: str | Path) -> Path:
    """Refuse, before any work, a record folder that holds a trajectory already or cannot be written."""
    folder = Path(folder).expanduser()
    if (folder / FILE).exists() or (folder / "images").exists():
        raise TrajectoryError(
            f"'{folder}' already holds a trajectory (or its images); it is never overwritten.",
            "Choose another --record folder.",
        )
    return check_writable(folder, "The trajectory folder")


class Recorder:
    """Appends a trajectory to ``folder`` (created; it must hold neither a trajectory file nor an images/ folder)."""

    def __init__(self, folder: str | Path, *, task: str, source: str = "recorded", **header: Any) -> None:
        self.folder = check_record_folder(folder)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            (self.folder / "images").mkdir()  # exclusive: another recorder's images are never touched
            self._file: IO[str] = (self.folder / FILE).open("x", encoding="utf-8")
            _fsync_folder(self.folder)
        except FileExistsError as error:
            raise TrajectoryError(
                f"'{self.folder}' already holds a trajectory (or its images); it is never overwritten.",
                "Choose another --record folder.",
            ) from error
        except OSError as error:
            raise TrajectoryError(
                f"Cannot create the trajectory folder '{self.folder}' ({error.strerror}).",
                "Choose another --record folder.",
            ) from error
        created = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        self._write(
            {
                "kind": "header",
                "format": FORMAT,
                "version": VERSION,
                "task": task,
                "source": source,
                "created": created,
                "versions": versions(),
                **header,
            }
        )
        self.steps = 0

    def record(self, step: int, image: Image.Image, **fields: Any) -> None:
        """One step: the screenshot, then its record (JSON-ready fields, see format.py)."""
        name = f"images/{step:04d}.png"
        self._store(name, lambda handle: image.save(handle, format="PNG"))
        self._step(step, name, fields)

    def record_event(self, event: Any) -> None:
        """A loop ``StepEvent`` as a step record."""
        parsed: ParsedResponse | None = event.parsed
        actions = parsed.actions if parsed else ()
        outcome = {id(o.action): o.outcome for o in event.outcomes}
        verdict = {id(o.action): o.verdict.to_dict() for o in event.outcomes if o.verdict is not None}
        self.record(
            event.step,
            event.screenshot,
            screen=geometry_to_dict(event.geometry),
            raw=event.raw,
            thought=parsed.thought if parsed else "",
            actions=[action_to_dict(a) for a in actions],
            outcomes=[outcome.get(id(a), "ended" if isinstance(a, TERMINAL) else "skipped") for a in actions],
            verdicts=[verdict.get(id(a)) for a in actions],  # the safety rules' decision, reason and rule
            status=event.status,
            parse_errors=list(event.parse_errors),
            notes=list(parsed.notes) if parsed else [],  # counts the parser capped
            timings=event.timings,
            cache=event.stats.summary() if event.stats is not None else None,
        )

    def note(self, **fields: Any) -> None:
        """A setting change or remark between steps (e.g. the budget was changed from the dashboard)."""
        self._write({"kind": "note", "after_step": self.steps, **fields})

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _store(self, name: str, write: Callable[[IO[bytes]], Any]) -> None:
        """Create ``name`` (never over an existing file), write it and make it durable with its folder entry."""
        path = self.folder / name
        try:
            with path.open("xb") as handle:
                write(handle)
                handle.flush()
                os.fsync(handle.fileno())
            _fsync_folder(path.parent)
        except FileExistsError as error:
            raise TrajectoryError(
                f"'{path}' already exists; a recorded screenshot is never overwritten.",
                "Each step of a trajectory needs its own step number.",
            ) from error
        except OSError as error:
            raise TrajectoryError(f"Cannot write the screenshot '{path}' ({error.strerror}).", DISK_HINT) from error

    def _step(self, step: int, name: str, fields: dict[str, Any]) -> None:
        self._write({"kind": "step", "step": step, "image": name, **fields})
        self.steps += 1

    def _write(self, record: dict[str, Any]) -> None:
        try:
            self._file.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
            self._file.flush()
            os.fsync(self._file.fileno())
        except OSError as error:
            raise TrajectoryError(f"Cannot write to '{self.folder / FILE}' ({error.strerror}).", DISK_HINT) from error


def _fsync_folder(folder: Path) -> None:
    """Make new entries in ``folder`` durable (POSIX: fsync the directory; Windows cannot open one, nor needs to)."""
    if os.name != "posix":
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
