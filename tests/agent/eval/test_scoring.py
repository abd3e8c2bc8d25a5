"""The scoring registry: every rule by name, each the benchmark's own."""

from __future__ import annotations

from guiagent.agent.eval.scoring import METRICS
from tests.agent.eval.benchmarks.builders import CLICK_SEND, pred, write


def test_metrics_registry():
    assert set(METRICS) == {
        "agentnetbench",
        "agentnetbench-papers",
        "androidcontrol-strict",
        "androidcontrol-lenient",
        "grounding",
        "mind2web",
    }
    assert METRICS["agentnetbench"]([write("a")], [write("a")]).score == 1.0
    assert METRICS["androidcontrol-strict"](pred("click", (315, 1050)), CLICK_SEND) == 0.0
    assert METRICS["androidcontrol-lenient"](pred("click", (315, 1050)), CLICK_SEND) == 1.0
    assert METRICS["grounding"]((0.5, 0.5), (0, 0, 1, 1)) == 1.0
