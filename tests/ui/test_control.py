"""RunControl without a UI: budget steps, queued settings applied between steps (and recorded), confirmation
requests, and the stop."""

from __future__ import annotations

import io
import subprocess
import sys
import threading

import pytest

from guiagent.agent.actions import Press
from guiagent.compression.budget import Budget
from guiagent.errors import ConfigError
from guiagent.ui.control import RunControl, step_budget
from guiagent.ui.launch import use_tui
from guiagent.ui.messages import ConfirmRequest, ConfirmRequested, SettingsApplied, StepStarted
from tests.ui.helpers import FakeSession


@pytest.mark.parametrize(
    ("before", "direction", "after"),
    [
        ("20", +1, "25%"),
        ("20", -1, "15%"),
        ("98", +1, "100%"),
        ("3", -1, "1%"),
        ("4096t", +1, "4506t"),
        ("4096t", -1, "3686t"),
        ("1t", -1, "1t"),
        ("4t", +1, "5t"),  # at least one token
        ("512MiB", +1, "563MiB"),
        ("1GiB", -1, "922MiB"),  # a finer unit once the whole one has fewer than two digits
        ("20GiB", +1, "22GiB"),
    ],
)
def test_budget_steps(before, direction, after):
    assert str(step_budget(Budget.parse(before), direction)) == after


class Recording:
    def __init__(self) -> None:
        self.notes: list[dict] = []

    def note(self, **fields) -> None:
        self.notes.append(fields)


def test_changes_wait_for_the_next_step_and_are_recorded():
    session, recorder, posted = FakeSession(), Recording(), []
    control = RunControl(session, methods=("full", "snapkv"), recorder=recorder)
    control.post = posted.append
    control.bump_budget(+1)
    control.set_method("snapkv")
    assert str(session.budget) == "20%" and session.press is None  # queued only
    assert str(control.budget) == "25%" and control.method == "snapkv"
    control.gate.wait(control.stop)  # the loop passes the gate: step 1 begins
    assert str(session.budget) == "25%" and session.press.name == "snapkv"
    from guiagent.compression.presses import method_defaults

    snapkv = method_defaults("snapkv")
    assert recorder.notes == [
        {"step": 1, "settings": {"budget": "25%", "method": "snapkv"}, "by": "dashboard", "method_settings": snapkv}
    ]
    assert control.report() == {
        "started": {"method": "full", "budget": "20%"},
        "changes": [{"step": 1, "budget": "25%", "method": "snapkv", "method_settings": snapkv}],
    }
    assert [type(m) for m in posted] == [SettingsApplied, StepStarted]
    assert (posted[1].step, posted[1].budget, posted[1].method) == (1, "25%", "snapkv")
    control.gate.wait(control.stop)  # nothing queued: nothing written
    assert len(recorder.notes) == 1 and control.pending == {}


def test_setting_the_current_value_back_cancels_the_change():
    control = RunControl(FakeSession(), methods=("full",))
    control.bump_budget(+1)
    control.bump_budget(-1)
    assert control.pending == {}


def test_bad_budget_text_and_unknown_methods_raise_config_errors():
    control = RunControl(FakeSession(), methods=("full", "snapkv"))
    with pytest.raises(ConfigError, match="Budget 'lots' is not understood"):
        control.set_budget("lots")
    with pytest.raises(ConfigError, match="Unknown compression method 'magic'"):
        control.set_method("magic")
    assert control.pending == {}


def test_a_question_blocks_the_loop_until_answered_and_stop_answers_no():
    control = RunControl()
    posted: list = []
    control.post = posted.append
    answers: list[bool] = []
    asker = threading.Thread(target=lambda: answers.append(control.human.confirm(Press("enter"), "pressing enter")))
    asker.start()
    while not posted:
        asker.join(0.01)
    [message] = posted
    assert isinstance(message, ConfirmRequested) and message.request.question == "Run 'press enter'?"
    message.request.reply(True)
    asker.join(2)
    assert answers == [True]
    request = ConfirmRequest("Continue?")
    threading.Timer(0.1, control.stop_run).start()
    assert request.wait(control.stop) is False and control.stop.is_set()


def test_stop_releases_a_paused_loop():
    control = RunControl()
    control.pause()
    waiter = threading.Thread(target=control.gate.wait, args=(control.stop,))
    waiter.start()
    waiter.join(0.2)
    assert waiter.is_alive()
    control.stop_run("test")
    waiter.join(2)
    assert not waiter.is_alive() and control.stop_reason == "test"


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_tui_is_on_by_default_only_in_a_terminal(capsys):
    assert use_tui(None, Tty()) is True
    assert use_tui(False, Tty()) is False
    assert use_tui(None, io.StringIO()) is False
    assert use_tui(True, io.StringIO()) is False
    assert "--tui needs a terminal on stdout" in capsys.readouterr().err


def test_the_dashboard_does_not_import_torch():
    code = "import sys, guiagent.ui.dashboard, guiagent.ui.launch; print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "False"
