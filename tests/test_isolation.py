"""Tests run anywhere: no test writes into the user's data folders or reads a path of one particular machine."""

from __future__ import annotations

import re
from pathlib import Path

from guiagent.agent.trajectory.recorder import default_runs_folder

ROOT = Path(__file__).resolve().parent.parent
# an absolute path of one machine: a home, a workspace or a mount written out in code (tmp folders are made at run time)
MACHINE_PATH = re.compile(r"""["'](/work/|/root/|/home/\\w+/|/Users/\\w+/|/opt/|/mnt/|C:\\\\Users)""")


def test_recorded_runs_go_to_the_private_test_home(private_data_home):
    folder = default_runs_folder()
    assert folder.is_relative_to(private_data_home), folder
    assert not folder.is_relative_to(Path.home() / ".local" / "share")


def test_no_module_or_test_names_an_absolute_path_of_one_machine():
    offenders = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for folder in ("guiagent", "tests", "benchmarks")
        for path in sorted((ROOT / folder).rglob("*.py"))
        if "tests/data" not in path.as_posix()
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if MACHINE_PATH.search(line) and path != Path(__file__).resolve()
    ]
    assert not offenders, "absolute paths of one machine:\n" + "\n".join(offenders)
