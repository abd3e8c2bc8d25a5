"""The Multimodal-Mind2Web protocols against what GUI-KV's harness rendered and scored."""

from __future__ import annotations

import pytest

from guiagent.agent.eval.benchmarks.mind2web.importer import load_mind2web
from guiagent.agent.eval.protocols.mind2web import GuikvMind2WebOpenCUA, GuikvMind2WebUITars, operation_f1
from tests.agent.eval.protocols.harness_fixtures import BENCHMARKS, rendered, rows

FOLDER = BENCHMARKS / "mind2web"
PROTOCOLS = {"uitars": GuikvMind2WebUITars, "opencua": GuikvMind2WebOpenCUA}


@pytest.fixture(scope="module")
def tasks():
    return {t.name: t for t in load_mind2web(FOLDER / "cross_task_blocks.jsonl")}


@pytest.mark.parametrize("family", sorted(PROTOCOLS))
def test_first_prompt_is_the_harness_prompt(family, tasks):
    cases = [r for r in rows("mind2web", "messages.json") if r["family"] == family]
    assert len(cases) == 5
    for case in cases:
        trajectory = tasks[case["annotation_id"]]
        assert rendered(PROTOCOLS[family](), trajectory, case["step"], FOLDER) == case["messages"], case


@pytest.mark.parametrize("family", sorted(PROTOCOLS))
def test_scripted_answers_score_as_the_harness(family, tasks):
    cases = [r for r in rows("mind2web", "scores.json") if r["family"] == family]
    assert cases
    wrong = []
    for case in cases:
        trajectory = tasks[case["annotation_id"]]
        step = trajectory.steps[case["step"]]
        got = PROTOCOLS[family]().score(trajectory, case["step"], case["raw"], step.screen.image_size)
        mine = [got.extra[k] for k in ("element_accuracy", "operation_f1", "step_success")] + [got.score]
        theirs = [case[k] for k in ("element_accuracy", "operation_f1", "step_success", "step_success")]
        if mine != theirs:
            wrong.append((case["script"], case["step"], mine, case))
    assert not wrong, wrong[:3]


def test_a_scroll_is_reprompted_up_to_five_times():
    scrolls = [r for r in rows("mind2web", "scores.json") if r["script"] == "scroll_down"]
    assert scrolls and all(r["prompts"] == 5 for r in scrolls)
    others = [r for r in rows("mind2web", "scores.json") if r["script"] != "scroll_down"]
    assert all(r["prompts"] == 1 for r in others)


def test_operation_f1_drops_punctuation_tokens():
    assert operation_f1("type Boston !", "TYPE Boston") == 1.0  # "!" is dropped, case ignored
    assert operation_f1("type Boston", "TYPE: Boston") == 0.5  # "type:" is a token of its own
    assert operation_f1("", " ") == 1.0
