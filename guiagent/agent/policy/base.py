"""What every model family's policy does: keep the conversation, lay it out, parse the answer.

Two layouts of the same conversation:

- ``rolling``: the instruction once, then per step the new screenshot and the model's own answer, append-only.
  Each step's messages extend the previous step's, so the KV session only prefills the new turn.
- ``rebuild``: the published harnesses' layout, rebuilt every step: the last ``history_images - 1`` screenshots,
  the last ``history_responses`` answers, then the current screenshot with the prompt at the end. Used for
  parity replays with ``KVSession.prefill_messages``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar, Literal

from PIL import Image

from guiagent.agent.actions import ParsedResponse
from guiagent.agent.policy.coords import ImageGrid, ScreenGeometry
from guiagent.errors import ConfigError

Layout = Literal["rolling", "rebuild"]
Message = dict[str, Any]


class Policy(ABC):
    """One model family's prompt, history layout, output grammar and coordinate convention."""

    family: ClassVar[str]
    max_new_tokens: ClassVar[int] = 1000

    def __init__(
        self,
        instruction: str,
        grid: ImageGrid,
        *,
        layout: Layout = "rolling",
        history_images: int = 5,
        history_responses: int = 10,
    ) -> None:
        if layout not in ("rolling", "rebuild"):
            raise ConfigError(
                f"The layout must be 'rolling' or 'rebuild', not {layout!r}.", "Pass --layout rolling or rebuild."
            )
        if not instruction.strip():
            raise ConfigError("The task instruction is empty.", "Say what the agent should do.")
        self.instruction = instruction.strip()
        self.grid = grid
        self.layout = layout
        self.history_images = history_images
        self.history_responses = history_responses
        self.screenshots: list[Image.Image] = []
        self.responses: list[str] = []

    # -- what a family defines -----------------------------------------------------------------------------
    @abstractmethod
    def head(self) -> list[Message]:
        """The rolling layout's opening messages (system prompt, instruction)."""

    @abstractmethod
    def parse(self, text: str, geometry: ScreenGeometry) -> ParsedResponse:
        """Turn a raw answer into actions in logical screen coordinates, or raise ParseError."""

    def history_answer(self, step: int, response: str) -> str:
        """How an earlier answer is shown in the rebuild layout (step is 1-based)."""
        return response

    def final_turn(self, image: Image.Image) -> Message:
        """The rebuild layout's last message: the current screenshot with the prompt."""
        return {"role": "user", "content": [{"type": "image", "image": image}, {"type": "text", "text": self.prompt()}]}

    def prompt(self) -> str:
        """The filled task prompt."""
        return self.instruction

    # -- the conversation ----------------------------------------------------------------------------------
    def messages(self, image: Image.Image) -> list[Message]:
        """The whole conversation for this step (the current screenshot last), in the policy's layout."""
        return self.rolling_messages(image) if self.layout == "rolling" else self.rebuild_messages(image)

    def rolling_messages(self, image: Image.Image | None = None) -> list[Message]:
        messages = list(self.head())
        for shot, answer in zip(self.screenshots, self.responses, strict=False):
            messages.append(screenshot_message(shot))
            messages.append({"role": "assistant", "content": answer})
        if image is not None:
            messages.append(screenshot_message(image))
        return messages

    def rebuild_messages(self, image: Image.Image) -> list[Message]:
        step = len(self.responses)
        messages: list[Message] = []
        for j, (shot, answer) in enumerate(zip(self.screenshots, self.responses, strict=False)):
            if j >= step - (self.history_images - 1):
                messages.append(screenshot_message(shot))
            if j >= step - self.history_responses:
                messages.append({"role": "assistant", "content": self.history_answer(j + 1, answer)})
        messages.append(self.final_turn(image))
        return messages

    def record(self, image: Image.Image, response: str) -> None:
        """Remember one finished step (the screenshot the model saw and its raw answer)."""
        self.screenshots.append(image)
        self.responses.append(response)


def screenshot_message(image: Image.Image) -> Message:
    return {"role": "user", "content": [{"type": "image", "image": image}]}
