"""``guiagent bench``: step cost as history grows, rolling vs. re-prefill, per method (``guiagent.tools.bench``)."""

from __future__ import annotations

from typing import Annotated, Literal

import typer

from guiagent.cli.options import DEFAULT_FLAGS, ConfigOpt, ModelFlags, SetOpt, method_settings, model_flags
from guiagent.tools.bench_stats import SPREAD_WARNING

PresetOpt = Annotated[
    Literal["tiny", "tiny-opencua", "7b-shaped"],
    typer.Option(
        help="tiny (offline tiny model), tiny-opencua (its OpenCUA-layout twin) or 7b-shaped (UI-TARS-1.5-7B widths,"
        " random weights, 1080p screenshots)."
    ),
]
StepsOpt = Annotated[
    int | None,
    typer.Option(
        min=1, metavar="N", help="Steps (screenshots) per run.", show_default="the preset's: tiny 10, 7b-shaped 3"
    ),
]
DecodeTokensOpt = Annotated[
    int | None, typer.Option(min=1, metavar="N", help="Tokens decoded per step.", show_default="the preset's: 4")
]
MethodsOpt = Annotated[
    str | None,
    typer.Option(
        metavar="METHOD,...",
        help="Comma-separated methods besides the full cache.",
        show_default="the preset's: tiny all five, 7b-shaped starkv,guikv,snapkv",
    ),
]
BudgetsOpt = Annotated[
    str | None, typer.Option(metavar="BUDGET,...", help="Comma-separated budgets.", show_default="the preset's: 20")
]
LayersOpt = Annotated[
    int | None,
    typer.Option(min=1, metavar="N", help="7b-shaped: decoder layers.", show_default="1 on CPU, 28 on CUDA"),
]
RepeatsOpt = Annotated[
    int | None,
    typer.Option(
        min=1,
        metavar="N",
        help="Runs of every configuration, interleaved round-robin (A, B, C, A, B, C, ...); the tables show medians "
        f"and the latency spread, and a spread over {SPREAD_WARNING:.0%} is flagged as not to be trusted. Default 3.",
    ),
]
JsonOpt = Annotated[
    str | None, typer.Option("--json", metavar="FILE", help="Write the full report as JSON here.", show_default=False)
]
OutOpt = Annotated[str, typer.Option(metavar="DIR", help="Folder for bench.md and the plots.")]


@model_flags("device", "dtype")
def bench(
    preset: PresetOpt = "tiny",
    steps: StepsOpt = None,
    decode_tokens: DecodeTokensOpt = None,
    methods: MethodsOpt = None,
    budgets: BudgetsOpt = None,
    layers: LayersOpt = None,
    repeats: RepeatsOpt = None,
    json_file: JsonOpt = None,
    out: OutOpt = "bench-results",
    config_file: ConfigOpt = None,
    sets: SetOpt = None,
    flags: ModelFlags = DEFAULT_FLAGS,
) -> None:
    """Step latency, peak memory, cache bytes and FLOPs as history grows: rolling vs. re-prefill, per method."""
    import sys
    from pathlib import Path

    from guiagent.agent.model.loading import choose_device
    from guiagent.compression.budget import Budget
    from guiagent.compression.presses import normalize_method
    from guiagent.errors import ConfigError
    from guiagent.tools.bench import GPU_7B, PRESETS, run_bench
    from guiagent.tools.bench_report import write_files

    if preset not in PRESETS:
        raise ConfigError(f"Unknown preset '{preset}'.", f"Use one of {', '.join(PRESETS)}.")
    chosen = PRESETS[preset]
    on_gpu = preset == "7b-shaped" and choose_device(flags.device).type == "cuda"
    defaults = GPU_7B if on_gpu else {}
    method_list = (
        tuple(normalize_method(m) for m in methods.split(",")) if methods else defaults.get("methods", chosen.methods)
    )
    budget_list = tuple(b for b in budgets.split(",")) if budgets else chosen.budgets
    for budget in budget_list:
        Budget.parse(budget)
    settings = method_settings(config_file, sets)[0]
    interactive = sys.stderr.isatty()
    report = run_bench(
        chosen,
        steps=steps or defaults.get("steps", chosen.steps),
        decode_tokens=decode_tokens or defaults.get("decode_tokens", chosen.decode_tokens),
        methods=tuple(m for m in method_list if m != "full"),
        budgets=budget_list,
        layers=layers or defaults.get("layers"),
        device=flags.device,
        dtype=flags.dtype,
        repeats=repeats,
        settings=settings,
        progress=lambda text: typer.echo(f"\r{text:<70}" if interactive else text, err=True, nl=not interactive),
    )
    table, written = write_files(report, Path(out), json_file)
    typer.echo(("\n" if interactive else "") + table)
    for line in report["warnings"]:  # the table ends with them too; on stderr they show when stdout goes to a file
        typer.secho(line, err=True, fg="yellow")
    typer.echo("Wrote " + ", ".join(written), err=True)
