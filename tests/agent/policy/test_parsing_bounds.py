"""Bounded parsing: whatever a model writes, a parser answers with actions or its ParseError, quickly and in little
memory; repeat counts are capped with a note; a UI-TARS string ends at its closing quote; a parser's failure of
any kind is a recorded, unparsable step, never the end of the run.

The fuzz tests are the acceptance test of issue 14: 10,000 answers per grammar, resource bombs included.
"""

from __future__ import annotations

import json
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest

from guiagent.agent.actions import (
    MAX_CLICKS,
    MAX_PRESSES,
    MAX_SCROLL,
    Click,
    Hotkey,
    ParsedResponse,
    ParseError,
    Press,
    Scroll,
    Target,
    Type,
)
from guiagent.agent.policy.bounds import MAX_ACTIONS, MAX_ANSWER_CHARS, MAX_STRING_CHARS
from guiagent.agent.policy.coords import ImageGrid, ScreenGeometry
from guiagent.agent.policy.opencua import OpenCUAPolicy
from guiagent.agent.policy.opencua_parser import parse_opencua
from guiagent.agent.policy.uitars import UITarsPolicy
from guiagent.agent.policy.uitars_parser import parse_uitars
from guiagent.agent.run.console import format_event
from guiagent.agent.run.decide import ScriptedDecider
from guiagent.agent.run.loop import AgentLoop
from guiagent.agent.trajectory.format import FILE
from guiagent.agent.trajectory.recorder import Recorder
from tests.agent.helpers import RecordingExecutor, ScriptedHuman, still_screen
from tests.agent.policy.fuzz_answers import answers, opencua_answer, opencua_bombs, uitars_answer, uitars_bombs

SCREEN = ScreenGeometry(origin=(0, 0), logical_size=(1920, 1080), image_size=(1920, 1080))
GRID = ImageGrid()
CENTRE = Target(model=(966, 546), screen=(960, 540))  # see test_uitars_parser.py for the arithmetic
FUZZ_ANSWERS = 10_000
SECONDS_PER_ANSWER = 0.5
SECONDS_PER_GRAMMAR = 60.0  # on a loaded 2-core machine; ~2 s when idle
PEAK_BYTES = 64 * 2**20  # a 31,000-digit number through the tokenizer peaks at ~20 MiB


def uitars(action: str) -> ParsedResponse:
    return parse_uitars(f"Thought: t\nAction: {action}", SCREEN, GRID)


def opencua(code: str) -> ParsedResponse:
    return parse_opencua(f"## Thought:\nt\n## Code:\n```python\n{code}\n```", SCREEN, GRID)


def refused(parse: Callable[[str], ParsedResponse], text: str) -> ParseError:
    with pytest.raises(ParseError) as caught:
        parse(text)
    return caught.value


# --- UI-TARS: a content argument ends at its closing quote ---------------------------------------------------


def test_type_ends_at_its_quote_and_the_next_line_is_the_next_action() -> None:
    assert uitars("type(content='abc')\nclick(start_box='(966,546)')").actions == (Type("abc"), Click(CENTRE))
    assert uitars("type(content='abc') \nhotkey(key='enter')").actions == (Type("abc"), Hotkey(("enter",)))


def test_an_escaped_quote_does_not_end_the_content() -> None:
    # The model writes type(content='a\')' newline 'b'): the first quote-paren is escaped, so it is text.
    assert uitars("type(content='a\\')\nb')").actions == (Type("a')\nb"),)


def test_an_escaped_backslash_before_the_quote_ends_the_content() -> None:
    assert uitars("type(content='C:\\\\')\n\nwait()").actions[0] == Type("C:\\")


def test_unescaped_quotes_inside_a_line_stay_text() -> None:
    assert uitars("finished(content='It's done: f('x') ok')").actions[0].content == "It's done: f('x') ok"


def test_unclosed_content_is_refused() -> None:
    assert "content is not closed" in refused(uitars, "type(content='abc\n\nclick(start_box='(1,2)'").message


# --- limits checked before ast ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argument",
    [
        "9" * 310,  # OverflowError once converted to float
        "+".join(["1"] * 3000),  # RecursionError in ast.parse
        "-" * 3000 + "1",
        "a" + ".b" * 3000,
        "(" * 300 + "1" + ")" * 300,
        "'" + "a" * (MAX_STRING_CHARS + 1) + "'",
    ],
    ids=["310-digit int", "3000 chained terms", "3000 unary minus", "attribute chain", "deep nesting", "huge string"],
)
def test_bombs_are_the_parse_error_in_both_grammars(argument: str) -> None:
    refused(uitars, f"click(start_box={argument})")
    refused(opencua, f"pyautogui.click({argument}, 1)")
    refused(opencua, f"pyautogui.click(1, 2, duration={argument})")


def test_an_answer_too_long_is_refused_before_it_is_read() -> None:
    text = "Action: wait()" + " " * MAX_ANSWER_CHARS
    assert "at most 32,768 are read" in refused(lambda t: parse_uitars(t, SCREEN, GRID), text).message
    assert "at most 32,768 are read" in refused(lambda t: parse_opencua(t, SCREEN, GRID), text).message


def test_typed_text_is_limited() -> None:
    error = refused(uitars, "type(content='" + "a" * (MAX_STRING_CHARS + 1) + "')")
    assert error.message == "type's content is 4,097 characters long; at most 4,096 are accepted"
    assert uitars("type(content='" + "a" * MAX_STRING_CHARS + "')").actions == (Type("a" * MAX_STRING_CHARS),)


@pytest.mark.parametrize("text", ["type(content='\ud800')", "type(content='a\x00b')\n\nclick(start_box=\x00)"])
def test_surrogates_and_nuls(text: str) -> None:
    with pytest.raises(ParseError):
        uitars(text)


def test_too_many_actions_are_refused() -> None:
    assert "at most 200 are run per step" in refused(uitars, "wait()\n\n" * (MAX_ACTIONS + 1)).message
    assert "at most 200 are run per step" in refused(opencua, "computer.wait()\n" * (MAX_ACTIONS + 1)).message
    assert len(opencua("computer.wait()\n" * MAX_ACTIONS).actions) == MAX_ACTIONS


# --- OpenCUA: counts capped with a note, timing arguments checked --------------------------------------------


def test_presses_are_capped_with_a_note() -> None:
    parsed = opencua("pyautogui.press('a', presses=1000000000)")
    assert parsed.actions == (Press("a"),) * MAX_PRESSES
    assert parsed.notes == ("presses=1000000000 capped to 50",)


def test_clicks_are_capped_with_a_note() -> None:
    parsed = opencua("pyautogui.click(966, 546, clicks=1_000_000_000)")
    assert parsed.actions == (Click(CENTRE, "left", MAX_CLICKS),)
    assert parsed.notes == ("clicks=1000000000 capped to 10",)


@pytest.mark.parametrize(
    ("code", "expected", "note"),
    [
        ("pyautogui.scroll(1e300)", Scroll("up", None, MAX_SCROLL), "scroll clicks=more than 10^15 capped to 50"),
        ("pyautogui.scroll(-60000)", Scroll("down", None, MAX_SCROLL), "scroll clicks=60000 capped to 50"),
        ("pyautogui.hscroll(-1.7976931348623157e308)", Scroll("left", None, MAX_SCROLL), None),
        ("pyautogui.scroll(50)", Scroll("up", None, 50), None),
    ],
)
def test_scroll_amounts_are_capped(code: str, expected: Scroll, note: str | None) -> None:
    parsed = opencua(code)
    assert parsed.actions == (expected,)
    assert note is None or parsed.notes == (note,)


def test_uncapped_answers_have_no_notes() -> None:
    assert opencua("pyautogui.press('down', presses=3)\npyautogui.click(966, 546, clicks=2)").notes == ()


def test_too_many_presses_in_total_are_refused() -> None:
    assert len(opencua("pyautogui.press(['tab', 'enter'], presses=50)").actions) == 100
    assert "at most 200" in refused(opencua, "pyautogui.press(['a', 'b', 'c', 'd', 'e'], presses=50)").message


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("pyautogui.moveTo(966, 546, duration=__import__('os').getcwd())", "arguments must be literals"),
        ("pyautogui.write('x', interval=1+1)", "arguments must be literals"),
        ("pyautogui.moveTo(966, 546, duration=-1)", "duration must be a finite number of seconds >= 0"),
        ("pyautogui.moveTo(966, 546, duration=1e999)", "duration must be a finite number of seconds >= 0"),
        ("pyautogui.moveTo(966, 546, duration='slow')", "duration must be a finite number of seconds >= 0"),
        ("pyautogui.moveTo(966, 546, tween=lambda t: t)", "tween must be a pyautogui easing function"),
        ("pyautogui.write('x', logScreenshot='no')", "logScreenshot must be True, False or None"),
    ],
)
def test_timing_arguments_are_checked_before_they_are_dropped(code: str, message: str) -> None:
    error = refused(opencua, code)
    assert message in error.message and error.text == code


def test_valid_timing_arguments_are_dropped() -> None:
    code = "pyautogui.moveTo(966, 546, duration=0.5, tween=pyautogui.easeInOutQuad, _pause=0, logScreenshot=None)"
    assert opencua(code).actions == (opencua("pyautogui.moveTo(966, 546)").actions[0],)


# --- every failure is a recorded step ----------------------------------------------------------------------------


class _BrokenPolicy(UITarsPolicy):
    def parse(self, text, geometry):
        raise RuntimeError("a parser bug")


def test_any_parser_exception_becomes_the_parse_error_and_the_step_is_recorded() -> None:
    policy = _BrokenPolicy("open settings", GRID)
    executor = RecordingExecutor()
    loop = AgentLoop(ScriptedDecider(["Action: wait()"], policy), still_screen, executor, ScriptedHuman())
    result = loop.run()
    assert result.status == "script_exhausted" and len(result.events) == 1
    assert result.events[0].parsed is None
    assert result.events[0].parse_errors[0].startswith("the parser failed (RuntimeError: a parser bug)")
    assert executor.executed == []


def test_a_bomb_answer_is_a_recorded_unparsable_step_and_the_run_goes_on() -> None:
    bomb = "Action: click(start_box=" + "9" * 310 + ")"
    chain = "Action: click(start_box=" + "+".join(["1"] * 3000) + ")"
    click = "Action: click(start_box='(966,546)')"
    executor = RecordingExecutor()
    policy = UITarsPolicy("open settings", GRID)
    screens = iter([still_screen(colour=c) for c in ("red", "green", "blue")])
    decider = ScriptedDecider([bomb, chain, click], policy)
    loop = AgentLoop(decider, lambda: next(screens), executor, ScriptedHuman(), max_steps=3)
    result = loop.run()
    assert [event.parsed is None for event in result.events] == [True, True, False]
    assert "a number longer than 32 characters" in result.events[0].parse_errors[0]
    assert "a statement longer than 256 tokens" in result.events[1].parse_errors[0]
    assert len(executor.executed) == 1


def test_a_cap_note_is_shown_with_the_step_and_recorded(tmp_path: Path) -> None:
    policy = OpenCUAPolicy("open settings", GRID)
    answer = "## Thought:\nscroll\n## Code:\n```python\npyautogui.scroll(-1000000)\n```"
    loop = AgentLoop(ScriptedDecider([answer], policy), still_screen, RecordingExecutor(), ScriptedHuman())
    (event,) = loop.run().events
    assert "  note: scroll clicks=1000000 capped to 50" in format_event(event)
    with Recorder(tmp_path / "run", task="open settings") as recorder:
        recorder.record_event(event)
    lines = (tmp_path / "run" / FILE).read_text(encoding="utf-8").splitlines()
    (step,) = [record for record in map(json.loads, lines) if record["kind"] == "step"]
    assert step["notes"] == ["scroll clicks=1000000 capped to 50"]
    assert step["actions"][0]["amount"] == MAX_SCROLL


# --- the fuzz (acceptance) ---------------------------------------------------------------------------------------


def _check_invariants(parsed: ParsedResponse) -> None:
    """What a successful parse may ask of the desktop, whatever the answer."""
    assert len(parsed.actions) <= MAX_ACTIONS
    for action in parsed.actions:
        if isinstance(action, Click):
            assert 1 <= action.clicks <= MAX_CLICKS
        if isinstance(action, Scroll):
            assert 1 <= action.amount <= MAX_SCROLL
        if isinstance(action, Type):
            assert len(action.text) <= MAX_STRING_CHARS
            action.text.encode("utf-8")


def _fuzz(parse: Callable[[str], ParsedResponse], texts: list[str], bombs: int) -> None:
    """Every answer is parsed or refused with ParseError, each within the time bound; then a second pass (tracemalloc
    slows parsing down ~7x) over the ``bombs`` (the first answers) and every 10th other answer, within the memory
    bound."""
    assert len(texts) >= FUZZ_ANSWERS
    for warm in texts[-20:]:  # the first answers' times should not include compiling the tokenizer's regexes
        try:
            parse(warm)
        except ParseError:
            pass
    slowest, started = (0.0, ""), time.perf_counter()
    for text in texts:
        start = time.perf_counter()
        try:
            _check_invariants(parse(text))
        except ParseError:
            pass
        slowest = max(slowest, (time.perf_counter() - start, text[:120]))
    assert slowest[0] < SECONDS_PER_ANSWER, slowest
    assert time.perf_counter() - started < SECONDS_PER_GRAMMAR
    tracemalloc.start()
    try:
        for text in texts[:bombs] + texts[bombs::10]:
            try:
                parse(text)
            except ParseError:
                pass
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < PEAK_BYTES, f"{peak / 2**20:.1f} MiB"


@pytest.mark.slow
def test_fuzz_uitars() -> None:
    texts = answers(uitars_answer, uitars_bombs, FUZZ_ANSWERS, seed=14)
    _fuzz(lambda text: parse_uitars(text, SCREEN, GRID), texts, bombs=len(list(uitars_bombs())))


@pytest.mark.slow
def test_fuzz_opencua() -> None:
    texts = answers(opencua_answer, opencua_bombs, FUZZ_ANSWERS, seed=14)
    _fuzz(lambda text: parse_opencua(text, SCREEN, GRID), texts, bombs=len(list(opencua_bombs())))
