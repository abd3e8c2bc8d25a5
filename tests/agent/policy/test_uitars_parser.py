"""parse_uitars: every action form and point format, reasoning sections, malformed output, ui-tars 0.5.1 bugs.

Expected screen points are worked out by hand. On a 1920x1080 screen captured at 1920x1080 the model sees
smart_resize(1080, 1920) = (1092, 1932): 1080/28 = 38.57 -> 39*28 = 1092, 1920/28 = 68.57 -> 69*28 = 1932,
and 1092*1932 = 2,109,744 lies within UI-TARS's 3136 .. 12,845,056 pixels. So x_screen = x * 1920/1932 and
y_screen = y * 1080/1092; the model's centre (966, 546) is the screen's centre (960, 540).
"""

from __future__ import annotations

import pytest

from guiagent.agent.actions import (
    CallUser,
    Click,
    Drag,
    Finished,
    Hotkey,
    KeyUp,
    MobileAction,
    Move,
    ParseError,
    Press,
    Scroll,
    Target,
    Type,
    Wait,
)
from guiagent.agent.policy.coords import ImageGrid, ScreenGeometry
from guiagent.agent.policy.uitars_parser import parse_uitars

SCREEN = ScreenGeometry(origin=(0, 0), logical_size=(1920, 1080), image_size=(1920, 1080))
GRID = ImageGrid()
# (966, 546) is half of (1932, 1092): 966 * 1920/1932 = 960, 546 * 1080/1092 = 540.
CENTRE = Target(model=(966, 546), screen=(960, 540))
# (1449, 819) is three quarters of (1932, 1092): 0.75 * 1920 = 1440, 0.75 * 1080 = 810.
LOWER_RIGHT = Target(model=(1449, 819), screen=(1440, 810))


def parse(action: str) -> tuple:
    """The actions of a response with one Thought and the given Action text."""
    return parse_uitars(f"Thought: test\nAction: {action}", SCREEN, GRID).actions


def parse_error(action: str) -> ParseError:
    with pytest.raises(ParseError) as caught:
        parse(action)
    return caught.value


# --- the response as a whole -------------------------------------------------------------------------------


def test_documented_example_maps_model_pixels_to_screen() -> None:
    text = (
        "Thought: The settings button is at the top right. I will click it.\n"
        "Action: click(start_box='<|box_start|>(1021,33)<|box_end|>')"
    )
    parsed = parse_uitars(text, SCREEN, GRID)
    # 1021 * 1920/1932 = 1014.66 -> 1015; 33 * 1080/1092 = 32.64 -> 33
    assert parsed.actions == (Click(Target(model=(1021, 33), screen=(1015, 33))),)
    assert parsed.thought == "The settings button is at the top right. I will click it."
    assert parsed.reflection == ""
    assert parsed.raw == text


def test_brief_example_point() -> None:
    # 952 * 1920/1932 = 946.08 -> 946; 532 * 1080/1092 = 526.15 -> 526
    assert parse("click(start_box='(952,532)')") == (Click(Target(model=(952, 532), screen=(946, 526))),)


def test_thought_spans_lines_and_is_stripped() -> None:
    parsed = parse_uitars("Thought:  first line\nsecond line  \n\nAction: wait()", SCREEN, GRID)
    assert parsed.thought == "first line\nsecond line"


def test_reflection_and_action_summary() -> None:
    text = "Reflection: The menu did not open.\nAction_Summary: Click the menu again.\nAction: wait()"
    parsed = parse_uitars(text, SCREEN, GRID)
    assert (parsed.reflection, parsed.thought) == ("The menu did not open.", "Click the menu again.")


def test_bare_action_summary_is_the_thought() -> None:
    parsed = parse_uitars("Action_Summary: Open the file menu.\nAction: wait()", SCREEN, GRID)
    assert (parsed.reflection, parsed.thought) == ("", "Open the file menu.")


def test_action_without_reasoning() -> None:
    parsed = parse_uitars("Action: press(key='enter')", SCREEN, GRID)
    assert (parsed.thought, parsed.reflection, parsed.actions) == ("", "", (Press("enter"),))


def test_several_actions_in_order() -> None:
    text = (
        "Thought: fill in the form\n"
        "Action: click(start_box='(966,546)')\n\n"
        "type(content='hello')\n\n\n"
        "  \n"
        "hotkey(key='ctrl s')"
    )
    assert parse_uitars(text, SCREEN, GRID).actions == (Click(CENTRE), Type("hello"), Hotkey(("ctrl", "s")))


def test_type_followed_by_another_action() -> None:
    actions = parse("type(content='a (b)')\n\nclick(start_box='(966,546)')")
    assert actions == (Type("a (b)"), Click(CENTRE))


# --- points --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "box",
    [
        "(966,546)",
        "( 966 , 546 )",
        "<|box_start|>(966,546)<|box_end|>",
        "<point>966 546</point>",
        "[966, 546]",
        # boxes: centre ((900 + 1032)/2, (500 + 592)/2) = (966, 546)
        "<bbox>900 500 1032 592</bbox>",
        "[900,500,1032,592]",
        "(900,500,1032,592)",
        "<|box_start|>(900,500,1032,592)<|box_end|>",
    ],
)
def test_point_formats(box: str) -> None:
    assert parse(f"click(start_box='{box}')") == (Click(CENTRE),)


def test_float_coordinates() -> None:
    # (724.5, 409.5) is 0.375 of (1932, 1092): 0.375 * 1920 = 720, 0.375 * 1080 = 405
    assert parse("click(start_box='(724.5, 409.5)')") == (Click(Target(model=(724.5, 409.5), screen=(720, 405))),)


def test_double_quoted_argument() -> None:
    assert parse('click(start_box="(966,546)")') == (Click(CENTRE),)


@pytest.mark.parametrize("arg", ["start_box", "point", "start_point"])
def test_start_point_argument_names(arg: str) -> None:
    assert parse(f"click({arg}='(966,546)')") == (Click(CENTRE),)


def test_non_primary_monitor_adds_its_origin() -> None:
    right = ScreenGeometry(origin=(1920, 0), logical_size=(1920, 1080), image_size=(1920, 1080))
    left = ScreenGeometry(origin=(-1920, 0), logical_size=(1920, 1080), image_size=(1920, 1080))
    action = "Action: click(start_box='(966,546)')"
    # 1920 + 960 = 2880; -1920 + 960 = -960
    assert parse_uitars(action, right, GRID).actions == (Click(Target(model=(966, 546), screen=(2880, 540))),)
    assert parse_uitars(action, left, GRID).actions == (Click(Target(model=(966, 546), screen=(-960, 540))),)


def test_hidpi_maps_to_logical_pixels() -> None:
    # A 1440x900 logical screen captured at 2880x1800: smart_resize(1800, 2880) = (1792, 2884)
    # (1800/28 = 64.29 -> 64*28 = 1792; 2880/28 = 102.86 -> 103*28 = 2884; 1792*2884 = 5,168,128 < max).
    # (1442, 896) is half of (2884, 1792) -> (720, 450) logical, not the physical (1440, 900).
    retina = ScreenGeometry(origin=(0, 0), logical_size=(1440, 900), image_size=(2880, 1800))
    parsed = parse_uitars("Action: click(start_box='(1442,896)')", retina, GRID)
    assert parsed.actions == (Click(Target(model=(1442, 896), screen=(720, 450))),)


def test_point_outside_the_screen_is_clamped_and_flagged() -> None:
    # 3000 * 1920/1932 = 2981.4 -> clamped to 1919; 50 * 1080/1092 = 49.45 -> 49
    assert parse("click(start_box='(3000,50)')") == (Click(Target(model=(3000, 50), screen=(1919, 49), clamped=True)),)


def test_point_on_the_far_edge_is_clamped_inside() -> None:
    # (1932, 1092) maps to (1920, 1080), one past the last pixel -> (1919, 1079)
    (click,) = parse("click(start_box='(1932,1092)')")
    assert click.target == Target(model=(1932, 1092), screen=(1919, 1079), clamped=True)


# --- action names --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "button", "clicks"),
    [
        ("click", "left", 1),
        ("left_single", "left", 1),
        ("left_double", "left", 2),
        ("right_single", "right", 1),
        ("left_triple", "left", 3),
        ("triple_click", "left", 3),
    ],
)
def test_clicks(name: str, button: str, clicks: int) -> None:
    assert parse(f"{name}(start_box='(966,546)')") == (Click(CENTRE, button, clicks),)


def test_hover_moves_without_clicking() -> None:
    assert parse("hover(start_box='(966,546)')") == (Move(CENTRE),)


@pytest.mark.parametrize("name", ["drag", "select"])
@pytest.mark.parametrize(("start", "end"), [("start_box", "end_box"), ("start_point", "end_point")])
def test_drag(name: str, start: str, end: str) -> None:
    actions = parse(f"{name}({start}='(966,546)', {end}='(1449,819)')")
    assert actions == (Drag(CENTRE, LOWER_RIGHT),)


@pytest.mark.parametrize("direction", ["up", "down", "left", "right"])
def test_scroll_directions_at_a_point(direction: str) -> None:
    assert parse(f"scroll(start_box='(966,546)', direction='{direction}')") == (Scroll(direction, CENTRE),)


def test_scroll_without_a_point_scrolls_where_the_pointer_is() -> None:
    assert parse("scroll(direction='Down')") == (Scroll("down"),)


@pytest.mark.parametrize("key", ["ctrl c", "ctrl+c", "Ctrl + C", " ctrl  c "])
def test_hotkey_separators_and_case(key: str) -> None:
    assert parse(f"hotkey(key='{key}')") == (Hotkey(("ctrl", "c")),)


def test_hotkey_argument_named_hotkey() -> None:
    assert parse("hotkey(hotkey='ctrl shift t')") == (Hotkey(("ctrl", "shift", "t")),)


@pytest.mark.parametrize("name", ["press", "keydown"])
def test_press(name: str) -> None:
    assert parse(f"{name}(key='Enter')") == (Press("enter"),)


@pytest.mark.parametrize("name", ["release", "keyup"])
def test_release(name: str) -> None:
    assert parse(f"{name}(key='shift')") == (KeyUp("shift"),)


def test_type_plain() -> None:
    assert parse("type(content='hello world')") == (Type("hello world"),)


def test_type_trailing_newline_means_submit_and_is_kept() -> None:
    assert parse(r"type(content='search terms\n')") == (Type("search terms\n"),)


def test_type_unescaped_quotes_and_parentheses() -> None:
    assert parse("type(content='print('hi') and f(x)')") == (Type("print('hi') and f(x)"),)


def test_type_real_newlines_and_blank_lines_are_content() -> None:
    assert parse("type(content='line one\n\nline three\n')") == (Type("line one\n\nline three\n"),)


def test_type_double_quoted_with_escaped_double_quote() -> None:
    assert parse(r'type(content="say \"hi\"")') == (Type('say "hi"'),)


def test_type_escaped_backslash_is_one_backslash() -> None:
    # the model writes C:\\new (Python escaping): one backslash, then "new", not a newline
    assert parse(r"type(content='C:\\new')") == (Type("C:\\new"),)


def test_type_empty_content() -> None:
    assert parse("type(content='')") == (Type(""),)


def test_wait() -> None:
    assert parse("wait()") == (Wait(5.0),)


def test_finished_with_and_without_content() -> None:
    assert parse("finished()") == (Finished(""),)
    assert parse("finished(content='It\\'s done: 42 (approx)')") == (Finished("It's done: 42 (approx)"),)
    assert parse("finished(content='It's done')") == (Finished("It's done"),)


def test_call_user() -> None:
    assert parse("call_user()") == (CallUser(""),)


def test_mobile_actions() -> None:
    actions = parse(
        "long_press(start_box='(966,546)')\n\nopen_app(app_name='Settings')\n\npress_home()\n\npress_back()"
    )
    assert actions == (
        MobileAction("long_press", target=CENTRE),
        MobileAction("open_app", text="Settings"),
        MobileAction("press_home"),
        MobileAction("press_back"),
    )


# --- malformed output ----------------------------------------------------------------------------------------


def test_no_action_marker() -> None:
    text = "Thought: I am not sure what to do."
    with pytest.raises(ParseError) as caught:
        parse_uitars(text, SCREEN, GRID)
    assert (caught.value.message, caught.value.text) == ("no 'Action:' in the response", text)


def test_empty_action() -> None:
    with pytest.raises(ParseError, match="empty Action"):
        parse_uitars("Thought: done\nAction:   \n", SCREEN, GRID)


def test_unknown_action_name() -> None:
    error = parse_error("doubleclick(start_box='(1,2)')")
    assert "unknown action 'doubleclick'" in error.message
    assert error.text == "doubleclick(start_box='(1,2)')"


@pytest.mark.parametrize(
    "box",
    [
        "=",
        "",
        "(abc,def)",
        "(12)",
        "(1,2,3)",
        "(1,2",
        "<point>1</point>",
        "12, 34",
        "(nan,1)",
        "(1e3,2)",
        "()",
        "(1" + "0" * 400 + ",2)",
    ],
)
def test_garbled_coordinates(box: str) -> None:
    error = parse_error(f"click(start_box='{box}')")
    assert "missing or garbled coordinates" in error.message
    assert error.text == f"click(start_box='{box}')"


def test_point_must_be_a_string() -> None:
    assert "must be a string" in parse_error("click(start_box=5)").message


@pytest.mark.parametrize(
    ("action", "missing"),
    [
        ("click()", "start_box"),
        ("hover()", "start_box"),
        ("drag(start_box='(1,2)')", "end_box"),
        ("select(end_box='(1,2)')", "start_box"),
        ("scroll(start_box='(1,2)')", "direction"),
        ("hotkey()", "key"),
        ("press()", "key"),
        ("type()", "content"),
        ("open_app()", "app_name"),
        ("long_press()", "start_box"),
    ],
)
def test_missing_required_argument(action: str, missing: str) -> None:
    assert f"missing its '{missing}' argument" in parse_error(action).message


def test_scroll_direction_is_validated() -> None:
    assert "scroll direction must be one of" in parse_error("scroll(direction='sideways')").message


@pytest.mark.parametrize("key", ["", " ", "+"])
def test_hotkey_without_keys(key: str) -> None:
    assert "names no key" in parse_error(f"hotkey(key='{key}')").message


def test_press_takes_one_key() -> None:
    assert "takes one key" in parse_error("press(key='ctrl c')").message


@pytest.mark.parametrize("action", ["click(start_box='(1,2)'", "click(start_box='(1,2)'))", "wait("])
def test_unbalanced_parentheses(action: str) -> None:
    assert parse_error(action).message == "unbalanced parentheses"


def test_invalid_call_syntax() -> None:
    assert parse_error("click(start_box='(1,2))").message == "not a valid action call"


def test_not_a_call() -> None:
    assert "expected one action call" in parse_error("'(1,2)'").message
    assert "expected one action call" in parse_error("pyautogui.click(start_box='(1,2)')").message


def test_actions_must_be_separated_by_blank_lines() -> None:
    assert parse_error("wait()\nwait()").message == "not a valid action call"


def test_positional_arguments_are_refused() -> None:
    assert "must be named" in parse_error("click('(1,2)')").message
    assert "must be named" in parse_error("click(**{'start_box': '(1,2)'})").message


def test_computed_arguments_are_refused_not_evaluated() -> None:
    assert parse_error("click(start_box=__import__('os').getcwd())").message == "action arguments must be literals"


def test_duplicate_argument_via_alias() -> None:
    assert "given twice" in parse_error("click(start_box='(1,2)', point='(3,4)')").message


def test_unclosed_type_content() -> None:
    assert "content is not closed" in parse_error("type(content='hello").message


def test_an_error_in_a_later_action_fails_the_response() -> None:
    error = parse_error("click(start_box='(966,546)')\n\nteleport(start_box='(1,2)')")
    assert error.text == "teleport(start_box='(1,2)')"


# --- regressions: bugs of the ui-tars 0.5.1 package ----------------------------------------------------------


def test_regression_click_is_scaled_once_not_twice() -> None:
    # Scaled twice, (952, 532) would land near (0, 0); scaled once it is (946, 526) (see test_brief_example_point).
    (click,) = parse("click(start_box='<|box_start|>(952,532)<|box_end|>')")
    assert click.target.screen == (946, 526)


def test_regression_scroll_point_is_scaled() -> None:
    # Unscaled, the scroll would happen at (1449, 819); scaled it is at (1440, 810).
    assert parse("scroll(start_box='(1449,819)', direction='down')") == (Scroll("down", LOWER_RIGHT),)


def test_regression_type_unescapes_once_and_keeps_one_newline() -> None:
    # The model's text is: type(content='it\'s ok\n') with a backslash before ' and before n.
    assert parse(r"type(content='it\'s ok\n')") == (Type("it's ok\n"),)


@pytest.mark.parametrize("direction", ["left", "right"])
def test_regression_horizontal_scroll_is_kept(direction: str) -> None:
    assert parse(f"scroll(start_box='(966,546)', direction='{direction}')") == (Scroll(direction, CENTRE),)


def test_regression_press_is_one_key_press() -> None:
    # One Press (the executor presses and releases it); not a keyDown without keyUp, not two presses.
    assert parse("press(key='enter')") == (Press("enter"),)
