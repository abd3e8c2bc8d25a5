"""`guiagent run` refuses, before any work, what it would fail on later or (scripted, with no model and no cache)
silently ignore: an unknown method, an unreadable budget, a budget below the observation window, an empty task."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from guiagent.agent.run.runner import check_cache
from guiagent.cli import app
from guiagent.errors import ConfigError

runner = CliRunner()


@pytest.fixture
def script(tmp_path: Path) -> str:
    path = tmp_path / "script.txt"
    path.write_text("Action: wait()\n", encoding="utf-8")
    return f"scripted:{path}"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["x", "--method", "bogus"], "Unknown compression method 'bogus'."),
        (["x", "--budget", "abc"], "Budget 'abc' is not understood."),
        (["x", "--budget", "0.001"], "Budget 0.001% holds about 0 tokens per layer of a first step"),
        (["x", "--budget", "5t"], "fewer than the 10 that starkv's observation window needs"),
        (["x", "--method", "snapkv", "--budget", "100KiB"], "Budget 100KiB holds about 2 tokens per layer"),
        (["", "--budget", "20"], "The task is empty."),
        (["   "], "The task is empty."),
    ],
)
def test_scripted_runs_refuse_what_a_model_run_would(script: str, arguments: list[str], message: str) -> None:
    result = runner.invoke(app, ["run", *arguments, "--model", script, "--dry-run", "--no-record"])
    assert isinstance(result.exception, ConfigError), result.output
    assert message in result.exception.message


def test_the_empty_task_hint_is_about_the_task(script: str) -> None:
    result = runner.invoke(app, ["run", "", "--model", script, "--dry-run"])
    assert "--layout" not in str(result.exception) and "Say what the agent should do" in result.exception.hint


@pytest.mark.parametrize(
    ("method", "budget"),
    [("starkv", "20"), ("guikv", "10t"), ("full", "0.001"), ("snapkv", "512MiB"), ("vlcache", "1")],
)
def test_usable_budgets_pass(method: str, budget: str) -> None:
    check_cache(method, budget)


@pytest.mark.slow
def test_a_refused_run_is_one_sentence_exit_1_before_it_needs_a_display(script: str) -> None:
    env = {key: value for key, value in os.environ.items() if key not in ("DISPLAY", "WAYLAND_DISPLAY")}
    done = subprocess.run(
        [sys.executable, "-m", "guiagent.cli", "run", "x", "--model", script, "--budget", "abc"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith("Error: Budget 'abc' is not understood.\nHint: ")
    assert "Traceback" not in done.stderr and done.stdout == ""
