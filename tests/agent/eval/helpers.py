"""Reading what a grid run leaves behind, for the tests that check who computed what."""

from __future__ import annotations

import json
from pathlib import Path

from guiagent.agent.eval.grid import LAUNCHES_FILE


def computed_units(out: Path, launch: str | None = None) -> list[dict]:
    """The launch log's lines (of one launch when given): which rank computed which unit, and when."""
    path = out / LAUNCHES_FILE
    if not path.exists():
        return []
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [line for line in lines if launch is None or line["launch"] == launch]
