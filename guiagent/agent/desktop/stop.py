"""The emergency stop: one flag, three ways to raise it.

- a global hotkey (default ctrl+alt+q), grabbed on the X server's root window so it works whatever window has
  focus (X11 only: Wayland, macOS and Windows have no grab an unprivileged process may take; there the other
  two remain). A hotkey that is not a real key, or that another X client already holds, refuses the run: a
  banner must never promise a stop that does nothing;
- Ctrl-C in the terminal: the first press stops the run at once (decoding checks the flag per token, long
  actions between their pieces), a second press interrupts hard, except while a step that already acted is
  being recorded (``interrupts_held``): what happened on the desktop always reaches the trajectory;
- pyautogui's fail-safe: throwing the mouse into a screen corner (handled by the loop).

The loop checks the flag between phases and inside decoding, so a stop never leaves half a step recorded.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from types import FrameType

from guiagent.errors import ConfigError

# Modifier names a user may write, as X modifier-mask names (Mod1 is Alt and Mod4 Super on every common layout).
MODIFIERS = {
    "ctrl": "ControlMask",
    "control": "ControlMask",
    "alt": "Mod1Mask",
    "shift": "ShiftMask",
    "super": "Mod4Mask",
    "win": "Mod4Mask",
}
KEY_ALIASES = {
    "enter": "Return",
    "esc": "Escape",
    "del": "Delete",
    "ins": "Insert",
    "pgup": "Prior",
    "pgdn": "Next",
    "pageup": "Prior",
    "pagedown": "Next",
}
MODIFIER_KEYSYMS = {f"{name}_{side}" for name in ("Shift", "Control", "Alt", "Meta", "Super", "Hyper") for side in "LR"}
MODIFIER_KEYSYMS |= {"Caps_Lock", "Shift_Lock", "Num_Lock", "Mode_switch"}
HOTKEY_HINT = "Write modifiers (ctrl, alt, shift, super) and one key joined by +, e.g. ctrl+alt+q."
NO_HOTKEY_HINT = "Choose another with --stop-hotkey, or pass --no-stop-hotkey to stop with Ctrl-C and the corner only."


class HotkeyError(ConfigError):
    """A stop hotkey that is not a valid key combination, or that cannot be grabbed on this display."""


class ActionInterrupted(Exception):
    """An action the emergency stop cut short between two of its pieces; the message says how far it got."""


@dataclass(frozen=True)
class StopHotkey:
    """A validated hotkey: X modifier-mask names and the keysym name of its one key."""

    text: str
    masks: tuple[str, ...]
    keysym: str


def parse_hotkey(text: str) -> StopHotkey:
    """``ctrl+alt+q`` checked before anything loads: known modifiers, exactly one real key (a HotkeyError else)."""
    parts = [part.strip() for part in text.split("+")]
    if not text.strip() or "" in parts:
        raise HotkeyError(f"The stop hotkey '{text}' has an empty part.", HOTKEY_HINT)
    keys = [part for part in parts if part.lower() not in MODIFIERS]
    unknown = [part for part in keys[:-1] if _keysym_name(part) is None]
    if unknown:
        raise HotkeyError(f"The stop hotkey '{text}' names '{unknown[0]}', which is not a modifier.", HOTKEY_HINT)
    if len(keys) != 1:
        found = f"{len(keys)} keys ({', '.join(keys)})" if keys else "no key"
        raise HotkeyError(
            f"The stop hotkey '{text}' has {found}; it needs exactly one after its modifiers.", HOTKEY_HINT
        )
    if parts[-1] != keys[0]:
        raise HotkeyError(f"The stop hotkey '{text}' must end with its key, not with a modifier.", HOTKEY_HINT)
    keysym = _keysym_name(keys[0])
    if keysym is None:
        raise HotkeyError(f"The stop hotkey '{text}' names '{keys[0]}', which is not a key.", HOTKEY_HINT)
    if keysym in MODIFIER_KEYSYMS:
        raise HotkeyError(
            f"The stop hotkey '{text}' ends with the modifier key '{keys[0]}', not a real key.", HOTKEY_HINT
        )
    if len(parts) == 1:
        raise HotkeyError(
            f"The stop hotkey '{text}' has no modifier, so grabbing it would take the key from every application.",
            HOTKEY_HINT,
        )
    return StopHotkey(text, tuple(dict.fromkeys(MODIFIERS[part.lower()] for part in parts[:-1])), keysym)


def _keysym_name(name: str) -> str | None:
    """The X keysym name for a key as a user writes it (case-insensitive, a few aliases); None when unknown.

    Where python-xlib is missing (not Linux) there is no hotkey to grab, so any single non-modifier word passes.
    """
    try:
        from Xlib import XK
    except ImportError:
        return name
    name = KEY_ALIASES.get(name.lower(), name)
    if XK.string_to_keysym(name):
        return name
    folded = {known[3:].lower(): known[3:] for known in dir(XK) if known.startswith("XK_")}
    return folded.get(name.lower())


class _Held:
    """Process-wide, like SIGINT itself: how deep the main thread is in ``interrupts_held`` blocks."""

    depth = 0
    pending = False


@contextlib.contextmanager
def interrupts_held() -> Iterator[None]:
    """Defer a hard Ctrl-C (the second one) to the end of the block: an action that ran must be recorded first.

    The first Ctrl-C still sets the stop at once, so the block (which checks the stop) ends soon. Only the main
    thread counts: it is the one a KeyboardInterrupt is raised in.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _Held.depth += 1
    try:
        yield
    except BaseException:  # the block failed on its own: that ends the step anyway, and the stop is set
        _Held.pending = _Held.pending and _Held.depth > 1
        raise
    finally:
        _Held.depth -= 1
    if not _Held.depth and _Held.pending:
        _Held.pending = False
        raise KeyboardInterrupt


class EmergencyStop:
    """A ``threading.Event`` plus the listeners that set it; use as a context manager.

    ``hotkey=None`` runs without a global hotkey (``--no-stop-hotkey``). The hotkey is validated here, at
    construction, and grabbed on ``__enter__``; both raise ``HotkeyError`` rather than run with a dead stop.
    """

    def __init__(self, hotkey: str | None = "ctrl+alt+q", *, sigint: bool = True) -> None:
        self.event = threading.Event()
        self.hotkey = hotkey
        self.parsed = parse_hotkey(hotkey) if hotkey is not None else None
        self.reason = ""
        self._sigint = sigint
        self._previous_handler = None
        self._listener: threading.Thread | None = None
        self._closing = threading.Event()
        self.hotkey_active = False

    def trigger(self, reason: str) -> None:
        if not self.event.is_set():
            self.reason = reason
        self.event.set()

    def describe(self) -> str:
        """How to stop this run, for the banner: never a hotkey that is not armed."""
        if self.hotkey_active:
            return f"{self.hotkey} or Ctrl-C"
        if self.hotkey is None:
            return "Ctrl-C (no stop hotkey: --no-stop-hotkey)"
        return "Ctrl-C (no global stop hotkey: X11 only)"

    def __enter__(self) -> EmergencyStop:
        self.hotkey_active = self.parsed is not None and self._start_hotkey(self.parsed)
        if self._sigint and threading.current_thread() is threading.main_thread():
            self._previous_handler = signal.signal(signal.SIGINT, self._on_sigint)
        return self

    def __exit__(self, *exc: object) -> None:
        self._closing.set()
        if self._listener is not None:
            self._listener.join(timeout=2)
        if self._previous_handler is not None:
            signal.signal(signal.SIGINT, self._previous_handler)

    def _on_sigint(self, signum: int, frame: FrameType | None) -> None:
        if not self.event.is_set():
            self.trigger("Ctrl-C")
        elif _Held.depth:
            _Held.pending = True
        else:
            raise KeyboardInterrupt

    def _start_hotkey(self, hotkey: StopHotkey) -> bool:
        """Grab the hotkey on X11 (a HotkeyError when that fails); False where there is no X11 to grab on."""
        if not os.environ.get("DISPLAY"):
            return False
        try:
            from Xlib import XK, X, display, error
        except ImportError:
            return False
        try:
            connection = display.Display()
        except Exception as problem:  # noqa: BLE001 - any X connection failure means the hotkey cannot work
            raise HotkeyError(
                f"The stop hotkey {hotkey.text} cannot be grabbed: the X display {os.environ['DISPLAY']} refused.",
                NO_HOTKEY_HINT,
            ) from problem
        keycode = connection.keysym_to_keycode(XK.string_to_keysym(hotkey.keysym))
        if not keycode:  # keycode 0 is AnyKey: grabbing it would take every key
            connection.close()
            raise HotkeyError(
                f"The stop hotkey {hotkey.text} cannot be grabbed: this keyboard has no '{hotkey.keysym}' key.",
                NO_HOTKEY_HINT,
            )
        modifiers = 0
        for mask in hotkey.masks:
            modifiers |= getattr(X, mask)
        caught = error.CatchError(error.BadAccess)  # X reports a held grab asynchronously, as BadAccess
        root = connection.screen().root
        for extra in (0, X.LockMask, X.Mod2Mask, X.LockMask | X.Mod2Mask):  # with Caps/Num Lock on too
            root.grab_key(keycode, modifiers | extra, True, X.GrabModeAsync, X.GrabModeAsync, onerror=caught)
        connection.sync()
        if caught.get_error() is not None:
            connection.close()
            raise HotkeyError(
                f"The stop hotkey {hotkey.text} is already grabbed by another X client, so it could not stop this run.",
                NO_HOTKEY_HINT,
            )
        self._listener = threading.Thread(
            target=self._listen, args=(connection, X.KeyPress), daemon=True, name="guiagent-emergency-stop"
        )
        self._listener.start()
        return True

    def _listen(self, connection, key_press: int) -> None:
        try:
            while not self._closing.is_set():
                readable, _, _ = select.select([connection.fileno()], [], [], 0.2)
                for _ in range(connection.pending_events() if readable else 0):
                    if connection.next_event().type == key_press:
                        self.trigger(f"hotkey {self.hotkey}")
        finally:
            with contextlib.suppress(Exception):
                connection.close()
