"""The agent loop's gates: step limit, finished, unparsable answers, loop detection, confirmation, deny rules,
call_user, the fail-safe and the emergency stop. Answers come from a script; the loop code is the real one."""

from __future__ import annotations

import os
import signal
import threading

import pytest

from guiagent.agent.actions import Click, Type
from guiagent.agent.desktop.stop import EmergencyStop
from guiagent.agent.policy.coords import ImageGrid
from guiagent.agent.policy.uitars import UITarsPolicy
from guiagent.agent.run.decide import ScriptedDecider
from guiagent.agent.run.loop import AgentLoop
from guiagent.agent.run.safety import SafetyRules
from guiagent.errors import ConfigError
from tests.agent.helpers import RecordingExecutor, ScriptedHuman, still_screen

CLICK = "Thought: click the button.\nAction: click(start_box='<|box_start|>(100,200)<|box_end|>')"


def make_loop(answers, *, human=None, executor=None, confirm="never", max_steps=10, stop=None, screens=None):
    policy = UITarsPolicy("open settings and enable dark mode", ImageGrid())
    frames = iter(screens) if screens is not None else None
    capture = (lambda: next(frames)) if frames is not None else still_screen
    return AgentLoop(
        ScriptedDecider(list(answers), policy),
        capture,
        executor or RecordingExecutor(),
        human or ScriptedHuman(),
        rules=SafetyRules(confirm=confirm),
        max_steps=max_steps,
        stop=stop,
    )


def test_step_limit_ends_the_run():
    executor = RecordingExecutor()
    screens = [still_screen(colour=c) for c in ("red", "green", "blue", "white")]  # a changing screen: no loop
    result = make_loop([CLICK] * 5, executor=executor, max_steps=3, screens=screens).run()
    assert result.status == "step_limit" and result.steps == 3 and len(result.events) == 3
    assert [type(a) for a in executor.executed] == [Click] * 3


def test_finished_ends_with_its_content():
    result = make_loop(
        [CLICK, "Thought: done.\nAction: finished(content='dark mode is on')"],
        screens=[still_screen(colour="red"), still_screen()],
    ).run()
    assert (result.status, result.message, result.steps) == ("finished", "dark mode is on", 2)


def test_unparsable_answers_are_reported_and_nothing_runs():
    executor = RecordingExecutor()
    result = make_loop(
        ["I think I should click somewhere", "Action: click(start_box='=')"], executor=executor, max_steps=2
    ).run()
    assert executor.executed == []
    assert all(event.parsed is None and event.parse_errors for event in result.events)
    assert "no 'Action:'" in result.events[0].parse_errors[0]


def test_script_exhaustion_is_a_clean_end():
    result = make_loop([CLICK], screens=[still_screen(colour="red"), still_screen()]).run()
    assert result.status == "script_exhausted" and "no answer for step 2" in result.message


@pytest.mark.parametrize("keep_going", [False, True])
def test_loop_detection_pauses_and_asks(keep_going):
    human = ScriptedHuman(asks=[keep_going])
    result = make_loop([CLICK] * 4, human=human, max_steps=4).run()
    assert any("repeated" in q and "3 times on an unchanged screen" in q for q in human.questions)
    assert result.status == ("step_limit" if keep_going else "loop")
    assert result.steps == (4 if keep_going else 3)


def test_confirmation_always_asks_and_no_means_not_executed():
    executor, human = RecordingExecutor(), ScriptedHuman(confirms=[False, True])
    screens = [still_screen(colour="red"), still_screen(colour="blue")]
    result = make_loop(
        [CLICK, CLICK], executor=executor, human=human, confirm="always", max_steps=2, screens=screens
    ).run()
    assert [o.outcome for e in result.events for o in e.outcomes] == ["denied", "executed"]
    assert len(executor.executed) == 1 and len(human.questions) == 2


def test_risky_mode_asks_only_for_committing_actions():
    executor, human = RecordingExecutor(), ScriptedHuman(confirms=[True])
    answer = "Action: type(content='hello')\n\ntype(content='world\\n')\n\nclick(start_box='(10,10)')"
    make_loop([answer], executor=executor, human=human, confirm="risky", max_steps=1).run()
    assert human.questions == ["confirm: typing and submitting (Enter)"]
    assert [type(a) for a in executor.executed] == [Type, Type, Click]


@pytest.mark.parametrize(
    "answer", ["Action: type(content='sudo rm -rf / --no-preserve-root\\n')", "Action: hotkey(key='ctrl alt delete')"]
)
def test_deny_rules_refuse_whatever_the_human_says(answer):
    executor, human = RecordingExecutor(), ScriptedHuman(confirms=[True])
    result = make_loop([answer, CLICK], executor=executor, human=human, confirm="never", max_steps=1).run()
    [outcome] = result.events[0].outcomes
    assert outcome.outcome == "refused" and "deny" in outcome.reason
    assert executor.executed == [] and human.questions == []


def test_call_user_asks_and_stops_on_no():
    human = ScriptedHuman(asks=[False])
    result = make_loop(["Action: call_user()"], human=human).run()
    assert result.status == "call_user" and human.questions[0].startswith("The agent asks for help")


def test_failsafe_stops_the_run_and_keeps_the_step():
    class FailSafeException(Exception):  # what pyautogui raises; the loop recognises it by name
        pass

    def corner(action):
        raise FailSafeException("mouse in a corner")

    result = make_loop([CLICK, CLICK], executor=RecordingExecutor(side_effect=corner)).run()
    assert result.status == "failsafe" and result.steps == 1
    assert result.events[0].outcomes[0].outcome == "failed"


def test_emergency_stop_between_actions_skips_the_rest_and_ends_the_run():
    stop = threading.Event()
    executor = RecordingExecutor(side_effect=lambda action: stop.set())
    answer = "Action: click(start_box='(10,10)')\n\nclick(start_box='(20,20)')"
    result = make_loop([answer, answer], executor=executor, stop=stop).run()
    assert result.status == "stopped" and len(executor.executed) == 1
    assert [o.outcome for o in result.events[0].outcomes] == ["executed", "skipped"]


def test_emergency_stop_interrupts_a_wait_at_once():
    stop = threading.Event()
    threading.Timer(0.2, stop.set).start()
    loop = make_loop(["Action: wait()", CLICK], stop=stop)
    result = loop.run()
    assert result.status == "stopped" and result.steps <= 2


def test_ctrl_c_sets_the_stop_first_and_interrupts_the_second_time():
    with EmergencyStop(hotkey="ctrl+alt+q") as stop:
        os.kill(os.getpid(), signal.SIGINT)
        assert stop.event.wait(2) and stop.reason == "Ctrl-C"
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            threading.Event().wait(1)


def test_script_files_are_split_on_dashes(tmp_path):
    script = tmp_path / "answers.txt"
    script.write_text(f"{CLICK}\n---\nThought: a\n\nmultiline\nAction: wait()\n---\n\n")
    decider = ScriptedDecider.from_file(script, UITarsPolicy("x", ImageGrid()))
    assert decider.responses == [CLICK, "Thought: a\n\nmultiline\nAction: wait()"]
    with pytest.raises(ConfigError, match="does not exist"):
        ScriptedDecider.from_file(tmp_path / "nope.txt", UITarsPolicy("x", ImageGrid()))
    (tmp_path / "empty.txt").write_text("---\n\n---")
    with pytest.raises(ConfigError, match="has no responses"):
        ScriptedDecider.from_file(tmp_path / "empty.txt", UITarsPolicy("x", ImageGrid()))


def test_step_gate_pauses_between_steps_and_single_steps():
    from guiagent.agent.run.loop import StepGate

    gate, stop = StepGate(), threading.Event()
    gate.pause()
    loop = make_loop([CLICK] * 5, max_steps=5, screens=[still_screen(colour=c) for c in ("red", "blue") * 3], stop=stop)
    loop.gate = gate
    worker = threading.Thread(target=loop.run)
    worker.start()
    threading.Event().wait(0.3)
    assert loop.events == []  # paused: no step ran
    gate.step_once()
    deadline = threading.Event()
    for _ in range(40):
        if len(loop.events) == 1:
            break
        deadline.wait(0.05)
    threading.Event().wait(0.3)
    assert len(loop.events) == 1 and gate.paused  # exactly one step, then paused again
    stop.set()
    worker.join(timeout=5)
    assert not worker.is_alive() and len(loop.events) == 1
