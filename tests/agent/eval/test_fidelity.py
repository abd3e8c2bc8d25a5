"""The label-free fidelity pass: agreement and teacher-forced KL against the full cache, on the tiny model."""

from __future__ import annotations

import csv
import json

import pytest
import torch

from guiagent.agent.actions import MobileAction, Target
from guiagent.agent.eval.fidelity import FidelityRunner, action_key, canonical, kl_divergence, summarize
from guiagent.agent.eval.replay import replay
from guiagent.agent.eval.report import Cell
from guiagent.agent.eval.sources import bundled_folder, load_source
from guiagent.agent.policy.coords import ImageGrid, ScreenGeometry
from guiagent.agent.policy.uitars import UITarsPolicy
from guiagent.agent.run.runner import RunOptions, replay_deciders
from guiagent.errors import ConfigError
from tests.helpers.cli import guiagent

SCREEN = ScreenGeometry(origin=(0, 0), logical_size=(1920, 1080), image_size=(1920, 1080))
EVAL = ["eval", "bundled", "--model", "tiny", "--methods", "full,snapkv", "--budgets", "20", "--max-new-tokens", "4"]


@pytest.fixture(scope="module")
def deciders():
    """The replay's (make_decider, set_cell) on tiny, and a fidelity runner on the same loaded model."""
    make_decider, set_cell = replay_deciders(RunOptions(task="replay", model="tiny", max_new_tokens=4, retries=0))
    return make_decider, set_cell, FidelityRunner(make_decider)


@pytest.fixture(scope="module")
def trajectory():
    [bundled] = load_source("bundled")
    return bundled


def test_the_full_cache_against_itself_agrees_and_has_no_divergence(deciders, trajectory):
    make_decider, set_cell, runner = deciders
    steps = runner(trajectory, Cell("full", "100"))
    assert len(steps) == len(trajectory.steps) and all(s.tokens == 4 for s in steps)
    assert all(s.agreement for s in steps) and all(s.kl < 1e-6 for s in steps)
    assert summarize(steps)["agreement"] == 1.0 and summarize(steps)["kl"] < 1e-6
    # the reference answers are the full cache's closed-loop replay answers: the same turns, the same decoding
    set_cell("full", "100")
    replayed = replay([trajectory], make_decider).steps
    assert [s.reference_raw for s in steps] == [r.raw for r in replayed]


def test_a_compressing_method_diverges_and_teacher_forcing_keeps_the_histories_identical(deciders, trajectory):
    _, _, runner = deciders
    reference = [s.reference_raw for s in runner(trajectory, Cell("full", "100"))]
    checked = []

    def same_history(step) -> None:  # after the step: both caches hold the same conversation, one of it pruned
        full, method = runner._pass.full, runner._pass.method
        assert torch.equal(full.token_ids, method.token_ids) and full.next_position == method.next_position
        assert method.stats.bytes_held < full.stats.bytes_held
        checked.append(step.step)

    steps = runner(trajectory, Cell("snapkv", "20"), on_step=same_history)
    assert checked == [s.step for s in trajectory.steps]
    assert [s.reference_raw for s in steps] == reference  # the reference does not depend on the cell
    summary = summarize(steps)
    assert summary["kl"] > 1e-4 and summary["tokens"] == 4 * len(steps)
    assert all(s.kl is not None and s.kl >= 0 for s in steps)


def test_kl_is_exact_in_float32():
    logits = torch.tensor([[0.0, 1.0, 2.0], [3.0, -1.0, 0.5]])
    assert torch.equal(kl_divergence(logits, logits), torch.zeros(2))
    p = torch.softmax(logits[0], -1)
    expected = float((p * (p.log() - torch.tensor(1 / 3).log())).sum())
    assert float(kl_divergence(logits[:1], torch.zeros(1, 3))[0]) == pytest.approx(expected, rel=1e-6)
    masked = torch.tensor([[0.0, float("-inf"), 1.0]])  # a token both rule out adds nothing, not NaN
    assert torch.isfinite(kl_divergence(masked, masked)).all()


def test_actions_agree_by_type_and_screen_point_and_unparsable_only_with_unparsable():
    policy = UITarsPolicy("a task", ImageGrid())

    def key(action: str):
        return canonical(policy, f"Thought: something\nAction: {action}", SCREEN)

    assert key("click(start_box='(966,546)')") == ["click at (960, 540)"]
    assert canonical(policy, "Thought: other words\nAction: click(start_box='(966,546)')", SCREEN) == key(
        "click(start_box='(966,546)')"
    )  # the thought is not compared
    assert key("click(start_box='(966,546)')") != key("left_double(start_box='(966,546)')")
    assert key("click(start_box='(966,546)')") != key("click(start_box='(100,546)')")
    assert key("type(content='abc')") == ["type 'abc'"]
    assert canonical(policy, "no action here", SCREEN) is None
    assert canonical(policy, "gibberish", SCREEN) == canonical(policy, "no action here", SCREEN)
    assert canonical(policy, "gibberish", SCREEN) != key("type(content='abc')")
    point = Target(model=(1, 2), screen=(3, 4))
    assert action_key(MobileAction("long_press", point)) != action_key(MobileAction("long_press", None))


def test_eval_prints_agreement_and_kl_and_resumes_the_pass_where_it_is_missing(capsys, monkeypatch, tmp_path):
    out = tmp_path / "eval"
    code, lines = guiagent(capsys, monkeypatch, *EVAL, "--out", str(out), "--no-fidelity")
    assert code == 0, lines
    assert "| full | 100% | 5 | - | 0.0 | 7 |" in "\n".join(lines) and lines_of(lines, "snapkv")[-2:] == ["", ""]
    code, lines = guiagent(capsys, monkeypatch, *EVAL, "--out", str(out))
    assert code == 0, lines
    assert (
        "| method | budget | history | observers | step_accuracy | steps | mean_kv_mib | kv_held_over_full "
        "| mean_step_s | mean_compress_s | agreement | kl |" in (lines)
    )
    assert lines_of(lines, "full")[-2:] == ["1.0", "0.0"]
    agreement, kl = lines_of(lines, "snapkv")[-2:]
    assert float(agreement) == 1.0 and float(kl) > 0  # tiny's answers never parse: they agree as unparsable
    assert "computed 1 unit(s)." in "\n".join(lines)  # only the pass of the snapkv unit; its replay was kept
    rows = list(csv.DictReader((out / "results.csv").open()))
    assert [(r["method"], r["agreement"], r["kl"] != "") for r in rows] == [
        ("full", "1.0", True),
        ("snapkv", "1.0", True),
    ]
    data = json.loads((out / "results.json").read_text())
    assert data["rows"][1]["fidelity"]["steps"] == 7 and data["rows"][1]["fidelity"]["kl"] > 0
    records = (out / "cells" / "snapkv-20" / "fidelity.jsonl").read_text().splitlines()
    assert len(records) == 7 and json.loads(records[0])["tokens"] == 4


def lines_of(lines: list[str], method: str) -> list[str]:
    """The cells of the table row of ``method``."""
    [line] = [line for line in lines if line.startswith(f"| {method} |")]
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_a_scripted_model_skips_the_pass_with_one_note(capsys, monkeypatch, tmp_path):
    folder = bundled_folder().parent / "demo_app"
    code, lines = guiagent(
        capsys,
        monkeypatch,
        "eval",
        str(folder / "dark_mode_run"),
        "--model",
        f"scripted:{folder / 'dark_mode_1366x768.txt'}",
        "--methods",
        "full",
        "--out",
        str(tmp_path),
    )
    assert code == 0, lines
    assert [line for line in lines if "Fidelity skipped" in line] == [
        "Fidelity skipped: a scripted model has no next-token distributions to compare."
    ]
    assert lines_of(lines, "full")[-2:] == ["", ""]


def test_the_pass_refuses_a_decider_without_a_session(trajectory):
    script = bundled_folder().parent / "demo_app" / "dark_mode_1366x768.txt"
    make_decider, _ = replay_deciders(RunOptions(task="x", model=f"scripted:{script}"))
    with pytest.raises(ConfigError, match="not a ScriptedDecider") as error:
        FidelityRunner(make_decider)(trajectory, Cell("snapkv", "20"))
    assert "--no-fidelity" in error.value.hint
