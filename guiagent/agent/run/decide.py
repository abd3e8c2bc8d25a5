"""Deciders: where a step's answer comes from. The model (through the rolling KV session) or a script.

A decider turns (screenshot, geometry) into a ``Decision``: the raw answer, its parsed actions (or the parse
errors) and what it cost. Everything after it (safety, execution, recording) is the same for both, so a
scripted run exercises the real path minus the model.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from guiagent.agent.actions import ParsedResponse, ParseError
from guiagent.agent.policy.base import Policy
from guiagent.agent.policy.bounds import excerpt
from guiagent.agent.policy.coords import ScreenGeometry
from guiagent.compression.chat import render
from guiagent.errors import ConfigError, SessionError


@dataclass
class Decision:
    """One step's answer: ``parsed`` is None when every attempt was unparsable (``errors`` say why)."""

    raw: str
    parsed: ParsedResponse | None
    errors: list[str] = field(default_factory=list)
    stats: Any = None  # CacheStats of the session after the step (None for scripted runs)
    timings: dict[str, float] = field(default_factory=dict)
    prompt_tokens: int = 0  # tokens prefilled for this step


def parse_answer(policy: Policy, raw: str, geometry: ScreenGeometry) -> ParsedResponse:
    """``policy.parse``, where every failure is the ParseError: nothing a model writes may end the run."""
    try:
        return policy.parse(raw, geometry)
    except ParseError:
        raise
    except Exception as error:  # a parser's bug on hostile text is still an unparsable answer, recorded as one
        raise ParseError(f"the parser failed ({type(error).__name__}: {error})", excerpt(raw)) from error


def append_turn(sessions: Sequence[Any], policy: Policy, image: Image.Image, rendered: str, previous_stop: str) -> None:
    """Put this step's turn into every session, in the policy's layout (the same text for all of them).

    ``rolling``: only the new fragment, after ``rendered`` (the conversation as the cache holds it, from
    ``rendered_history``); a previous answer is closed as the template would have closed it, given why its
    generation stopped (``previous_stop``: the session's ``last_stop_reason`` for it). ``rebuild``: the whole
    conversation, re-prefilled. ``policy.record`` the step's answer afterwards.
    """
    if policy.layout == "rolling":
        processor = sessions[0].loaded.processor
        text = render(processor, policy.rolling_messages(image), add_generation_prompt=True)
        if not text.startswith(rendered):
            raise SessionError(
                "The chat template is not append-only, so the rolling layout cannot reuse the cache.",
                "Use --layout rebuild for this model.",
            )
        fragment = text[len(rendered) :]
        if rendered:  # close the previous answer as the template would have
            fragment = ("\n" if previous_stop == "eos" else "<|im_end|>\n") + fragment
        instruction = None if rendered else policy.instruction  # the first turn holds the task instruction
        for session in sessions:
            session.append(fragment, [image], instruction=instruction)
    else:
        messages = policy.rebuild_messages(image)
        for session in sessions:
            session.prefill_messages(messages, instruction=policy.instruction)


def rendered_history(processor: Any, policy: Policy) -> str:
    """The rolling conversation up to the last recorded answer, as ``append_turn`` continues it ("" in rebuild)."""
    if policy.layout != "rolling":
        return ""
    return render(processor, policy.rolling_messages(), add_generation_prompt=False)


class ScriptExhausted(Exception):
    """A scripted run asked for more steps than the script has answers."""


class ModelDecider:
    """Asks the model through a ``KVSession``; retries unparsable answers (sampling) up to ``retries`` times."""

    def __init__(
        self,
        session: Any,
        policy: Policy,
        *,
        retries: int = 2,
        max_new_tokens: int | None = None,
        cancel: threading.Event | None = None,
    ) -> None:
        self.session = session
        self.policy = policy
        self.retries = retries
        self.max_new_tokens = max_new_tokens or policy.max_new_tokens
        self.cancel = cancel
        self._rendered = ""  # the rolling conversation as the cache holds it, up to the last answer

    def decide(self, image: Image.Image, geometry: ScreenGeometry) -> Decision:
        before = self.session.logical_tokens
        append_turn((self.session,), self.policy, image, self._rendered, self.session.last_stop_reason)
        timings = dict(self.session.last_timings)
        prompt_tokens = self.session.logical_tokens - (before if self.policy.layout == "rolling" else 0)
        raw, parsed, errors = self._answer(geometry)
        timings["decode_s"] = self.session.last_timings.get("decode_s", 0.0)
        self.policy.record(image, raw)
        self._rendered = rendered_history(self.session.loaded.processor, self.policy)
        return Decision(
            raw=raw,
            parsed=parsed,
            errors=errors,
            stats=self.session.stats,
            timings=timings,
            prompt_tokens=prompt_tokens,
        )

    def _answer(self, geometry: ScreenGeometry) -> tuple[str, ParsedResponse | None, list[str]]:
        """Generate until an answer parses: greedy first, then sampled retries on a rewound cache."""
        errors: list[str] = []
        decode_s, parsed = 0.0, None
        for attempt in range(self.retries + 1):
            if attempt:
                self.session.rewind_generation()
            raw = self.session.generate(
                self.max_new_tokens, do_sample=attempt > 0, temperature=1.0, seed=attempt, cancel=self.cancel
            )
            decode_s += self.session.last_timings.get("decode_s", 0.0)
            try:
                parsed = parse_answer(self.policy, raw, geometry)
                break
            except ParseError as error:
                errors.append(str(error))
            if self.cancel is not None and self.cancel.is_set():
                break
        self.session.last_timings["decode_s"] = decode_s
        return raw, parsed, errors


class ScriptedDecider:
    """Answers with the responses of a script, one per step (the ``scripted:FILE`` model spec)."""

    def __init__(self, responses: list[str], policy: Policy, source: str = "script") -> None:
        self.responses = responses
        self.policy = policy
        self.source = source
        self.step = 0

    @classmethod
    def from_file(cls, path: str | Path, policy: Policy) -> ScriptedDecider:
        """Responses separated by lines holding only ``---``."""
        path = Path(path)
        if not path.is_file():
            raise ConfigError(
                f"Script '{path}' does not exist.", "Pass scripted:FILE with responses separated by lines of ---."
            )
        blocks, current = [], []
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip() == "---":
                blocks.append("\n".join(current).strip("\n"))
                current = []
            else:
                current.append(line)
        blocks.append("\n".join(current).strip("\n"))
        responses = [block for block in blocks if block.strip()]
        if not responses:
            raise ConfigError(f"Script '{path}' has no responses.", "Write one response per step, separated by ---.")
        return cls(responses, policy, source=str(path))

    def decide(self, image: Image.Image, geometry: ScreenGeometry) -> Decision:
        if self.step >= len(self.responses):
            raise ScriptExhausted(f"the script {self.source} has no answer for step {self.step + 1}")
        raw = self.responses[self.step]
        self.step += 1
        start = time.perf_counter()
        try:
            parsed, errors = parse_answer(self.policy, raw, geometry), []
        except ParseError as error:
            parsed, errors = None, [str(error)]
        self.policy.record(image, raw)
        return Decision(raw=raw, parsed=parsed, errors=errors, timings={"decode_s": time.perf_counter() - start})
