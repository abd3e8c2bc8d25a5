"""The ``guiagent`` command. Commands stay thin: they parse flags, call the library and print.

One module per command (or small group); shared option types live in ``options``. Known errors
(``GuiAgentError``) print one sentence and a hint on stderr and exit 1; set GUIAGENT_DEBUG=1 for their traceback.
Anything else is a bug and keeps its traceback. torch and transformers are imported inside the commands that
need them, so ``guiagent --help`` stays fast.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from guiagent import __version__
from guiagent.cli import bench, compress_check, demo, evaluate, models, replay, report, run
from guiagent.errors import GuiAgentError

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="Run a GUI agent with a local VLM and a small, rolling, compressed KV cache.",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"guiagent {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """guiagent: GUI agents on one GPU, with KV-cache compression made for screenshots."""


# Registered in the order --help lists them.
app.command("models")(models.models)
app.command("demo")(demo.demo)
app.command("compress-check")(compress_check.compress_check)
app.command("run")(run.run)
app.command("act")(run.act)
app.command("replay")(replay.replay)
app.command("report")(report.report)
app.command("eval")(evaluate.evaluate)
app.command("demo-app")(run.demo_app)
app.command("bench")(bench.bench)


def main() -> None:
    """Entry point: run the app, turning known errors into one clear sentence on stderr."""
    try:
        app()  # standalone mode: click reports usage errors itself (exit 2)
    except GuiAgentError as error:
        if os.environ.get("GUIAGENT_DEBUG"):
            raise
        typer.echo(f"Error: {error.message}", err=True)
        if error.hint:
            typer.echo(f"Hint: {error.hint}", err=True)
        sys.exit(1)
