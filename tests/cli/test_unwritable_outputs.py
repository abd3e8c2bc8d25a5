"""Outputs that cannot be written (``eval --out``, ``replay --report``, ``run --record``) are one sentence before
any work: no model is loaded, nothing is replayed. Tests run as root, where permissions stop nothing, so the
unwritable places are paths through a regular file and /proc."""

from __future__ import annotations

import sys

import pytest
from PIL import Image

from guiagent.agent.trajectory.recorder import Recorder
from guiagent.cli import main


@pytest.fixture
def no_model(monkeypatch):
    """Loading any model fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("a model was loaded before the output was checked")

    monkeypatch.setattr("guiagent.agent.run.runner.load_for", refuse)
    monkeypatch.setattr("guiagent.agent.model.loading.load_model", refuse)


def guiagent(capsys, monkeypatch, *args: str) -> tuple[int, list[str]]:
    """(exit code, output lines) of ``guiagent ARGS`` through the real entry point."""
    monkeypatch.delenv("GUIAGENT_DEBUG", raising=False)
    monkeypatch.setattr(sys, "argv", ["guiagent", *args])
    capsys.readouterr()
    with pytest.raises(SystemExit) as done:
        main()
    captured = capsys.readouterr()
    return done.value.code or 0, (captured.out + captured.err).splitlines()


@pytest.fixture
def a_file(tmp_path):
    path = tmp_path / "a-file"
    path.write_text("not a folder")
    return path


def one_error(code: int, lines: list[str], *needles: str) -> str:
    errors = [line for line in lines if line.startswith("Error: ")]
    assert code == 1 and len(errors) == 1, lines
    assert not any("Traceback" in line for line in lines)
    for needle in needles:
        assert needle in errors[0], (needle, errors[0])
    return errors[0]


@pytest.mark.parametrize("where", ["under-a-file", "the-file", "/proc/guiagent-test-report"])
def test_replay_report_that_cannot_be_written(where, a_file, no_model, capsys, monkeypatch):
    report = {"under-a-file": str(a_file / "report"), "the-file": str(a_file)}.get(where, where)
    code, lines = guiagent(capsys, monkeypatch, "replay", "bundled", "--model", "tiny", "--report", report)
    one_error(code, lines, "--report", report)
    assert not any("trajectorie(s)" in line for line in lines)  # not even the trajectories were loaded


def test_eval_out_that_cannot_be_written(a_file, no_model, capsys, monkeypatch):
    code, lines = guiagent(capsys, monkeypatch, "eval", "bundled", "--model", "tiny", "--out", str(a_file / "out"))
    one_error(code, lines, "--out", "which is a file, not a folder")


def test_run_record_that_cannot_be_written(a_file, no_model, capsys, monkeypatch):
    code, lines = guiagent(
        capsys, monkeypatch, "run", "open settings", "--model", "tiny", "--record", str(a_file / "r")
    )
    one_error(code, lines, str(a_file / "r"), "which is a file, not a folder")


def test_run_record_into_an_existing_trajectory(tmp_path, no_model, capsys, monkeypatch):
    with Recorder(tmp_path / "run", task="t") as recorder:
        recorder.record(1, Image.new("RGB", (64, 48), "white"))
    before = (tmp_path / "run" / "trajectory.jsonl").read_bytes()
    code, lines = guiagent(capsys, monkeypatch, "run", "x", "--model", "tiny", "--record", str(tmp_path / "run"))
    one_error(code, lines, "never overwritten")
    assert (tmp_path / "run" / "trajectory.jsonl").read_bytes() == before
