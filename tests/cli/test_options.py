"""The model/device flags are declared once and reach a command as one ``ModelFlags``."""

from __future__ import annotations

import typer
from typer.testing import CliRunner

from guiagent.cli import app
from guiagent.cli.options import DEFAULT_FLAGS, ModelFlags, model_flags

runner = CliRunner()


def test_a_command_gets_its_flags_as_one_object_in_place():
    seen = {}
    probe = typer.Typer()

    @probe.command()
    @model_flags("device", "trust_remote_code")
    def command(name: str, flags: ModelFlags = DEFAULT_FLAGS, last: int = 1) -> None:
        seen.update(name=name, flags=flags, last=last)

    result = runner.invoke(probe, ["x", "--device", "cpu", "--trust-remote-code", "--last", "2"])
    assert result.exit_code == 0, result.output
    assert seen == {"name": "x", "flags": ModelFlags(device="cpu", trust_remote_code=True), "last": 2}
    assert runner.invoke(probe, ["x", "--dtype", "bf16"]).exit_code == 2  # only the flags it asked for


def test_each_command_lists_only_the_flags_it_uses():
    def options(command: str) -> set[str]:
        found = typer.main.get_command(app).commands[command].params
        return {opt for param in found for opt in param.opts if opt.startswith("--")}

    every = {"--device", "--dtype", "--attn", "--device-map", "--max-memory", "--trust-remote-code"}
    assert every <= options("run") and every <= options("replay") and every <= options("eval")
    assert options("demo") & every == {"--device", "--dtype", "--attn", "--trust-remote-code"}
    assert options("bench") & every == {"--device", "--dtype"}


def test_run_options_take_the_flags_and_the_command_values():
    options = ModelFlags(device="cpu", dtype="fp32").run_options("open settings", model="tiny", device="cuda:1")
    assert (options.task, options.model, options.device, options.dtype) == ("open settings", "tiny", "cuda:1", "fp32")
