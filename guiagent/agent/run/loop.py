"""AgentLoop: observe -> decide -> check -> act, one step at a time, until the task ends or a gate stops it.

The loop knows nothing about terminals or dashboards: it reports each step as a ``StepEvent`` to a callback
and asks a ``Human`` (console prompt, dashboard dialog, or a test's script) when a rule says a person must
decide. What ends a run, and how the result says so:

- ``finished``: the model said the task is done (its content is the result);
- ``call_user``: the model asked for help and the human chose to stop;
- ``step_limit``: ``max_steps`` steps ran;
- ``loop``: the same action repeated on an unchanged screen and the human chose to stop;
- ``stopped``: the emergency stop (hotkey, Ctrl-C, or the dashboard) — at once, between any two phases and
  inside decoding;
- ``failsafe``: pyautogui's fail-safe corner fired (the mouse was thrown into a corner);
- ``script_exhausted``: a scripted run ran out of answers.

A step in flight when the run stops is reported with its actions marked ``skipped``; nothing half-executed is
claimed as done (an action the stop cut short is ``failed``, with how far it got). A step that acted is reported
even when a second Ctrl-C interrupts it hard: execution and reporting hold that interrupt until they are done.

A dry run (``dry_run``: the replay of recorded screens) is the same loop minus input. A recorded screen cannot
react, so nothing is judged, asked for or sent: every action is reported ``skipped`` ("dry run") and only the
recording's length (``max_steps``) or the stop ends the run. What else would cut it short (Ctrl-C, a script out
of answers) is raised, so a partial replay is never reported as a complete one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from PIL import Image

from guiagent.agent.actions import Action, CallUser, Finished, ParsedResponse, UnsupportedAction, Wait, describe
from guiagent.agent.desktop.stop import ActionInterrupted, interrupts_held
from guiagent.agent.policy.coords import ScreenGeometry
from guiagent.agent.run.decide import Decision, ScriptExhausted
from guiagent.agent.run.safety import LoopDetector, SafetyRules, Verdict, screen_hash

Outcome = Literal["executed", "refused", "denied", "skipped", "failed"]


@dataclass(frozen=True)
class ActionOutcome:
    action: Action
    outcome: Outcome
    reason: str = ""
    verdict: Verdict | None = None  # what the safety rules said (recorded in the trajectory)


@dataclass(frozen=True)
class StepEvent:
    """Everything about one step, for the console, the dashboard and the recorder."""

    step: int
    screenshot: Image.Image
    geometry: ScreenGeometry
    raw: str
    parsed: ParsedResponse | None
    outcomes: tuple[ActionOutcome, ...]
    parse_errors: tuple[str, ...]
    stats: Any
    timings: dict[str, float]
    prompt_tokens: int
    status: str  # "continue" or why the run ends after this step


@dataclass(frozen=True)
class RunResult:
    status: str
    message: str
    steps: int
    events: tuple[StepEvent, ...] = field(repr=False, default=())


class Capture(Protocol):
    image: Image.Image
    geometry: ScreenGeometry


class Human(Protocol):
    """The person watching: asked before risky actions and when the run needs a decision."""

    def confirm(self, action: Action, reason: str) -> bool: ...

    def ask(self, question: str) -> bool: ...


class Executor(Protocol):
    def execute(self, action: Action) -> None: ...


class Decider(Protocol):
    def decide(self, image: Image.Image, geometry: ScreenGeometry) -> Decision: ...


class StepGate:
    """Pause, resume and single-step between steps (the dashboard's controls); open by default.

    ``wait`` blocks the loop's thread before a step while paused, and returns early when the run is stopped.
    """

    def __init__(self) -> None:
        self._open = threading.Event()
        self._open.set()
        self._single = False
        self._lock = threading.Lock()

    @property
    def paused(self) -> bool:
        return not self._open.is_set()

    def pause(self) -> None:
        self._open.clear()

    def resume(self) -> None:
        with self._lock:
            self._single = False
        self._open.set()

    def step_once(self) -> None:
        """Let exactly one more step run, then pause again."""
        with self._lock:
            self._single = True
        self._open.set()

    def wait(self, stop: threading.Event) -> None:
        while not self._open.wait(0.05):
            if stop.is_set():
                return
        with self._lock:
            if self._single:
                self._single = False
                self._open.clear()


def is_failsafe(error: BaseException) -> bool:
    """pyautogui's fail-safe, recognised without importing pyautogui (which needs a display)."""
    return type(error).__name__ == "FailSafeException"


class AgentLoop:
    """Runs a decider's answers on a desktop through the safety gates."""

    def __init__(
        self,
        decider: Decider,
        capture: Callable[[], Capture],
        executor: Executor,
        human: Human,
        *,
        rules: SafetyRules | None = None,
        max_steps: int = 15,
        loop_limit: int = 3,
        stop: threading.Event | None = None,
        on_event: Callable[[StepEvent], None] | None = None,
        gate: StepGate | None = None,
        first_step: int = 1,
        dry_run: bool = False,
    ) -> None:
        if max_steps < 1:
            raise ValueError(f"max_steps must be at least 1, got {max_steps}")
        self.decider = decider
        self.capture = capture
        self.executor = executor
        self.human = human
        self.rules = rules or SafetyRules()
        self.max_steps = max_steps
        self.loops = LoopDetector(loop_limit)
        self.stop = stop or threading.Event()
        self.on_event = on_event or (lambda event: None)
        self.gate = gate or StepGate()
        self.first_step = first_step  # the number of the first step (a replay numbers on across trajectories)
        self.dry_run = dry_run
        self.events: list[StepEvent] = []
        self.line = ""  # typed since the last submit, click or focus change: the safety rules judge it whole

    def run(self) -> RunResult:
        """Step until the task ends; a live run never raises for the ways a run normally ends (see the module doc)."""
        try:
            for step in range(self.first_step, self.first_step + self.max_steps):
                self.gate.wait(self.stop)
                if self.stop.is_set():
                    return self._result("stopped", "stopped before the step began")
                status, message = self.step(step)
                if status != "continue":
                    return self._result(status, message)
            return self._result("step_limit", f"reached the step limit ({self.max_steps} steps)")
        except ScriptExhausted as error:
            if self.dry_run:
                raise
            return self._result("script_exhausted", str(error))
        except KeyboardInterrupt:
            if self.dry_run:
                raise
            self.stop.set()
            return self._result("stopped", "interrupted (Ctrl-C)")

    def step(self, step: int) -> tuple[str, str]:
        """One observe-decide-act cycle; returns (status, message), status "continue" to go on."""
        start = time.perf_counter()
        capture = self.capture()
        capture_s = time.perf_counter() - start
        decision = self.decider.decide(capture.image, capture.geometry)
        status, message, outcomes, interrupted = "continue", "", [], False
        try:
            if self.dry_run:
                actions = decision.parsed.actions if decision.parsed is not None else ()
                outcomes += [ActionOutcome(a, "skipped", "dry run") for a in actions]
            else:
                status, message = self._respond(capture, decision, outcomes)
        except KeyboardInterrupt:  # a second Ctrl-C: still report what this step already did, then stop
            self.stop.set()
            status, message, interrupted = "stopped", "interrupted (Ctrl-C)", True
        if decision.parsed is not None:
            skipped = {id(o.action) for o in outcomes}
            outcomes += [
                ActionOutcome(a, "skipped", "the run stopped first")
                for a in decision.parsed.actions
                if id(a) not in skipped and not isinstance(a, (Finished, CallUser))
            ]
        decision.timings["capture_s"] = capture_s
        with interrupts_held():
            self._emit(step, capture, decision, tuple(outcomes), status)
        if interrupted:
            raise KeyboardInterrupt
        return status, message

    def _respond(self, capture: Capture, decision: Decision, outcomes: list[ActionOutcome]) -> tuple[str, str]:
        """A live step's answer to the decision: act through the gates, then ask the human if the agent loops."""
        if self.stop.is_set():
            return "stopped", "stopped while the model was answering"
        if decision.parsed is None:
            return "continue", "unparsable answer; nothing executed"
        start = time.perf_counter()
        status, message = self._act(decision.parsed.actions, outcomes)
        decision.timings["execute_s"] = time.perf_counter() - start
        if status == "continue" and self.loops.observe(screen_hash(capture.image), decision.parsed.actions):
            if not self.human.ask(
                f"The agent repeated '{describe(decision.parsed.actions[0])}' "
                f"{self.loops.limit} times on an unchanged screen. Continue?"
            ):
                return "loop", "stopped: the same action repeated on an unchanged screen"
            self.loops.reset()
        return status, message

    def _act(self, actions: tuple[Action, ...], outcomes: list[ActionOutcome]) -> tuple[str, str]:
        """Run ``actions`` through the gates, appending each one's outcome to ``outcomes`` as it is known."""
        for action in actions:
            if self.stop.is_set():
                return "stopped", "stopped between actions"
            if isinstance(action, Finished):
                return "finished", action.content or "the model reported the task done"
            if isinstance(action, CallUser):
                question = f"The agent asks for help{': ' + action.content if action.content else ''}. Continue?"
                if not self.human.ask(question):
                    return "call_user", action.content or "the model asked for help"
                outcomes.append(ActionOutcome(action, "executed", "the human answered"))
                continue
            if isinstance(action, Wait):
                self.stop.wait(action.seconds)
                outcomes.append(ActionOutcome(action, "executed"))
                continue
            verdict = self.rules.check(action, self.line)
            if verdict.decision == "refuse":
                outcomes.append(ActionOutcome(action, "refused", verdict.reason, verdict))
                return "continue", f"refused: {verdict.reason}; the rest of the answer was skipped"
            if verdict.decision == "ask" and not self.human.confirm(action, verdict.reason):
                outcomes.append(ActionOutcome(action, "denied", "the human said no", verdict))
                return "continue", "the human declined an action; the rest of the answer was skipped"
            with interrupts_held():  # the desktop is changing: its outcome is recorded before a hard Ctrl-C lands
                try:
                    self.executor.execute(action)
                except UnsupportedAction as error:  # e.g. a mobile action on a desktop
                    outcomes.append(ActionOutcome(action, "failed", str(error)))
                    continue
                except ActionInterrupted as error:  # the stop cut a long action short, between two pieces
                    outcomes.append(ActionOutcome(action, "failed", str(error)))
                    return "stopped", "stopped in the middle of an action"
                except Exception as error:
                    if not is_failsafe(error):
                        raise
                    self.stop.set()
                    outcomes.append(ActionOutcome(action, "failed", "fail-safe corner"))
                    return "failsafe", "pyautogui fail-safe: the pointer reached a screen corner"
                outcomes.append(ActionOutcome(action, "executed", verdict=verdict))
                self.line = self.rules.line_after(self.line, action)
        return "continue", ""

    def _emit(
        self, step: int, capture: Capture, decision: Decision, outcomes: tuple[ActionOutcome, ...], status: str
    ) -> None:
        event = StepEvent(
            step=step,
            screenshot=capture.image,
            geometry=capture.geometry,
            raw=decision.raw,
            parsed=decision.parsed,
            outcomes=outcomes,
            parse_errors=tuple(decision.errors),
            stats=decision.stats,
            timings=dict(decision.timings),
            prompt_tokens=decision.prompt_tokens,
            status=status,
        )
        self.events.append(event)
        self.on_event(event)

    def _result(self, status: str, message: str) -> RunResult:
        """The run's end; its steps are the ones reported (a step cut short before its report did not happen)."""
        return RunResult(status=status, message=message, steps=len(self.events), events=tuple(self.events))
