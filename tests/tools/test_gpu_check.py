"""`make gpu-check`: what it installs (only what is missing, never torch), its report, and its reduced CPU form."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from guiagent.tools import gpu_check

ROOT = Path(__file__).resolve().parents[2]


def test_declared_requirements_are_pyprojects():
    declared = gpu_check.declared_requirements(ROOT / "pyproject.toml")
    assert any(line.startswith("transformers>=") for line in declared)
    assert any(line.startswith("torch>=") for line in declared)


def test_only_missing_or_out_of_range_requirements_are_installed_and_torch_never():
    requirements = ["torch>=2.13", "transformers>=5.20,<5.25", "numpy>=1.24", "pyyaml>=6", "pillow>=10"]
    installed = {"torch": "2.4.0", "transformers": "5.19.1", "numpy": "2.0.0", "pyyaml": "6.0.1"}
    # an older torch stays (it is the box's CUDA build); transformers below the range and absent pillow come in
    assert gpu_check.missing_requirements(requirements, installed) == ["transformers>=5.20,<5.25", "pillow>=10"]


def test_requirements_for_other_platforms_are_skipped():
    assert gpu_check.missing_requirements(["pywin32>=300; sys_platform == 'win32'"], {}) == []


def test_nothing_missing_installs_nothing_here():
    assert gpu_check.install_missing(None)["installed"] == []


def test_junit_counts():
    xml = '<testsuites><testsuite name="pytest" errors="1" failures="2" skipped="3" tests="20" time="1.0">'
    assert gpu_check.junit_counts(xml) == {"passed": 14, "failed": 3, "skipped": 3}


@pytest.mark.slow
def test_reduced_gpu_check_runs_every_stage_on_the_cpu(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "guiagent.tools.gpu_check", "--reduced", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["install"]["installed"] == []
    (exactness,) = report["exactness"]
    assert exactness["ok"] and exactness["failed"] == 0 and exactness["passed"] >= 10
    configs = {row["config"] for row in report["bench"]}
    assert {"rolling full", "rolling starkv 20%", "rebuild full"} <= configs
    assert all(row["decode_tokens_per_s"] > 0 and row["peak_mib"] > 0 for row in report["bench"])
    markdown = (tmp_path / "report.md").read_text()
    assert "| sdpa | cpu | fp32 |" in markdown and "decode tok/s" in markdown
