"""The CLI: thin commands, exit codes and exact error sentences."""

from __future__ import annotations

import subprocess
import sys

from typer.testing import CliRunner

from guiagent import __version__
from guiagent.cli import app

runner = CliRunner()


def test_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout.strip() == f"guiagent {__version__}"


def test_models_lists_specs_and_needs():
    result = runner.invoke(app, ["models"])
    assert result.exit_code == 0
    assert "ui-tars-1.5-7b (default)" in result.stdout
    assert "opencua-7b" in result.stdout and "trust_remote_code=True" in result.stdout
    assert "tiny" in result.stdout


def test_demo_runs_the_bundled_trajectory_on_tiny():
    result = runner.invoke(app, ["demo", "--steps", "2", "--max-new-tokens", "2"])
    assert result.exit_code == 0, result.output
    lines = [line.split() for line in result.stdout.splitlines() if line.strip()]
    assert lines[0][:3] == ["step", "logical", "held/layer"]
    assert [row[0] for row in lines[1:]] == ["1", "2"]
    assert int(lines[2][1]) > int(lines[1][1])  # the logical conversation grows by one screenshot turn per step
    assert float(lines[2][3]) < float(lines[2][4])  # STaR-KV at 20% holds less than the full cache


def test_compress_check_prints_every_method_for_both_settings():
    result = runner.invoke(
        app, ["compress-check", "--layer-size", "280x168", "--screens", "2", "--methods", "full,starkv,guikv"]
    )
    assert result.exit_code == 0, result.output
    rows = [line.split() for line in result.stdout.splitlines() if line.strip() and not line.startswith(("-", "set"))]
    assert [(r[0], r[1]) for r in rows] == [
        ("tiny", "full"),
        ("tiny", "starkv"),
        ("tiny", "guikv"),
        ("2-screens", "full"),
        ("steady", "full"),
        ("2-screens", "starkv"),
        ("steady", "starkv"),
        ("2-screens", "guikv"),
        ("steady", "guikv"),
    ]
    by_method = {(r[0], r[1]): r for r in rows}
    assert float(by_method[("tiny", "starkv")][7]) <= 0.21  # held / full at budget 20
    assert float(by_method[("tiny", "full")][7]) == 1.0


def test_compress_check_rejects_bad_input():
    result = runner.invoke(app, ["compress-check", "--methods", "zip"])
    assert result.exit_code == 1 and result.exception.message == "Unknown compression method 'zip'."
    done = subprocess.run(
        [sys.executable, "-m", "guiagent.cli", "compress-check", "--layer-size", "big"], capture_output=True, text=True
    )
    assert done.returncode == 1 and "Screenshot size 'big' is not WxH." in done.stderr


def test_known_errors_print_one_sentence_and_exit_1():
    done = subprocess.run(
        [sys.executable, "-m", "guiagent.cli", "demo", "--model", "nope"], capture_output=True, text=True
    )
    assert done.returncode == 1
    assert "Error: Unknown model spec 'nope'." in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""


def test_usage_errors_exit_2():
    result = runner.invoke(app, ["demo", "--steps", "0"])
    assert result.exit_code == 2
