"""``guiagent replay``: recorded screenshots through the model in dry run, every step scored, a report written."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from guiagent.cli.options import (
    DEFAULT_FLAGS,
    BudgetOpt,
    FamilyOpt,
    ImagesOpt,
    LayoutOpt,
    LimitOpt,
    MethodOpt,
    MetricOpt,
    ModelFlags,
    ModelOpt,
    ReplayRetriesOpt,
    ReplayTokensOpt,
    TuiOpt,
    model_flags,
    use_tui,
)

SourceArg = Annotated[str, typer.Argument(help="A trajectory folder, a benchmark folder, or 'bundled'.")]
ReportOpt = Annotated[str, typer.Option(help="Report folder (steps.jsonl, summary.json).")]


@model_flags()
def replay(
    source: SourceArg,
    model: ModelOpt = "ui-tars-1.5-7b",
    method: MethodOpt = "starkv",
    budget: BudgetOpt = "20",
    layout: LayoutOpt = "rolling",
    metric: MetricOpt = None,
    report: ReportOpt = "replay-report",
    family: FamilyOpt = None,
    max_new_tokens: ReplayTokensOpt = None,
    retries: ReplayRetriesOpt = 0,
    images: ImagesOpt = None,
    limit: LimitOpt = None,
    flags: ModelFlags = DEFAULT_FLAGS,
    tui: TuiOpt = None,
) -> None:
    """Replay recorded screenshots through the model in dry run (no input at all) and score every step."""
    import json
    from pathlib import Path

    from guiagent.agent.eval.replay import write_report
    from guiagent.agent.run.runner import replay_deciders
    from guiagent.paths import check_writable

    check_writable(report, "The report folder (--report)")  # before anything is loaded
    trajectories = load_trajectories(source, images, limit)
    options = flags.run_options(
        "replay",
        model=model,
        method=method,
        budget=budget,
        layout=layout,
        family=family,
        max_new_tokens=max_new_tokens,
        retries=retries,
    )
    make_decider, set_cell = replay_deciders(options)
    set_cell(method, budget)
    config = {"model": model, "method": method, "budget": budget, "layout": layout, "source": source}
    summary = _summary(trajectories, make_decider, config, metric, tui)
    out = write_report(summary, Path(report))
    typer.echo(json.dumps({k: v for k, v in summary.as_dict().items() if k != "trajectories"}, indent=2, default=str))
    typer.echo(f"Report: {out / 'steps.jsonl'}, {out / 'summary.json'}", err=True)


def _summary(trajectories: list, make_decider: Any, config: dict[str, Any], metric: str | None, tui: bool | None):
    """Replay every trajectory, in the dashboard or with one line per scored step; returns the summary."""
    from guiagent.agent.eval.replay import replay as run_replay

    model, source = config["model"], config["source"]
    if use_tui(tui):
        from guiagent.agent.run.runner import SCRIPTED
        from guiagent.ui.launch import replay_in_dashboard

        return replay_in_dashboard(
            trajectories,
            make_decider,
            budget=config["budget"],
            method=config["method"],
            metric=metric,
            config=config,
            scripted=model.startswith(SCRIPTED),
            title=f"replay · {source} · {model}",
        )
    return run_replay(
        trajectories,
        make_decider,
        metric=metric,
        on_step=lambda r: typer.echo(
            f"{r.trajectory} step {r.step}: score {r.score:.3f}" + (" (unparsable)" if r.parse_errors else ""),
            err=True,
        ),
        config=config,
    )


def load_trajectories(source: str, images: str | None, limit: int | None, *, quiet: bool = False) -> list:
    """The trajectories of ``source``, with their warnings and a count on stderr (unless ``quiet``)."""
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
