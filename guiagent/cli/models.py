"""``guiagent models``: the known model specs, what each one is and what it needs."""

from __future__ import annotations

import typer


def models() -> None:
    """List the known model specs and what each needs."""
    from guiagent.agent.model.loading import default_model, known_models

    default = default_model()
    for spec in known_models().values():
        marker = " (default)" if spec.name == default else ""
        typer.echo(
            f"{spec.name}{marker}\n  source: {spec.source}\n  family: {spec.family}\n"
            f"  about:  {spec.about}\n  needs:  {spec.needs}" + (f"\n  loads:  {spec.loads}" if spec.loads else "")
        )
    typer.echo(
        "\nAny Hugging Face id (owner/name) of a Qwen2.5-VL or OpenCUA checkpoint, or a local checkpoint "
        "folder, works too."
    )
