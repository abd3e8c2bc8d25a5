"""Outputs that cannot be written (``eval --out``, ``replay --report``, ``run --record``) are one sentence before
any work: no model is loaded, nothing is replayed. Tests run as root, where permissions stop nothing, so the
unwritable places are paths through a regular file and /proc."""

from __future__ import annotations

import pytest
from PIL import Image

from guiagent.agent.trajectory.recorder import Recorder
from tests.helpers.cli import guiagent, one_error


@pytest.fixture
def no_model(monkeypatch):
    """Loading any model fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("a model was loaded before the output was checked")

    monkeypatch.setattr("guiagent.agent.run.runner.load_for", refuse)
    monkeypatch.setattr("guiagent.agent.model.loading.load_model", refuse)


@pytest.fixture
def a_file(tmp_path):
    path = tmp_path / "a-file"
    path.write_text("not a folder")
    return path


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
