"""Doubles for dashboard tests: fixed metrics, a KV session stand-in, and deciders the test can steer."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from PIL import Image

from guiagent.agent.policy.coords import ImageGrid, ScreenGeometry
from guiagent.agent.policy.uitars import UITarsPolicy
from guiagent.agent.run.decide import Decision, ScriptedDecider
from guiagent.compression.budget import Budget
from guiagent.compression.stats import CacheStats, ImageStats
from guiagent.ui.metrics import MemorySample

CLICK = "Thought: open the settings.\nAction: click(start_box='<|box_start|>(400,300)<|box_end|>')"
SUBMIT = "Thought: search for it.\nAction: type(content='george orwell\\n')"  # typing + Enter: held back


class FixedMetrics:
    """Memory and timings that never change, so a snapshot is the same on every machine and every run."""

    def memory(self) -> MemorySample:
        return MemorySample("CPU RSS", 900 * 2**20, None, 1024 * 2**20)

    def timings(self, event) -> dict[str, float]:
        return {"prefill_s": 0.4 + 0.05 * event.step, "compress_s": 0.01 * (event.step % 3), "decode_s": 0.8}


@dataclass
class FakeSession:
    """What the dashboard reads and writes on a ``KVSession``: budget, press, stats."""

    budget: Budget = field(default_factory=lambda: Budget.parse("20"))
    press: object = None
    steps: int = 0

    def set_budget(self, value) -> None:
        self.budget = Budget.parse(value)

    def set_method(self, method) -> None:
        from guiagent.compression.presses import get_press  # as the real session does (torch: only when used)

        self.press = get_press(method) if isinstance(method, str) else method

    @property
    def stats(self) -> CacheStats:
        logical = 1000 * max(1, self.steps)
        kept = self.budget.tokens_per_layer(logical, 1)
        images = tuple(
            ImageStats(i, i, i * 1000, i * 1000 + 800, (kept / logical * 800 * (i + 1) / self.steps,) * 4)
            for i in range(self.steps)
        )
        return CacheStats(logical, logical, (kept,) * 4, kept * 4096, logical * 4096, images, str(self.budget), "x")


def policy() -> UITarsPolicy:
    return UITarsPolicy("find George Orwell's author page", ImageGrid())


class SessionDecider:
    """Scripted answers plus a fake session; remembers the budget and method each step ran with."""

    def __init__(self, answers: list[str], session: FakeSession | None = None) -> None:
        self.script = ScriptedDecider(answers, policy())
        self.session = session or FakeSession()
        self.seen: list[tuple[str, str]] = []

    def decide(self, image: Image.Image, geometry: ScreenGeometry) -> Decision:
        press = getattr(self.session.press, "name", "full")
        self.seen.append((str(self.session.budget), press))
        self.session.steps += 1
        decision = self.script.decide(image, geometry)
        decision.stats = self.session.stats
        return decision


class BlockingDecider(SessionDecider):
    """Each ``decide`` waits until the test calls ``release()`` (so a test knows where the loop is)."""

    def __init__(self, answers: list[str]) -> None:
        super().__init__(answers)
        self.calls = 0
        self._go = threading.Semaphore(0)

    def release(self) -> None:
        self._go.release()

    def decide(self, image: Image.Image, geometry: ScreenGeometry) -> Decision:
        self.calls += 1
        deadline = time.monotonic() + 20
        while not self._go.acquire(timeout=0.05):
            if time.monotonic() > deadline:
                raise TimeoutError("the test never released this step")
        return super().decide(image, geometry)


@dataclass(frozen=True)
class Frame:
    image: Image.Image
    geometry: ScreenGeometry


def frames(images: list[Image.Image]):
    """A capture callable that returns the images in turn (the last one repeats)."""
    shots = [Frame(image, ScreenGeometry((0, 0), image.size, image.size)) for image in images]
    count = iter(range(10**6))
    return lambda: shots[min(next(count), len(shots) - 1)]


async def wait_until(pilot, condition, timeout: float = 10.0, what: str = "condition") -> None:
    """Let the app run until ``condition()`` holds (the loop runs in its own thread)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await pilot.pause(0.02)
