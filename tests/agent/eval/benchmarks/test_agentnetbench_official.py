"""A randomized cross-check of our AgentNetBench scorer against OpenCUA's official evaluator (shipped in
tests/data/official/opencua with its licence)."""

from __future__ import annotations

import copy
import importlib.util
import math
import random
import sys
import types

import pytest

from guiagent.agent.eval.benchmarks.agentnetbench.scorer import score_agentnetbench
from tests.helpers.data import TESTS_DATA

# ---------------------------------------------------------------------------------------------------------------
# cross-check against the official evaluator

# OpenCUA's evaluation/agentnetbench/eval.py at 1d70f20, shipped with its MIT licence (see its README there)
OFFICIAL_EVALUATOR = TESTS_DATA / "official" / "opencua" / "agentnetbench_eval.py"


def _levenshtein(a: str, b: str) -> int:
    """Stand-in for the ``editdistance`` package (row by row, written independently of the code under test)."""
    row = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        diagonal, row[0] = row[0], i
        for j in range(1, len(b) + 1):
            above = row[j]
            row[j] = min(above + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1]))
            diagonal = above
    return row[len(b)]


@pytest.fixture
def official_evaluator(monkeypatch):
    stub = types.ModuleType("editdistance")
    stub.eval = _levenshtein
    monkeypatch.setitem(sys.modules, "editdistance", stub)  # so eval.py does not pip install it
    spec = importlib.util.spec_from_file_location("opencua_agentnetbench_eval", OFFICIAL_EVALUATOR)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.ActionEvaluator()


POINTED_TYPES = ["click", "doubleClick", "rightClick", "tripleClick", "moveTo", "dragTo"]
WORDS = ["george orwell", "CardPhotoForm", "stat6011", "help me polish this: ", "SPOTIFY", "a", "", "hello world"]


def _random_point(rng: random.Random) -> tuple[float, float]:
    return round(rng.random(), 4), round(rng.random(), 4)


def _random_ground_truth_action(rng: random.Random) -> dict:
    kind = rng.choice(POINTED_TYPES * 2 + ["write", "write", "press", "hotkey", "scroll", "hscroll", "terminate"])
    if kind in POINTED_TYPES:
        x, y = _random_point(rng)
        action = {"type": kind, "params": {"position": {"x": x, "y": y}}}
        metadata = rng.choice(["none", "empty", "boxes", "around", "malformed"])
        if metadata == "empty":
            action["metadata"] = {}
        elif metadata == "boxes":
            action["metadata"] = {"bboxes": [{"rel_bbox": [rng.random() * 0.8, rng.random() * 0.8, 0.1, 0.1]}]}
        elif metadata == "around":
            width, height = rng.uniform(0.005, 0.2), rng.uniform(0.005, 0.2)
            action["metadata"] = {"bboxes": [{"rel_bbox": [x - width / 2, y - height / 2, width, height]}]}
        elif metadata == "malformed":
            action["metadata"] = {"bboxes": [{"rel_bbox": [x, y]}]}
        return action
    if kind == "write":
        return {
            "type": "write",
            "params": {rng.choice(["text", "content"]): rng.choice(WORDS) + rng.choice(["", "\n"])},
        }
    if kind == "press":
        return {"type": "press", "params": {"keys": [rng.choice(["enter", "Return", "tab", "Escape"])]}}
    if kind == "hotkey":
        return {"type": "hotkey", "params": {"keys": rng.sample(["ctrl", "Shift", "c", "V", "alt"], rng.randint(1, 3))}}
    if kind in ("scroll", "hscroll"):
        return {"type": kind, "params": {"amount": rng.randint(-10, 10)}}
    return {"type": "terminate", "params": {"status": rng.choice(["success", "failure"])}}


def _random_ground_truth(rng: random.Random) -> list[dict]:
    actions = [_random_ground_truth_action(rng) for _ in range(rng.randint(1, 3))]
    if rng.random() < 0.25:  # a write + Enter pair somewhere
        at = rng.randint(0, len(actions))
        enter = {"type": rng.choice(["press", "hotkey"]), "params": {"keys": [rng.choice(["enter", "Return"])]}}
        actions[at:at] = [{"type": "write", "params": {"text": rng.choice(WORDS)}}, enter]
    return actions


def _mutate_text(rng: random.Random, text: str) -> str:
    choice = rng.random()
    if choice < 0.25:
        return text.upper()
    if choice < 0.5:
        return f"  {text} "
    if choice < 0.75 and text:
        at = rng.randrange(len(text))
        return text[:at] + rng.choice("xyz") + text[at + 1 :]
    return rng.choice(WORDS)


def _prediction_from(rng: random.Random, action: dict) -> dict:
    """A prediction near a ground-truth action: same type (mostly), jittered point, edited text, shuffled keys."""
    kind, params = action["type"], action["params"]
    if rng.random() < 0.15:
        kind = rng.choice(POINTED_TYPES + ["write", "press", "hotkey", "scroll", "terminate", "Terminate"])
    if kind in POINTED_TYPES:
        x, y = (params["position"]["x"], params["position"]["y"]) if "position" in params else _random_point(rng)
        spread = rng.choice([0.0, 0.005, 0.02, 0.05, 0.3])
        return {"type": kind, "params": {"position": {"x": x + rng.gauss(0, spread), "y": y + rng.gauss(0, spread)}}}
    if kind == "write":
        text = params.get("text", params.get("content", rng.choice(WORDS)))
        return {"type": "write", "params": {"text": _mutate_text(rng, text)}}
    if kind in ("press", "hotkey"):
        names = list(params.get("keys", ["enter"]))
        rng.shuffle(names)
        if rng.random() < 0.3:
            names = [name.upper() for name in names]
        if rng.random() < 0.2:
            names.append("shift")
        return {"type": kind, "params": {"keys": names}}
    if kind in ("scroll", "hscroll"):
        return {"type": kind, "params": {"amount": rng.choice([5, -5])}}
    status = params.get("status", "success")
    return {"type": kind, "params": {"status": rng.choice([status, status, "failure", "Success"])}}


def _random_prediction(rng: random.Random, ground_truth: list[dict]) -> list[dict]:
    predicted = [_prediction_from(rng, action) for action in ground_truth]
    for action in predicted[:]:
        if action["type"] == "write" and rng.random() < 0.4:  # write + Enter on the predicted side
            at = predicted.index(action) + 1
            predicted.insert(at, {"type": rng.choice(["press", "press", "hotkey"]), "params": {"keys": ["enter"]}})
    if rng.random() < 0.2:
        predicted = predicted[1:]
    if rng.random() < 0.2:
        predicted.append(_prediction_from(rng, _random_ground_truth_action(rng)))
    if rng.random() < 0.1:
        rng.shuffle(predicted)
    return predicted


def _official_tuple(action: dict) -> tuple:
    """Our dict prediction in the tuple form the official evaluator takes (as OpenCUA's agent builds it)."""
    kind, params = action["type"], action["params"]
    if kind.lower() in ("click", "doubleclick", "rightclick", "tripleclick", "moveto", "dragto"):
        return kind, (params["position"]["x"], params["position"]["y"])
    field = {"write": "text", "press": "keys", "hotkey": "keys", "scroll": "amount", "hscroll": "amount"}
    return kind, params[field.get(kind.lower(), "status")]


def _official_step(evaluator, predicted: list[dict], ground_truth: list[dict], alternatives: list[list[dict]]):
    """run.py's per-step logic around ``evaluate_action`` (deep copies: the official code edits its input)."""
    if not predicted:
        return {"total": 0, "actions": {}}, False
    tuples = [_official_tuple(action) for action in predicted]
    best = evaluator.evaluate_action(
        {"ground_truth_actions": copy.deepcopy(ground_truth), "predicted_actions": list(tuples)}
    )
    used = False
    if best["total"] < 1.0:
        for option in alternatives:
            candidate = evaluator.evaluate_action(
                {"ground_truth_actions": copy.deepcopy(option), "predicted_actions": list(tuples)}
            )
            if candidate["total"] > best["total"]:
                best, used = candidate, True
    return best, used


def test_matches_the_official_evaluator_on_random_steps(official_evaluator, capsys):
    rng = random.Random(20240607)
    distinct_scores = set()
    for case in range(250):
        ground_truth = _random_ground_truth(rng)
        predicted = _random_prediction(rng, ground_truth) if rng.random() < 0.9 else []
        alternatives = [_random_ground_truth(rng) for _ in range(rng.choice([0, 0, 1, 2]))]
        if alternatives and rng.random() < 0.5:  # an alternative the prediction was built from
            predicted = _random_prediction(rng, alternatives[0])
        expected, used = _official_step(official_evaluator, predicted, ground_truth, alternatives)
        snapshot = copy.deepcopy((predicted, ground_truth, alternatives))
        ours = score_agentnetbench(predicted, ground_truth, alternatives)
        assert (predicted, ground_truth, alternatives) == snapshot, "inputs must not be modified"
        context = f"case {case}: predicted={predicted} gt={ground_truth} alternatives={alternatives}"
        assert math.isclose(ours.score, expected["total"], rel_tol=0, abs_tol=1e-9), context
        assert ours.per_type.keys() == expected["actions"].keys(), context
        for kind, value in expected["actions"].items():
            assert math.isclose(ours.per_type[kind], value, rel_tol=0, abs_tol=1e-9), context
        assert ours.used_alternative == used, context
        distinct_scores.add(round(ours.score, 6))
    capsys.readouterr()  # the official evaluator prints as it goes
    # the random steps must exercise partial credit, not only 0 and 1
    assert len(distinct_scores) > 20
