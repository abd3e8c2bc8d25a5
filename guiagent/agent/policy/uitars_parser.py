"""Parse UI-TARS-1.5 responses (``Thought: ... Action: click(start_box='(x,y)')``) into typed actions.

Written from the published parser's behaviour, without the known bugs of the ``ui-tars`` 0.5.1 package:
points are scaled once (model grid -> logical screen, scroll points included), ``content`` is unescaped once
(so ``it\\'s ok\\n`` types ``it's ok`` and one Enter), left/right scrolls are kept, and ``press`` is one key
press. A ``content`` argument ends at its closing quote (so the next line is never typed), and an answer is
measured before ``ast`` reads it (see ``bounds``). Calls are read with ``ast`` and never evaluated; anything
malformed raises ``ParseError``.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from guiagent.agent.actions import (
    Action,
    Button,
    CallUser,
    Click,
    Drag,
    Finished,
    Hotkey,
    KeyUp,
    MobileAction,
    Move,
    ParsedResponse,
    ParseError,
    Press,
    Scroll,
    Target,
    Type,
    Wait,
)
from guiagent.agent.policy.bounds import check_actions, check_answer, check_code, check_text, guarded
from guiagent.agent.policy.coords import ImageGrid, ScreenGeometry

_ACTION_MARK = re.compile(r"(?:^|\s)Action:")
_THOUGHT = re.compile(r"(?:Thought|Action_Summary):(.*)", re.S)
_BLANK_LINE = re.compile(r"\n[ \t]*\n")
_SPACE = re.compile(r"\s*")
# An action whose argument is content='...' (type, finished): the text is taken raw, up to its closing quote.
_RAW_CONTENT = re.compile(r"(?P<name>[A-Za-z_]\w*)\(\s*content\s*=\s*(?P<quote>['\"])")
# Raw content ends at its quote followed by ")" and the end of the line. Other quotes are the text's own (models
# leave them unescaped), and a backslash escapes the character after it, as in the Python strings the prompt asks for.
_CONTENT_END = {
    quote: re.compile(
        rf"(?P<text>(?:[^\\{quote}]|\\.|{quote}(?![ \t]*\)[ \t]*(?:\n|\Z)))*){quote}[ \t]*\)(?=[ \t]*(?:\n|\Z))",
        re.S,
    )
    for quote in "'\""
}
# Python-string escapes the model is told to use, undone in one pass (so "\\n" stays a backslash and an n).
_ESCAPE = re.compile(r"\\(['\"n\\])")
_UNESCAPED = {"'": "'", '"': '"', "n": "\n", "\\": "\\"}
_BOX_TOKENS = re.compile(r"<\|box_(?:start|end)\|>")
_POINT_FORMS = re.compile(r"<point>(.*)</point>|<bbox>(.*)</bbox>|\((.*)\)|\[(.*)\]", re.S)
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_ALIASES = {"point": "start_box", "start_point": "start_box", "end_point": "end_box", "hotkey": "key"}
_DIRECTIONS = ("up", "down", "left", "right")


@dataclass(frozen=True)
class _Call:
    """One action call (name, keyword arguments, source) and the screen its points map onto."""

    name: str
    args: dict[str, object]
    source: str
    geometry: ScreenGeometry
    grid: ImageGrid

    def text(self, arg: str, default: str | None = None) -> str:
        """A string argument; missing without a default is the model's error, not ours to guess."""
        value = self.args.get(arg, default)
        if value is None:
            raise ParseError(f"{self.name} is missing its {arg!r} argument", self.source)
        if not isinstance(value, str):
            raise ParseError(f"{self.name}'s {arg!r} argument must be a string", self.source)
        return value

    def target(self, arg: str = "start_box") -> Target:
        """The point named by ``arg``, mapped from the model's grid to the screen."""
        x, y = _point(self.text(arg), f"{self.name}'s {arg!r}", self.source)
        return self.geometry.to_screen(x, y, self.grid)

    def optional_target(self, arg: str = "start_box") -> Target | None:
        return self.target(arg) if arg in self.args else None

    def keys(self) -> list[str]:
        """Keys of a ``key='ctrl c'`` / ``key='ctrl+c'`` argument, lowercased."""
        keys = [key for key in re.split(r"[\s+]+", self.text("key").lower()) if key]
        if not keys:
            raise ParseError(f"{self.name} names no key", self.source)
        return keys

    def key(self) -> str:
        """The single key of press/release: combinations belong to hotkey."""
        keys = self.keys()
        if len(keys) != 1:
            raise ParseError(f"{self.name} takes one key, got {len(keys)} (combinations need hotkey)", self.source)
        return keys[0]


def _point(value: str, what: str, source: str) -> tuple[float, float]:
    """A point in any UI-TARS format: (x,y), <point>x y</point>, a box (its centre), with or without box tokens."""
    form = _POINT_FORMS.fullmatch(_BOX_TOKENS.sub("", value).strip())
    inner = "" if form is None else next(group for group in form.groups() if group is not None)
    numbers = re.split(r"[\s,]+", inner.strip())
    valid = len(numbers) in (2, 4) and all(_NUMBER.fullmatch(number) for number in numbers)
    point = [float(number) for number in numbers] if valid else []
    if not point or not all(math.isfinite(coordinate) for coordinate in point):
        raise ParseError(f"missing or garbled coordinates in {what}: {value!r}", source)
    xs, ys = point[0::2], point[1::2]
    return sum(xs) / len(xs), sum(ys) / len(ys)


def _clicker(button: Button = "left", clicks: int = 1) -> Callable[[_Call], Action]:
    return lambda call: Click(call.target(), button, clicks)


def _drag(call: _Call) -> Drag:
    return Drag(call.target("start_box"), call.target("end_box"))


def _scroll(call: _Call) -> Scroll:
    direction = call.text("direction").strip().lower()
    if direction not in _DIRECTIONS:
        raise ParseError(f"scroll direction must be one of {', '.join(_DIRECTIONS)}, got {direction!r}", call.source)
    return Scroll(direction, call.optional_target())


def _mobile_button(call: _Call) -> MobileAction:
    return MobileAction(call.name)


_BUILDERS: dict[str, Callable[[_Call], Action]] = {
    "click": _clicker(),
    "left_single": _clicker(),
    "left_double": _clicker(clicks=2),
    "right_single": _clicker(button="right"),
    "left_triple": _clicker(clicks=3),
    "triple_click": _clicker(clicks=3),
    "hover": lambda call: Move(call.target()),
    "drag": _drag,
    "select": _drag,
    "scroll": _scroll,
    "hotkey": lambda call: Hotkey(tuple(call.keys())),
    "press": lambda call: Press(call.key()),
    "keydown": lambda call: Press(call.key()),
    "release": lambda call: KeyUp(call.key()),
    "keyup": lambda call: KeyUp(call.key()),
    "type": lambda call: Type(call.text("content")),
    "wait": lambda call: Wait(5.0),
    "finished": lambda call: Finished(call.text("content", "")),
    "call_user": lambda call: CallUser(call.text("content", "")),
    "long_press": lambda call: MobileAction(call.name, target=call.target()),
    "open_app": lambda call: MobileAction(call.name, text=call.text("app_name")),
    "press_home": _mobile_button,
    "press_back": _mobile_button,
}


def _reasoning(head: str) -> tuple[str, str]:
    """(reflection, thought) from the text before ``Action:`` (found with ``str.find``: linear on any text)."""
    reflection = head.find("Reflection:")
    summary = head.find("Action_Summary:", reflection) if reflection >= 0 else -1
    if summary >= 0:
        return head[reflection + len("Reflection:") : summary].strip(), head[summary + len("Action_Summary:") :].strip()
    if match := _THOUGHT.search(head):
        return "", match[1].strip()
    return "", ""


def _split_actions(body: str) -> list[str]:
    """Blank lines separate actions; a raw ``content='...'`` argument (which may hold blank lines) runs to its
    closing quote instead, and whatever follows it on the next lines is the next action, never more text.
    Unclosed, it runs to the end of the answer and fails there."""
    actions: list[str] = []
    start = _SPACE.match(body).end()
    while start < len(body):
        if raw := _RAW_CONTENT.match(body, start):
            closed = _CONTENT_END[raw["quote"]].match(body, raw.end())
            end = closed.end() if closed else len(body)
        else:
            blank = _BLANK_LINE.search(body, start)
            end = blank.start() if blank else len(body)
        actions.append(body[start:end].strip())
        start = _SPACE.match(body, end).end()
    return actions


def _raw_content(source: str, raw: re.Match[str]) -> str:
    """The text between ``content='`` and its closing ``')``, unescaped once: models leave quotes unescaped."""
    closed = _CONTENT_END[raw["quote"]].fullmatch(source, raw.end())
    if closed is None:
        raise ParseError(f"{raw['name']}'s content is not closed with {raw['quote']})", source)
    check_text(closed["text"], f"{raw['name']}'s content")
    return _ESCAPE.sub(lambda escape: _UNESCAPED[escape[1]], closed["text"])


def _literal(node: ast.expr, source: str) -> object:
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError) as error:
        raise ParseError("action arguments must be literals", source) from error


def _read_call(source: str) -> tuple[str, dict[str, object]]:
    """(name, keyword arguments) of one action, read with ``ast`` and never evaluated."""
    if raw := _RAW_CONTENT.match(source):
        return raw["name"], {"content": _raw_content(source, raw)}
    check_code(source)
    try:
        node = ast.parse(source, mode="eval").body
    except SyntaxError:
        balanced = source.count("(") == source.count(")")
        raise ParseError("not a valid action call" if balanced else "unbalanced parentheses", source) from None
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
        raise ParseError("expected one action call like click(start_box='(x,y)')", source)
    if node.args or any(keyword.arg is None for keyword in node.keywords):
        raise ParseError("action arguments must be named, like start_box='(x,y)'", source)
    args: dict[str, object] = {}
    for keyword in node.keywords:
        name = _ALIASES.get(keyword.arg, keyword.arg)
        if name in args:
            raise ParseError(f"argument {name!r} given twice", source)
        args[name] = _literal(keyword.value, source)
    return node.func.id, args


def _action(source: str, geometry: ScreenGeometry, grid: ImageGrid) -> Action:
    name, args = _read_call(source)
    builder = _BUILDERS.get(name)
    if builder is None:
        raise ParseError(f"unknown action {name!r}", source)
    return builder(_Call(name, args, source, geometry, grid))


def parse_uitars(text: str, geometry: ScreenGeometry, grid: ImageGrid) -> ParsedResponse:
    """Parse a UI-TARS-1.5 response; points are mapped from the model's resized image to ``geometry``'s screen.

    Raises ``ParseError`` (message and offending text) for anything that is not a well-formed response, and
    nothing else whatever the text.
    """
    check_answer(text)
    mark = _ACTION_MARK.search(text)
    if mark is None:
        raise ParseError("no 'Action:' in the response", text)
    body = text[mark.end() :].strip()
    if not body:
        raise ParseError("empty Action", text)
    reflection, thought = _reasoning(text[: mark.start()])
    sources = _split_actions(body)
    check_actions(len(sources), body)
    with guarded(body):
        actions = tuple(_action(source, geometry, grid) for source in sources)
    return ParsedResponse(thought=thought, actions=actions, reflection=reflection, raw=text)
