"""What a live run needs around its loop: the desktop it watches and acts on, and the recorder it writes to.

Both fail early and in one sentence (no display, no such monitor, a record folder that is taken or unwritable),
so ``guiagent run`` refuses before it loads a model. The desktop modules are imported only here, when used.
"""

from __future__ import annotations

import contextlib
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from guiagent.agent.run.runner import RunOptions


def check_record(folder: str | None) -> str | None:
    """The record folder, resolved once ("" = a new default runs folder; None = not recording), refused if it is
    taken or unwritable: the folder checked is the folder recorded to."""
    if folder is None:
        return None
    from guiagent.agent.trajectory.recorder import check_record_folder, default_runs_folder

    return str(check_record_folder(folder or default_runs_folder()))


def open_recorder(folder: str | None, options: RunOptions, monitor: int) -> Any:
    """A Recorder for the run into ``folder`` (from ``check_record``; None = recording off, a null context)."""
    if folder is None:
        return contextlib.nullcontext()
    from guiagent.agent.desktop.capture import capture
    from guiagent.agent.trajectory.format import geometry_to_dict
    from guiagent.agent.trajectory.recorder import Recorder

    return Recorder(
        folder,
        task=options.task,
        model=options.model,
        method=options.method,
        budget=options.budget,
        layout=options.layout,
        settings=options.context.report(options.method),
        screen=geometry_to_dict(capture(monitor).geometry),
    )


def open_desktop(monitor: int, dry_run: bool, stop: threading.Event | None = None) -> tuple[Any, Any]:
    """The screen module and an executor (its long actions end early on ``stop``); a clear error without a display
    or without the desktop extra."""
    from guiagent.extras import require

    require("desktop", "Acting on the desktop")
    from guiagent.agent.desktop import capture as screen
    from guiagent.agent.desktop.executor import DryRunExecutor, PyAutoGuiExecutor

    screen.capture(monitor)  # fail early (ScreenError): no display, or no such monitor
    return screen, (DryRunExecutor() if dry_run else PyAutoGuiExecutor(stop=stop))
