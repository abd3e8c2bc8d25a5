"""How ``guiagent run`` and ``guiagent replay`` open the dashboard; the CLI stays thin.

>>> use_tui(False)
False

``live_in_dashboard`` and ``replay_in_dashboard`` take what the console path takes, run the same loop or
replay in the dashboard's worker, and return the same result once the user leaves (``q``). An error raised by
the run is raised again here, after the terminal is restored, so the CLI reports it as usual.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from guiagent.ui.control import RunControl


def use_tui(flag: bool | None, stream: IO[str] | None = None) -> bool:
    """``--tui/--no-tui``: on by default in an interactive terminal, never when stdout is not one."""
    stream = stream or sys.stdout
    interactive = bool(getattr(stream, "isatty", lambda: False)())
    if flag and not interactive:
        print("--tui needs a terminal on stdout; showing the plain console view instead.", file=sys.stderr)
    return interactive if flag is None else (flag and interactive)


def detect_graphics() -> bool:
    """Whether the terminal draws real images (Sixel or Kitty's graphics protocol).

    textual-image asks the terminal (protocols, cell size in pixels) once, when it is imported, which must
    happen before Textual takes the terminal over; this does that import. Half-blocks are used everywhere
    else (tmux included).
    """
    try:
        from textual_image import renderable, widget  # noqa: F401 - importing is what queries the terminal
    except Exception:  # noqa: BLE001 - a terminal query that fails must not stop the run: use half-blocks
        return False
    return renderable.Image in (renderable.SixelImage, renderable.TGPImage)


def open_dashboard(job: Any, control: RunControl, *, title: str) -> Any:
    """Run the dashboard in this terminal until the user leaves; return the job's result."""
    from guiagent.ui.dashboard import Dashboard

    app = Dashboard(job, control, title=title, graphics=detect_graphics())
    app.run()
    control.stop_run("dashboard closed")  # if Textual closed the app some other way, the loop still stops
    if app.error is not None:
        raise app.error
    return app.result


def live_job(
    decider: Any, capture: Any, executor: Any, *, rules: Any, max_steps: int, loop_limit: int
) -> Callable[[RunControl], Any]:
    """The dashboard's job for a live run: the agent loop, with the dashboard as its human."""
    from guiagent.agent.run.loop import AgentLoop

    def job(control: RunControl) -> Any:
        loop = AgentLoop(
            decider,
            lambda: control.on_capture(capture()),
            executor,
            control.human,
            rules=rules,
            max_steps=max_steps,
            loop_limit=loop_limit,
            stop=control.stop,
            on_event=control.on_event,
            gate=control.gate,
        )
        return loop.run()

    return job


def replay_job(
    trajectories: list[Any], make_decider: Any, *, metric: str | None = None, config: dict[str, Any] | None = None
) -> Callable[[RunControl], Any]:
    """The dashboard's job for a replay; each trajectory's decider gets the stop flag as its cancel flag."""
    from guiagent.agent.eval.replay import replay

    def job(control: RunControl) -> Any:
        def make(trajectory: Any) -> Any:
            decider = make_decider(trajectory)
            control.attach(getattr(decider, "session", None))
            if hasattr(decider, "cancel"):
                decider.cancel = control.stop  # q interrupts decoding, not only the next step
            return decider

        return replay(
            trajectories,
            make,
            metric=metric,
            config=config,
            on_step=control.on_scored,
            on_event=control.on_event,
            on_capture=control.on_capture,
            gate=control.gate,
            stop=control.stop,
        )

    return job


def live_in_dashboard(
    decider: Any,
    capture: Any,
    executor: Any,
    *,
    rules: Any,
    max_steps: int,
    loop_limit: int,
    stop: threading.Event,
    budget: str = "20",
    method: str = "starkv",
    recorder: Any = None,
    title: str = "guiagent run",
    context: Any = None,
) -> Any:
    """``guiagent run --tui``: the agent loop in the dashboard; returns its ``RunResult`` once the user leaves.

    Steps and setting changes are written to ``recorder`` (when recording) from the loop's thread.
    """
    from guiagent.agent.run.loop import RunResult
    from guiagent.ui.control import RunControl

    session = getattr(decider, "session", None)
    control = RunControl(
        session,
        budget=budget,
        method=method,
        methods=_methods(session is not None),
        stop=stop,
        recorder=recorder,
        total_steps=max_steps,
        context=context,
    )
    job = live_job(decider, capture, executor, rules=rules, max_steps=max_steps, loop_limit=loop_limit)
    result = open_dashboard(job, control, title=title)
    if result is None:  # closed before the loop returned: never report success by accident
        return RunResult("stopped", "the dashboard was closed", control.step)
    return result


def replay_in_dashboard(
    trajectories: list[Any],
    make_decider: Any,
    *,
    budget: str,
    method: str,
    metric: str | None = None,
    config: dict[str, Any] | None = None,
    scripted: bool = False,
    title: str = "guiagent replay",
    context: Any = None,
) -> Any:
    """``guiagent replay --tui``: the dry-run replay in the dashboard; returns its ``ReplaySummary``, which records
    the method and budget it started with and every change made in the dashboard, with its step."""
    from guiagent.agent.eval.replay import ReplaySummary
    from guiagent.ui.control import RunControl

    total = sum(len(t.steps) for t in trajectories)
    control = RunControl(
        budget=budget, method=method, total_steps=total, methods=_methods(not scripted), context=context
    )
    job = replay_job(trajectories, make_decider, metric=metric, config=config)
    summary = open_dashboard(job, control, title=title)
    summary = summary if summary is not None else ReplaySummary([], dict(config or {}, stopped=True))
    summary.config.update(control.report())
    return summary


def _methods(has_cache: bool) -> tuple[str, ...]:
    if not has_cache:
        return ()
    from guiagent.compression.presses import method_names  # a model run: torch is loaded already

    return method_names()
