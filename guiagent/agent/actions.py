"""Typed actions: what a parsed model response asks the desktop to do.

Every point is a ``Target``: the coordinates the model wrote (in its own image space) and the logical screen
point they map to (pyautogui's space, monitor origin included). Parsers produce these; executors consume
them; nothing here is ever ``exec``'d.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from guiagent.errors import GuiAgentError

Direction = Literal["up", "down", "left", "right"]
Button = Literal["left", "right", "middle"]


@dataclass(frozen=True)
class Target:
    """A point the model named: ``model`` as written, ``screen`` in logical screen pixels (clamped)."""

    model: tuple[float, float]
    screen: tuple[int, int]
    clamped: bool = False


@dataclass(frozen=True)
class Click:
    target: Target
    button: Button = "left"
    clicks: int = 1


@dataclass(frozen=True)
class Move:
    """Hover: move the pointer without clicking."""

    target: Target


@dataclass(frozen=True)
class Drag:
    start: Target
    end: Target


@dataclass(frozen=True)
class Scroll:
    """Scroll at ``target`` (or where the pointer is); ``amount`` is in wheel clicks."""

    direction: Direction
    target: Target | None = None
    amount: int = 5


@dataclass(frozen=True)
class Hotkey:
    """Keys pressed together, released in reverse order (``ctrl c``)."""

    keys: tuple[str, ...]


@dataclass(frozen=True)
class Press:
    """One key: pressed and released."""

    key: str


@dataclass(frozen=True)
class KeyUp:
    """Release a key (models sometimes emit ``release(key=...)``)."""

    key: str


@dataclass(frozen=True)
class Type:
    """Type text; a trailing newline submits it (Enter)."""

    text: str


@dataclass(frozen=True)
class Wait:
    seconds: float = 5.0


@dataclass(frozen=True)
class Finished:
    """The task is done; ``content`` is the model's answer or summary."""

    content: str = ""


@dataclass(frozen=True)
class CallUser:
    """The model asks the human for help."""

    content: str = ""


@dataclass(frozen=True)
class MobileAction:
    """Mobile-only actions (long_press, open_app, press_home, press_back): parsed, never run on a desktop."""

    name: str
    target: Target | None = None
    text: str = ""


# Caps on the repeat counts a model may ask for. pyautogui repeats a click, key press or wheel click as often as
# told (presses=10**9 held 4 GB; clicks=60000 kept the stop hotkey waiting 28 s); parsers cut larger counts to
# these and say so in ParsedResponse.notes.
MAX_CLICKS = 10  # a click's repeat count: toolkits tell apart up to triple clicks
MAX_PRESSES = 50  # repeats of one key press (down through a long list)
MAX_SCROLL = 50  # wheel clicks per scroll: a few screens


def cap(count: float, limit: int, what: str, notes: list[str]) -> int:
    """``count`` (a whole number) cut to ``limit``, with a note in ``notes`` when it was cut."""
    if count <= limit:
        return int(count)
    notes.append(f"{what}={int(count) if count < 10**15 else 'more than 10^15'} capped to {limit}")
    return limit


Action = Click | Move | Drag | Scroll | Hotkey | Press | KeyUp | Type | Wait | Finished | CallUser | MobileAction

TERMINAL = (Finished, CallUser)


@dataclass(frozen=True)
class ParsedResponse:
    """A model response taken apart: its reasoning and its actions (in order)."""

    thought: str
    actions: tuple[Action, ...]
    reflection: str = ""
    raw: str = field(default="", repr=False)
    notes: tuple[str, ...] = ()  # what the parser changed, e.g. a count cut to its cap; shown with the step


class ParseError(GuiAgentError):
    """A response that could not be turned into actions; ``text`` is the offending part."""

    def __init__(self, message: str, text: str) -> None:
        super().__init__(message)
        self.text = text

    def __str__(self) -> str:
        return f"{self.message}: {self.text!r}"


class UnsupportedAction(GuiAgentError):
    """An action an executor does not run (a mobile or loop action on a desktop, an unknown key): that action
    fails and the run goes on. Its own class, so that a bug inside an executor is never recorded as a failed action."""


def describe(action: Action) -> str:
    """One line for logs and the console: the action and where it lands on screen."""
    name = type(action).__name__.lower()
    match action:
        case Click(target=t, button=b, clicks=c):
            kind = {1: "click", 2: "double-click", 3: "triple-click"}.get(c, f"{c}x click")
            return f"{b if b != 'left' else ''} {kind} at {t.screen}".strip()
        case Move(target=t):
            return f"move to {t.screen}"
        case Drag(start=s, end=e):
            return f"drag {s.screen} -> {e.screen}"
        case Scroll(direction=d, target=t, amount=a):
            return f"scroll {d} x{a}" + (f" at {t.screen}" if t else "")
        case Hotkey(keys=k):
            return "hotkey " + "+".join(k)
        case Press(key=k) | KeyUp(key=k):
            return f"{name} {k}"
        case Type(text=t):
            return f"type {t!r}"
        case Wait(seconds=s):
            return f"wait {s:g}s"
        case Finished(content=c) | CallUser(content=c):
            return f"{name}" + (f": {c}" if c else "")
        case MobileAction(name=n):
            return f"mobile {n}"
    return name
