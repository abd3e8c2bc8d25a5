"""Test doubles for the people and devices around the loop: a human who answers from a list, an executor that
records, and a capture that returns given screenshots."""

from __future__ import annotations

from dataclasses import dataclass, field

from PIL import Image

from guiagent.agent.policy.coords import ScreenGeometry


@dataclass
class ScriptedHuman:
    confirms: list[bool] = field(default_factory=list)
    asks: list[bool] = field(default_factory=list)
    questions: list[str] = field(default_factory=list)

    def confirm(self, action, reason: str) -> bool:
        self.questions.append(f"confirm: {reason}")
        return self.confirms.pop(0) if self.confirms else False

    def ask(self, question: str) -> bool:
        self.questions.append(question)
        return self.asks.pop(0) if self.asks else False


@dataclass
class RecordingExecutor:
    executed: list = field(default_factory=list)
    side_effect: object = None  # called after each action (e.g. to press the emergency stop)

    def execute(self, action) -> None:
        self.executed.append(action)
        if self.side_effect is not None:
            self.side_effect(action)


@dataclass(frozen=True)
class StillCapture:
    image: Image.Image
    geometry: ScreenGeometry


def still_screen(width: int = 1366, height: int = 768, colour: str = "white") -> StillCapture:
    return StillCapture(
        Image.new("RGB", (width, height), colour), ScreenGeometry((0, 0), (width, height), (width, height))
    )
