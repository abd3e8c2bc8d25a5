"""The live agent on this desktop: ``guiagent run``, ``guiagent act`` (one answer) and ``guiagent demo-app``.

Everything a run could refuse (the safety rules, the stop hotkey, the task, method and budget, the record folder,
the display) is checked before the model is loaded, in that order, each as one sentence.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import typer

from guiagent.cli.options import (
    DEFAULT_FLAGS,
    BudgetOpt,
    ConfigOpt,
    ConfirmOpt,
    FamilyOpt,
    HistoryImagesOpt,
    LayoutOpt,
    MethodOpt,
    ModelFlags,
    ModelOpt,
    ObserversOpt,
    ReplayTokensOpt,
    SafetyRulesOpt,
    SetOpt,
    TuiOpt,
    method_settings,
    model_flags,
    use_tui,
)

TaskArg = Annotated[str, typer.Argument(metavar="TASK", help="What the agent should do, in plain words.")]
MaxStepsOpt = Annotated[int, typer.Option(min=1, metavar="N", help="Stop after this many steps.")]
MonitorOpt = Annotated[
    int, typer.Option(min=0, metavar="N", help="Monitor to capture and act on (mss numbering: 1 = first).")
]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", metavar="", help="Capture and decide, but send no input at all.")]
VariantOpt = Annotated[Literal["computer", "mobile", "grounding"], typer.Option(help="UI-TARS prompt.")]
MaxTokensOpt = ReplayTokensOpt
RetriesOpt = Annotated[int, typer.Option(min=0, metavar="N", help="Retries (sampled) for an unparsable answer.")]
LoopLimitOpt = Annotated[
    int,
    typer.Option(min=0, metavar="N", help="Pause after this many identical actions on an unchanged screen (0: off)."),
]
StopHotkeyOpt = Annotated[
    str,
    typer.Option(metavar="KEYS", help="Global emergency-stop hotkey (X11): modifiers and one key, e.g. ctrl+alt+q."),
]
NoStopHotkeyOpt = Annotated[
    bool,
    typer.Option("--no-stop-hotkey", metavar="", help="Run without a global hotkey (stop with Ctrl-C or the corner)."),
]
RecordOpt = Annotated[
    str | None,
    typer.Option(
        metavar="DIR", help="Trajectory folder to record to.", show_default="a new folder under the user's data dir"
    ),
]
NoRecordOpt = Annotated[bool, typer.Option("--no-record", metavar="", help="Do not record the run.")]


@model_flags()
def run(
    task: TaskArg,
    model: ModelOpt = "ui-tars-1.5-7b",
    method: MethodOpt = "starkv",
    budget: BudgetOpt = "20",
    max_steps: MaxStepsOpt = 15,
    confirm: ConfirmOpt = "risky",
    safety_rules: SafetyRulesOpt = None,
    monitor: MonitorOpt = 1,
    dry_run: DryRunOpt = False,
    layout: LayoutOpt = "rolling",
    history_images: HistoryImagesOpt = "5",
    observers: ObserversOpt = "tail",
    config_file: ConfigOpt = None,
    sets: SetOpt = None,
    family: FamilyOpt = None,
    variant: VariantOpt = "computer",
    max_new_tokens: MaxTokensOpt = None,
    retries: RetriesOpt = 2,
    loop_limit: LoopLimitOpt = 3,
    stop_hotkey: StopHotkeyOpt = "ctrl+alt+q",
    no_stop_hotkey: NoStopHotkeyOpt = False,
    record: RecordOpt = None,
    no_record: NoRecordOpt = False,
    flags: ModelFlags = DEFAULT_FLAGS,
    tui: TuiOpt = None,
) -> None:
    """Run the agent on this desktop until the task is done, a limit is reached, or you stop it."""
    from guiagent.agent.desktop.stop import EmergencyStop
    from guiagent.agent.run.live import check_record, open_desktop
    from guiagent.agent.run.runner import check_options
    from guiagent.agent.run.safety import load_rules
    from guiagent.compression.context import RollingContext

    _require_extras(tui)  # an evaluation node without the desktop stack: one sentence naming the extra
    rules = load_rules(confirm, safety_rules)  # a bad mode or rules file: one sentence, before any work
    stop = EmergencyStop(None if no_stop_hotkey else stop_hotkey)  # a bad hotkey name fails here, before any work
    rolling = RollingContext.parse(history_images, observers, method_settings(config_file, sets)[0])
    options = flags.run_options(
        task,
        model=model,
        method=method,
        budget=budget,
        layout=layout,
        **rolling.as_fields(),
        family=family,
        variant=variant,
        max_new_tokens=max_new_tokens,
        retries=retries,
    )
    check_options(options)  # an empty task, unknown method or unusable budget: one sentence, scripted runs too
    folder = None if no_record else record or ""  # "": the default runs folder
    folder = check_record(folder)  # taken or unwritable: one sentence, before any work
    screen, executor = open_desktop(monitor, dry_run, stop.event)
    with stop:  # grabs the hotkey (or refuses the run) before the recorder or the model
        result = _live(options, rules, stop, screen, executor, folder, monitor, dry_run, max_steps, loop_limit, tui)
    reason = f" ({stop.reason})" if result.status == "stopped" and stop.reason else ""
    typer.echo(f"{result.status}{reason}: {result.message} after {result.steps} step(s)")
    raise typer.Exit(0 if result.status == "finished" else 4)


def _require_extras(tui: bool | None) -> None:
    from guiagent.extras import require

    require("desktop", "guiagent run")
    if tui:
        require("tui", "The dashboard (--tui)")


def _live(
    options: Any,
    rules: Any,
    stop: Any,
    screen: Any,
    executor: Any,
    folder: str | None,
    monitor: int,
    dry_run: bool,
    max_steps: int,
    loop_limit: int,
    tui: bool | None,
) -> Any:
    """Open the recorder, load the model and drive the loop, in the dashboard or on the console."""
    from guiagent.agent.run.live import open_recorder
    from guiagent.agent.run.runner import build_decider

    with open_recorder(folder, options, monitor) as recorder:
        typer.echo(f"Loading {options.model} ...", err=True)
        decider, _ = build_decider(options, cancel=stop.event)
        mode = "dry run: no input is sent" if dry_run else "live"
        typer.echo(
            f"Running '{options.task}' ({mode}); stop: {stop.describe()}, or throw the mouse into a screen corner.",
            err=True,
        )
        if recorder is not None:
            typer.echo(f"Recording to {recorder.folder}", err=True)

        def capture() -> Any:
            return screen.capture(monitor)

        if use_tui(tui):
            from guiagent.ui.launch import live_in_dashboard

            result = live_in_dashboard(
                decider,
                capture,
                executor,
                rules=rules,
                max_steps=max_steps,
                loop_limit=loop_limit,
                stop=stop.event,
                budget=options.budget,
                method=options.method,
                recorder=recorder,
                title=f"run · {options.model} · {mode}",
                context=options.context,
            )
        else:
            result = _on_console(decider, capture, executor, recorder, rules, max_steps, loop_limit, stop.event)
        if recorder is not None:
            recorder.note(result=result.status, message=result.message)
    return result


def _on_console(
    decider: Any, capture: Any, executor: Any, recorder: Any, rules: Any, max_steps: int, loop_limit: int, stop: Any
) -> Any:
    """The agent loop with one printed block per step (recorded too, when recording) and y/n questions."""
    from guiagent.agent.run.console import ConsoleHuman, format_event
    from guiagent.agent.run.loop import AgentLoop

    def on_event(event) -> None:
        if recorder is not None:
            recorder.record_event(event)
        typer.echo(format_event(event))

    loop = AgentLoop(
        decider,
        capture,
        executor,
        ConsoleHuman(),
        rules=rules,
        max_steps=max_steps,
        loop_limit=loop_limit,
        stop=stop,
        on_event=on_event,
    )
    return loop.run()


ResponseArg = Annotated[
    str, typer.Argument(metavar="ANSWER", help="One model answer, e.g. \"Action: click(start_box='(100,200)')\".")
]
GrammarOpt = Annotated[Literal["uitars", "opencua"], typer.Option(help="Answer grammar.")]
AnswerMonitorOpt = Annotated[int, typer.Option(min=0, metavar="N", help="Monitor the answer refers to.")]
ScreenOpt = Annotated[
    str | None,
    typer.Option(
        "--screen", metavar="WxH", help="WxH: parse for a screen of this size without capturing (implies --dry-run)."
    ),
]
ActDryRunOpt = Annotated[
    bool,
    typer.Option("--dry-run", metavar="", help="Print the mapping and each action's safety decision, execute nothing."),
]
MinPixelsOpt = Annotated[int, typer.Option(metavar="PIXELS", help="The processor's min_pixels the model ran with.")]
MaxPixelsOpt = Annotated[int, typer.Option(metavar="PIXELS", help="The processor's max_pixels the model ran with.")]


def act(
    response: ResponseArg,
    family: GrammarOpt = "uitars",
    monitor: AnswerMonitorOpt = 1,
    screen_size: ScreenOpt = None,
    dry_run: ActDryRunOpt = False,
    confirm: ConfirmOpt = "risky",
    safety_rules: SafetyRulesOpt = None,
    min_pixels: MinPixelsOpt = 3136,
    max_pixels: MaxPixelsOpt = 12845056,
) -> None:
    """Parse one model answer against the screen, show where each action lands, and execute it (safety rules first)."""
    from guiagent.agent.policy.coords import ImageGrid, ScreenGeometry
    from guiagent.agent.run.act import act_on, parse_answer
    from guiagent.agent.run.live import open_desktop
    from guiagent.agent.run.runner import make_policy
    from guiagent.agent.run.safety import load_rules
    from guiagent.errors import ConfigError

    rules = load_rules(confirm, safety_rules)
    grid = ImageGrid(min_pixels=min_pixels, max_pixels=max_pixels)
    if screen_size:
        try:
            width, height = (int(v) for v in screen_size.lower().split("x"))
        except ValueError as error:
            raise ConfigError(f"Screen size '{screen_size}' is not WxH.", "Use e.g. --screen 1920x1080.") from error
        geometry, executor = ScreenGeometry((0, 0), (width, height), (width, height)), None
    else:
        screen, executor = open_desktop(monitor, dry_run)
        geometry = screen.capture(monitor).geometry
    parsed = parse_answer(make_policy(family, "debug a response", grid), response, geometry)
    model_w, model_h = geometry.model_size(grid)
    typer.echo(
        f"screen {geometry.logical_size[0]}x{geometry.logical_size[1]} at {geometry.origin} "
        f"(capture {geometry.image_size[0]}x{geometry.image_size[1]}, scale {geometry.scale:g}); "
        f"the model saw {model_w}x{model_h}"
    )
    if parsed.thought:
        typer.echo(f"thought: {parsed.thought}")
    act_on(parsed.actions, rules, executor, live=executor is not None and not dry_run, echo=typer.echo)


EventsOpt = Annotated[
    str | None, typer.Option(metavar="FILE", help="Append each state change to this file as a JSON line.")
]
GeometryOpt = Annotated[str, typer.Option(metavar="+X+Y", help="Window position, Tk style (+X+Y).")]


def demo_app(events: EventsOpt = None, geometry: GeometryOpt = "+0+0") -> None:
    """The bundled demo desktop app (a Settings dialog with a dark-mode toggle) for tests and demos."""
    from pathlib import Path

    from guiagent.agent.desktop.demo_app import run_demo_app

    run_demo_app(Path(events) if events else None, geometry=geometry)
