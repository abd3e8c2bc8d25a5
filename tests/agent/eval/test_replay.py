"""Replay and eval: scores on the real AgentNetBench trajectories, every importer's data replays, the eval grid."""

from __future__ import annotations

import csv
import json
import math

import pytest
from PIL import Image
from typer.testing import CliRunner

from guiagent.agent.eval.replay import replay, write_report
from guiagent.agent.eval.sources import load_source
from guiagent.agent.policy.coords import smart_resize
from guiagent.agent.run.runner import RunOptions, replay_deciders
from guiagent.cli import app
from tests.helpers.cli import guiagent, one_error
from tests.helpers.data import TESTS_DATA

DATA = TESTS_DATA
THRESHOLD = 0.01 * math.sqrt(2)


def official_point_score(predicted: dict, truth: dict) -> float:
    """The official rule for one pointed action: 1 inside a box, else 1 within 0.0141, else exp(-120 * excess)."""
    x, y = predicted["params"]["position"]["x"], predicted["params"]["position"]["y"]
    for box in truth.get("metadata", {}).get("bboxes", []):
        bx, by, bw, bh = box["rel_bbox"]
        if bx <= x <= bx + bw and by <= y <= by + bh:
            return 1.0
    d = math.dist((x, y), (truth["params"]["position"]["x"], truth["params"]["position"]["y"]))
    return 1.0 if d <= THRESHOLD else math.exp(-120 * (d - THRESHOLD))


def official_write_score(predicted: str, truth: str) -> float:
    """The official text rule: lower/strip, similarity 1 - edit distance / longer length, >= 0.8 counts as 1."""
    a, b = predicted.lower().strip(), truth.lower().strip()
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(current[j - 1] + 1, previous[j] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    similarity = 1 - previous[-1] / max(len(a), len(b))
    return 1.0 if similarity >= 0.8 else similarity / 0.8


def answers_for(trajectory, plan: list[str]) -> list[tuple[str, str]]:
    """UI-TARS answers aimed at each step's ground truth: hit, near (0.03 right of it) or miss (wrong type)."""
    out = []
    for step, how in zip(trajectory.steps, plan, strict=True):
        width, height = Image.open(step.image).size
        model_h, model_w = smart_resize(height, width, 28, 3136, 12845056)
        first = step.expected["ground_truth_actions"][0]
        if first["type"] == "terminate":
            out.append(("Action: finished(content='done')", how))
            continue
        if first["type"] == "write":
            text = first["params"]["text"] if how == "hit" else "something else entirely"
            out.append((f"Action: type(content='{text}')", how))
            continue
        x, y = first["params"]["position"]["x"], first["params"]["position"]["y"]
        x += 0.03 if how == "near" else 0.0
        point = f"<|box_start|>({x * model_w:.1f},{y * model_h:.1f})<|box_end|>"
        if how == "miss":
            out.append(("Action: hotkey(key='ctrl s')", how))
        elif first["type"] == "moveTo":  # a scroll at a point: moveTo + scroll
            out.append((f"Action: scroll(start_box='{point}', direction='down')", how))
        else:
            out.append((f"Action: click(start_box='{point}')", how))
    return out


def test_replay_scores_match_the_official_rules_on_real_agentnetbench(tmp_path):
    bundled = load_source("bundled")[0]
    other = load_source(DATA / "agentnetbench")[0]
    plans = {
        bundled.name: ["hit", "hit", "near", "hit", "miss", "near", "hit"],
        other.name: ["near", "hit", "miss", "near", "hit", "hit", "near", "miss", "near", "hit"],
    }
    answers = answers_for(bundled, plans[bundled.name]) + answers_for(other, plans[other.name])
    script = tmp_path / "answers.txt"
    script.write_text("\n---\n".join(a for a, _ in answers))
    make_decider, _ = replay_deciders(RunOptions(task="replay", model=f"scripted:{script}"))
    summary = replay([bundled, other], make_decider)
    write_report(summary, tmp_path / "report")
    records = [json.loads(line) for line in (tmp_path / "report" / "steps.jsonl").read_text().splitlines()]
    assert len(records) == 17
    alternatives = [s.expected["alternative_options"] for t in (bundled, other) for s in t.steps]
    for record, (_, how), alts in zip(records, answers, alternatives, strict=True):
        truth = record["expected"]
        if truth[0]["type"] == "write":
            expected = official_write_score(record["predicted"][0]["params"]["text"], truth[0]["params"]["text"])
        elif how == "miss":
            expected = 0.0  # the first predicted type is not among the ground-truth types
        elif truth[0]["type"] == "terminate":
            expected = 1.0
        elif truth[0]["type"] == "moveTo":  # moveTo scored by position, scroll by type: the mean of the two
            expected = (official_point_score(record["predicted"][0], truth[0]) + 1.0) / 2
        else:
            # an alternative ground truth counts when it scores better (run.py)
            expected = max(official_point_score(record["predicted"][0], option[0]) for option in [truth, *alts])
        assert record["score"] == pytest.approx(expected, abs=1e-6), (record["trajectory"], record["step"], how)
        assert set(record) >= {"trajectory", "step", "image", "predicted", "expected", "score"}
    near = [r["score"] for r, (_, how) in zip(records, answers, strict=True) if how == "near"]
    assert sum(0.0 < s < 1.0 for s in near) >= 3  # partial credit (a near click inside a wide box is a hit)
    summary_file = json.loads((tmp_path / "report" / "summary.json").read_text())
    assert summary_file["steps"] == 17
    assert summary_file["step_accuracy"] == pytest.approx(sum(r["score"] for r in records) / 17)


@pytest.mark.parametrize(
    "source", ["benchmarks/androidcontrol/data/500_steps.json", "benchmarks/screenspot_v2", "benchmarks/screenspot_pro"]
)
def test_every_importer_fixture_replays_on_the_tiny_model(tmp_path, source):
    trajectories = load_source(DATA / source)
    make_decider, set_cell = replay_deciders(RunOptions(task="replay", model="tiny", max_new_tokens=4, retries=0))
    set_cell("starkv", "50")
    summary = replay(trajectories, make_decider).as_dict()
    assert summary["steps"] == sum(len(t.steps) for t in trajectories) > 0
    assert 0.0 <= summary["step_accuracy"] <= 1.0 and summary["memory"]["mean_bytes_held"] > 0


def test_eval_grid_writes_table_csv_json_and_plot(tmp_path):
    out = tmp_path / "eval"
    result = CliRunner().invoke(
        app,
        [
            "eval",
            "bundled",
            "--model",
            "tiny",
            "--methods",
            "full,starkv,snapkv",
            "--budgets",
            "20,40",
            "--max-new-tokens",
            "4",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader((out / "results.csv").open()))
    assert [(r["method"], r["budget"]) for r in rows] == [
        ("full", "100%"),
        ("starkv", "20%"),
        ("starkv", "40%"),
        ("snapkv", "20%"),
        ("snapkv", "40%"),
    ]
    assert all(r["steps"] == "7" for r in rows)
    memory = {(r["method"], r["budget"]): float(r["kv_held_over_full"]) for r in rows}
    assert memory[("full", "100%")] == 1.0 and memory[("starkv", "20%")] < memory[("starkv", "40%")] < 1.0
    table = (out / "results.md").read_text()
    assert table.count("\n| ") == 6 and "step_accuracy" in table
    data = json.loads((out / "results.json").read_text())
    assert len(data["rows"]) == 5 and data["rows"][1]["summary"]["steps"] == 7
    with Image.open(out / "results.png") as plot:
        assert plot.size[0] > 500 and plot.size[1] > 200
    assert (out / "cells" / "starkv-20" / "steps.jsonl").exists()


def test_bad_replay_input_gets_one_sentence(tmp_path, capsys, monkeypatch):
    code, lines = guiagent(capsys, monkeypatch, "replay", str(tmp_path / "nothing"), "--model", "tiny")
    assert one_error(code, lines) == f"Error: '{tmp_path / 'nothing'}' does not exist."
    code, lines = guiagent(capsys, monkeypatch, "eval", "bundled", "--budgets", "150", "--model", "tiny")
    assert one_error(code, lines) == "Error: Budget 150 is outside 0-100 percent."


def test_the_bundled_demo_app_recording_replays_with_its_script(tmp_path):
    from guiagent.agent.eval.sources import bundled_folder as example_folder

    folder = example_folder().parent / "demo_app"
    [trajectory] = load_source(folder / "dark_mode_run")
    assert trajectory.source == "recorded" and len(trajectory.steps) == 4
    make_decider, _ = replay_deciders(RunOptions(task="x", model=f"scripted:{folder / 'dark_mode_1366x768.txt'}"))
    summary = replay([trajectory], make_decider).as_dict()
    assert summary["steps"] == 4 and summary["step_accuracy"] == 1.0


def test_replay_with_the_model_split_over_cpu_and_disk_scores_the_same(tmp_path, monkeypatch):
    """``--device-map auto --max-memory cpu=81MB`` puts two of tiny's layers on disk (see test_device_map)."""
    from guiagent.agent.model import loading as models

    placements = []

    def load_and_note(*args, **kwargs):
        loaded = load_model(*args, **kwargs)
        placements.append(loaded.device_map)
        return loaded

    load_model = models.load_model
    monkeypatch.setattr(models, "load_model", load_and_note)

    def records(*extra: str) -> list[dict]:
        report = tmp_path / "-".join(extra or ("one",))
        args = ["replay", "bundled", "--model", "tiny", "--max-new-tokens", "2", "--no-tui", "--report", str(report)]
        result = CliRunner().invoke(app, [*args, *extra])
        assert result.exit_code == 0, result.output
        lines = (report / "steps.jsonl").read_text().splitlines()
        return [{k: v for k, v in json.loads(line).items() if k != "timings"} for line in lines]

    assert records("--device-map", "auto", "--max-memory", "cpu=81MB") == records()
    split, whole = placements
    assert whole is None and set(split.values()) == {"cpu", "disk"}


def test_device_map_with_several_ranks_on_a_node_is_refused(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    result = CliRunner().invoke(app, ["eval", "bundled", "--model", "tiny", "--device-map", "auto"])
    assert result.exit_code == 1 and "--nproc-per-node 1" in result.exception.hint
