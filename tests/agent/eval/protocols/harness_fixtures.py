"""Shared by the harness-protocol tests: fixture loading and the protocol's messages in the fixtures' form."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from PIL import Image

from guiagent.agent.eval.protocols.base import Protocol
from guiagent.agent.trajectory.format import Trajectory, load_screenshot

DATA = Path(__file__).resolve().parents[3] / "data"
HARNESS = DATA / "harness"
BENCHMARKS = DATA / "benchmarks"


def rows(folder: str, name: str) -> list[dict[str, Any]]:
    return json.loads((HARNESS / folder / name).read_text(encoding="utf-8"))


def rendered(
    protocol: Protocol, trajectory: Trajectory, index: int, images: Path, answers: list[str] | None = None
) -> list[dict[str, Any]]:
    """``protocol.messages`` with each screenshot written as its path relative to ``images`` (as the fixtures)."""
    shots = [load_screenshot(step) for step in trajectory.steps[: index + 1]]
    names = {
        id(shot): str(step.image.relative_to(images))
        for shot, step in zip(shots, trajectory.steps[: index + 1], strict=True)
    }
    messages = protocol.messages(trajectory, index, shots, answers or [])
    out = []
    for message in messages:
        content = message["content"]
        if isinstance(content, list):
            content = [_part(part, names) for part in content]
        out.append({**message, "content": content})
    return out


def _part(part: dict[str, Any], names: dict[int, str]) -> dict[str, Any]:
    if part.get("type") == "image":
        assert isinstance(part["image"], Image.Image), "a protocol sends the screenshot itself"
        return {**part, "image": names[id(part["image"])]}
    return part


def plain(value: Any) -> Any:
    """Tuples as lists, as JSON stores them."""
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value
