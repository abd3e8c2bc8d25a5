"""What the agent's thread tells the dashboard: small dataclass messages, posted with ``post_message``.

The loop never touches a widget. It posts these (``post_message`` is thread-safe) and the app routes them to
the panels. Messages that only matter as "the latest" (``StepStarted``) define ``can_replace`` so a burst of
them costs one UI update; a step's own record (``StepCompleted``) is never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from textual.message import Message

if TYPE_CHECKING:
    from PIL import Image

    from guiagent.agent.policy.coords import ScreenGeometry
    from guiagent.agent.run.loop import StepEvent
    from guiagent.ui.control import ConfirmRequest


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
    """The loop captured the screen for ``step`` and is asking the model (live runs)."""

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
class ConfirmRequested(Message):
    """The loop waits for a person: approve or deny a held-back action, or answer a question."""

    step: int
    request: ConfirmRequest
