"""AndroidControl scoring: the strict (GUI-KV) and lenient (STaR-KV) rules, and our actions as predictions."""

from __future__ import annotations

import pytest

from guiagent.agent.actions import (
    Click,
    Drag,
    Finished,
    MobileAction,
    Scroll,
    Type,
    Wait,
)
from guiagent.agent.eval.benchmarks.androidcontrol.predictions import androidcontrol_action
from guiagent.agent.eval.benchmarks.androidcontrol.scorer import score_androidcontrol
from guiagent.agent.policy.coords import ScreenGeometry
from tests.agent.eval.benchmarks.builders import (
    CLICK_SEND,
    MAPS,
    pred,
    step,
    target,
)


def both(predicted: dict, expected: dict) -> tuple[float, float]:
    return score_androidcontrol(predicted, expected, "strict"), score_androidcontrol(predicted, expected, "lenient")


def test_androidcontrol_click_in_the_smallest_box_around_the_gt_point():
    # GT (200, 1050) lies in ROOT and SEND; SEND (200x100) is the smaller -> the target box [100, 300] x [1000, 1100]
    assert both(pred("click", (290, 1090)), CLICK_SEND) == (1.0, 1.0)
    assert both(pred("click", (300, 1100)), CLICK_SEND) == (1.0, 1.0)  # edges count
    # long_press for click: strict needs the same type; lenient treats them alike
    assert both(pred("long_press", (200, 1050)), CLICK_SEND) == (0.0, 1.0)


def test_androidcontrol_lenient_margin_and_distance_fallback():
    # margin = max(8, 0.015 * 1080 = 16.2) = 16.2: x = 315 <= 300 + 16.2 -> lenient hit, strict miss
    assert both(pred("click", (315, 1050)), CLICK_SEND) == (0.0, 1.0)
    # outside the inflated box (y 1157 > 1116.2) but L-inf to (200, 1050) = max(100, 107) <= max(72, 108) = 108
    assert both(pred("click", (300, 1157)), CLICK_SEND) == (0.0, 1.0)
    # dy = 109 > 108 -> miss
    assert both(pred("click", (200, 1159)), CLICK_SEND) == (0.0, 0.0)
    # no a11y tree: strict cannot score, lenient falls back to the distance (dx 100 <= 108)
    no_tree = step({"action_type": "click", "x": 200, "y": 1050}, tree=[])
    assert both(pred("click", (300, 1050)), no_tree) == (0.0, 1.0)
    # a GT point outside every node: no box, distance only
    nowhere = step({"action_type": "click", "x": 200, "y": 1050}, tree=[[MAPS]])
    assert both(pred("click", (250, 1100)), nowhere) == (0.0, 1.0)


def test_androidcontrol_lenient_uses_a_shrunk_size_for_large_screenshots():
    # 1440x3120 is scored as 1200x2600 (ratio 1200/1440 = 2600/3120 = 0.8333): threshold max(72, 120) = 120
    large = step({"action_type": "click", "x": 500, "y": 500}, tree=[], size=(1440, 3120))
    assert both(pred("click", (630, 500)), large) == (0.0, 0.0)  # dx 130 > 120 (it would pass 144 unshrunk)
    assert both(pred("click", (615, 500)), large) == (0.0, 1.0)  # dx 115 <= 120


def test_androidcontrol_type_text():
    with_point = step({"action_type": "type_text", "x": 200, "y": 1050, "text": "hello"})
    # quirk (strict): a typed text has no point, so GT type_text steps never score; lenient also needs a point here
    assert both(pred("type", text="hello"), with_point) == (0.0, 0.0)
    without_point = step({"action_type": "type_text", "text": "Hello  World"})
    # lenient: normalized (case, spaces) equality
    assert both(pred("type", text="hello world"), without_point) == (0.0, 1.0)


@pytest.mark.parametrize(
    ("typed", "expected", "score"),
    [
        ("hello world", "Hello  World", 1.0),  # normalized equality
        ("it’s", "its", 1.0),  # curly quote -> ' -> removed
        ("a @ b.com", "a@b.com", 1.0),  # e-mails compared without whitespace
        ("123457", "123456", 1.0),  # one wrong digit in a 6-digit number
        ("123467", "123456", 0.0),  # two wrong digits
        ("pizza hut downtown", "pizza hut", 1.0),  # containment, GT of 9 >= 5 characters
        ("cat", "cats", 0.0),  # containment needs 5+ characters
        ("john", "joh", 1.0),  # quirk: rstrip("\\n") strips a trailing letter n
        ("anything", "", 0.0),  # empty GT text never matches
    ],
)
def test_androidcontrol_lenient_typing(typed, expected, score):
    assert (
        score_androidcontrol(pred("type", text=typed), step({"action_type": "type_text", "text": expected}), "lenient")
        == score
    )


def test_androidcontrol_open_app():
    gt = step({"action_type": "open_app", "app_name": "Google Maps"}, goal="Open Google Maps and find a cafe")
    # a tap on the node that names the app: "google maps" in "google maps"
    assert both(pred("click", (600, 1600)), gt) == (1.0, 1.0)
    # "GoogleMaps" does not contain "google maps" (strict); lenient finds both tokens "google" and "maps" in it
    assert both(pred("click", (900, 1600)), gt) == (0.0, 1.0)
    # quirk: open_app against open_app compares the type only
    assert both(pred("open_app", app_name="Chrome"), gt) == (1.0, 1.0)
    # a tap on "Send": lenient accepts it because the goal names the app and the tap is below the status bar
    # (y 1050 >= 0.06 * 2400 = 144) and left of the edge (x 200 <= 0.97 * 1080 = 1047.6)
    assert both(pred("click", (200, 1050)), gt) == (0.0, 1.0)
    assert both(pred("click", (200, 100)), gt) == (0.0, 0.0)  # y 100 < 144: the status bar
    unnamed = step({"action_type": "open_app", "app_name": "Google Maps"}, goal="Find a cafe")
    assert both(pred("click", (200, 1050)), unnamed) == (0.0, 0.0)


def test_androidcontrol_navigate_back():
    gt = step({"action_type": "navigate_back"})
    assert both(pred("navigate_back"), gt) == (1.0, 1.0)
    assert both(pred("click", (1000, 2300)), gt) == (1.0, 1.0)  # node text "Back"
    # "Navigate up" has no "back": strict 0; lenient knows the label
    assert both(pred("click", (60, 140)), gt) == (0.0, 1.0)
    # the top-left toolbar (x 150/1080 = 0.139 <= 0.16, y 1000/2400 = 0.417 <= 0.46): lenient only
    assert both(pred("click", (150, 1000)), gt) == (0.0, 1.0)
    assert both(pred("click", (600, 1000)), gt) == (0.0, 0.0)
    # no tree: top-right corner (x 1000 >= 0.8 * 1080 = 864, y 200 <= 0.14 * 2400 = 336)
    bare = step({"action_type": "navigate_back"}, tree=[])
    assert both(pred("click", (1000, 200)), bare) == (0.0, 1.0)
    assert both(pred("click", (500, 1200)), bare) == (0.0, 0.0)


def test_androidcontrol_scroll_wait_status():
    down = step({"action_type": "scroll", "direction": "down"})
    assert both(pred("scroll", direction="down"), down) == (1.0, 1.0)
    assert both(pred("scroll", direction="up"), down) == (0.0, 1.0)  # quirk (lenient): up == down
    assert both(pred("scroll", direction="left"), down) == (0.0, 0.0)
    assert both(pred("wait"), step({"action_type": "wait"})) == (1.0, 1.0)
    done = step({"action_type": "status", "goal_status": "successful"})
    assert both(pred("status", status="successful"), done) == (1.0, 1.0)
    assert both(pred("status", status="infeasible"), done) == (0.0, 0.0)
    assert both(pred("press_home"), step({"action_type": "navigate_home"})) == (0.0, 0.0)
    assert both(pred(""), CLICK_SEND) == (0.0, 0.0)  # parse failure


def test_androidcontrol_unknown_rule():
    with pytest.raises(ValueError, match="unknown AndroidControl rule"):
        score_androidcontrol(pred("wait"), step({"action_type": "wait"}), "loose")


HIDPI_PHONE = ScreenGeometry(origin=(0, 0), logical_size=(540, 1200), image_size=(1080, 2400))


def test_androidcontrol_action_conversion():
    # screen (100, 200) on a 2x screen -> screenshot pixels (200, 400)
    assert androidcontrol_action([Click(target(100, 200)), Wait()], HIDPI_PHONE) == pred("click", (200.0, 400.0))
    long_press = androidcontrol_action([MobileAction("long_press", target=target(100, 200))], HIDPI_PHONE)
    assert long_press == pred("long_press", (200.0, 400.0))
    assert androidcontrol_action([Type("hi\n")], HIDPI_PHONE) == pred("type", text="hi")
    assert androidcontrol_action([Scroll("down")], HIDPI_PHONE) == pred("scroll", direction="down")
    assert androidcontrol_action([Scroll("up", target(10, 20))], HIDPI_PHONE) == pred(
        "scroll", (20.0, 40.0), direction="up"
    )
    assert androidcontrol_action([MobileAction("press_back")], HIDPI_PHONE) == pred("navigate_back")
    assert androidcontrol_action([MobileAction("open_app", text="Maps")], HIDPI_PHONE) == pred(
        "open_app", app_name="Maps"
    )
    assert androidcontrol_action([Wait()], HIDPI_PHONE) == pred("wait")
    assert androidcontrol_action([Finished("done")], HIDPI_PHONE) == pred("status", status="successful")
    assert androidcontrol_action([Finished("I cannot do this")], HIDPI_PHONE) == pred("status", status="infeasible")
    assert androidcontrol_action([Finished("infeasible")], HIDPI_PHONE) == pred("status", status="infeasible")
    assert androidcontrol_action([MobileAction("press_home")], HIDPI_PHONE) == pred("press_home")
    assert androidcontrol_action([Drag(target(1, 1), target(2, 2))], HIDPI_PHONE) == pred("drag")
    assert androidcontrol_action([], HIDPI_PHONE) == pred("")


def test_androidcontrol_end_to_end_from_actions():
    # a tap at screen (145, 525) = pixel (290, 1050), inside SEND
    predicted = androidcontrol_action([Click(target(145, 525))], HIDPI_PHONE)
    assert both(predicted, CLICK_SEND) == (1.0, 1.0)
