"""Method settings in results (tiny model): a changed setting recomputes what it reaches and nothing else, and every
report records the resolved settings and the versions."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from guiagent.compression.presses import method_defaults
from tests.helpers.cli import guiagent, one_error

EVAL = ("eval", "bundled", "--model", "tiny", "--methods", "full,snapkv", "--budgets", "20", "--max-new-tokens", "2")
EVAL = (*EVAL, "--no-fidelity")
VERSIONS = {"guiagent", "python", "torch", "transformers"}


def eval_into(capsys, monkeypatch, out, *extra: str) -> list[str]:
    code, lines = guiagent(capsys, monkeypatch, *EVAL, "--out", str(out), *extra)
    assert code == 0, lines
    return lines


def cell_summary(out, name: str) -> dict:
    return json.loads((out / "cells" / name / "summary.json").read_text())


def test_a_changed_setting_recomputes_its_cells_and_reuses_the_rest(capsys, monkeypatch, tmp_path):
    out = tmp_path / "eval"
    eval_into(capsys, monkeypatch, out)
    lines = "\n".join(eval_into(capsys, monkeypatch, out, "--set", "snapkv.kernel_size=3"))
    assert "1 of 2 units already finished" in lines and "computed 1 unit(s)." in lines  # full reused, snapkv not
    assert "| snapkv[kernel_size=3] | 20% |" in lines
    grid = json.loads((out / "grid.json").read_text())
    assert grid["settings"] == {
        "full-100": {},
        "snapkv-20-kernel_size3": {**method_defaults("snapkv"), "kernel_size": 3},
    }
    assert grid["cells"][1] == ["snapkv", "20", 5, "tail", {"snapkv": {"kernel_size": 3}}]
    assert set(grid["config"]["versions"]) == VERSIONS
    summary = cell_summary(out, "snapkv-20-kernel_size3")
    assert summary["settings"]["kernel_size"] == 3 and set(summary["versions"]) == VERSIONS
    assert cell_summary(out, "full-100")["settings"] == {}
    rows = json.loads((out / "results.json").read_text())["rows"]
    assert [r["settings"].get("kernel_size") for r in rows] == [None, 3]


def test_a_unit_computed_under_other_settings_is_never_reused(capsys, monkeypatch, tmp_path):
    out = tmp_path / "eval"
    eval_into(capsys, monkeypatch, out)
    [unit] = (out / "parts" / "snapkv-20").glob("*.json")
    record = json.loads(unit.read_text())
    record["settings"] = {**record["settings"], "kernel_size": 7}  # e.g. computed before a default changed
    unit.write_text(json.dumps(record))
    lines = "\n".join(eval_into(capsys, monkeypatch, out))
    assert "computed 1 unit(s)." in lines
    assert json.loads(unit.read_text())["settings"] == method_defaults("snapkv")


def test_a_sweep_makes_one_cell_per_value(capsys, monkeypatch, tmp_path):
    out = tmp_path / "eval"
    lines = "\n".join(eval_into(capsys, monkeypatch, out, "--set", "snapkv.kernel_size=3,7", "--set", "starkv.alpha=1"))
    assert "| snapkv[kernel_size=3] | 20% |" in lines and "| snapkv[kernel_size=7] | 20% |" in lines
    assert sorted(p.name for p in (out / "cells").iterdir()) == [
        "full-100",
        "snapkv-20-kernel_size3",
        "snapkv-20-kernel_size7",
    ]


def test_a_bad_setting_is_refused_while_parsing(capsys, monkeypatch, tmp_path):
    code, lines = guiagent(capsys, monkeypatch, *EVAL, "--out", str(tmp_path), "--set", "snapkv.alpha=1")
    one_error(code, lines, "Method 'snapkv' has no setting 'alpha'", "kernel_size")
    code, lines = guiagent(
        capsys, monkeypatch, "replay", "bundled", "--model", "tiny", "--set", "snapkv.kernel_size=3,5", "--no-tui"
    )
    one_error(code, lines, "Only guiagent eval sweeps")
    config = tmp_path / "methods.yaml"
    config.write_text("methods:\n  starkv: {alfa: 1.0}\n")
    code, lines = guiagent(capsys, monkeypatch, *EVAL, "--out", str(tmp_path), "--config", str(config))
    one_error(code, lines, "Method 'starkv' has no setting 'alfa'")


def test_replay_summary_records_settings_and_versions(capsys, monkeypatch, tmp_path, write_config):
    config = write_config("methods:\n  snapkv: {kernel_size: 3, window: 4}\n")
    code, lines = guiagent(
        capsys,
        monkeypatch,
        *("replay", "bundled", "--model", "tiny", "--method", "snapkv", "--max-new-tokens", "2", "--no-tui"),
        *("--report", str(tmp_path / "report"), "--config", config, "--set", "snapkv.window=6"),
    )
    assert code == 0, lines
    summary = json.loads((tmp_path / "report" / "summary.json").read_text())
    resolved = {**method_defaults("snapkv"), "kernel_size": 3, "window": 6}  # the file, then --set
    assert summary["settings"] == {"resolved": resolved, "overrides": {"snapkv": {"kernel_size": 3, "window": 6}}}
    assert set(summary["versions"]) == VERSIONS


def test_a_recorded_trajectory_header_records_settings_and_versions(monkeypatch, tmp_path):
    from guiagent.agent.desktop import capture
    from guiagent.agent.policy.coords import ScreenGeometry
    from guiagent.agent.run.live import open_recorder
    from guiagent.agent.run.runner import RunOptions
    from guiagent.compression.settings import method_settings

    geometry = ScreenGeometry((0, 0), (800, 600), (800, 600))
    monkeypatch.setattr(capture, "capture", lambda monitor: SimpleNamespace(geometry=geometry))
    [settings] = method_settings(None, ["starkv.alpha=1"])
    with open_recorder(str(tmp_path / "run"), RunOptions("open the settings", settings=settings), 1):
        pass
    header = json.loads((tmp_path / "run" / "trajectory.jsonl").read_text().splitlines()[0])
    assert header["settings"]["resolved"] == {**method_defaults("starkv"), "alpha": 1.0}
    assert VERSIONS <= set(header["versions"])


def test_bench_json_records_settings_and_versions(capsys, monkeypatch, tmp_path):
    report = tmp_path / "bench.json"
    code, lines = guiagent(
        capsys,
        monkeypatch,
        *("bench", "--preset", "tiny", "--steps", "2", "--repeats", "1", "--methods", "snapkv", "--budgets", "20"),
        *("--json", str(report), "--out", str(tmp_path / "bench"), "--set", "snapkv.kernel_size=3"),
    )
    assert code == 0, lines
    data = json.loads(report.read_text())
    assert data["config"]["settings"] == {"snapkv": {**method_defaults("snapkv"), "kernel_size": 3}}
    assert VERSIONS <= set(data["env"])


@pytest.fixture
def write_config(tmp_path):
    def write(text: str) -> str:
        path = tmp_path / "methods.yaml"
        path.write_text(text)
        return str(path)

    return write
