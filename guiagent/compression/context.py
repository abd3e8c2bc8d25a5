"""What a rolling cache's context is: the screenshots within the history limit, and the task instruction's tokens.

Two choices the published harnesses make implicitly by rebuilding their prompt every step, made explicit here
for the rolling layout:

- **History limit.** The harnesses show the last 5 screenshots. A rolling session with ``history_images=N``
  drops every screenshot older than the last N before a new one is prefilled, and its percent budgets are a
  percentage of the context without them (``context_tokens``), so memory stays flat over a long run and "20%"
  means what it means in the papers. Without a limit every screenshot stays, and the base grows with the run.
- **Instruction queries.** The harnesses' scoring window (the last 8 queries) falls on their closing prompt
  line, which follows the instruction. A rolling turn's last 8 tokens are the chat template's tail and the
  last image tokens instead. The session can keep the task instruction's post-RoPE queries per layer, so a
  press may score with them too (``ScorerPress(observers="instruction"|"both")``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from guiagent.compression.presses.base import OBSERVERS, ImageSpan, Press
from guiagent.compression.settings import MethodSettings
from guiagent.errors import ConfigError

# guiagent's default: the papers' 5 screenshots. The same context as the published protocol, so "20%" is the
# papers' 20%; flat memory and step time over a long run; every answer stays, so the agent still knows what it did.
DEFAULT_HISTORY_IMAGES = 5


@dataclass(frozen=True)
class RollingContext:
    """The rolling layout's two context settings, as one value a run, a replay and every eval cell carry.

    ``history_images``: screenshots kept (None: all). ``observers``: which queries score the cache (``tail``,
    ``instruction``, ``both``; presses that score with a window of queries). ``settings``: the user's method
    settings (``--config``/``--set``), applied to every press built here.
    """

    history_images: int | None = DEFAULT_HISTORY_IMAGES
    observers: str = "tail"
    settings: MethodSettings = field(default_factory=MethodSettings)

    def __post_init__(self) -> None:
        if self.history_images is not None and self.history_images < 1:
            raise ConfigError(
                f"The history limit must be at least 1 screenshot, not {self.history_images}.",
                "Pass --history-images N (N >= 1) or all.",
            )
        if self.observers not in OBSERVERS:
            raise ConfigError(
                f"'{self.observers}' is not an observer choice.", f"Pass --observers {' or '.join(OBSERVERS)}."
            )

    @classmethod
    def parse(
        cls, history_images: str | int | None, observers: str = "tail", settings: MethodSettings | None = None
    ) -> RollingContext:
        """From the CLI's strings: ``--history-images 5`` or ``all``."""
        return cls(parse_history(history_images), observers, settings or MethodSettings())

    def as_fields(self) -> dict[str, Any]:
        """The context's settings by name, as ``RunOptions`` takes them."""
        return {"history_images": self.history_images, "observers": self.observers, "settings": self.settings}

    @property
    def label(self) -> str:
        """A short name for what differs from the defaults ("" when nothing does), for eval cell names."""
        parts = []
        if self.history_images != DEFAULT_HISTORY_IMAGES:
            parts.append(f"h{self.history_images or 'all'}")
        if self.observers != "tail":
            parts.append(f"obs-{self.observers}")
        return "-".join(parts)

    def press(self, method: str | None) -> Press | None:
        """``method``'s press observing with ``observers`` (a press without that setting as it is), with the
        user's settings on top."""
        from guiagent.compression.presses import get_press, method_defaults, normalize_method

        if method is None or normalize_method(method) == "full":
            return None
        name = normalize_method(method)
        extra = {"observers": self.observers} if "observers" in method_defaults(name) else {}
        return get_press(name, **{**extra, **self.settings.of(name)})

    def resolved(self, method: str | None) -> dict[str, Any]:
        """Every setting ``method``'s press runs with here (defaults, observers, the user's settings; empty for
        ``full``): what a report records and what a finished eval unit must have been computed with."""
        from guiagent.compression.presses import method_defaults

        press = self.press(method)
        return {} if press is None else {name: getattr(press, name) for name in method_defaults(press.name)}

    def report(self, method: str | None) -> dict[str, Any]:
        """What a report records of the method settings: the resolved ones and every override asked for."""
        return {"resolved": self.resolved(method), "overrides": self.settings.as_dict()}

    def apply(self, session: Any, method: str | None, budget: Any) -> None:
        """Configure ``session`` for ``method`` at ``budget`` in this context."""
        session.set_method(self.press(method))
        session.set_budget(budget)
        session.set_history_images(self.history_images)


def parse_history(value: str | int | None) -> int | None:
    if value is None or (isinstance(value, str) and value.strip().lower() in ("all", "none")):
        return None
    try:
        return int(value)
    except ValueError:
        raise ConfigError(
            f"'{value}' is not a number of screenshots.", "Pass --history-images N (e.g. 5) or all."
        ) from None


def expired_screenshots(spans: Sequence[ImageSpan], expired: int, incoming: int, limit: int | None) -> int:
    """How many screenshots are beyond the history limit once ``incoming`` more arrive (``expired`` already are)."""
    if limit is None or incoming == 0:
        return expired
    return max(expired, len(spans) + incoming - limit)


def without_screenshots(slots: torch.Tensor, spans: Sequence[ImageSpan]) -> torch.Tensor | None:
    """Per head, the physical entries to keep once ``spans`` are dropped: [heads, K], or None if none is held.

    A cache compressed per head holds a different number of an old screenshot's tokens in each head, and a layer
    must keep the same count in every head: a head that held fewer of them keeps its newest ones to make up
    the difference (they compete on score at the next compression like any other entry).
    """
    old = torch.zeros_like(slots, dtype=torch.bool)
    for span in spans:
        old |= (slots >= span.start) & (slots < span.end)
    if not bool(old.any()):
        return None
    count = int((~old).sum(dim=1).max())
    priority = slots + (~old).long() * (int(slots.max()) + 1)  # every live entry first, then the newest old ones
    return priority.topk(count, dim=1).indices.sort(dim=1).values


def find_tokens(ids: torch.Tensor, variants: Sequence[Sequence[int]]) -> tuple[int, int] | None:
    """The last ``[start, end)`` where one of the token sequences ``variants`` occurs in ``ids``, or None."""
    sequence = ids.tolist()
    for pattern in variants:
        n = len(pattern)
        if n == 0:
            continue
        for start in range(len(sequence) - n, -1, -1):
            if sequence[start : start + n] == list(pattern):
                return start, start + n
    return None


def instruction_variants(tokenizer, instruction: str) -> list[list[int]]:
    """Token sequences the instruction may have become inside a prompt (BPE merges differ at its edges)."""
    plain = tokenizer(instruction, add_special_tokens=False)["input_ids"]
    spaced = tokenizer(" " + instruction, add_special_tokens=False)["input_ids"]
    return [plain, spaced, plain[1:], plain[:-1], plain[1:-1]]
