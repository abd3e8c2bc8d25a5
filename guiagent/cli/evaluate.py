"""``guiagent eval``: a grid of methods x budgets replayed and written as a table and a plot, resumable, shardable.

Every check that needs no model (the SOURCE, --out, the launcher, the trajectories) runs first and once, before
torchrun starts any rank.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from guiagent.cli.options import (
    DEFAULT_FLAGS,
    FamilyOpt,
    ImagesOpt,
    LayoutOpt,
    LimitOpt,
    MetricOpt,
    ModelFlags,
    ModelOpt,
    ReplayRetriesOpt,
    ReplayTokensOpt,
    model_flags,
)

SCALE = "Scale-out (torchrun)"
# The launcher's own flags: the ranks it starts run the same command without them.
SCALE_OPTIONS = {"launcher", "nproc_per_node", "nnodes", "rdzv_endpoint", "rdzv_id", "max_restarts"}

SourceArg = Annotated[
    str | None, typer.Argument(help="A trajectory folder, a benchmark folder, or 'bundled'.", show_default=False)
]
MethodsOpt = Annotated[str, typer.Option(help="Comma-separated methods.")]
BudgetsOpt = Annotated[str, typer.Option(help="Comma-separated budgets (percent, 4096t or 512MiB).")]
OutOpt = Annotated[str, typer.Option(help="Output folder: table, CSV, JSON, plot, and the finished units (resumable).")]
FreshOpt = Annotated[bool, typer.Option("--fresh", help="Recompute every unit, even those already finished in --out.")]
MergeOpt = Annotated[
    str | None,
    typer.Option(
        help="Only merge the finished units in this folder into the table (no model, no SOURCE).", show_default=False
    ),
]
LauncherOpt = Annotated[
    str, typer.Option(help="none, or torchrun: shard the grid over --nproc-per-node ranks.", rich_help_panel=SCALE)
]
NprocOpt = Annotated[
    int | None, typer.Option(min=1, help="Ranks on this node (default: one per GPU, else 1).", rich_help_panel=SCALE)
]
NnodesOpt = Annotated[str, typer.Option(help="Nodes (N or MIN:MAX).", rich_help_panel=SCALE)]
RdzvEndpointOpt = Annotated[
    str | None, typer.Option(help="HOST:PORT every node reaches (multi-node).", rich_help_panel=SCALE)
]
RdzvIdOpt = Annotated[str, typer.Option(help="Job id shared by the nodes.", rich_help_panel=SCALE)]
MaxRestartsOpt = Annotated[
    int, typer.Option(min=0, help="torchrun restarts after a failure (each resumes).", rich_help_panel=SCALE)
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
    metric: MetricOpt = None,
    family: FamilyOpt = None,
    max_new_tokens: ReplayTokensOpt = None,
    retries: ReplayRetriesOpt = 0,
    images: ImagesOpt = None,
    limit: LimitOpt = None,
    flags: ModelFlags = DEFAULT_FLAGS,
    fresh: FreshOpt = False,
    merge: MergeOpt = None,
    launcher: LauncherOpt = "none",
    nproc_per_node: NprocOpt = None,
    nnodes: NnodesOpt = "1",
    rdzv_endpoint: RdzvEndpointOpt = None,
    rdzv_id: RdzvIdOpt = "guiagent-eval",
    max_restarts: MaxRestartsOpt = 0,
) -> None:
    """Replay a grid of methods x budgets and write accuracy, KV memory and latency as a table and a plot.

    Resumable: units (trajectory x method x budget) finished in --out are skipped. Under torchrun (or with
    --launcher torchrun) the units are split across ranks and rank 0 writes the same table as one process.
    """
    from guiagent.agent.eval.distributed import Launch, Ranks, check_launch, relaunch
    from guiagent.agent.eval.report import grid_cells
    from guiagent.cli.replay import load_trajectories
    from guiagent.paths import check_writable

    if merge is not None or source is None:  # --merge, or nothing to replay
        return _merge(merge, source)
    check_writable(out, "The output folder (--out)")  # before anything is loaded
    ranks = Ranks.from_env()
    check_launch(launcher, flags.device_map, ranks)
    cells = grid_cells([m for m in methods.split(",") if m.strip()], [b for b in budgets.split(",") if b.strip()])
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
        family=family,
        max_new_tokens=max_new_tokens,
        retries=retries,
        device=ranks.device(flags.device),
    )
    _grid(cells, trajectories, options, metric, source, Path(out), ranks, fresh)


def _grid(
    cells: list, trajectories: list, options: Any, metric: str | None, source: str, out: Path, ranks: Any, fresh: bool
) -> None:
    """Plan the grid, run this rank's share of its units, and (rank 0) write the table."""
    import sys

    from guiagent.agent.eval.grid import GridPlan, run_grid
    from guiagent.agent.eval.report import write_results
    from guiagent.agent.run.runner import replay_deciders

    model, layout = options.model, options.layout
    plan = GridPlan.build(
        cells,
        trajectories,
        identity={  # what the results depend on: a resumed grid must match it
            "model": model,
            "layout": layout,
            "metric": metric,
            "family": options.family,
            "max_new_tokens": options.max_new_tokens,
            "retries": options.retries,
            "dtype": options.dtype,
        },
        config={"model": model, "layout": layout, "source": source},
        title=f"{model} on {source} ({layout} layout)",
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
    typer.echo(files[0].read_text())
    typer.echo("Wrote " + ", ".join(str(f) for f in files), err=True)
