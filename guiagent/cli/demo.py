"""``guiagent demo``: the bundled real trajectory through one rolling KV session, and what it cost."""

from __future__ import annotations

from typing import Annotated

import typer

from guiagent.cli.options import DEFAULT_FLAGS, BudgetOpt, MethodOpt, ModelFlags, ModelOpt, model_flags


@model_flags("device", "dtype", "attn", "trust_remote_code")
def demo(
    model: ModelOpt = "tiny",
    steps: Annotated[int, typer.Option(min=1, metavar="N", help="Screenshots to feed (all 7 by default).")] = 7,
    max_new_tokens: Annotated[int, typer.Option(min=1, metavar="N", help="Tokens decoded per step.")] = 16,
    method: MethodOpt = "starkv",
    budget: BudgetOpt = "20",
    flags: ModelFlags = DEFAULT_FLAGS,
) -> None:
    """Feed the bundled real trajectory's screenshots through one rolling KV session and print its cost."""
    from guiagent.agent.model.loading import load_model
    from guiagent.tools.demo import print_demo, rolling_demo

    typer.echo(f"Loading {model} ...", err=True)
    loaded = load_model(
        model, device=flags.device, dtype=flags.dtype, attn=flags.attn, trust_remote_code=flags.trust_remote_code
    )
    typer.echo(
        f"{loaded.spec}: {loaded.num_layers} layers, {loaded.num_kv_heads} KV heads, {loaded.device}, "
        f"{str(loaded.dtype).removeprefix('torch.')}, {loaded.attn}",
        err=True,
    )
    typer.echo(f"method {method}, budget {budget}", err=True)
    rows = rolling_demo(loaded, steps=steps, max_new_tokens=max_new_tokens, method=method, budget=budget)
    print_demo(rows, echo=typer.echo)
