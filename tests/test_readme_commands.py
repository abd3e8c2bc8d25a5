"""Every tiny-model command the README shows runs as printed, and finishes in the time the README promises.

Commands are read from the README's ``bash`` blocks (a line that runs ``guiagent`` with ``--model tiny`` or
``tiny-opencua``); a press module the README defines in a ``python`` block (``# my_presses.py``) is written
next to them first. Each runs in a fresh folder in a subprocess, without a terminal (so without the dashboard).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
PROMISED_S = 60  # "each finishes in well under a minute on a 2-core machine"


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README.read_text(), flags=re.S)


def tiny_commands() -> list[str]:
    lines = [line.split("  #")[0].strip() for block in blocks("bash") for line in block.splitlines()]
    return [line for line in lines if re.search(r"\bguiagent\b", line) and re.search(r"--model tiny\b", line)]


def python_modules() -> dict[str, str]:
    found = {}
    for block in blocks("python"):
        first = block.splitlines()[0] if block.strip() else ""
        if re.fullmatch(r"# \w+\.py", first.strip()):
            found[first.strip()[2:]] = block
    return found


def test_the_readme_shows_tiny_commands():
    assert len(tiny_commands()) >= 3


@pytest.mark.slow
@pytest.mark.parametrize("command", tiny_commands())
def test_each_readme_tiny_command_finishes_in_time(command, tmp_path):
    for name, source in python_modules().items():
        (tmp_path / name).write_text(source)
    words = shlex.split(command)
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    while "=" in words[0]:  # VAR=value prefixes
        key, value = words.pop(0).split("=", 1)
        env[key] = value
    assert words[0] == "guiagent"
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "guiagent.cli", *words[1:]],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=10 * PROMISED_S, check=False,
    )  # fmt: skip
    took = time.perf_counter() - start
    print(f"{command}: {took:.1f} s")
    assert done.returncode == 0, done.stderr[-3000:]
    assert took < PROMISED_S, f"{command} took {took:.0f} s, the README promises under {PROMISED_S} s"
