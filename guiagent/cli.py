"""The ``guiagent`` command. Commands stay thin: they parse flags, call the library and print.

Known errors (``GuiAgentError``) print one sentence and a hint on stderr and exit 1; set GUIAGENT_DEBUG=1
for their traceback. Anything else is a bug and keeps its traceback. torch and transformers are imported
inside the commands that need them, so ``guiagent --help`` stays fast.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from guiagent import __version__
from guiagent.errors import GuiAgentError

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="Run a GUI agent with a local VLM and a small, rolling, compressed KV cache.",
)

ModelOpt = Annotated[
    str,
    typer.Option(
        "--model", "-m", help="Model spec: a name from 'guiagent models', a Hugging Face id or a local folder."
    ),
]
DeviceOpt = Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N.")]
DtypeOpt = Annotated[str, typer.Option(help="auto, bf16, fp16 or fp32.")]
AttnOpt = Annotated[str, typer.Option(help="auto, sdpa, eager or flash_attention_2.")]
FamilyOpt = Annotated[str | None, typer.Option(help="Policy: uitars or opencua (default: from the model).")]
DeviceMapOpt = Annotated[
    str | None,
    typer.Option(help="Split the model over GPUs / CPU / disk with accelerate: auto, balanced, sequential."),
]
MaxMemoryOpt = Annotated[
    str | None, typer.Option(help="With --device-map: memory per device, e.g. 0=20GiB,1=20GiB,cpu=64GiB.")
]
MethodOpt = Annotated[
    str, typer.Option("--method", help="KV compression: starkv, guikv, snapkv, pyramidkv, vlcache or full.")
]
BudgetOpt = Annotated[
    str, typer.Option("--budget", help="KV budget: percent (20), tokens per layer (4096t) or memory (512MiB).")
]
TrustOpt = Annotated[
    bool, typer.Option("--trust-remote-code", help="Allow checkpoints that ship their own Python code (OpenCUA).")
]
TuiOpt = Annotated[
    bool | None,
    typer.Option(
        "--tui/--no-tui",
        help="Show the dashboard (default: on in an interactive terminal; never when stdout is not one).",
        show_default=False,
    ),
]
ConfirmOpt = Annotated[
    str,
    typer.Option(help="Ask before: always (every action), risky (submits, system chords, Delete) or never."),
]
SafetyRulesOpt = Annotated[
    str | None,
    typer.Option(
        "--safety-rules",
        help="YAML file of extra deny / ask rules (default: ~/.config/guiagent/safety.yaml when it exists).",
    ),
]


def use_tui(flag: bool | None) -> bool:
    """--tui/--no-tui (the dashboard module is imported only when it is used)."""
    from guiagent.ui.launch import use_tui as decide

    return decide(flag)


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


@app.command()
def models() -> None:
    """List the known model specs and what each needs."""
    from guiagent.agent.model.loading import default_model, known_models

    default = default_model()
    for spec in known_models().values():
        marker = " (default)" if spec.name == default else ""
        typer.echo(
            f"{spec.name}{marker}\n  source: {spec.source}\n  family: {spec.family}\n"
            f"  about:  {spec.about}\n  needs:  {spec.needs}"
        )
    typer.echo(
        "\nAny Hugging Face id (owner/name) of a Qwen2.5-VL or OpenCUA checkpoint, or a local checkpoint "
        "folder, works too."
    )


@app.command()
def demo(
    model: ModelOpt = "tiny",
    steps: Annotated[int, typer.Option(min=1, help="Screenshots to feed (default: all 7).")] = 7,
    max_new_tokens: Annotated[int, typer.Option(min=1, help="Tokens decoded per step.")] = 16,
    method: MethodOpt = "starkv",
    budget: BudgetOpt = "20",
    device: DeviceOpt = "auto",
    dtype: DtypeOpt = "auto",
    attn: AttnOpt = "auto",
    trust_remote_code: TrustOpt = False,
) -> None:
    """Feed the bundled real trajectory's screenshots through one rolling KV session and print its cost."""
    from guiagent.agent.model.loading import load_model
    from guiagent.tools.demo import print_demo, rolling_demo

    typer.echo(f"Loading {model} ...", err=True)
    loaded = load_model(model, device=device, dtype=dtype, attn=attn, trust_remote_code=trust_remote_code)
    typer.echo(
        f"{loaded.spec}: {loaded.num_layers} layers, {loaded.num_kv_heads} KV heads, {loaded.device}, "
        f"{str(loaded.dtype).removeprefix('torch.')}, {loaded.attn}",
        err=True,
    )
    typer.echo(f"method {method}, budget {budget}", err=True)
    rows = rolling_demo(loaded, steps=steps, max_new_tokens=max_new_tokens, method=method, budget=budget)
    print_demo(rows, echo=typer.echo)


@app.command("compress-check")
def compress_check(
    methods: Annotated[str, typer.Option(help="Comma-separated methods (full keeps the whole cache).")] = (
        "full,starkv,guikv,snapkv,pyramidkv,vlcache"
    ),
    budget: BudgetOpt = "20",
    layer_size: Annotated[str, typer.Option(help="Screenshot size WxH for the 7B-shaped layer.")] = "1920x1080",
    screens: Annotated[int, typer.Option(min=2, help="Screenshots in the 7B-shaped layer's cache.")] = 5,
    skip_layer: Annotated[bool, typer.Option("--skip-layer", help="Only the tiny model (fast).")] = False,
) -> None:
    """Per method: tokens kept, memory held vs. a full cache, and compression time vs. attention time."""
    from guiagent.agent.model.loading import load_model
    from guiagent.agent.model.tiny import seven_b_config, synthetic_model
    from guiagent.compression.budget import Budget
    from guiagent.compression.presses import normalize_method
    from guiagent.errors import ConfigError
    from guiagent.tools.compress_check import check_layer, check_tiny, print_rows
    from guiagent.tools.demo import example_steps

    chosen = [normalize_method(m) for m in methods.split(",") if m.strip()]
    Budget.parse(budget)
    try:
        width, height = (int(v) for v in layer_size.lower().split("x"))
    except ValueError as error:
        raise ConfigError(f"Screenshot size '{layer_size}' is not WxH.", "Use e.g. 1920x1080.") from error
    from PIL import Image

    shots = [Image.open(path).convert("RGB") for path in example_steps()[1][:5]]
    typer.echo("Tiny model, rolling over the bundled trajectory (5 screenshots); the last step:", err=True)
    rows = print_rows(check_tiny(load_model("tiny"), chosen, budget, shots), echo=typer.echo)
    if not skip_layer:
        typer.echo(
            f"\nOne 7B-shaped layer (28 q / 4 KV heads, head_dim 128), {screens} screenshots of "
            f"{width}x{height}; building it (random weights) ...",
            err=True,
        )
        loaded = synthetic_model(seven_b_config(num_layers=1, intermediate_size=3584))
        rows += print_rows(check_layer(loaded, chosen, budget, (width, height), screens), echo=typer.echo)
    typer.echo("\nshare = compression time / attention-block time of the same step (same layers, same run).", err=True)


@app.command()
def run(
    task: Annotated[str, typer.Argument(help="What the agent should do, in plain words.")],
    model: ModelOpt = "ui-tars-1.5-7b",
    method: MethodOpt = "starkv",
    budget: BudgetOpt = "20",
    max_steps: Annotated[int, typer.Option(min=1, help="Stop after this many steps.")] = 15,
    confirm: ConfirmOpt = "risky",
    safety_rules: SafetyRulesOpt = None,
    monitor: Annotated[int, typer.Option(min=0, help="Monitor to capture and act on (mss numbering: 1 = first).")] = 1,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Capture and decide, but send no input at all.")] = False,
    layout: Annotated[str, typer.Option(help="rolling (reuse the cache) or rebuild (published re-prefill).")] = (
        "rolling"
    ),
    family: FamilyOpt = None,
    variant: Annotated[str, typer.Option(help="UI-TARS prompt: computer, mobile or grounding.")] = "computer",
    max_new_tokens: Annotated[int | None, typer.Option(min=1, help="Answer length cap per step.")] = None,
    retries: Annotated[int, typer.Option(min=0, help="Retries (sampled) for an unparsable answer.")] = 2,
    loop_limit: Annotated[
        int, typer.Option(min=0, help="Pause after this many identical actions on an unchanged screen (0: off).")
    ] = 3,
    stop_hotkey: Annotated[
        str, typer.Option(help="Global emergency-stop hotkey (X11): modifiers and one key, e.g. ctrl+alt+q.")
    ] = "ctrl+alt+q",
    no_stop_hotkey: Annotated[
        bool, typer.Option("--no-stop-hotkey", help="Run without a global hotkey (stop with Ctrl-C or the corner).")
    ] = False,
    record: Annotated[
        str | None,
        typer.Option(help="Trajectory folder to record to (default: a new folder under the user's data dir)."),
    ] = None,
    no_record: Annotated[bool, typer.Option("--no-record", help="Do not record the run.")] = False,
    device: DeviceOpt = "auto",
    dtype: DtypeOpt = "auto",
    attn: AttnOpt = "auto",
    device_map: DeviceMapOpt = None,
    max_memory: MaxMemoryOpt = None,
    trust_remote_code: TrustOpt = False,
    tui: TuiOpt = None,
) -> None:
    """Run the agent on this desktop until the task is done, a limit is reached, or you stop it."""
    from guiagent.agent.desktop.stop import EmergencyStop
    from guiagent.agent.run.console import ConsoleHuman, format_event
    from guiagent.agent.run.loop import AgentLoop
    from guiagent.agent.run.runner import RunOptions, build_decider, check_options
    from guiagent.agent.run.safety import load_rules

    rules = load_rules(confirm, safety_rules)  # a bad mode or rules file: one sentence, before any work
    stop = EmergencyStop(None if no_stop_hotkey else stop_hotkey)  # a bad hotkey name fails here, before any work
    options = RunOptions(
        task=task,
        model=model,
        method=method,
        budget=budget,
        layout=layout,
        family=family,
        variant=variant,
        max_new_tokens=max_new_tokens,
        retries=retries,
        device=device,
        dtype=dtype,
        attn=attn,
        trust_remote_code=trust_remote_code,
        device_map=device_map,
        max_memory=max_memory,
    )
    check_options(options)  # an empty task, unknown method or unusable budget: one sentence, scripted runs too
    if not no_record:
        from guiagent.agent.trajectory.recorder import check_record_folder, default_runs_folder

        check_record_folder(record or default_runs_folder())  # taken or unwritable: one sentence, before any work
    screen, executor = _desktop(monitor, dry_run, stop.event)
    with (
        stop,  # grabs the hotkey (or refuses the run) before the recorder or the model
        _recorder(None if no_record else record or "", options, monitor) as recorder,
    ):
        typer.echo(f"Loading {model} ...", err=True)
        decider, _ = build_decider(options, cancel=stop.event)
        mode = "dry run: no input is sent" if dry_run else "live"
        typer.echo(
            f"Running '{task}' ({mode}); stop: {stop.describe()}, or throw the mouse into a screen corner.", err=True
        )
        if recorder is not None:
            typer.echo(f"Recording to {recorder.folder}", err=True)

        if use_tui(tui):
            from guiagent.ui.launch import live_in_dashboard

            result = live_in_dashboard(
                decider,
                lambda: screen.capture(monitor),
                executor,
                rules=rules,
                max_steps=max_steps,
                loop_limit=loop_limit,
                stop=stop.event,
                budget=budget,
                method=method,
                recorder=recorder,
                title=f"run · {model} · {mode}",
            )
        else:

            def on_event(event) -> None:
                if recorder is not None:
                    recorder.record_event(event)
                typer.echo(format_event(event))

            loop = AgentLoop(
                decider,
                lambda: screen.capture(monitor),
                executor,
                ConsoleHuman(),
                rules=rules,
                max_steps=max_steps,
                loop_limit=loop_limit,
                stop=stop.event,
                on_event=on_event,
            )
            result = loop.run()
        if recorder is not None:
            recorder.note(result=result.status, message=result.message)
    reason = f" ({stop.reason})" if result.status == "stopped" and stop.reason else ""
    typer.echo(f"{result.status}{reason}: {result.message} after {result.steps} step(s)")
    raise typer.Exit(0 if result.status == "finished" else 4)


def _recorder(folder: str | None, options, monitor: int):
    """A Recorder for the run ("" = the default runs folder; None = recording off, a null context)."""
    import contextlib

    if folder is None:
        return contextlib.nullcontext()
    from guiagent.agent.desktop.capture import capture
    from guiagent.agent.trajectory.format import geometry_to_dict
    from guiagent.agent.trajectory.recorder import Recorder, default_runs_folder

    return Recorder(
        folder or default_runs_folder(),
        task=options.task,
        model=options.model,
        method=options.method,
        budget=options.budget,
        layout=options.layout,
        screen=geometry_to_dict(capture(monitor).geometry),
    )


def _desktop(monitor: int, dry_run: bool, stop=None):
    """The screen module and an executor (its long actions end early on ``stop``); a clear error without a display."""
    from guiagent.agent.desktop import capture as screen
    from guiagent.agent.desktop.executor import DryRunExecutor, PyAutoGuiExecutor

    screen.capture(monitor)  # fail early (ScreenError): no display, or no such monitor
    return screen, (DryRunExecutor() if dry_run else PyAutoGuiExecutor(stop=stop))


@app.command()
def act(
    response: Annotated[str, typer.Argument(help="One model answer, e.g. \"Action: click(start_box='(100,200)')\".")],
    family: Annotated[str, typer.Option(help="Grammar: uitars or opencua.")] = "uitars",
    monitor: Annotated[int, typer.Option(min=0, help="Monitor the answer refers to.")] = 1,
    screen_size: Annotated[
        str | None,
        typer.Option("--screen", help="WxH: parse for a screen of this size without capturing (implies --dry-run)."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the mapping and each action's safety decision, execute nothing.")
    ] = False,
    confirm: ConfirmOpt = "risky",
    safety_rules: SafetyRulesOpt = None,
    min_pixels: Annotated[int, typer.Option(help="The processor's min_pixels the model ran with.")] = 3136,
    max_pixels: Annotated[int, typer.Option(help="The processor's max_pixels the model ran with.")] = 12845056,
) -> None:
    """Parse one model answer against the screen, show where each action lands, and execute it (safety rules first)."""
    from guiagent.agent.actions import describe
    from guiagent.agent.policy.coords import ImageGrid, ScreenGeometry
    from guiagent.agent.run.console import ConsoleHuman
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
        screen, executor = _desktop(monitor, dry_run)
        geometry = screen.capture(monitor).geometry
    parsed = _parse_or_explain(make_policy(family, "debug a response", grid), response, geometry)
    model_w, model_h = geometry.model_size(grid)
    typer.echo(
        f"screen {geometry.logical_size[0]}x{geometry.logical_size[1]} at {geometry.origin} "
        f"(capture {geometry.image_size[0]}x{geometry.image_size[1]}, scale {geometry.scale:g}); "
        f"the model saw {model_w}x{model_h}"
    )
    if parsed.thought:
        typer.echo(f"thought: {parsed.thought}")
    live, line, stopped = executor is not None and not dry_run, "", ""
    for number, action in enumerate(parsed.actions, start=1):
        targets = [t for t in (getattr(action, name, None) for name in ("target", "start", "end")) if t is not None]
        mapping = "; ".join(
            f"model ({t.model[0]:g}, {t.model[1]:g}) -> screen {t.screen}" + (" [clamped]" if t.clamped else "")
            for t in targets
        )
        typer.echo(f"{number}. {describe(action)}" + (f"    [{mapping}]" if mapping else ""))
        if stopped:  # as in a run: nothing after a refused or declined action
            typer.echo(f"   skipped: {stopped}")
            continue
        verdict = rules.check(action, line)  # the same rules, and the same typed line, as `guiagent run`
        if not live:
            rule = f" [{verdict.rule}]" if verdict.decision == "refuse" else ""
            typer.echo(f"   decision: {verdict.decision}{rule}" + (f": {verdict.reason}" if verdict.reason else ""))
            stopped = "an earlier action was refused" if verdict.decision == "refuse" else ""
        elif verdict.decision == "refuse":
            typer.echo(f"   refused [{verdict.rule}]: {verdict.reason}")
            stopped = "an earlier action was refused"
        elif verdict.decision == "ask" and not ConsoleHuman().confirm(action, verdict.reason):
            typer.echo(f"   declined: {verdict.reason}")
            stopped = "an earlier action was declined"
        elif not _execute_or_explain(executor, action):
            continue
        line = rules.line_after(line, action) if not stopped else line
    if not live:
        typer.echo("(dry run: nothing executed)")


def _parse_or_explain(policy, response: str, geometry):
    from guiagent.agent.actions import ParseError
    from guiagent.errors import ConfigError

    try:
        return policy.parse(response, geometry)
    except ParseError as error:
        raise ConfigError(
            f"The answer cannot be parsed: {error.message} (at {error.text!r}); nothing was executed.",
            "Check the action grammar with --family.",
        ) from error


def _execute_or_explain(executor, action) -> bool:
    try:
        executor.execute(action)
    except ValueError as error:
        typer.echo(f"   not executed: {error}")
        return False
    return True


LayoutOpt = Annotated[str, typer.Option(help="rolling (reuse the cache) or rebuild (published re-prefill).")]
MetricOpt = Annotated[
    str | None,
    typer.Option(
        help="Scoring rule: agentnetbench (official, default), "
        "agentnetbench-papers, androidcontrol-strict, androidcontrol-lenient, "
        "grounding."
    ),
]
ImagesOpt = Annotated[str | None, typer.Option(help="Screenshot folder, when not where the layout puts it.")]
LimitOpt = Annotated[int | None, typer.Option(min=1, help="Only the first N trajectories.")]
ReplayTokensOpt = Annotated[int | None, typer.Option(min=1, help="Answer length cap per step.")]
ReplayRetriesOpt = Annotated[int, typer.Option(min=0, help="Retries for unparsable answers (benchmarks: 0).")]


def _replay_options(flags: dict, **overrides):
    """RunOptions for a replay from a command's flags (its ``locals()``), taken by field name."""
    from dataclasses import fields

    from guiagent.agent.run.runner import RunOptions

    names = {f.name for f in fields(RunOptions)}
    return RunOptions(**{"task": "replay", **{k: v for k, v in flags.items() if k in names}, **overrides})


def _trajectories(source: str, images: str | None, limit: int | None, *, quiet: bool = False):
    from guiagent.agent.eval.sources import load_source

    trajectories = load_source(source, images=images, limit=limit)
    if quiet:  # another rank says it
        return trajectories
    for trajectory in trajectories:
        for warning in trajectory.warnings:
            typer.echo(f"Warning: {warning}", err=True)
    steps = sum(len(t.steps) for t in trajectories)
    typer.echo(f"{len(trajectories)} trajectorie(s), {steps} step(s) from {source}", err=True)
    return trajectories


@app.command()
def replay(
    source: Annotated[str, typer.Argument(help="A trajectory folder, a benchmark folder, or 'bundled'.")],
    model: ModelOpt = "ui-tars-1.5-7b",
    method: MethodOpt = "starkv",
    budget: BudgetOpt = "20",
    layout: LayoutOpt = "rolling",
    metric: MetricOpt = None,
    report: Annotated[str, typer.Option(help="Report folder (steps.jsonl, summary.json).")] = "replay-report",
    family: FamilyOpt = None,
    max_new_tokens: ReplayTokensOpt = None,
    retries: ReplayRetriesOpt = 0,
    images: ImagesOpt = None,
    limit: LimitOpt = None,
    device: DeviceOpt = "auto",
    dtype: DtypeOpt = "auto",
    attn: AttnOpt = "auto",
    device_map: DeviceMapOpt = None,
    max_memory: MaxMemoryOpt = None,
    trust_remote_code: TrustOpt = False,
    tui: TuiOpt = None,
) -> None:
    """Replay recorded screenshots through the model in dry run (no input at all) and score every step."""
    import json
    from pathlib import Path

    from guiagent.agent.eval.replay import replay as run_replay
    from guiagent.agent.eval.replay import write_report
    from guiagent.agent.run.runner import replay_deciders
    from guiagent.paths import check_writable

    check_writable(report, "The report folder (--report)")  # before anything is loaded
    trajectories = _trajectories(source, images, limit)
    options = _replay_options(locals())
    make_decider, set_cell = replay_deciders(options)
    set_cell(method, budget)
    config = {"model": model, "method": method, "budget": budget, "layout": layout, "source": source}
    if use_tui(tui):
        from guiagent.agent.run.runner import SCRIPTED
        from guiagent.ui.launch import replay_in_dashboard

        summary = replay_in_dashboard(
            trajectories,
            make_decider,
            budget=budget,
            method=method,
            metric=metric,
            config=config,
            scripted=model.startswith(SCRIPTED),
            title=f"replay · {source} · {model}",
        )
    else:
        summary = run_replay(
            trajectories,
            make_decider,
            metric=metric,
            on_step=lambda r: typer.echo(
                f"{r.trajectory} step {r.step}: score {r.score:.3f}" + (" (unparsable)" if r.parse_errors else ""),
                err=True,
            ),
            config=config,
        )
    out = write_report(summary, Path(report))
    typer.echo(json.dumps({k: v for k, v in summary.as_dict().items() if k != "trajectories"}, indent=2, default=str))
    typer.echo(f"Report: {out / 'steps.jsonl'}, {out / 'summary.json'}", err=True)


SCALE = "Scale-out (torchrun)"


@app.command("eval")
def evaluate(
    context: typer.Context,
    source: Annotated[
        str | None, typer.Argument(help="A trajectory folder, a benchmark folder, or 'bundled'.", show_default=False)
    ] = None,
    methods: Annotated[str, typer.Option(help="Comma-separated methods.")] = "full,snapkv,guikv,starkv",
    budgets: Annotated[str, typer.Option(help="Comma-separated budgets (percent, 4096t or 512MiB).")] = "10,20,40",
    model: ModelOpt = "ui-tars-1.5-7b",
    out: Annotated[
        str, typer.Option(help="Output folder: table, CSV, JSON, plot, and the finished units (resumable).")
    ] = "eval-results",
    layout: LayoutOpt = "rolling",
    metric: MetricOpt = None,
    family: FamilyOpt = None,
    max_new_tokens: ReplayTokensOpt = None,
    retries: ReplayRetriesOpt = 0,
    images: ImagesOpt = None,
    limit: LimitOpt = None,
    device: DeviceOpt = "auto",
    dtype: DtypeOpt = "auto",
    attn: AttnOpt = "auto",
    device_map: DeviceMapOpt = None,
    max_memory: MaxMemoryOpt = None,
    trust_remote_code: TrustOpt = False,
    fresh: Annotated[
        bool, typer.Option("--fresh", help="Recompute every unit, even those already finished in --out.")
    ] = False,
    merge: Annotated[
        str | None,
        typer.Option(
            help="Only merge the finished units in this folder into the table (no model, no SOURCE).",
            show_default=False,
        ),
    ] = None,
    launcher: Annotated[
        str, typer.Option(help="none, or torchrun: shard the grid over --nproc-per-node ranks.", rich_help_panel=SCALE)
    ] = "none",
    nproc_per_node: Annotated[
        int | None,
        typer.Option(min=1, help="Ranks on this node (default: one per GPU, else 1).", rich_help_panel=SCALE),
    ] = None,
    nnodes: Annotated[str, typer.Option(help="Nodes (N or MIN:MAX).", rich_help_panel=SCALE)] = "1",
    rdzv_endpoint: Annotated[
        str | None, typer.Option(help="HOST:PORT every node reaches (multi-node).", rich_help_panel=SCALE)
    ] = None,
    rdzv_id: Annotated[str, typer.Option(help="Job id shared by the nodes.", rich_help_panel=SCALE)] = "guiagent-eval",
    max_restarts: Annotated[
        int, typer.Option(min=0, help="torchrun restarts after a failure (each resumes).", rich_help_panel=SCALE)
    ] = 0,
) -> None:
    """Replay a grid of methods x budgets and write accuracy, KV memory and latency as a table and a plot.

    Resumable: units (trajectory x method x budget) finished in --out are skipped. Under torchrun (or with
    --launcher torchrun) the units are split across ranks and rank 0 writes the same table as one process.
    """
    import sys
    from pathlib import Path

    from guiagent.agent.eval.distributed import Launch, Ranks, launch_torchrun, rebuilt_command
    from guiagent.agent.eval.grid import GridPlan, run_grid
    from guiagent.agent.eval.grid import merge as merge_units
    from guiagent.agent.eval.report import grid_cells, write_results
    from guiagent.agent.run.runner import replay_deciders
    from guiagent.errors import ConfigError
    from guiagent.paths import check_writable

    if merge is not None:
        if source is not None:
            raise ConfigError("--merge takes no SOURCE: it only merges what is in its folder.", "Drop SOURCE.")
        plan = GridPlan.load(Path(merge))
        _print_results(write_results(merge_units(Path(merge), plan), Path(merge), plan.title))
        return
    if source is None:
        raise ConfigError("guiagent eval needs a SOURCE (or --merge OUT).", "Pass 'bundled' to try it.")
    check_writable(out, "The output folder (--out)")  # before anything is loaded
    ranks = Ranks.from_env()
    if launcher not in ("none", "torchrun"):
        raise ConfigError(f"Unknown launcher '{launcher}'.", "Use none or torchrun.")
    if device_map is not None and ranks.local_world > 1:
        raise ConfigError(
            f"--device-map splits one model over this node's GPUs, but {ranks.local_world} ranks run on this node.",
            "Use one rank per node (--nproc-per-node 1) with --device-map.",
        )
    cells = grid_cells([m for m in methods.split(",") if m.strip()], [b for b in budgets.split(",") if b.strip()])
    trajectories = _trajectories(source, images, limit, quiet=ranks.rank != 0)
    if launcher == "torchrun" and not ranks.launched:
        from guiagent.agent.model.loading import resolve_folder
        from guiagent.agent.run.runner import SCRIPTED

        if not model.startswith(SCRIPTED):
            resolve_folder(model)  # a bad spec fails here once; a Hub id downloads once, not once per rank
        skip = {"launcher", "nproc_per_node", "nnodes", "rdzv_endpoint", "rdzv_id", "max_restarts"}
        launch = Launch(nproc_per_node, nnodes, rdzv_endpoint, rdzv_id, max_restarts)
        typer.echo(f"torchrun: {launch.processes()} rank(s) per node, {nnodes} node(s).", err=True)
        launch_torchrun(launch, rebuilt_command(context, skip))
        return
    plan = GridPlan.build(
        cells,
        trajectories,
        identity={
            "model": model,
            "layout": layout,
            "metric": metric,
            "family": family,
            "max_new_tokens": max_new_tokens,
            "retries": retries,
            "dtype": dtype,
        },
        config={"model": model, "layout": layout, "source": source},
        title=f"{model} on {source} ({layout} layout)",
    )
    options = _replay_options(locals(), method="full", budget="100", device=ranks.device(device))
    interactive = sys.stderr.isatty() and ranks.world == 1
    prefix = f"[{ranks.label}] " if ranks.label else ""

    def progress(text: str) -> None:
        typer.echo(f"\r{text:<100}" if interactive else prefix + text, err=True, nl=not interactive)

    rows = run_grid(
        plan,
        trajectories,
        lambda: replay_deciders(options),
        out=Path(out),
        ranks=ranks,
        fresh=fresh,
        progress=progress,
    )
    if interactive:
        typer.echo("", err=True)
    if rows is not None:
        _print_results(write_results(rows, Path(out), plan.title))


def _print_results(files: list) -> None:
    typer.echo(files[0].read_text())
    typer.echo("Wrote " + ", ".join(str(f) for f in files), err=True)


@app.command("demo-app")
def demo_app(
    events: Annotated[str | None, typer.Option(help="Append each state change to this file as a JSON line.")] = None,
    geometry: Annotated[str, typer.Option(help="Window position, Tk style (+X+Y).")] = "+0+0",
) -> None:
    """The bundled demo desktop app (a Settings dialog with a dark-mode toggle) for tests and demos."""
    from pathlib import Path

    from guiagent.agent.desktop.demo_app import run_demo_app

    run_demo_app(Path(events) if events else None, geometry=geometry)


@app.command()
def bench(
    preset: Annotated[
        str,
        typer.Option(
            help="tiny (offline tiny model) or 7b-shaped (UI-TARS-1.5-7B widths, random weights, 1080p screenshots)."
        ),
    ] = "tiny",
    steps: Annotated[int | None, typer.Option(min=1, help="Steps (screenshots) per run.")] = None,
    decode_tokens: Annotated[int | None, typer.Option(min=1, help="Tokens decoded per step.")] = None,
    methods: Annotated[str | None, typer.Option(help="Comma-separated methods besides the full cache.")] = None,
    budgets: Annotated[str | None, typer.Option(help="Comma-separated budgets.")] = None,
    layers: Annotated[
        int | None, typer.Option(min=1, help="7b-shaped: decoder layers (default 1 on CPU, 28 on CUDA).")
    ] = None,
    json_file: Annotated[str | None, typer.Option("--json", help="Write the full report as JSON here.")] = None,
    out: Annotated[str, typer.Option(help="Folder for bench.md and the plots.")] = "bench-results",
    device: DeviceOpt = "auto",
    dtype: DtypeOpt = "auto",
) -> None:
    """Step latency, peak memory, cache bytes and FLOPs as history grows: rolling vs. re-prefill, per method."""
    import json
    import sys
    from pathlib import Path

    from guiagent.agent.model.loading import choose_device
    from guiagent.compression.budget import Budget
    from guiagent.compression.presses import normalize_method
    from guiagent.errors import ConfigError
    from guiagent.tools.bench import GPU_7B, PRESETS, markdown, plot, run_bench

    if preset not in PRESETS:
        raise ConfigError(f"Unknown preset '{preset}'.", f"Use one of {', '.join(PRESETS)}.")
    chosen = PRESETS[preset]
    on_gpu = preset == "7b-shaped" and choose_device(device).type == "cuda"
    defaults = GPU_7B if on_gpu else {}
    method_list = (
        tuple(normalize_method(m) for m in methods.split(",")) if methods else defaults.get("methods", chosen.methods)
    )
    budget_list = tuple(b for b in budgets.split(",")) if budgets else chosen.budgets
    for budget in budget_list:
        Budget.parse(budget)
    interactive = sys.stderr.isatty()
    report = run_bench(
        chosen,
        steps=steps or defaults.get("steps", chosen.steps),
        decode_tokens=decode_tokens or defaults.get("decode_tokens", chosen.decode_tokens),
        methods=tuple(m for m in method_list if m != "full"),
        budgets=budget_list,
        layers=layers or defaults.get("layers"),
        device=device,
        dtype=dtype,
        progress=lambda text: typer.echo(f"\r{text:<70}" if interactive else text, err=True, nl=not interactive),
    )
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    table = markdown(report)
    (folder / "bench.md").write_text(table)
    plot(report, folder / "bench.png")
    if json_file:
        Path(json_file).write_text(json.dumps(report, indent=2) + "\n")
    typer.echo(("\n" if interactive else "") + table)
    typer.echo(
        f"Wrote {folder / 'bench.md'}, {folder / 'bench.png'}" + (f", {json_file}" if json_file else ""), err=True
    )


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


if __name__ == "__main__":
    main()
