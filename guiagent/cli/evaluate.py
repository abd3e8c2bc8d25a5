"""``guiagent eval``: a grid of methods x budgets replayed and written as a table and a plot, resumable, shardable.

Every check that needs no model (the SOURCE, --out, the launcher, the trajectories) runs first and once, before
torchrun starts any rank.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from guiagent.cli.options import (
    DEFAULT_FLAGS,
    ConfigOpt,
    FamilyOpt,
    ImagesOpt,
    LayoutOpt,
    LimitOpt,
    MetricOpt,
    ModelFlags,
    ModelOpt,
    ProtocolOpt,
    ReplayRetriesOpt,
    ReplayTokensOpt,
    check_sets,
    method_settings,
    model_flags,
)

SCALE = "Scale-out (torchrun)"
# The launcher's own flags: the ranks it starts run the same command without them.
SCALE_OPTIONS = {"launcher", "nproc_per_node", "nnodes", "rdzv_endpoint", "rdzv_id", "max_restarts"}

SourceArg = Annotated[
    str | None,
    typer.Argument(metavar="SOURCE", help="A trajectory folder, a benchmark folder, or 'bundled'.", show_default=False),
]
MethodsOpt = Annotated[str, typer.Option(metavar="METHOD,...", help="Comma-separated methods.")]
HistoriesOpt = Annotated[
    str,
    typer.Option(
        "--history-images",
        metavar="N|all,...",
        help="Comma-separated rolling history limits in screenshots (a number, or all): each is a column of cells.",
    ),
]
ObserversSweepOpt = Annotated[
    str,
    typer.Option(
        "--observers",
        metavar="OBSERVERS,...",
        help="Comma-separated: which queries score the cache (tail, instruction, both).",
    ),
]
BudgetsOpt = Annotated[
    str, typer.Option(metavar="BUDGET,...", help="Comma-separated budgets (percent, 4096t or 512MiB).")
]
SweepSetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        metavar="METHOD.FIELD=VALUE,...",
        callback=check_sets,
        help="One method setting, e.g. starkv.alpha=1.0 (repeatable; after --config, the later wins). Several "
        "comma-separated values sweep it: snapkv.kernel_size=3,5 makes one cell per value, named after it.",
        show_default=False,
    ),
]
OutOpt = Annotated[
    str, typer.Option(metavar="DIR", help="Output folder: table, CSV, JSON, plot, and the finished units (resumable).")
]
FreshOpt = Annotated[
    bool, typer.Option("--fresh", metavar="", help="Recompute every unit, even those already finished in --out.")
]
FidelityOpt = Annotated[
    bool,
    typer.Option(
        "--fidelity/--no-fidelity",
        metavar="",
        help="Also measure each cell against the full cache, label-free: action agreement and KL under teacher "
        "forcing (the agreement and kl columns).",
    ),
]
MergeOpt = Annotated[
    str | None,
    typer.Option(
        metavar="DIR",
        help="Only merge the finished units in this folder into the table (no model, no SOURCE).",
        show_default=False,
    ),
]
LauncherOpt = Annotated[
    Literal["none", "torchrun"],
    typer.Option(help="none, or torchrun: shard the grid over --nproc-per-node ranks.", rich_help_panel=SCALE),
]
NprocOpt = Annotated[
    int | None,
    typer.Option(
        min=1, metavar="N", help="Ranks on this node.", show_default="one per GPU, else 1", rich_help_panel=SCALE
    ),
]
NnodesOpt = Annotated[str, typer.Option(metavar="N|MIN:MAX", help="Nodes (N or MIN:MAX).", rich_help_panel=SCALE)]
RdzvEndpointOpt = Annotated[
    str | None,
    typer.Option(metavar="HOST:PORT", help="HOST:PORT every node reaches (multi-node).", rich_help_panel=SCALE),
]
RdzvIdOpt = Annotated[str, typer.Option(metavar="ID", help="Job id shared by the nodes.", rich_help_panel=SCALE)]
MaxRestartsOpt = Annotated[
    int,
    typer.Option(min=0, metavar="N", help="torchrun restarts after a failure (each resumes).", rich_help_panel=SCALE),
]


@model_flags()
def evaluate(
    context: typer.Context,
    source: SourceArg = None,
    methods: MethodsOpt = "full,snapkv,guikv,starkv",
    budgets: BudgetsOpt = "10,20,40",
    model: ModelOpt = "ui-tars-1.5-7b",
    out: OutOpt = "eval-results",
    layout: LayoutOpt = "rolling",
    protocol: ProtocolOpt = "native",
    history_images: HistoriesOpt = "5",
    observers: ObserversSweepOpt = "tail",
    config_file: ConfigOpt = None,
    sets: SweepSetOpt = None,
    metric: MetricOpt = None,
    family: FamilyOpt = None,
    max_new_tokens: ReplayTokensOpt = None,
    retries: ReplayRetriesOpt = 0,
    images: ImagesOpt = None,
    limit: LimitOpt = None,
    flags: ModelFlags = DEFAULT_FLAGS,
    fresh: FreshOpt = False,
    fidelity: FidelityOpt = True,
    merge: MergeOpt = None,
    launcher: LauncherOpt = "none",
    nproc_per_node: NprocOpt = None,
    nnodes: NnodesOpt = "1",
    rdzv_endpoint: RdzvEndpointOpt = None,
    rdzv_id: RdzvIdOpt = "guiagent-eval",
    max_restarts: MaxRestartsOpt = 0,
) -> None:
    """Replay a grid of methods x budgets and write accuracy, KV memory and latency as a table and a plot.

    Resumable: units finished in --out are skipped, unless computed with other method settings (--config, --set).
    Under torchrun (or --launcher torchrun) the units are split over ranks; rank 0 writes the table one process
    would. --fidelity (the default) also compares each compressing cell with the full cache: agreement and kl.
    """
    from guiagent.agent.eval.distributed import Launch, relaunch
    from guiagent.cli.replay import load_trajectories

    if merge is not None or source is None:  # --merge, or nothing to replay
        return _merge(merge, source)
    ranks = _checked(out, protocol, metric, launcher, flags)  # before anything is loaded
    cells = _cells(methods, budgets, history_images, observers, method_settings(config_file, sets, sweeps=True))
    trajectories = load_trajectories(source, images, limit, quiet=ranks.rank != 0)
    if launcher == "torchrun" and not ranks.launched:
        launch = Launch(nproc_per_node, nnodes, rdzv_endpoint, rdzv_id, max_restarts)
        return relaunch(launch, context, SCALE_OPTIONS, model, echo=lambda text: typer.echo(text, err=True))
    options = flags.run_options(
        "replay",
        model=model,
        method="full",
        budget="100",
        layout=layout,
        protocol=protocol,
        family=family,
        max_new_tokens=max_new_tokens,
        retries=retries,
        device=ranks.device(flags.device),
    )
    _grid(cells, trajectories, options, metric, source, Path(out), ranks, fresh, fidelity)


def _checked(out: str, protocol: str, metric: str | None, launcher: str, flags: ModelFlags) -> Any:
    """What needs no model: the output folder, the protocol and metric, the launcher; returns this rank."""
    from guiagent.agent.eval.distributed import Ranks, check_launch
    from guiagent.cli.replay import check_protocol_options
    from guiagent.paths import check_writable

    check_writable(out, "The output folder (--out)")
    check_protocol_options(protocol, metric)
    ranks = Ranks.from_env()
    check_launch(launcher, flags.device_map, ranks)
    return ranks


def _cells(methods: str, budgets: str, histories: str, observers: str, settings: list) -> list:
    """The grid's cells from the comma-separated sweeps and the method settings' combinations (every name checked
    before anything loads)."""
    from guiagent.agent.eval.report import grid_cells
    from guiagent.compression.context import RollingContext

    def items(text: str) -> list[str]:
        return [item.strip() for item in text.split(",") if item.strip()]

    contexts = [RollingContext.parse(h, o, s) for h in items(histories) for o in items(observers) for s in settings]
    return grid_cells(items(methods), items(budgets), contexts)


def _grid(
    cells: list,
    trajectories: list,
    options: Any,
    metric: str | None,
    source: str,
    out: Path,
    ranks: Any,
    fresh: bool,
    fidelity: bool,
) -> None:
    """Plan the grid, run this rank's share of its units, and (rank 0) write the table."""
    import sys

    from guiagent.agent.eval.grid import GridPlan, run_grid
    from guiagent.agent.eval.report import write_results
    from guiagent.agent.run.runner import answer_cap, replay_deciders
    from guiagent.extras import versions

    model, layout = options.model, options.layout if options.protocol == "native" else "rebuild"
    plan = GridPlan.build(
        cells,
        trajectories,
        identity={  # what the results depend on: a resumed grid must match it
            "model": model,
            "layout": layout,
            "protocol": options.protocol,
            "metric": metric,
            "family": options.family,
            "max_new_tokens": answer_cap(options),
            "retries": options.retries,
            "dtype": options.dtype,
        },
        config={
            "model": model,
            "layout": layout,
            "protocol": options.protocol,
            "source": source,
            "versions": versions(),
        },
        title=f"{model} on {source} ({options.protocol} protocol, {layout} layout)",
        fidelity=_fidelity(fidelity, options, ranks),
    )
    interactive = sys.stderr.isatty() and ranks.world == 1
    prefix = f"[{ranks.label}] " if ranks.label else ""

    def progress(text: str) -> None:
        typer.echo(f"\r{text:<100}" if interactive else prefix + text, err=True, nl=not interactive)

    rows = run_grid(
        plan, trajectories, lambda: replay_deciders(options), out=out, ranks=ranks, fresh=fresh, progress=progress
    )
    if interactive:
        typer.echo("", err=True)
    if rows is not None:
        _print_results(write_results(rows, out, plan.title))


def _fidelity(asked: bool, options: Any, ranks: Any) -> bool:
    """--fidelity, unless the grid has nothing to compare it with (said once, by rank 0)."""
    from guiagent.agent.run.runner import SCRIPTED

    skip = "a scripted model has no next-token distributions to compare" if options.model.startswith(SCRIPTED) else None
    if options.protocol != "native":
        skip = f"it follows guiagent's own turns, not the {options.protocol} harness's"
    if asked and skip and ranks.rank == 0:
        typer.echo(f"Fidelity skipped: {skip}.", err=True)
    return asked and not skip


def _merge(folder: str | None, source: str | None) -> None:
    """--merge: the table of the units already finished in ``folder`` (no model, no SOURCE), or why not."""
    from guiagent.agent.eval.grid import GridPlan, merge
    from guiagent.agent.eval.report import write_results
    from guiagent.errors import ConfigError

    if folder is None:
        raise ConfigError("guiagent eval needs a SOURCE (or --merge OUT).", "Pass 'bundled' to try it.")
    if source is not None:
        raise ConfigError("--merge takes no SOURCE: it only merges what is in its folder.", "Drop SOURCE.")
    plan = GridPlan.load(Path(folder))
    _print_results(write_results(merge(Path(folder), plan), Path(folder), plan.title))


def _print_results(files: list) -> None:
    from guiagent.extras import available

    typer.echo(files[0].read_text())
    typer.echo("Wrote " + ", ".join(str(f) for f in files), err=True)
    if not available("plot"):
        typer.echo("No results.png: the plot needs guiagent's plot extra (pip install 'guiagent[plot]').", err=True)
