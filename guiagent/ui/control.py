"""The dashboard's handle on a running agent: settings queued by the UI, applied by the loop between steps.

Two threads share a ``RunControl``. The UI thread (key presses) queues a budget or method and pauses, steps
or stops the run; the loop's thread applies what is queued when it passes the step gate, so a change never
lands in the middle of a prefill and always takes effect at the start of the next step, where it is also
written to the trajectory (``Recorder.note``) and kept, with its step, for the reports (``RunControl.report``).
Nothing here imports Textual widgets or torch: messages go out through ``post`` (the app's thread-safe
``post_message``).

>>> control = RunControl(budget="20", method="starkv")
>>> str(control.bump_budget(+1)), control.pending
('25%', {'budget': '25%'})
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from guiagent.agent.actions import Action, describe
from guiagent.agent.run.loop import StepEvent, StepGate
from guiagent.compression.budget import Budget
from guiagent.errors import ConfigError
from guiagent.ui.messages import (
    ConfirmRequest,
    ConfirmRequested,
    ScreenCaptured,
    SettingsApplied,
    StepCompleted,
    StepScored,
    StepStarted,
)

if TYPE_CHECKING:
    from guiagent.compression.context import RollingContext

PERCENT_STEP = 5.0  # points of percent per +/- press
CAP_STEP = 0.10  # share of a token or memory cap per +/- press


def step_budget(budget: Budget, direction: int) -> Budget:
    """One +/- press: 5 points of percent (kept within 1-100), or 10% of a token / memory cap.

    >>> str(step_budget(Budget.parse("20"), +1)), str(step_budget(Budget.parse("5"), -1))
    ('25%', '1%')
    >>> str(step_budget(Budget.parse("4096t"), +1)), str(step_budget(Budget.parse("512MiB"), -1))
    ('4506t', '461MiB')
    """
    sign = 1 if direction > 0 else -1
    if budget.kind == "percent":
        return Budget("percent", min(100.0, max(1.0, budget.value + sign * PERCENT_STEP)))
    delta = budget.value * CAP_STEP
    if budget.kind == "tokens":
        return Budget("tokens", float(max(1, round(budget.value + sign * max(1.0, delta)))))
    value = budget.value + sign * delta
    unit = next((size for size in (2**30, 2**20, 2**10) if value >= 10 * size), 1)  # 2+ digits in the unit
    rounded = max(1, round(value / unit)) * unit
    return Budget("bytes", float(rounded if rounded != budget.value else max(1, budget.value + sign * unit)))


class DashboardHuman:
    """The loop's ``Human``: asks through a modal dialog and blocks the loop's thread (never the UI's)."""

    def __init__(self, control: RunControl) -> None:
        self.control = control
        self.pending: ConfirmRequest | None = None

    def confirm(self, action: Action, reason: str) -> bool:
        return self._ask(ConfirmRequest(f"Run '{describe(action)}'?", action, reason))

    def ask(self, question: str) -> bool:
        return self._ask(ConfirmRequest(question))

    def _ask(self, request: ConfirmRequest) -> bool:
        if self.control.stop.is_set():
            return False
        self.pending = request
        self.control.post(ConfirmRequested(self.control.step, request))
        try:
            return request.wait(self.control.stop)
        finally:
            self.pending = None


class ControlGate(StepGate):
    """The loop's ``StepGate``; once it opens for a step, the queued settings are applied (loop thread)."""

    def __init__(self, control: RunControl) -> None:
        super().__init__()
        self.control = control

    def wait(self, stop: threading.Event) -> None:
        super().wait(stop)
        if not stop.is_set():
            self.control.begin_step()


class RunControl:
    """Budget, method, pause and stop for one run, shared by the dashboard and the agent's thread.

    Parameters
    ----------
    session
        The run's ``KVSession`` (None for scripted answers, or until ``attach``; a replay attaches it per
        trajectory).
    budget, method
        What to show before a session is attached.
    methods
        The method names the method dialog offers (``guiagent.compression.presses.method_names()`` for a model run).
    recorder
        The run's ``Recorder``: steps and setting changes are written to it (None: nothing is recorded).
    total_steps
        Steps the run will take at most (the progress display).
    context
        The run's rolling context: a method chosen in the dashboard is built with its observers and the user's
        method settings (``--config``/``--set``), as the run's own was.
    """

    def __init__(
        self,
        session: Any = None,
        *,
        budget: str = "20",
        method: str = "starkv",
        methods: tuple[str, ...] = (),
        stop: threading.Event | None = None,
        recorder: Any = None,
        total_steps: int | None = None,
        context: RollingContext | None = None,
    ) -> None:
        self.stop = stop or threading.Event()
        self.gate = ControlGate(self)
        self.human = DashboardHuman(self)
        self.recorder = recorder
        self.methods = methods
        self.total_steps = total_steps
        self.step = 0  # the step in flight, or the last one
        self.stop_reason = ""
        self.post: Any = lambda message: None  # the app's post_message once it runs
        self._lock = threading.Lock()
        self._pending: dict[str, str] = {}
        self._budget = Budget.parse(budget)
        self._method = method
        self.context = context  # None: the defaults (built when a method is first changed: torch is loaded then)
        self.changes: list[dict[str, Any]] = []  # what the dashboard changed, each with the step it applied from
        self.session = None
        self.attach(session)
        self.started = {"method": self._method, "budget": str(self._budget)}

    # --- read from any thread -------------------------------------------------------------------------

    @property
    def has_cache(self) -> bool:
        return self.session is not None

    @property
    def budget(self) -> Budget:
        """The budget the next step will use (a queued change, else the current one)."""
        with self._lock:
            return Budget.parse(self._pending.get("budget", self._budget))

    @property
    def method(self) -> str:
        with self._lock:
            return self._pending.get("method", self._method)

    @property
    def pending(self) -> dict[str, str]:
        with self._lock:
            return dict(self._pending)

    def report(self) -> dict[str, Any]:
        """What a summary records of the settings: the method and budget the run started with, and every change."""
        return {"started": dict(self.started), "changes": [dict(change) for change in self.changes]}

    # --- UI thread ----------------------------------------------------------------------------------------

    def bump_budget(self, direction: int) -> Budget:
        """Queue the budget one step up (``direction`` > 0) or down; returns the new value."""
        return self.set_budget(step_budget(self.budget, direction))

    def set_budget(self, value: Budget | str) -> Budget:
        """Queue a budget for the next step; raises ``ConfigError`` (with a hint) for text it cannot read."""
        budget = Budget.parse(value)
        with self._lock:
            if str(budget) == str(self._budget):
                self._pending.pop("budget", None)
            else:
                self._pending["budget"] = str(budget)
        return budget

    def set_method(self, name: str) -> str:
        if name not in self.methods:
            raise ConfigError(f"Unknown compression method '{name}'.", f"Choose one of {', '.join(self.methods)}.")
        with self._lock:
            if name == self._method:
                self._pending.pop("method", None)
            else:
                self._pending["method"] = name
        return name

    def pause(self) -> None:
        self.gate.pause()

    def resume(self) -> None:
        self.gate.resume()

    def step_once(self) -> None:
        self.gate.step_once()

    def stop_run(self, reason: str = "dashboard") -> None:
        """End the run: the step in flight finishes (its actions skipped), a waiting question answers no."""
        if not self.stop.is_set():
            self.stop_reason = reason
        self.stop.set()
        self.gate.resume()
        if self.human.pending is not None:
            self.human.pending.reply(False)

    # --- the loop's thread --------------------------------------------------------------------------------

    def attach(self, session: Any) -> None:
        """Use ``session`` from now on (its own budget and method become the current ones)."""
        with self._lock:
            self.session = session
            if session is not None:
                self._budget = session.budget
                self._method = session.press.name if session.press is not None else "full"

    def begin_step(self) -> None:
        """Apply what is queued, write it to the trajectory, and announce the step."""
        self.step += 1
        with self._lock:
            changes, self._pending = self._pending, {}
        if changes and self.session is not None:
            self._apply(changes)
            method = changes.get("method")
            extra = {"method_settings": self._context().resolved(method)} if method else {}
            self.changes.append({"step": self.step, **changes, **extra})
            if self.recorder is not None:
                self.recorder.note(step=self.step, settings=changes, by="dashboard", **extra)
            self.post(SettingsApplied(self.step, changes))
        self.post(StepStarted(self.step, str(self._budget), self._method))

    def _apply(self, changes: dict[str, str]) -> None:
        if "method" in changes:
            self.session.set_method(self._context().press(changes["method"]))
            self._method = changes["method"]
        if "budget" in changes:
            self.session.set_budget(changes["budget"])
            self._budget = self.session.budget

    def _context(self) -> RollingContext:
        from guiagent.compression.context import RollingContext

        return self.context or RollingContext()

    def on_capture(self, frame: Any) -> Any:
        """Wraps the loop's capture: show the screen the model is about to see; returns ``frame``."""
        self.post(ScreenCaptured(self.step, frame.image, frame.geometry))
        return frame

    def on_event(self, event: StepEvent) -> None:
        """The loop's ``on_event``: record the step, then show it."""
        self.step = event.step
        if self.recorder is not None:
            self.recorder.record_event(event)
        self.post(StepCompleted(event))

    def on_scored(self, result: Any) -> None:
        """The replay's ``on_step``: a replayed step's score."""
        self.post(StepScored(self.step, result.score))
