"""``guiagent compress-check``: per method, tokens kept, memory held and compression time vs. attention time."""

from __future__ import annotations

from typing import Annotated

import typer

from guiagent.cli.options import BudgetOpt

MethodsOpt = Annotated[
    str, typer.Option(metavar="METHOD,...", help="Comma-separated methods (full keeps the whole cache).")
]
LayerSizeOpt = Annotated[str, typer.Option(metavar="WxH", help="Screenshot size WxH for the 7B-shaped layer.")]
ScreensOpt = Annotated[int, typer.Option(min=2, metavar="N", help="Screenshots in the 7B-shaped layer's cache.")]
SkipLayerOpt = Annotated[bool, typer.Option("--skip-layer", metavar="", help="Only the tiny model (fast).")]


def compress_check(
    methods: MethodsOpt = "full,starkv,guikv,snapkv,pyramidkv,vlcache",
    budget: BudgetOpt = "20",
    layer_size: LayerSizeOpt = "1920x1080",
    screens: ScreensOpt = 5,
    skip_layer: SkipLayerOpt = False,
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
