"""The emergency stop without a display: hotkey names checked before a run, long actions cut into pieces that
the stop can end, and a second Ctrl-C that never loses an action already executed."""

from __future__ import annotations

import os
import signal
import threading

import pytest

from guiagent.agent.actions import Click, Scroll, Target, Type
from guiagent.agent.desktop import executor as executor_module
from guiagent.agent.desktop.stop import ActionInterrupted, EmergencyStop, HotkeyError, interrupts_held, parse_hotkey
from tests.agent.helpers import RecordingExecutor, ScriptedHuman
from tests.agent.run.test_loop import CLICK, make_loop


@pytest.mark.parametrize(
    ("text", "masks", "keysym"),
    [
        ("ctrl+alt+q", ("ControlMask", "Mod1Mask"), "q"),
        ("Ctrl+Alt+F12", ("ControlMask", "Mod1Mask"), "F12"),
        ("super+pause", ("Mod4Mask",), "Pause"),
        ("ctrl+alt+esc", ("ControlMask", "Mod1Mask"), "Escape"),
        ("control + shift + Q", ("ControlMask", "ShiftMask"), "Q"),
    ],
)
def test_valid_hotkeys_parse_to_masks_and_one_keysym(text, masks, keysym):
    pytest.importorskip("Xlib")
    hotkey = parse_hotkey(text)
    assert (hotkey.masks, hotkey.keysym) == (masks, keysym)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ctrl+alt+foo", "The stop hotkey 'ctrl+alt+foo' names 'foo', which is not a key."),
        ("hyper+q", "The stop hotkey 'hyper+q' names 'hyper', which is not a modifier."),
        ("q", "The stop hotkey 'q' has no modifier, so grabbing it would take the key from every application."),
        ("ctrl+shift", "The stop hotkey 'ctrl+shift' has no key; it needs exactly one after its modifiers."),
        ("ctrl+a+b", "The stop hotkey 'ctrl+a+b' has 2 keys (a, b); it needs exactly one after its modifiers."),
        ("ctrl+alt+", "The stop hotkey 'ctrl+alt+' has an empty part."),
        ("ctrl+q+alt", "The stop hotkey 'ctrl+q+alt' must end with its key, not with a modifier."),
        ("ctrl+Shift_L", "The stop hotkey 'ctrl+Shift_L' ends with the modifier key 'Shift_L', not a real key."),
    ],
)
def test_bad_hotkeys_are_one_sentence_at_construction(text, message):
    pytest.importorskip("Xlib")
    with pytest.raises(HotkeyError) as raised:
        EmergencyStop(text)
    assert raised.value.message == message and "ctrl+alt+q" in raised.value.hint


def test_no_hotkey_says_so_and_still_stops_on_ctrl_c(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    with EmergencyStop(None) as stop:
        assert not stop.hotkey_active and stop.describe() == "Ctrl-C (no stop hotkey: --no-stop-hotkey)"
        os.kill(os.getpid(), signal.SIGINT)
        assert stop.event.wait(2) and stop.reason == "Ctrl-C"
    with EmergencyStop("ctrl+alt+q") as stop:  # no X11: the banner must not promise the hotkey
        assert stop.describe() == "Ctrl-C (no global stop hotkey: X11 only)"


def test_a_held_hard_interrupt_lands_when_the_outermost_block_ends():
    with EmergencyStop(None) as stop:
        with pytest.raises(KeyboardInterrupt):
            with interrupts_held():
                os.kill(os.getpid(), signal.SIGINT)
                os.kill(os.getpid(), signal.SIGINT)
                with interrupts_held():
                    threading.Event().wait(0.05)  # the second Ctrl-C arrives here, inside both blocks
                reached_the_end = True
        assert stop.event.is_set() and reached_the_end
        with interrupts_held():  # nothing is left pending for a later block
            pass


def test_a_block_that_fails_on_its_own_drops_the_held_interrupt():
    with EmergencyStop(None):
        with pytest.raises(RuntimeError), interrupts_held():
            os.kill(os.getpid(), signal.SIGINT)
            os.kill(os.getpid(), signal.SIGINT)
            threading.Event().wait(0.05)
            raise RuntimeError("the block's own failure")
        with interrupts_held():
            pass


def double_ctrl_c(*_: object) -> None:
    os.kill(os.getpid(), signal.SIGINT)
    os.kill(os.getpid(), signal.SIGINT)
    threading.Event().wait(0.05)  # both handlers run here, while the action is still "running"


def test_double_ctrl_c_during_an_action_keeps_it_in_the_trajectory():
    recorded = []
    with EmergencyStop(None) as stop:
        executor = RecordingExecutor(side_effect=double_ctrl_c)
        loop = make_loop([CLICK, CLICK], executor=executor, stop=stop.event)
        loop.on_event = recorded.append
        result = loop.run()
    assert result.status == "stopped" and result.steps == 1 and len(executor.executed) == 1
    assert [[o.outcome for o in event.outcomes] for event in recorded] == [["executed"]]


def test_double_ctrl_c_while_the_step_is_reported_does_not_lose_it():
    recorded = []

    def record(event) -> None:
        double_ctrl_c()
        recorded.append(event)  # the "write": it must finish although two Ctrl-C arrived during it

    with EmergencyStop(None) as stop:
        loop = make_loop([CLICK, CLICK], stop=stop.event)
        loop.on_event = record
        result = loop.run()
    assert result.status == "stopped" and len(recorded) == 1 and recorded[0].outcomes[0].outcome == "executed"


def test_double_ctrl_c_at_a_prompt_interrupts_it_and_keeps_the_earlier_action():
    class InterruptedHuman(ScriptedHuman):
        def confirm(self, action, reason: str) -> bool:
            double_ctrl_c()
            return True

    answer = "Action: click(start_box='(10,10)')\n\ntype(content='hello\\n')"  # the Enter asks under "risky"
    recorded = []
    with EmergencyStop(None) as stop:
        executor = RecordingExecutor()
        loop = make_loop([answer], executor=executor, human=InterruptedHuman(), confirm="risky", stop=stop.event)
        loop.on_event = recorded.append
        result = loop.run()
    assert result.status == "stopped" and [type(a) for a in executor.executed] == [Click]
    assert [o.outcome for o in recorded[0].outcomes] == ["executed", "skipped"]


def test_an_action_the_stop_cut_short_is_failed_with_how_far_it_got():
    stop = threading.Event()

    def interrupted(action) -> None:
        stop.set()
        raise ActionInterrupted("stopped after 6 of 60000 clicks")

    result = make_loop([CLICK, CLICK], executor=RecordingExecutor(side_effect=interrupted), stop=stop).run()
    outcome = result.events[0].outcomes[0]
    assert result.status == "stopped" and result.steps == 1
    assert (outcome.outcome, outcome.reason) == ("failed", "stopped after 6 of 60000 clicks")


class FakeGui:
    """pyautogui's calls, recorded; sets the stop after ``stop_after`` calls."""

    FAILSAFE = True

    def __init__(self, stop: threading.Event, stop_after: int) -> None:
        self.calls: list[tuple[str, tuple, dict]] = []
        self.stop, self.stop_after = stop, stop_after

    def isValidKey(self, key: str) -> bool:  # noqa: N802 - pyautogui's name
        return True

    def __getattr__(self, name: str):
        def call(*args, **kwargs) -> None:
            self.calls.append((name, args, kwargs))
            if len(self.calls) >= self.stop_after:
                self.stop.set()

        return call


def fake_executor(monkeypatch, stop_after: int = 10**9) -> tuple[executor_module.PyAutoGuiExecutor, FakeGui]:
    stop = threading.Event()
    gui = FakeGui(stop, stop_after)
    monkeypatch.setattr(executor_module, "_import_pyautogui", lambda: gui)
    return executor_module.PyAutoGuiExecutor(settle_s=0, platform="linux", stop=stop), gui


TARGET = Target((10, 10), (10, 10))


def test_many_clicks_run_in_pieces_that_only_pause_at_the_end(monkeypatch):
    executor, gui = fake_executor(monkeypatch)
    executor.execute(Click(TARGET, clicks=8))
    assert [(c[2]["clicks"], c[2]["_pause"]) for c in gui.calls] == [(3, False), (3, False), (2, True)]
    executor, gui = fake_executor(monkeypatch)
    executor.execute(Click(TARGET, clicks=2))  # a double click stays one gesture
    assert [(c[0], c[2]["clicks"], c[2]["_pause"]) for c in gui.calls] == [("click", 2, True)]


def test_the_stop_ends_a_long_click_between_pieces(monkeypatch):
    executor, gui = fake_executor(monkeypatch, stop_after=2)
    with pytest.raises(ActionInterrupted, match="stopped after 6 of 60000 clicks"):
        executor.execute(Click(TARGET, clicks=60000))
    assert len(gui.calls) == 2


def test_the_stop_ends_long_typing_and_never_presses_its_enter(monkeypatch):
    executor, gui = fake_executor(monkeypatch, stop_after=3)
    with pytest.raises(ActionInterrupted, match="stopped after 48 of 1000 characters"):
        executor.execute(Type("x" * 1000 + "\n"))
    assert [c[0] for c in gui.calls] == ["write"] * 3 and "".join(c[1][0] for c in gui.calls) == "x" * 48
    executor, gui = fake_executor(monkeypatch, stop_after=1)
    with pytest.raises(ActionInterrupted, match="before Enter"):
        executor.execute(Type("short\n"))
    assert [c[0] for c in gui.calls] == ["write"]


def test_typing_in_pieces_types_every_character_once(monkeypatch):
    executor, gui = fake_executor(monkeypatch)
    text = "".join(chr(ord("a") + i % 26) for i in range(50))
    executor.execute(Type(text + "\n"))
    assert "".join(c[1][0] for c in gui.calls[:-1]) == text and gui.calls[-1][:2] == ("press", ("enter",))
    assert [c[2]["_pause"] for c in gui.calls[:-1]] == [False, False, False, True]


def test_long_scrolls_run_in_pieces_that_the_stop_ends(monkeypatch):
    executor, gui = fake_executor(monkeypatch)
    executor.execute(Scroll("down", TARGET, amount=12))
    assert [(c[0], c[1][0]) for c in gui.calls] == [("scroll", -5), ("scroll", -5), ("scroll", -2)]
    executor, gui = fake_executor(monkeypatch, stop_after=1)
    with pytest.raises(ActionInterrupted, match="stopped after 5 of 10000 wheel clicks"):
        executor.execute(Scroll("right", None, amount=10000))
    assert gui.calls == [("hscroll", (5,), {"x": None, "y": None, "_pause": False})]


def test_the_fail_safe_stays_on(monkeypatch):
    executor, gui = fake_executor(monkeypatch)
    assert gui.FAILSAFE is True
    gui.FAILSAFE = False
    with pytest.raises(executor_module.ExecutorError, match="FAILSAFE was turned off"):
        executor.execute(Click(TARGET))
