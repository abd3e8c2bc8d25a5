"""A replay report as one self-contained HTML page: what the agent saw, did and should have done, step by step,
and which patches of each screenshot the compressed cache still held.

``write_html(folder)`` reads a ``guiagent replay --report`` folder (``steps.jsonl``, ``summary.json`` and the
screenshots its records name) and writes ``folder/report.html``: screenshots embedded, nothing fetched.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from guiagent.errors import ConfigError
from guiagent.tools.replay_html.page import render


def load_report(folder: str | Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(step records, summary) of a replay report folder; one sentence when it is not one."""
    folder = Path(folder)
    steps, summary = folder / "steps.jsonl", folder / "summary.json"
    if not (steps.is_file() and summary.is_file()):
        raise ConfigError(
            f"'{folder}' is not a replay report: it has no steps.jsonl and summary.json.",
            "Pass the --report folder a 'guiagent replay' wrote.",
        )
    try:
        records = [json.loads(line) for line in steps.read_text(encoding="utf-8").splitlines() if line.strip()]
        return records, json.loads(summary.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ConfigError(
            f"The replay report in '{folder}' cannot be read ({error}).", "Write it again with 'guiagent replay'."
        ) from error


def write_html(folder: str | Path, out: str | Path | None = None) -> Path:
    """Write the report page of the replay report ``folder`` to ``out`` (default ``folder/report.html``)."""
    records, summary = load_report(folder)
    path = Path(out) if out is not None else Path(folder) / "report.html"
    title = f"guiagent replay · {summary.get('source', Path(folder).name)}"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(records, summary, title, Path(folder)), encoding="utf-8")
    except OSError as error:
        raise ConfigError(
            f"The HTML report cannot be written to '{path}' ({error.strerror or error}).", "Choose another --out."
        ) from error
    return path
