"""OpenCUA end to end through the real commands, on the offline ``tiny-opencua`` (native loader, 1-D RoPE session,
the OpenCUA policy and its chat template): replay, eval, demo and bench."""

from __future__ import annotations

import csv
import json

from tests.helpers.cli import guiagent


def test_replay_bundled_with_tiny_opencua_and_starkv(capsys, monkeypatch, tmp_path):
    report = tmp_path / "report"
    code, lines = guiagent(
        capsys, monkeypatch, "replay", "bundled", "--model", "tiny-opencua", "--method", "starkv", "--budget", "20",
        "--max-new-tokens", "2", "--no-tui", "--report", str(report),
    )  # fmt: skip
    assert code == 0, lines
    summary = json.loads((report / "summary.json").read_text())
    assert summary["steps"] == 7 and summary["method"] == "starkv"
    steps = [json.loads(line) for line in (report / "steps.jsonl").read_text().splitlines()]
    assert len(steps) == 7 and all(step["cache"]["method"] == "starkv" for step in steps)
    assert steps[-1]["cache"]["bytes_held"] < 0.5 * steps[-1]["cache"]["bytes_full"]  # 20% of a growing history


def test_eval_grid_with_tiny_opencua(capsys, monkeypatch, tmp_path):
    out = tmp_path / "eval"
    code, lines = guiagent(
        capsys, monkeypatch, "eval", "bundled", "--model", "tiny-opencua", "--methods", "full,snapkv,pyramidkv",
        "--budgets", "30", "--max-new-tokens", "2", "--out", str(out),
    )  # fmt: skip
    assert code == 0, lines
    rows = list(csv.DictReader((out / "results.csv").open()))
    assert [(r["method"], r["budget"]) for r in rows] == [("full", "100%"), ("snapkv", "30%"), ("pyramidkv", "30%")]
    assert all(r["steps"] == "7" for r in rows)
    held = {r["method"]: float(r["kv_held_over_full"]) for r in rows}
    assert held["full"] == 1.0 and held["snapkv"] < 0.5 and held["pyramidkv"] < 0.5


def test_demo_and_bench_with_tiny_opencua(capsys, monkeypatch, tmp_path):
    code, lines = guiagent(
        capsys, monkeypatch, "demo", "--model", "tiny-opencua", "--method", "snapkv", "--budget", "30", "--steps", "2"
    )
    assert code == 0, lines
    code, lines = guiagent(
        capsys, monkeypatch, "bench", "--preset", "tiny-opencua", "--steps", "2", "--decode-tokens", "1",
        "--methods", "starkv", "--json", str(tmp_path / "bench.json"), "--out", str(tmp_path / "bench"),
    )  # fmt: skip
    assert code == 0, lines
    report = json.loads((tmp_path / "bench.json").read_text())
    assert report["env"]["preset"] == "tiny-opencua" and len(report["runs"]) == 4
