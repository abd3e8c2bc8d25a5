"""guiagent without its desktop, tui and plot extras: an evaluation node.

Two ways: here, in a subprocess whose imports of the extras' modules fail (always runs); and ``make headless``,
a fresh virtualenv with only the core dependencies (``GUIAGENT_HEADLESS_WORLD=1``), where this module also checks
that the extras really are absent.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from guiagent.extras import EXTRAS, MissingExtra, require

EXTRA_MODULES = sorted({name for names in EXTRAS.values() for name in names})
REAL_WORLD = os.environ.get("GUIAGENT_HEADLESS_WORLD") == "1"
# A subprocess that cannot import the extras' modules, then runs the guiagent CLI.
WITHOUT_EXTRAS = f"""
import sys, importlib.abc
class Absent(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {EXTRA_MODULES!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}")
sys.meta_path.insert(0, Absent())
import importlib.util
real = importlib.util.find_spec
importlib.util.find_spec = lambda name, *a: None if name.split(".")[0] in {EXTRA_MODULES!r} else real(name, *a)
from guiagent.cli import main
sys.argv = ["guiagent", *sys.argv[1:]]
main()
"""


def guiagent(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    runner = ["-m", "guiagent.cli"] if REAL_WORLD else ["-c", WITHOUT_EXTRAS]
    command = [sys.executable, *runner, *args]
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd, timeout=600, check=False)


@pytest.mark.skipif(not REAL_WORLD, reason="only in `make headless`'s virtualenv without the extras")
def test_the_extras_are_really_absent():
    for extra in EXTRAS:
        with pytest.raises(MissingExtra, match=f"guiagent\\[{extra}\\]"):
            require(extra, "this")


def test_eval_runs_without_the_extras(tmp_path):
    done = guiagent(
        "eval", "bundled", "--model", "tiny", "--methods", "full,snapkv", "--budgets", "20",
        "--max-new-tokens", "2", "--out", str(tmp_path / "out"), cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "out" / "results.md").exists()
    assert not (tmp_path / "out" / "results.png").exists()
    assert "guiagent[plot]" in done.stderr + done.stdout  # says which extra draws the plot


@pytest.mark.parametrize(
    ("args", "extra"),
    [(["run", "open the settings", "--model", "tiny"], "desktop"), (["replay", "bundled", "--tui"], "tui")],
)
def test_a_command_that_needs_an_extra_names_it(tmp_path, args, extra):
    done = guiagent(*args, cwd=tmp_path)
    assert done.returncode == 1, done.stderr[-2000:]
    assert f"pip install 'guiagent[{extra}]'" in done.stderr
    assert "Traceback" not in done.stderr
