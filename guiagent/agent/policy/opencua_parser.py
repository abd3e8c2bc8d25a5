"""Parse OpenCUA-7B responses (``## Thought:`` ... a fenced block of pyautogui code) into typed actions.

The code is read as data, never run: the module may hold only calls of ``pyautogui.<name>(...)`` or
``computer.<name>(...)`` whose arguments are literals, each checked against the pyautogui signature it imitates.
Anything else (imports, assignments, loops, other names, computed arguments) raises ``ParseError`` naming the
offending statement. The code is measured before ``ast`` reads it (see ``bounds``), and repeat counts are capped
(``actions.MAX_CLICKS`` ...) with a note.
"""

from __future__ import annotations

import ast
import inspect
import math
import re
from collections.abc import Callable
from functools import partial

from guiagent.agent.actions import (
    MAX_CLICKS,
    MAX_PRESSES,
    MAX_SCROLL,
    Action,
    Button,
    Click,
    Drag,
    Finished,
    Hotkey,
    KeyUp,
    Move,
    ParsedResponse,
    ParseError,
    Press,
    Scroll,
    Target,
    Type,
    Wait,
    cap,
)
from guiagent.agent.policy.bounds import check_actions, check_answer, check_code, excerpt, guarded
from guiagent.agent.policy.coords import ImageGrid, ScreenGeometry

_CODE_BLOCK = re.compile(r"```(?:python|code)?[ \t]*\n(.*?)```", re.S)
_THOUGHT = re.compile(r"^##\s*Thought:?(.*?)(?=^##|^```|\Z)", re.S | re.M)
_SECTION = re.compile(r"^##\s*(Observation|Thought|Action)\b:?(.*?)(?=^##|^```|\Z)", re.S | re.M)
_MODULES = ("pyautogui", "computer")
_BUTTONS = ("left", "right", "middle")
# pyautogui's pacing arguments: accepted, since models emit them, checked (see _check_timing), and dropped.
_TIMING = frozenset({"duration", "interval", "tween", "logScreenshot", "_pause"})


class _Refused(Exception):
    """A statement outside the safe subset; the caller names the statement in the ParseError."""


class _Program:
    """The actions of one code block, and where its pointer is (dragTo starts from there)."""

    def __init__(self, to_target: Callable[[float, float], Target]) -> None:
        self.actions: list[Action] = []
        self.notes: list[str] = []  # counts cut to their caps
        self.pointer: Target | None = None
        self._to_target = to_target

    def point(self, x: object, y: object) -> Target:
        """Map (x, y) to the screen and move the pointer there, as pyautogui would."""
        if x is None or y is None:
            raise _Refused("needs both x and y")
        self.pointer = self._to_target(_number(x, "x"), _number(y, "y"))
        return self.pointer


def _number(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _Refused(f"{name} must be a finite number, got {value!r}")
    return value


def _count(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _Refused(f"{name} must be a positive integer, got {value!r}")
    return value


def _key(value: object) -> str:
    """A key name as pyautogui reads it: names lowercased, single characters kept (``'A'`` is shift+a)."""
    if not isinstance(value, str) or not value:
        raise _Refused(f"a key must be a non-empty string, got {value!r}")
    return value.lower() if len(value) > 1 else value


def _clicker(clicks: int = 1, button: Button = "left") -> Callable[..., None]:
    """Handler for one of pyautogui's click functions (they differ only in their defaults)."""

    def handler(
        program: _Program, x: object = None, y: object = None, *, clicks: object = clicks, button: object = button
    ) -> None:
        if button not in _BUTTONS:
            raise _Refused(f"button must be one of {', '.join(_BUTTONS)}, got {button!r}")
        count = cap(_count(clicks, "clicks"), MAX_CLICKS, "clicks", program.notes)
        program.actions.append(Click(program.point(x, y), button, count))

    return handler


def _move_to(program: _Program, x: object = None, y: object = None) -> None:
    program.actions.append(Move(program.point(x, y)))


def _drag_to(program: _Program, x: object = None, y: object = None, *, button: object = "left") -> None:
    """Drag from the pointer (set by a moveTo or click earlier in the block); a moveTo there becomes the start."""
    start = program.pointer
    if start is None:
        raise _Refused("dragTo needs a moveTo or click before it to start from")
    if button != "left":
        raise _Refused(f"only left-button drags are supported, got {button!r}")
    if program.actions and program.actions[-1] == Move(start):
        program.actions.pop()
    program.actions.append(Drag(start, program.point(x, y)))


def _scroller(positive: str, negative: str) -> Callable[..., None]:
    """Handler for scroll (positive = up) or hscroll (positive = right); the amount is in wheel clicks."""

    def handler(program: _Program, clicks: object, x: object = None, y: object = None) -> None:
        amount = _number(clicks, "clicks")
        if amount == 0 or not float(amount).is_integer():
            raise _Refused(f"scroll amount must be a non-zero whole number, got {clicks!r}")
        target = None if x is None and y is None else program.point(x, y)
        count = cap(abs(amount), MAX_SCROLL, "scroll clicks", program.notes)
        program.actions.append(Scroll(positive if amount > 0 else negative, target, count))

    return handler


def _write(program: _Program, message: object) -> None:
    if not isinstance(message, str):
        raise _Refused(f"the text to type must be a string, got {message!r}")
    program.actions.append(Type(message))


def _press(program: _Program, keys: object, *, presses: object = 1) -> None:
    """press('enter') or press(['tab', 'enter']): one Press per key, repeated ``presses`` times."""
    names = [_key(key) for key in (keys if isinstance(keys, list) else [keys])]
    if not names:
        raise _Refused("press needs at least one key")
    count = cap(_count(presses, "presses"), MAX_PRESSES, "presses", program.notes)
    program.actions.extend(Press(name) for _ in range(count) for name in names)


def _hotkey(program: _Program, *args: object, keys: object = None) -> None:
    """hotkey('ctrl', 'c'), hotkey(['ctrl', 'c']) or hotkey(keys=['ctrl', 'c']): OpenCUA's training data (and so
    the model) writes the ``keys=`` list, which OpenCUA's AgentNetBench agent reads as a hotkey too."""
    if keys is not None and args:
        raise _Refused("hotkey takes its keys either positionally or as keys=[...], not both")
    if keys is None and len(args) == 1 and isinstance(args[0], list):
        keys = args[0]
    if keys is not None and not isinstance(keys, list):
        raise _Refused(f"keys must be a list of key names, got {keys!r}")
    names = args if keys is None else keys
    if not names:
        raise _Refused("hotkey needs at least one key")
    program.actions.append(Hotkey(tuple(_key(key) for key in names)))


def _key_down(program: _Program, key: object) -> None:
    program.actions.append(Press(_key(key)))


def _key_up(program: _Program, key: object) -> None:
    program.actions.append(KeyUp(_key(key)))


def _wait(program: _Program) -> None:
    program.actions.append(Wait(5.0))


def _terminate(program: _Program, status: object = "success", answer: object = None) -> None:
    """The end of the task: the answer if any, else the status; a failure says so first.

    The statuses are the agent's prompt enum ("success", "failure"; never "fail"), which is also what AgentNetBench's
    ground truth records and its evaluator compares verbatim.
    """
    if status not in ("success", "failure"):
        raise _Refused(f"status must be 'success' or 'failure', got {status!r}")
    if answer is not None and not isinstance(answer, str):
        raise _Refused(f"answer must be a string, got {answer!r}")
    content = answer or status
    program.actions.append(Finished(f"failure: {content}" if status == "failure" else content))


_HANDLERS: dict[str, Callable[..., None]] = {
    "pyautogui.click": _clicker(),
    "pyautogui.doubleClick": _clicker(clicks=2),
    "pyautogui.tripleClick": _clicker(clicks=3),
    "pyautogui.rightClick": _clicker(button="right"),
    "pyautogui.middleClick": _clicker(button="middle"),
    "pyautogui.moveTo": _move_to,
    "pyautogui.dragTo": _drag_to,
    "pyautogui.scroll": _scroller("up", "down"),
    "pyautogui.hscroll": _scroller("right", "left"),
    "pyautogui.write": _write,
    "pyautogui.typewrite": _write,
    "pyautogui.press": _press,
    "pyautogui.hotkey": _hotkey,
    "pyautogui.keyDown": _key_down,
    "pyautogui.keyUp": _key_up,
    "computer.triple_click": _clicker(clicks=3),
    "computer.wait": _wait,
    "computer.terminate": _terminate,
}


def _literal(node: ast.expr) -> object:
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError) as error:
        raise _Refused("arguments must be literals") from error


def _check_timing(keyword: ast.keyword) -> None:
    """A pacing argument is dropped, but only once it is what pyautogui takes: never a computed expression."""
    node = keyword.value
    if keyword.arg == "tween":
        if not (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "pyautogui"):
            raise _Refused("tween must be a pyautogui easing function, like pyautogui.easeInQuad")
        return
    value = _literal(node)
    if keyword.arg == "logScreenshot":
        if value is not None and not isinstance(value, bool):
            raise _Refused(f"logScreenshot must be True, False or None, got {value!r}")
    elif isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < math.inf:
        raise _Refused(f"{keyword.arg} must be a finite number of seconds >= 0, got {value!r}")


def _call_parts(statement: ast.stmt, code: str) -> tuple[str, list[object], dict[str, object]]:
    """(``module.function``, positional, keyword arguments) of a statement that is a plain allowed call."""
    call = statement.value if isinstance(statement, ast.Expr) else None
    if not isinstance(call, ast.Call):
        raise _Refused(f"{type(statement).__name__} statements are not allowed, only pyautogui/computer calls")
    func = call.func
    if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in _MODULES):
        called = excerpt(ast.get_source_segment(code, func) or type(func).__name__)
        raise _Refused(f"calling {called} is not allowed, only pyautogui/computer functions")
    if any(keyword.arg is None for keyword in call.keywords):
        raise _Refused("**kwargs are not allowed")
    args = [_literal(arg) for arg in call.args]
    kwargs: dict[str, object] = {}
    for keyword in call.keywords:
        if keyword.arg in _TIMING:
            _check_timing(keyword)
        else:
            kwargs[keyword.arg] = _literal(keyword.value)
    return f"{func.value.id}.{func.attr}", args, kwargs


def _run(program: _Program, statement: ast.stmt, code: str) -> None:
    name, args, kwargs = _call_parts(statement, code)
    handler = _HANDLERS.get(name)
    if handler is None:
        raise _Refused(f"unknown function {name}")
    try:
        inspect.signature(handler).bind(program, *args, **kwargs)
    except TypeError as error:
        raise _Refused(f"bad arguments for {name}: {error}") from None
    handler(program, *args, **kwargs)


def answer_sections(text: str) -> dict[str, str]:
    """The ``## Observation`` / ``## Thought`` / ``## Action`` sections of an answer (first of each, stripped).

    OpenCUA's agents show earlier steps by these sections, not by the raw answer (its code is left out).
    """
    sections: dict[str, str] = {}
    for name, body in _SECTION.findall(text):
        sections.setdefault(name.lower(), body.strip())
    return sections


def _last_code_block(text: str) -> str:
    blocks = _CODE_BLOCK.findall(text)
    if not blocks:
        raise ParseError("no fenced code block in the response", text)
    code = blocks[-1].strip()
    if not code:
        raise ParseError("empty code block", text)
    return code


def _target_mapper(geometry: ScreenGeometry, grid: ImageGrid, coordinates: str) -> Callable[[float, float], Target]:
    """How the model's numbers become screen points: pixels of the resized image, or 0-1 fractions."""
    if coordinates == "qwen25":
        return partial(geometry.to_screen, grid=grid)
    if coordinates == "relative":
        return geometry.from_relative
    raise ValueError(f"unknown coordinates mode {coordinates!r}; expected 'qwen25' or 'relative'")


def parse_opencua(text: str, geometry: ScreenGeometry, grid: ImageGrid, coordinates: str = "qwen25") -> ParsedResponse:
    """Parse an OpenCUA response: the Thought section and the actions of its last code block.

    ``coordinates`` is ``"qwen25"`` (absolute pixels of the smart-resized image) or ``"relative"`` (0-1).
    Raises ``ParseError`` for a missing, empty, oversized or unsafe code block (and nothing else for any answer),
    ``ValueError`` for an unknown mode.
    """
    program = _Program(_target_mapper(geometry, grid, coordinates))
    check_answer(text)
    code = _last_code_block(text)
    check_code(code)
    with guarded(code):
        try:
            module = ast.parse(code)
        except SyntaxError as error:
            raise ParseError(f"code is not valid Python ({error.msg})", excerpt(code)) from None
        for statement in module.body:
            try:
                _run(program, statement, code)
            except _Refused as refusal:
                raise ParseError(str(refusal), ast.get_source_segment(code, statement) or code) from None
            check_actions(len(program.actions), code)
    thought = _THOUGHT.search(text)
    return ParsedResponse(
        thought=thought[1].strip() if thought else "",
        actions=tuple(program.actions),
        raw=text,
        notes=tuple(program.notes),
    )
