"""One eval grid compares rolling contexts: history limits in screenshots and which queries observe."""

from __future__ import annotations

import csv

from guiagent.agent.eval.report import Cell, grid_cells
from guiagent.compression.context import RollingContext
from tests.helpers.cli import guiagent, one_error


def test_contexts_are_cells_with_their_own_names():
    contexts = [RollingContext(2, "tail"), RollingContext(None, "both")]
    cells = grid_cells(["full", "snapkv"], ["20"], contexts)
    assert [c.name for c in cells] == ["full-100-h2", "snapkv-20-h2", "full-100-hall", "snapkv-20-hall-obs-both"]
    assert Cell.from_list(["snapkv", "20"]).history_images is None  # grids from before history limits kept all
    assert Cell.from_list(cells[1].as_list()) == cells[1]


def test_eval_sweeps_history_limits_and_observers_in_one_grid(capsys, monkeypatch, tmp_path):
    code, lines = guiagent(
        capsys, monkeypatch, "eval", "bundled", "--model", "tiny", "--methods", "full,snapkv", "--budgets", "30",
        "--history-images", "2,all", "--observers", "tail,both", "--max-new-tokens", "2", "--no-fidelity",
        "--out", str(tmp_path),
    )  # fmt: skip
    assert code == 0, lines
    with (tmp_path / "results.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert {(r["method"], r["history"], r["observers"]) for r in rows} == {
        ("full", "2", "-"),
        ("full", "all", "-"),
        ("snapkv", "2", "tail"),
        ("snapkv", "2", "both"),
        ("snapkv", "all", "tail"),
        ("snapkv", "all", "both"),
    }
    full = {r["history"]: float(r["mean_kv_mib"]) for r in rows if r["method"] == "full"}
    assert full["2"] < full["all"]  # two screenshots held instead of every one


def test_bad_context_values_are_refused_before_the_model_loads(capsys, monkeypatch, tmp_path):
    code, lines = guiagent(capsys, monkeypatch, "eval", "bundled", "--model", "tiny", "--history-images", "0,2")
    one_error(code, lines, "at least 1 screenshot")
    code, lines = guiagent(capsys, monkeypatch, "eval", "bundled", "--model", "tiny", "--observers", "tail,everyone")
    one_error(code, lines, "'everyone' is not an observer choice")
    code, lines = guiagent(capsys, monkeypatch, "replay", "bundled", "--model", "tiny", "--observers", "everyone")
    assert code == 2 and "'everyone' is not one of" in " ".join(" ".join(lines).split())  # a choice, refused by typer
