"""Reading benchmark files, shared by the importers: JSON with one-sentence errors, the images folder, a
screenshot's geometry, image paths that stay inside their folder, and the ``limit`` check."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from guiagent.agent.policy.coords import ScreenGeometry
from guiagent.agent.trajectory import images
from guiagent.agent.trajectory.format import TrajectoryError
from guiagent.agent.trajectory.records import brief

PROBES = 5  # screenshots tried when guessing the images folder


def read_json_file(path: Path, what: str, hint: str) -> Any:
    """The parsed JSON of ``path``; a TrajectoryError (naming the file, and the line for bad JSON) otherwise."""
    if not path.exists():
        raise TrajectoryError(f"{what} '{path}' does not exist.", hint)
    if not path.is_file():
        raise TrajectoryError(f"{what} '{path}' is not a file.", hint)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise TrajectoryError(
            f"{what} '{path}' is not UTF-8 text (byte {error.start}).", "Re-download or re-export the file."
        ) from error
    except OSError as error:
        raise TrajectoryError(f"{what} '{path}' cannot be read ({error.strerror}).", hint) from error
    damaged = "The file is damaged or cut off; re-download or re-export it."
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise TrajectoryError(
            f"{what} '{path}' is not valid JSON (line {error.lineno}, column {error.colno}: {error.msg}).", damaged
        ) from error
    except RecursionError as error:
        raise TrajectoryError(f"{what} '{path}' is not valid JSON (it nests too deeply to read).", damaged) from error
    except ValueError as error:  # e.g. a number with more digits than Python converts
        raise TrajectoryError(f"{what} '{path}' is not valid JSON ({brief(error)}).", damaged) from error


def pick_image_root(
    explicit: Path | None, candidates: Sequence[Path], probes: Iterable[str], what: str
) -> tuple[Path, list[Path]]:
    """The images folder: ``explicit`` when given, else the first candidate holding one of ``probes``.

    Returns the folder and the candidates that were considered (for error messages). Without a hit the first
    existing candidate (else the first candidate) is returned; the caller then reports the missing images.
    """
    if explicit is not None:
        explicit = Path(explicit).expanduser()
        if not explicit.is_dir():
            raise TrajectoryError(
                f"The {what} image folder '{explicit}' does not exist or is not a folder.",
                "Pass the folder the benchmark's image paths are relative to.",
            )
        return explicit, [explicit]
    probes = [p for p in probes if p]
    for candidate in candidates:
        if candidate.is_dir() and any((candidate / p).is_file() for p in probes):
            return candidate, list(candidates)
    existing = [c for c in candidates if c.is_dir()]
    return (existing[0] if existing else candidates[0]), list(candidates)


def screenshot_geometry(image: Path | None) -> tuple[ScreenGeometry | None, str | None]:
    """The screen a screenshot shows (its own pixel size, origin 0, 0) or, when unusable, why.

    ``None`` is a path that leads outside the images folder (see ``image_path``): refused, never opened.
    """
    if image is None:
        return None, "the screenshot path leads outside the images folder (nothing outside it is read)"
    if not image.is_file():
        return None, f"screenshot {image} does not exist"
    try:
        size = images.inspect(image, verify=False)  # the header: damage shows when the step is decoded
    except images.ImageProblem as problem:
        return None, f"screenshot {image} {problem}"
    return ScreenGeometry((0, 0), size, size), None


def image_path(root: Path, name: str) -> Path | None:
    """``root / name`` when it stays inside ``root`` as written (no ``..`` out of it, not absolute), else None.

    Links are not followed: benchmark folders are often links into a download cache.
    """
    path = Path(os.path.normpath(root / name))
    return path if not Path(name).is_absolute() and path.is_relative_to(os.path.normpath(root)) else None


def check_limit(limit: int | None) -> None:
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 0):
        raise TrajectoryError(f"limit must be a whole number >= 0 or None, not {limit!r}.", "Pass e.g. limit=10.")
