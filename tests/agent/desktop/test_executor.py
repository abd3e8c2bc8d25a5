"""PyAutoGuiExecutor on a real X server, checked against what the demo app saw.

Every target is built as a model would name it (pixels of its smart-resized image) and mapped back with
``ScreenGeometry.to_screen``, so these tests also cover the model -> screen mapping on a 1366x768 screen.
"""

from __future__ import annotations

import pytest

from guiagent.agent.actions import (
    CallUser,
    Click,
    Drag,
    Finished,
    Hotkey,
    MobileAction,
    Move,
    Press,
    Scroll,
    Type,
    UnsupportedAction,
    Wait,
)
from guiagent.agent.desktop.executor import DryRunExecutor, ExecutorError
from guiagent.agent.policy.coords import ScreenGeometry
from tests.agent.desktop.helpers import GRID, SCREEN_H, SCREEN_W, aim, centre, move_pointer, pointer, require_tools

DARK_BG = (0x20, 0x21, 0x24)


def test_targets_go_through_a_real_resize(geometry: ScreenGeometry) -> None:
    assert geometry.model_size(GRID) == (1372, 756) != (SCREEN_W, SCREEN_H)


def test_settings_dialog_and_dark_mode(demo_app, executor, geometry: ScreenGeometry) -> None:
    from guiagent.agent.desktop.capture import capture

    settings = aim(geometry, *centre(demo_app.widgets["settings_button"]))
    executor.execute(Click(settings))
    demo_app.wait_for("click", widget="settings_button")
    dialog = demo_app.wait_for("dialog_opened")["widgets"]
    executor.execute(Click(settings))  # a second click brings the open dialog forward, it opens no other
    demo_app.wait_for("click", widget="settings_button")

    executor.execute(Click(aim(geometry, *centre(dialog["dark_mode"]))))
    demo_app.wait_for("dark_mode", value=True)
    assert capture().image.getpixel((880, 580)) == DARK_BG  # the main window's background changed

    executor.execute(Click(aim(geometry, *centre(dialog["ok"]))))
    demo_app.wait_for("dialog_closed")
    assert [event["event"] for event in demo_app.all_events()].count("dialog_opened") == 1


def test_typing_with_quotes_then_enter(demo_app, executor, geometry: ScreenGeometry) -> None:
    executor.execute(Click(aim(geometry, *centre(demo_app.widgets["entry"]))))
    executor.execute(Type('it\'s "quoted"\n'))
    demo_app.wait_for("text", value='it\'s "quoted"')
    demo_app.wait_for("submit", value='it\'s "quoted"')


def test_non_ascii_text_is_pasted(demo_app, executor, geometry: ScreenGeometry) -> None:
    require_tools("xclip")
    executor.execute(Click(aim(geometry, *centre(demo_app.widgets["entry"]))))
    executor.execute(Type("café ✓"))
    demo_app.wait_for("text", value="café ✓")


def test_hotkey_and_press(demo_app, executor, geometry: ScreenGeometry) -> None:
    executor.execute(Click(aim(geometry, *centre(demo_app.widgets["entry"]))))
    executor.execute(Hotkey(("ctrl", "a")))
    assert "ctrl" in demo_app.wait_for("key", keysym="a")["modifiers"]
    executor.execute(Press("esc"))
    assert demo_app.wait_for("key", keysym="Escape")["modifiers"] == []


def test_drag_start_and_end(demo_app, executor, geometry: ScreenGeometry) -> None:
    x, y, w, h = demo_app.widgets["drag_area"]
    start, end = (x + w * 0.2, y + h * 0.3), (x + w * 0.8, y + h * 0.9)
    executor.execute(Drag(aim(geometry, *start), aim(geometry, *end)))
    drag = demo_app.wait_for("drag")
    assert drag["start"] == pytest.approx(start, abs=2) and drag["end"] == pytest.approx(end, abs=2)


def test_scroll_in_four_directions(demo_app, executor, geometry: ScreenGeometry) -> None:
    target = aim(geometry, *centre(demo_app.widgets["scroll_area"]))
    for direction in ("down", "up", "right", "left"):
        executor.execute(Scroll(direction, target, amount=1))
        demo_app.wait_for("scroll", direction=direction)


def test_scroll_without_a_target_scrolls_under_the_pointer(demo_app, executor, geometry: ScreenGeometry) -> None:
    executor.execute(Move(aim(geometry, *centre(demo_app.widgets["scroll_area"]))))
    executor.execute(Scroll("down", amount=2))
    demo_app.wait_for("scroll", direction="down")
    demo_app.wait_for("scroll", direction="down")


def test_right_click_and_double_click(demo_app, executor, geometry: ScreenGeometry) -> None:
    target = aim(geometry, *centre(demo_app.widgets["status"]))
    executor.execute(Click(target, button="right"))
    demo_app.wait_for("right_click", widget="status")
    executor.execute(Click(target, clicks=2))
    demo_app.wait_for("double_click", widget="status")


def test_failsafe_stays_on(display: str, executor, geometry: ScreenGeometry) -> None:
    import pyautogui

    assert pyautogui.FAILSAFE
    try:
        executor.execute(Move(geometry.to_screen(0, 0, GRID)))
        with pytest.raises(pyautogui.FailSafeException):
            executor.execute(Click(aim(geometry, 600, 400)))
    finally:
        move_pointer(SCREEN_W // 2, SCREEN_H // 2)


def test_executor_refuses_to_run_with_the_failsafe_off(display: str, executor) -> None:
    import pyautogui

    pyautogui.FAILSAFE = False
    try:
        with pytest.raises(ExecutorError, match="FAILSAFE was turned off"):
            executor.execute(Press("escape"))
    finally:
        pyautogui.FAILSAFE = True


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (Wait(1), "the agent loop handles it"),
        (Finished("done"), "the agent loop handles it"),
        (CallUser("help"), "the agent loop handles it"),
        (MobileAction("press_home"), "is a mobile action and cannot run on a desktop"),
        (Press("nosuchkey"), "Unknown key 'nosuchkey'"),
    ],
)
def test_actions_it_cannot_run_are_unsupported(display: str, executor, action, message: str) -> None:
    with pytest.raises(UnsupportedAction, match=message):
        executor.execute(action)


def test_dry_run_records_and_sends_nothing(demo_app, executor, geometry: ScreenGeometry) -> None:
    move_pointer(1100, 650)
    dry = DryRunExecutor()
    settings = aim(geometry, *centre(demo_app.widgets["settings_button"]))
    actions = [Click(settings), Move(settings), Type("hello\n"), Hotkey(("ctrl", "a")), Scroll("down", settings)]
    for action in actions:
        dry.execute(action)
    assert dry.actions == actions
    assert pointer() == (1100, 650)
    # The app handles input in order: had the dry run sent anything, it would be logged before this real click.
    executor.execute(Click(aim(geometry, *centre(demo_app.widgets["status"])), button="right"))
    demo_app.wait_for("right_click", widget="status")
    assert [event["event"] for event in demo_app.all_events()] == ["ready", "right_click"]
