"""``guiagent replay``: recorded screenshots through the model in dry run, every step scored, a report written."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from guiagent.cli.options import (
    DEFAULT_FLAGS,
    BudgetOpt,
    ConfigOpt,
    FamilyOpt,
    HistoryImagesOpt,
    ImagesOpt,
    LayoutOpt,
    LimitOpt,
    MethodOpt,
    MetricOpt,
    ModelFlags,
    ModelOpt,
    ObserversOpt,
    ProtocolOpt,
    ReplayRetriesOpt,
    ReplayTokensOpt,
    SetOpt,
    TuiOpt,
    method_settings,
    model_flags,
    use_tui,
)

SourceArg = Annotated[
    str, typer.Argument(metavar="SOURCE", help="A trajectory folder, a benchmark folder, or 'bundled'.")
]
ReportOpt = Annotated[str, typer.Option(metavar="DIR", help="Report folder (steps.jsonl, summary.json).")]
HtmlOpt = Annotated[
    bool, typer.Option("--html", metavar="", help="Also write DIR/report.html (what 'guiagent report' writes).")
]


@model_flags()
def replay(
    source: SourceArg,
    model: ModelOpt = "ui-tars-1.5-7b",
    method: MethodOpt = "starkv",
    budget: BudgetOpt = "20",
    layout: LayoutOpt = "rolling",
    protocol: ProtocolOpt = "native",
    history_images: HistoryImagesOpt = "5",
    observers: ObserversOpt = "tail",
    config_file: ConfigOpt = None,
    sets: SetOpt = None,
    metric: MetricOpt = None,
    report: ReportOpt = "replay-report",
    family: FamilyOpt = None,
    max_new_tokens: ReplayTokensOpt = None,
    retries: ReplayRetriesOpt = 0,
    images: ImagesOpt = None,
    limit: LimitOpt = None,
    flags: ModelFlags = DEFAULT_FLAGS,
    tui: TuiOpt = None,
    html: HtmlOpt = False,
) -> None:
    """Replay recorded screenshots through the model in dry run (no input at all) and score every step."""
    import json
    from pathlib import Path

    from guiagent.agent.eval.replay import write_report
    from guiagent.agent.run.runner import replay_deciders
    from guiagent.extras import versions
    from guiagent.tools.replay_html import write_html

    settings = method_settings(config_file, sets)[0]
    rolling = _checked(report, protocol, metric, tui, history_images, observers, settings)  # before any load
    trajectories = load_trajectories(source, images, limit)
    options = flags.run_options(
        "replay",
        model=model,
        method=method,
        budget=budget,
        layout=layout,
        protocol=protocol,
        **rolling.as_fields(),
        family=family,
        max_new_tokens=max_new_tokens,
        retries=retries,
    )
    make_decider, set_cell = replay_deciders(options)
    set_cell(method, budget)
    config = {"model": model, "method": method, "budget": budget, "source": source, **protocol_config(protocol, layout)}
    config.update(_rolling_config(protocol, layout, rolling), settings=_settings_config(protocol, rolling, method))
    config["versions"] = versions()
    summary = _summary(trajectories, make_decider, config, metric, tui, options.context)
    out = write_report(summary, Path(report))
    typer.echo(json.dumps({k: v for k, v in summary.as_dict().items() if k != "trajectories"}, indent=2, default=str))
    typer.echo(f"Report: {out / 'steps.jsonl'}, {out / 'summary.json'}", err=True)
    if html:
        typer.echo(f"HTML report: {write_html(out)}", err=True)


def _checked(
    report: str, protocol: str, metric: str | None, tui: bool | None, history: str, observers: str, settings: Any
) -> Any:
    """Everything a replay can refuse without a model: the report folder, protocol and metric, the tui extra,
    the rolling context; returns the context (with the method ``settings``)."""
    from guiagent.compression.context import RollingContext
    from guiagent.extras import require
    from guiagent.paths import check_writable

    check_writable(report, "The report folder (--report)")
    check_protocol_options(protocol, metric)
    if tui:
        require("tui", "The dashboard (--tui)")
    return RollingContext.parse(history, observers, settings)


def _rolling_config(protocol: str, layout: str, rolling: Any) -> dict[str, Any]:
    """What the report says of the rolling context (a harness rebuilds its own prompt: none there)."""
    if protocol != "native" or layout != "rolling":
        return {}
    return {"history_images": rolling.history_images or "all", "observers": rolling.observers}


def _settings_config(protocol: str, rolling: Any, method: str) -> dict[str, Any]:
    """What the report says of the method settings: resolved (a harness's press has its own, so only the
    overrides are known before a trajectory picks its driver)."""
    return rolling.report(method) if protocol == "native" else {"overrides": rolling.settings.as_dict()}


def check_protocol_options(protocol: str, metric: str | None) -> None:
    """A harness's protocol brings its own scorer: refuse a --metric that it would silently override."""
    from guiagent.errors import ConfigError

    if protocol != "native" and metric is not None:
        raise ConfigError(
            f"--metric {metric} cannot be combined with --protocol {protocol}: the harness scores with its own rule.",
            "Drop --metric, or use --protocol native.",
        )


def protocol_config(protocol: str, layout: str) -> dict[str, str]:
    """What the report says about the protocol: a harness always rebuilds its prompt and cache every step."""
    if protocol == "native":
        return {"protocol": protocol, "layout": layout}
    return {"protocol": protocol, "layout": "rebuild", "metric": f"the {protocol} harness's"}


def _summary(
    trajectories: list, make_decider: Any, config: dict[str, Any], metric: str | None, tui: bool | None, context: Any
) -> Any:
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
            context=context,
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
