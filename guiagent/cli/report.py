"""``guiagent report``: a replay report folder as one self-contained HTML page (actions, kept-patch heatmaps)."""

from __future__ import annotations

from typing import Annotated

import typer

ReplayDirArg = Annotated[
    str, typer.Argument(metavar="REPLAY_DIR", help="A report folder 'guiagent replay --report' wrote.")
]
OutOpt = Annotated[
    str | None, typer.Option(metavar="FILE", help="The HTML file to write (default: REPLAY_DIR/report.html).")
]


def report(replay_dir: ReplayDirArg, out: OutOpt = None) -> None:
    """Write the HTML report of a replay: every step's screenshot, both actions, what the cache kept of it."""
    from guiagent.tools.replay_html import write_html

    typer.echo(f"HTML report: {write_html(replay_dir, out)}")
