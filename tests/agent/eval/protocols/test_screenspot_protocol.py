"""The ScreenSpot-v2 / -Pro protocols against what the published harnesses rendered and scored."""

from __future__ import annotations

import pytest

from guiagent.agent.eval.benchmarks.screenspot import load_screenspot_pro, load_screenspot_v2
from guiagent.agent.eval.protocols import screenspot as ss
from tests.agent.eval.protocols.harness_fixtures import BENCHMARKS, plain, rendered, rows

V2, PRO = BENCHMARKS / "screenspot_v2", BENCHMARKS / "screenspot_pro"
VARIANTS = {
    "screenspot_v2": (V2 / "screenspotv2_image", "img_filename"),
    "screenspot_pro": (PRO / "images", "id"),
}
PROTOCOLS = {
    ("screenspot_v2", "guikv", "uitars"): ss.GuikvScreenSpotV2UITars,
    ("screenspot_v2", "guikv", "opencua"): ss.GuikvScreenSpotV2OpenCUA,
    ("screenspot_v2", "starkv", "uitars"): ss.StarkvScreenSpotV2UITars,
    ("screenspot_v2", "starkv", "opencua"): ss.StarkvScreenSpotV2OpenCUA,
    ("screenspot_pro", "guikv", "uitars"): ss.GuikvScreenSpotProUITars,
    ("screenspot_pro", "guikv", "opencua"): ss.GuikvScreenSpotProOpenCUA,
    ("screenspot_pro", "starkv", "uitars"): ss.StarkvScreenSpotProUITars,
    ("screenspot_pro", "starkv", "opencua"): ss.StarkvScreenSpotProOpenCUA,
}


@pytest.fixture(scope="module")
def samples():
    """(folder, key) -> trajectory; v2 keyed by image file, Pro by sample id."""
    found = {("screenspot_v2", t.steps[0].image.name): t for t in load_screenspot_v2(V2)}
    found |= {("screenspot_pro", t.steps[0].expected["id"]): t for t in load_screenspot_pro(PRO / "annotations")}
    return found


@pytest.mark.parametrize("key", sorted(PROTOCOLS))
def test_messages_are_the_harness_messages(key, samples):
    folder, harness, family = key
    images, field = VARIANTS[folder]
    cases = [r for r in rows(folder, "messages.json") if (r["harness"], r["family"]) == (harness, family)]
    assert len(cases) == {"screenspot_v2": 6, "screenspot_pro": 3}[folder]
    for case in cases:
        trajectory = samples[(folder, case[field])]
        assert rendered(PROTOCOLS[key](), trajectory, 0, images) == case["messages"], case


@pytest.mark.parametrize("key", sorted(PROTOCOLS))
def test_scripted_answers_score_as_the_harness(key, samples):
    folder, harness, family = key
    field = VARIANTS[folder][1]
    cases = [r for r in rows(folder, "scores.json") if (r["harness"], r["family"]) == (harness, family)]
    assert cases
    wrong = []
    for case in cases:
        trajectory = samples[(folder, case[field])]
        got = PROTOCOLS[key]().score(trajectory, 0, case["raw"], trajectory.steps[0].screen.image_size)
        if (got.score, plain(got.predicted)) != (case["score"], plain(case["point"])):  # None: not parsed
            wrong.append((case["script"], case[field], got.score, got.predicted, case))
    assert not wrong, wrong[:3]


def test_limits_and_lengths():
    assert ss.GuikvScreenSpotV2UITars.max_new_tokens == 200
    assert ss.StarkvScreenSpotProOpenCUA.max_new_tokens == 400
    assert ss.GuikvScreenSpotProUITars.min_pixels == 100 * 28 * 28
