"""Executor rules that need no display: key names per platform, and what a dry run accepts and imports."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from guiagent.agent.actions import CallUser, Finished, MobileAction, UnsupportedAction, Wait
from guiagent.agent.desktop.capture import ScreenError
from guiagent.agent.desktop.executor import DryRunExecutor, PyAutoGuiExecutor, normalize_key


@pytest.mark.parametrize(
    ("key", "platform", "in_hotkey", "expected"),
    [
        ("arrowup", "linux", False, "up"),
        ("ArrowLeft", "linux", False, "left"),
        ("esc", "linux", False, "escape"),
        ("Return", "linux", False, "enter"),
        ("del", "linux", False, "delete"),
        ("pgup", "linux", False, "pageup"),
        ("PgDn", "linux", False, "pagedown"),
        ("control", "linux", True, "ctrl"),
        ("A", "linux", False, "A"),  # single characters keep their case
        ("F5", "linux", False, "f5"),
        ("super", "linux", True, "win"),
        ("meta", "win32", True, "win"),
        ("win", "darwin", True, "command"),
        ("cmd", "darwin", True, "command"),
        ("cmd", "linux", True, "ctrl"),
        ("option", "win32", True, "alt"),
        ("option", "darwin", True, "option"),
        ("ctrl", "darwin", True, "command"),
        ("ctrl", "darwin", False, "ctrl"),
        ("ctrl", "win32", True, "ctrl"),
    ],
)
def test_normalize_key(key: str, platform: str, in_hotkey: bool, expected: str) -> None:
    assert normalize_key(key, platform, in_hotkey) == expected


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (Wait(1), "Wait is not an executor action: the agent loop handles it."),
        (Finished(), "Finished is not an executor action"),
        (CallUser(), "CallUser is not an executor action"),
        (MobileAction("long_press"), "'long_press' is a mobile action and cannot run on a desktop."),
    ],
)
def test_dry_run_refuses_what_a_real_run_refuses(action, message: str) -> None:
    dry = DryRunExecutor()
    with pytest.raises(UnsupportedAction, match=message):
        dry.execute(action)
    assert dry.actions == []


def test_dry_run_needs_no_display_and_never_imports_pyautogui() -> None:
    script = (
        "import sys\n"
        "from guiagent.agent.actions import Click, Target\n"
        "from guiagent.agent.desktop.executor import DryRunExecutor\n"
        "dry = DryRunExecutor()\n"
        "dry.execute(Click(Target((1, 2), (3, 4))))\n"
        "assert len(dry.actions) == 1\n"
        "assert 'pyautogui' not in sys.modules, 'pyautogui was imported'\n"
    )
    env = {key: value for key, value in os.environ.items() if key != "DISPLAY"}
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_pyautogui_executor_without_a_display_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("only Linux needs DISPLAY")
    monkeypatch.delenv("DISPLAY", raising=False)
    with pytest.raises(ScreenError, match="No display found. Set DISPLAY"):
        PyAutoGuiExecutor()
