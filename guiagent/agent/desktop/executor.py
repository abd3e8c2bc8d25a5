"""Executors: turn typed actions into mouse and keyboard input (pyautogui), or only record them (dry run).

pyautogui is imported when a ``PyAutoGuiExecutor`` is built, not with this module: on Linux it connects to the
X display at import time and exits the interpreter when tkinter is missing, and a dry run needs neither. Its
corner fail-safe (move the mouse into a screen corner to stop the agent) stays on, always. Actions that can take
long (many clicks, wheel clicks or characters) run in small pieces with the emergency stop checked between them.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from types import ModuleType

from guiagent.agent.actions import (
    Action,
    CallUser,
    Click,
    Drag,
    Finished,
    Hotkey,
    KeyUp,
    MobileAction,
    Move,
    Press,
    Scroll,
    Type,
    UnsupportedAction,
    Wait,
)
from guiagent.agent.desktop.capture import require_display
from guiagent.agent.desktop.stop import ActionInterrupted
from guiagent.errors import GuiAgentError

DRAG_SECONDS = 0.3  # slow enough for toolkits to see motion between press and release
WINDOWS_WHEEL_DELTA = 120  # pyautogui passes Windows raw wheel units; 120 is one notch
CLICKS_PER_PIECE = 3  # a double or triple click stays one gesture
WHEEL_CLICKS_PER_PIECE = 5
CHARS_PER_PIECE = 16

# Spellings models and datasets use for keys, mapped to pyautogui's names (platform-specific ones below).
KEY_ALIASES = {
    "arrowup": "up",
    "arrowdown": "down",
    "arrowleft": "left",
    "arrowright": "right",
    "esc": "escape",
    "return": "enter",
    "del": "delete",
    "ins": "insert",
    "pgup": "pageup",
    "pgdn": "pagedown",
    "page_up": "pageup",
    "page_down": "pagedown",
    "bksp": "backspace",
    "spacebar": "space",
    "caps_lock": "capslock",
    "control": "ctrl",
    "cmd": "command",
    "super": "win",
    "meta": "win",
    "windows": "win",
    "opt": "option",
}
# Left and right modifiers are one key (ctrlleft, left_ctrl, ctrl_l, lctrl...), so the safety rules see one name.
MODIFIER_SIDES = {
    spelling.format(key=key, side=side, s=side[0]): KEY_ALIASES.get(key, key)
    for key in ("ctrl", "control", "alt", "shift", "win", "super", "meta", "option", "cmd", "command")
    for side in ("left", "right")
    for spelling in ("{key}{side}", "{side}{key}", "{key}_{side}", "{side}_{key}", "{key}_{s}", "{s}{key}")
}
SINGLE_KEYS = {"\n": "enter", "\r": "enter", "\t": "tab"}  # OpenCUA's press('\n') is Enter


class ExecutorError(GuiAgentError):
    """The desktop cannot carry out input (pyautogui unusable, no clipboard tool for non-ASCII text)."""


def check_executable(action: Action) -> None:
    """Reject actions that are not desktop input, so a dry run refuses exactly what a real run refuses."""
    if isinstance(action, MobileAction):
        raise UnsupportedAction(f"{action.name!r} is a mobile action and cannot run on a desktop.")
    if isinstance(action, (Wait, Finished, CallUser)):
        raise UnsupportedAction(f"{type(action).__name__} is not an executor action: the agent loop handles it.")


def normalize_key(key: str, platform: str = sys.platform, in_hotkey: bool = False) -> str:
    """A model's key name in pyautogui's vocabulary for ``platform``: the one canonical name, which the safety
    rules check (guiagent.agent.run.safety) and the executor sends.

    Single characters keep their case (``A`` is shift+a), except newline and tab; names are lower-cased and
    de-aliased, left/right modifiers folded into one. On macOS the Windows/Super key is Command, Alt is Option and
    a hotkey's ctrl becomes Command (``ctrl c`` means copy); elsewhere Command and Option become Ctrl and Alt,
    which is what a Mac-trained model means by them.
    """
    if len(key) == 1:
        name = SINGLE_KEYS.get(key, key)
    else:
        name = key.strip().lower()
        name = KEY_ALIASES.get(name) or MODIFIER_SIDES.get(name, name)
    if platform == "darwin":
        if name == "win" or (in_hotkey and name == "ctrl"):
            return "command"
        return "option" if name == "alt" else name
    return {"command": "ctrl", "option": "alt"}.get(name, name)


class DryRunExecutor:
    """Records actions instead of running them: for dry runs, tests, and machines without a display."""

    def __init__(self) -> None:
        self.actions: list[Action] = []

    def execute(self, action: Action) -> None:
        check_executable(action)
        self.actions.append(action)


class PyAutoGuiExecutor:
    """Runs actions with pyautogui; screen points are logical pixels (``Target.screen``)."""

    def __init__(
        self,
        settle_s: float = 0.05,
        platform: str = sys.platform,
        type_interval: float = 0.0,
        stop: threading.Event | None = None,
    ) -> None:
        self.settle_s = settle_s
        self.platform = platform
        self.type_interval = type_interval
        self.stop = stop or threading.Event()
        self._gui = _import_pyautogui()
        self._gui.FAILSAFE = True

    def execute(self, action: Action) -> None:
        """Run one action, then give the application ``settle_s`` to react before the next screenshot."""
        check_executable(action)
        if not self._gui.FAILSAFE:
            raise ExecutorError(
                "pyautogui.FAILSAFE was turned off.",
                "Set it back to True: throwing the mouse into a screen corner is how a user stops the agent.",
            )
        match action:
            case Click(target=target, button=button, clicks=clicks):
                self._in_pieces(
                    clicks,
                    CLICKS_PER_PIECE,
                    "clicks",
                    lambda _, count, last: self._gui.click(*target.screen, clicks=count, button=button, _pause=last),
                )
            case Move(target=target):
                self._gui.moveTo(*target.screen)
            case Drag(start=start, end=end):
                self._gui.moveTo(*start.screen)
                self._gui.dragTo(*end.screen, duration=DRAG_SECONDS, button="left")
            case Scroll():
                self._scroll(action)
            case Hotkey(keys=keys):
                self._gui.hotkey(*(self._key(key, in_hotkey=True) for key in keys))
            case Press(key=key):
                self._gui.press(self._key(key))
            case KeyUp(key=key):
                self._gui.keyUp(self._key(key))
            case Type(text=text):
                self._type(text)
        time.sleep(self.settle_s)

    def _key(self, key: str, in_hotkey: bool = False) -> str:
        name = normalize_key(key, self.platform, in_hotkey)
        if not self._gui.isValidKey(name):
            raise UnsupportedAction(
                f"Unknown key {key!r}: use a key name pyautogui knows, such as enter, ctrl, a or f5."
            )
        return name

    def _in_pieces(self, total: int, size: int, unit: str, send: Callable[[int, int, bool], None]) -> None:
        """``send(start, count, last)`` for ``total`` units, ``size`` at a time, checking the stop before each piece.

        Only the last piece takes pyautogui's pause, so splitting costs no time; a stop raises ActionInterrupted.
        """
        for start in range(0, total, size):
            if self.stop.is_set():
                raise ActionInterrupted(f"stopped after {start} of {total} {unit}")
            count = min(size, total - start)
            send(start, count, start + count == total)

    def _scroll(self, action: Scroll) -> None:
        x, y = action.target.screen if action.target else (None, None)

        def notches(_: int, clicks: int, last: bool) -> None:
            if self.platform == "win32":
                clicks *= WINDOWS_WHEEL_DELTA
            if action.direction in ("up", "down"):
                self._gui.scroll(clicks if action.direction == "up" else -clicks, x=x, y=y, _pause=last)
            elif self.platform == "win32":  # pyautogui's hscroll is vertical on Windows; Shift+wheel is horizontal
                with self._gui.hold("shift"):
                    self._gui.scroll(clicks if action.direction == "left" else -clicks, x=x, y=y, _pause=last)
            else:
                self._gui.hscroll(clicks if action.direction == "right" else -clicks, x=x, y=y, _pause=last)

        self._in_pieces(action.amount, WHEEL_CLICKS_PER_PIECE, "wheel clicks", notches)

    def _type(self, text: str) -> None:
        """Type ``text``; a trailing newline is Enter, never pressed after a stop. Untypable characters are pasted."""
        body, submit = (text[:-1], True) if text.endswith("\n") else (text, False)
        if all(self._gui.isValidKey(char) for char in body):
            self._in_pieces(
                len(body),
                CHARS_PER_PIECE,
                "characters",
                lambda start, count, last: self._gui.write(
                    body[start : start + count], interval=self.type_interval, _pause=last
                ),
            )
        else:
            self._paste(body)
        if submit:
            if self.stop.is_set():
                raise ActionInterrupted(f"stopped after typing {len(body)} characters, before Enter")
            self._gui.press("enter")

    def _paste(self, text: str) -> None:
        import pyperclip

        try:
            pyperclip.copy(text)
        except pyperclip.PyperclipException as error:
            raise ExecutorError(
                f"Typing {text!r} needs the clipboard (pyautogui types ASCII only) and no clipboard tool was found.",
                "Install xclip or xsel (Linux), or ask the model for ASCII text.",
            ) from error
        self._gui.hotkey(self._key("ctrl", in_hotkey=True), "v")


def _import_pyautogui() -> ModuleType:
    """pyautogui, with its import-time failures (no display, no tkinter) turned into advice."""
    require_display()
    try:
        import pyautogui
    except SystemExit as error:  # its MouseInfo dependency calls sys.exit() when tkinter is missing
        raise ExecutorError(
            "pyautogui needs tkinter, and this Python has none.",
            "Install it (Debian/Ubuntu: apt-get install python3-tk) or use a Python built with Tk.",
        ) from error
    return pyautogui
