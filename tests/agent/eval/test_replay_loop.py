"""The replay drives the real ``AgentLoop`` (recorded screens in, no input out): its events are the loop's own,
its records are what the live loop records for the same answers, and nothing an answer says is executed,
asked for or ends the replay before the recording does."""

from __future__ import annotations

import time

import pytest

from guiagent.agent.eval.replay import replay, step_result
from guiagent.agent.eval.sources import load_source
from guiagent.agent.run.decide import ScriptExhausted
from guiagent.agent.run.loop import AgentLoop
from guiagent.agent.run.runner import RunOptions, replay_deciders
from guiagent.agent.run.safety import SafetyRules
from guiagent.agent.trajectory.format import load_screenshot
from tests.agent.helpers import RecordingExecutor, ScriptedHuman, StillCapture
from tests.helpers.data import TESTS_DATA

CLICK = "Thought: open the menu.\nAction: click(start_box='<|box_start|>(100,200)<|box_end|>')"
ANSWERS = [  # one per step of the bundled trajectory: every kind of answer, the task done at the end
    CLICK,
    "Action: type(content='hello')",
    "I am not sure what to do",
    "Action: scroll(start_box='(300,300)', direction='down')",
    "Action: hotkey(key='ctrl s')",
    "Action: click(start_box='<|box_start|>(400,500)<|box_end|>')",
    "Action: finished(content='done')",
]


def deciders(tmp_path, answers: list[str], name: str = "answers"):
    script = tmp_path / f"{name}.txt"
    script.write_text("\n---\n".join(answers))
    make_decider, _ = replay_deciders(RunOptions(task="replay", model=f"scripted:{script}"))
    return make_decider


def without_timings(record: dict) -> dict:
    return {key: value for key, value in record.items() if key != "timings"}


def test_replay_steps_through_the_agent_loop_and_reports_its_events(tmp_path, monkeypatch):
    trajectories = [load_source("bundled")[0], load_source(TESTS_DATA / "agentnetbench")[0]]
    total = sum(len(t.steps) for t in trajectories)
    stepped, emitted, loops = [], [], set()
    step, emit = AgentLoop.step, AgentLoop._emit

    def spy_step(self, number):
        stepped.append(number)
        loops.add(self)
        return step(self, number)

    def spy_emit(self, *args):
        emit(self, *args)
        emitted.append(self.events[-1])

    monkeypatch.setattr(AgentLoop, "step", spy_step)
    monkeypatch.setattr(AgentLoop, "_emit", spy_emit)
    received = []
    summary = replay(trajectories, deciders(tmp_path, [CLICK] * total), on_event=received.append)
    assert stepped == list(range(1, total + 1)) and len(summary.steps) == total  # numbered on across trajectories
    assert len(received) == total and all(a is b for a, b in zip(received, emitted, strict=True))
    assert len(loops) == len(trajectories) and all(loop.dry_run for loop in loops)


def test_a_replayed_step_records_what_the_live_loop_records_for_the_same_answers(tmp_path):
    [trajectory] = load_source("bundled")
    assert len(trajectory.steps) == len(ANSWERS)
    replayed = []
    summary = replay([trajectory], deciders(tmp_path, ANSWERS, "replay"), on_event=replayed.append)

    frames = iter([StillCapture(load_screenshot(s), trajectory.geometry(s)) for s in trajectory.steps])
    executor, human = RecordingExecutor(), ScriptedHuman()
    live = AgentLoop(
        deciders(tmp_path, ANSWERS, "live")(trajectory),
        lambda: next(frames),
        executor,
        human,
        rules=SafetyRules(confirm="never"),
        max_steps=len(trajectory.steps),
    ).run()
    assert (live.status, live.steps, human.questions) == ("finished", len(ANSWERS), [])
    assert len(executor.executed) == 5  # the live run acted; the replay's loop sent nothing (it would raise)

    steps = zip(trajectory.steps, live.events, strict=True)
    live_records = [step_result(trajectory, step, event, None).record() for step, event in steps]
    assert [without_timings(r.record()) for r in summary.steps] == [without_timings(r) for r in live_records]
    for ours, theirs in zip(replayed, live.events, strict=True):
        assert (ours.step, ours.raw, ours.parsed, ours.parse_errors) == (
            theirs.step,
            theirs.raw,
            theirs.parsed,
            theirs.parse_errors,
        )
        assert (ours.geometry, ours.screenshot.tobytes()) == (theirs.geometry, theirs.screenshot.tobytes())
        assert set(ours.timings) == set(theirs.timings) - {"execute_s"}  # the live run also timed its input
    assert sum(r.score for r in summary.steps) > 0


def test_nothing_a_replayed_answer_says_is_executed_asked_for_or_ends_the_replay(tmp_path):
    [trajectory] = load_source("bundled")
    answers = [
        "Action: call_user(content='help')",
        "Action: hotkey(key='ctrl alt delete')",  # a deny rule refuses it in a live run
        "Action: wait()",  # five seconds in a live run
        "Action: finished(content='done early')",
        "Action: type(content='rm -rf /\\n')",
        "Action: hotkey(key='alt f4')",  # asks for confirmation in a live run
        CLICK,
    ]
    events = []
    start = time.perf_counter()
    summary = replay([trajectory], deciders(tmp_path, answers), on_event=events.append)
    assert time.perf_counter() - start < 5.0
    assert len(summary.steps) == len(trajectory.steps) and "stopped" not in summary.config
    for event in events:
        assert event.status == "continue" and event.parsed is not None
        assert [(o.action, o.outcome, o.reason) for o in event.outcomes] == [
            (a, "skipped", "dry run") for a in event.parsed.actions
        ]


def test_a_replay_cut_short_raises_instead_of_reporting_a_partial_run(tmp_path):
    [trajectory] = load_source("bundled")
    with pytest.raises(ScriptExhausted, match="no answer for step 4"):
        replay([trajectory], deciders(tmp_path, [CLICK] * 3, "short"))

    def ctrl_c(result) -> None:
        raise KeyboardInterrupt  # what Ctrl-C raises in the main thread

    with pytest.raises(KeyboardInterrupt):
        replay([trajectory], deciders(tmp_path, [CLICK] * 7, "full"), on_step=ctrl_c)
