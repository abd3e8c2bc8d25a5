"""ScreenSpot scoring: point in box, and the v2 macro average against the micro one."""

from __future__ import annotations

import pytest

from guiagent.agent.eval.benchmarks.screenspot import grounding_hit, micro_accuracy, screenspot_v2_accuracy


def test_grounding_hit():
    box = (0.4, 0.4, 0.6, 0.6)
    assert grounding_hit((0.5, 0.5), box) == 1.0
    assert grounding_hit((0.6, 0.4), box) == 1.0  # edges count
    assert grounding_hit((0.61, 0.5), box) == 0.0
    assert grounding_hit((0.5, 0.39), box) == 0.0


def test_screenspot_v2_macro_average():
    hits = {
        ("mobile", "text"): [1, 1, 0, 1],  # 0.75
        ("mobile", "icon"): [1, 0],  # 0.5
        ("desktop", "text"): [1],  # 1.0
        ("desktop", "icon"): [0, 0, 1],  # 1/3
        ("web", "text"): [0, 1],  # 0.5
        ("web", "icon"): [1],  # 1.0
    }
    records = [{"split": s, "data_type": t, "hit": h} for (s, t), values in hits.items() for h in values]
    # text: (0.75 + 1 + 0.5) / 3 = 0.75; icon: (0.5 + 1/3 + 1) / 3 = 0.61111; overall (0.75 + 0.61111) / 2 = 0.680556
    assert screenspot_v2_accuracy(records) == pytest.approx(0.6805555556, abs=1e-9)
    # the micro average differs: 8 hits of 13 = 0.615385
    assert micro_accuracy(r["hit"] for r in records) == pytest.approx(8 / 13)


def test_screenspot_v2_missing_type_counts_as_zero():
    # quirk: a split without icon samples has icon accuracy 0: (1 + 0) / 2 = 0.5
    assert screenspot_v2_accuracy([{"split": "mobile", "data_type": "text", "hit": 1}]) == 0.5
    assert screenspot_v2_accuracy([]) == 0.0
    assert micro_accuracy([]) == 0.0
