"""What the agent's thread tells the dashboard: small dataclass messages, posted with ``post_message``.

The loop never touches a widget. It posts these (``post_message`` is thread-safe) and the app routes them to
the panels. Messages that only matter as "the latest" (``StepStarted``) define ``can_replace`` so a burst of
them costs one UI update; a step's own record (``StepCompleted``) is never dropped. ``ConfirmRequest``, the
question the loop blocks on, lives here with the message that carries it (``control`` asks, the dashboard
answers).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from textual.message import Message

if TYPE_CHECKING:
    from PIL import Image

    from guiagent.agent.actions import Action
    from guiagent.agent.policy.coords import ScreenGeometry
    from guiagent.agent.run.loop import StepEvent


@dataclass
class StepStarted(Message):
    """The loop passed the step gate and begins ``step`` (settings queued before now apply to it)."""

    step: int
    budget: str
    method: str

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, StepStarted)


@dataclass
class ScreenCaptured(Message):
    """The loop captured the screen for ``step`` and is asking the model (live runs and replays)."""

    step: int
    image: Image.Image
    geometry: ScreenGeometry

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, ScreenCaptured)


@dataclass
class StepCompleted(Message):
    """One step is done: its screenshot, answer, outcomes, cache statistics and timings."""

    event: StepEvent


@dataclass
class StepScored(Message):
    """A replayed step was scored against the trajectory's ground truth."""

    step: int
    score: float


@dataclass
class SettingsApplied(Message):
    """Queued budget / method changes took effect at the start of ``step``."""

    step: int
    changes: dict[str, Any] = field(default_factory=dict)


@dataclass
class ConfirmRequest:
    """The question a ``ConfirmRequested`` carries; the UI answers it once (later answers are ignored)."""

    question: str
    action: Action | None = None
    reason: str = ""
    _answered: threading.Event = field(default_factory=threading.Event, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    answer: bool = False

    def reply(self, answer: bool) -> None:
        with self._lock:  # the dialog and a stop may answer at once: the first one wins
            if not self._answered.is_set():
                self.answer = answer
                self._answered.set()

    def wait(self, stop: threading.Event) -> bool:
        """Block until answered; a stopped run answers no."""
        while not self._answered.wait(0.05):
            if stop.is_set():
                self.reply(False)
        return self.answer


@dataclass
class ConfirmRequested(Message):
    """The loop waits for a person: approve or deny a held-back action, or answer a question."""

    step: int
    request: ConfirmRequest
