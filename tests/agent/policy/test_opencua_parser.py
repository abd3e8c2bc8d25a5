"""parse_opencua: sections and code blocks, every pyautogui/computer call, coordinates, and the safe subset.

Expected screen points are worked out by hand. On a 1920x1080 screen captured at 1920x1080 the model sees
smart_resize(1080, 1920) = (1092, 1932): 1080/28 = 38.57 -> 39*28 = 1092, 1920/28 = 68.57 -> 69*28 = 1932,
and 1092*1932 = 2,109,744 lies within 3136 .. 12,845,056 pixels. So x_screen = x * 1920/1932 and
y_screen = y * 1080/1092; the model's centre (966, 546) is the screen's centre (960, 540).
"""

from __future__ import annotations

import pytest

from guiagent.agent.actions import (
    Click,
    Drag,
    Finished,
    Hotkey,
    KeyUp,
    Move,
    ParseError,
    Press,
    Scroll,
    Target,
    Type,
    Wait,
)
from guiagent.agent.policy.coords import ImageGrid, ScreenGeometry
from guiagent.agent.policy.opencua_parser import parse_opencua

SCREEN = ScreenGeometry(origin=(0, 0), logical_size=(1920, 1080), image_size=(1920, 1080))
GRID = ImageGrid()
# (966, 546) is half of (1932, 1092): 966 * 1920/1932 = 960, 546 * 1080/1092 = 540.
CENTRE = Target(model=(966, 546), screen=(960, 540))
# (1449, 819) is three quarters of (1932, 1092): 0.75 * 1920 = 1440, 0.75 * 1080 = 810.
LOWER_RIGHT = Target(model=(1449, 819), screen=(1440, 810))

RESPONSE = """## Observation:
A browser window with a search box in the middle.

## Thought:
The search box is empty. I should click it
and then type the query.

## Action:
Click the search box.

## Code:
```python
pyautogui.click(x=966, y=546)
```
"""


def code(source: str) -> str:
    """A minimal response holding ``source`` in a python code block."""
    return f"## Thought:\nok\n## Code:\n```python\n{source}\n```"


def parse(source: str, coordinates: str = "qwen25") -> tuple:
    return parse_opencua(code(source), SCREEN, GRID, coordinates=coordinates).actions


def refusal(source: str) -> ParseError:
    with pytest.raises(ParseError) as caught:
        parse(source)
    return caught.value


# --- the response as a whole -------------------------------------------------------------------------------


def test_full_response() -> None:
    parsed = parse_opencua(RESPONSE, SCREEN, GRID)
    assert parsed.thought == "The search box is empty. I should click it\nand then type the query."
    assert parsed.actions == (Click(CENTRE),)
    assert parsed.reflection == ""
    assert parsed.raw == RESPONSE


def test_response_without_thought() -> None:
    parsed = parse_opencua("```python\ncomputer.wait()\n```", SCREEN, GRID)
    assert (parsed.thought, parsed.actions) == ("", (Wait(5.0),))


def test_code_fence_labelled_code() -> None:
    assert parse_opencua("## Code:\n```code\npyautogui.press('enter')\n```", SCREEN, GRID).actions == (Press("enter"),)


def test_last_code_block_is_used() -> None:
    text = "## Thought:\nfirst idea\n```python\npyautogui.press('tab')\n```\n## Code:\n```python\ncomputer.wait()\n```"
    parsed = parse_opencua(text, SCREEN, GRID)
    assert (parsed.thought, parsed.actions) == ("first idea", (Wait(5.0),))


def test_several_statements_in_order() -> None:
    actions = parse("pyautogui.click(966, 546)\npyautogui.write('hello')\npyautogui.press('enter')")
    assert actions == (Click(CENTRE), Type("hello"), Press("enter"))


def test_no_code_block() -> None:
    text = "## Thought:\nI will click.\n## Action:\nclick the button"
    with pytest.raises(ParseError) as caught:
        parse_opencua(text, SCREEN, GRID)
    assert (caught.value.message, caught.value.text) == ("no fenced code block in the response", text)


@pytest.mark.parametrize("body", ["", "   \n  "])
def test_empty_code_block(body: str) -> None:
    with pytest.raises(ParseError, match="empty code block"):
        parse_opencua(f"## Code:\n```python\n{body}\n```", SCREEN, GRID)


def test_code_that_is_not_python() -> None:
    assert refusal("pyautogui.click(1, 2").message.startswith("code is not valid Python")


# --- calls ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "button", "clicks"),
    [
        ("pyautogui.click(966, 546)", "left", 1),
        ("pyautogui.click(x=966, y=546)", "left", 1),
        ("pyautogui.click(966, y=546)", "left", 1),
        ("pyautogui.click(x=966, y=546, clicks=2)", "left", 2),
        ("pyautogui.click(x=966, y=546, button='right')", "right", 1),
        ("pyautogui.click(966, 546, duration=0.2, interval=0.1)", "left", 1),
        ("pyautogui.doubleClick(966, 546)", "left", 2),
        ("pyautogui.tripleClick(x=966, y=546)", "left", 3),
        ("pyautogui.rightClick(966, 546)", "right", 1),
        ("pyautogui.middleClick(966, 546)", "middle", 1),
        ("computer.triple_click(966, 546)", "left", 3),
        ("computer.triple_click(x=966, y=546)", "left", 3),
    ],
)
def test_clicks(source: str, button: str, clicks: int) -> None:
    assert parse(source) == (Click(CENTRE, button, clicks),)


def test_move_to() -> None:
    assert parse("pyautogui.moveTo(966, 546)") == (Move(CENTRE),)


def test_move_then_drag_is_one_drag() -> None:
    actions = parse("pyautogui.moveTo(966, 546)\npyautogui.dragTo(1449, 819, duration=0.5, button='left')")
    assert actions == (Drag(CENTRE, LOWER_RIGHT),)


def test_click_then_drag_keeps_the_click() -> None:
    actions = parse("pyautogui.click(966, 546)\npyautogui.dragTo(x=1449, y=819)")
    assert actions == (Click(CENTRE), Drag(CENTRE, LOWER_RIGHT))


def test_chained_drags_start_where_the_last_ended() -> None:
    actions = parse("pyautogui.moveTo(966, 546)\npyautogui.dragTo(1449, 819)\npyautogui.dragTo(966, 546)")
    assert actions == (Drag(CENTRE, LOWER_RIGHT), Drag(LOWER_RIGHT, CENTRE))


def test_drag_without_a_start() -> None:
    error = refusal("pyautogui.dragTo(1449, 819)")
    assert "needs a moveTo or click before it" in error.message
    assert error.text == "pyautogui.dragTo(1449, 819)"


def test_drag_with_another_button() -> None:
    assert "left-button" in refusal("pyautogui.moveTo(1, 2)\npyautogui.dragTo(3, 4, button='right')").message


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("pyautogui.scroll(5)", Scroll("up", None, 5)),
        ("pyautogui.scroll(-3)", Scroll("down", None, 3)),
        ("pyautogui.scroll(-10, x=966, y=546)", Scroll("down", CENTRE, 10)),
        ("pyautogui.scroll(2, 966, 546)", Scroll("up", CENTRE, 2)),
        ("pyautogui.hscroll(4)", Scroll("right", None, 4)),
        ("pyautogui.hscroll(-4, x=966, y=546)", Scroll("left", CENTRE, 4)),
    ],
)
def test_scroll(source: str, expected: Scroll) -> None:
    assert parse(source) == (expected,)


@pytest.mark.parametrize("amount", ["0", "1.5", "'5'"])
def test_scroll_amount_must_be_a_non_zero_whole_number(amount: str) -> None:
    assert refusal(f"pyautogui.scroll({amount})").message.startswith(
        ("scroll amount", "clicks must be a finite number")
    )


@pytest.mark.parametrize("name", ["write", "typewrite"])
def test_write(name: str) -> None:
    assert parse(f"pyautogui.{name}('it\\'s \"ok\"\\n', interval=0.05)") == (Type('it\'s "ok"\n'),)


def test_write_message_keyword() -> None:
    assert parse("pyautogui.write(message='hello')") == (Type("hello"),)


def test_press_one_key_and_case() -> None:
    # pyautogui lowercases key names but keeps single characters ('A' is shift+a)
    assert parse("pyautogui.press('Enter')\npyautogui.press('A')") == (Press("enter"), Press("A"))


def test_press_list_is_one_press_per_key() -> None:
    assert parse("pyautogui.press(['tab', 'tab', 'enter'])") == (Press("tab"), Press("tab"), Press("enter"))


def test_press_repeated() -> None:
    assert parse("pyautogui.press('down', presses=3)") == (Press("down"),) * 3


def test_hotkey() -> None:
    assert parse("pyautogui.hotkey('ctrl', 'shift', 'T')") == (Hotkey(("ctrl", "shift", "T")),)
    assert parse("pyautogui.hotkey('Ctrl', 'c', interval=0.1)") == (Hotkey(("ctrl", "c")),)


def test_hotkey_keys_list() -> None:
    # OpenCUA's training data writes hotkey(keys=[...]); OpenCUA's AgentNetBench agent reads it, so do we
    assert parse("pyautogui.hotkey(keys=['ctrl', 'C'])") == (Hotkey(("ctrl", "C")),)
    assert parse("pyautogui.hotkey(['Cmd', 'v'], interval=0.1)") == (Hotkey(("cmd", "v")),)  # cmd stays for the desktop


def test_key_down_and_up() -> None:
    assert parse("pyautogui.keyDown('shift')\npyautogui.keyUp('Shift')") == (Press("shift"), KeyUp("shift"))


def test_wait() -> None:
    assert parse("computer.wait()") == (Wait(5.0),)


@pytest.mark.parametrize(
    ("source", "content"),
    [
        ("computer.terminate(status='success')", "success"),
        ("computer.terminate(status='success', answer='42')", "42"),
        ("computer.terminate(status='failure')", "failure: failure"),
        ("computer.terminate(status='failure', answer='the file is missing')", "failure: the file is missing"),
        ("computer.terminate('success', '42')", "42"),
    ],
)
def test_terminate(source: str, content: str) -> None:
    assert parse(source) == (Finished(content),)


def test_terminate_status_is_validated() -> None:
    assert "status must be" in refusal("computer.terminate(status='maybe')").message
    # the agent's prompt enum is success / failure (our prompt once said "fail", which nothing accepts)
    assert "status must be 'success' or 'failure'" in refusal("computer.terminate(status='fail')").message


# --- coordinates ---------------------------------------------------------------------------------------------


def test_relative_coordinates() -> None:
    # 0.25 * 1920 = 480, 0.75 * 1080 = 810
    assert parse("pyautogui.click(0.25, 0.75)", coordinates="relative") == (
        Click(Target(model=(0.25, 0.75), screen=(480, 810))),
    )


def test_unknown_coordinates_mode() -> None:
    with pytest.raises(ValueError, match="unknown coordinates mode 'absolute'"):
        parse_opencua(RESPONSE, SCREEN, GRID, coordinates="absolute")


def test_brief_example_point() -> None:
    # 952 * 1920/1932 = 946.08 -> 946; 532 * 1080/1092 = 526.15 -> 526
    assert parse("pyautogui.click(952, 532)") == (Click(Target(model=(952, 532), screen=(946, 526))),)


def test_non_primary_monitor_adds_its_origin() -> None:
    right = ScreenGeometry(origin=(1920, 0), logical_size=(1920, 1080), image_size=(1920, 1080))
    # 1920 + 960 = 2880
    actions = parse_opencua(code("pyautogui.click(966, 546)"), right, GRID).actions
    assert actions == (Click(Target(model=(966, 546), screen=(2880, 540))),)


def test_hidpi_maps_to_logical_pixels() -> None:
    # A 1440x900 logical screen captured at 2880x1800: smart_resize(1800, 2880) = (1792, 2884)
    # (1800/28 = 64.29 -> 64*28 = 1792; 2880/28 = 102.86 -> 103*28 = 2884; 1792*2884 = 5,168,128 < max).
    # (721, 448) is a quarter of (2884, 1792) -> (360, 225) logical.
    retina = ScreenGeometry(origin=(0, 0), logical_size=(1440, 900), image_size=(2880, 1800))
    actions = parse_opencua(code("pyautogui.click(721, 448)"), retina, GRID).actions
    assert actions == (Click(Target(model=(721, 448), screen=(360, 225))),)


def test_relative_on_non_primary_hidpi_monitor() -> None:
    # origin (-1440, 0), logical 1440x900: -1440 + 0.5 * 1440 = -720, 0.5 * 900 = 450
    left = ScreenGeometry(origin=(-1440, 0), logical_size=(1440, 900), image_size=(2880, 1800))
    actions = parse_opencua(code("pyautogui.moveTo(0.5, 0.5)"), left, GRID, coordinates="relative").actions
    assert actions == (Move(Target(model=(0.5, 0.5), screen=(-720, 450))),)


def test_point_outside_the_screen_is_clamped_and_flagged() -> None:
    # 3000 * 1920/1932 = 2981.4 -> clamped to 1919; 50 * 1080/1092 = 49.45 -> 49
    assert parse("pyautogui.click(3000, 50)") == (Click(Target(model=(3000, 50), screen=(1919, 49), clamped=True)),)


def test_relative_point_outside_the_screen_is_clamped() -> None:
    # -0.1 * 1920 = -192 -> 0; 1.5 * 1080 = 1620 -> 1079
    (click,) = parse("pyautogui.click(-0.1, 1.5)", coordinates="relative")
    assert click.target == Target(model=(-0.1, 1.5), screen=(0, 1079), clamped=True)


# --- the safe subset -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("import os", "Import statements are not allowed"),
        ("from os import system", "ImportFrom statements are not allowed"),
        ("x = 5", "Assign statements are not allowed"),
        ("for i in range(3):\n    pyautogui.click(1, 2)", "For statements are not allowed"),
        ("while True:\n    pass", "While statements are not allowed"),
        ("def f():\n    pass", "FunctionDef statements are not allowed"),
        ("with open('f') as f:\n    pass", "With statements are not allowed"),
        ("'just a string'", "Expr statements are not allowed"),
        ("os.system('rm -rf /')", "calling os.system is not allowed"),
        ("__import__('os')", "calling __import__ is not allowed"),
        ("eval('1')", "calling eval is not allowed"),
        ("subprocess.run(['ls'])", "calling subprocess.run is not allowed"),
        ("pyautogui.os.system('ls')", "calling pyautogui.os.system is not allowed"),
        ("getattr(pyautogui, 'click')(1, 2)", "calling getattr(pyautogui, 'click') is not allowed"),
        ("pyautogui.click(x=eval('1'), y=2)", "arguments must be literals"),
        ("pyautogui.click(x=some_variable, y=2)", "arguments must be literals"),
        ("pyautogui.write(f'{secret}')", "arguments must be literals"),
        ("pyautogui.click(*[1, 2])", "arguments must be literals"),
        ("pyautogui.click(**{'x': 1, 'y': 2})", "**kwargs are not allowed"),
        ("pyautogui.screenshot()", "unknown function pyautogui.screenshot"),
        ("computer.shell('ls')", "unknown function computer.shell"),
    ],
)
def test_refused_statements(source: str, message: str) -> None:
    error = refusal(source)
    assert message in error.message
    assert error.text == source


def test_refusal_names_the_offending_statement_only() -> None:
    error = refusal("pyautogui.click(966, 546)\nimport os\npyautogui.press('enter')")
    assert error.text == "import os"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("pyautogui.click()", "needs both x and y"),
        ("pyautogui.click(966)", "needs both x and y"),
        ("pyautogui.scroll(3, x=966)", "needs both x and y"),
        ("pyautogui.click('966', 546)", "x must be a finite number"),
        ("pyautogui.click(True, 546)", "x must be a finite number"),
        ("pyautogui.click(966, 1e999)", "y must be a finite number"),
        ("pyautogui.scroll(1e999)", "clicks must be a finite number"),
        ("pyautogui.click(966, 546, 2)", "bad arguments for pyautogui.click"),
        ("pyautogui.click(966, 546, where='here')", "bad arguments for pyautogui.click"),
        ("pyautogui.click(966, 546, clicks=0)", "clicks must be a positive integer"),
        ("pyautogui.click(966, 546, button='primary')", "button must be one of"),
        ("pyautogui.scroll()", "bad arguments for pyautogui.scroll"),
        ("pyautogui.write(5)", "must be a string"),
        ("pyautogui.press([])", "press needs at least one key"),
        ("pyautogui.press('')", "a key must be a non-empty string"),
        ("pyautogui.hotkey()", "hotkey needs at least one key"),
        ("pyautogui.hotkey('ctrl', 3)", "a key must be a non-empty string"),
        ("pyautogui.hotkey(keys=[])", "hotkey needs at least one key"),
        ("pyautogui.hotkey(keys='ctrl')", "keys must be a list of key names"),
        ("pyautogui.hotkey('ctrl', keys=['c'])", "either positionally or as keys=[...], not both"),
        ("pyautogui.hotkey(['ctrl'], 'c')", "a key must be a non-empty string"),
        ("computer.wait(3)", "bad arguments for computer.wait"),
        ("computer.terminate(status='success', answer=42)", "answer must be a string"),
    ],
)
def test_bad_arguments(source: str, message: str) -> None:
    error = refusal(source)
    assert message in error.message
    assert error.text == source
