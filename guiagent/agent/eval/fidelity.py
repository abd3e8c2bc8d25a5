"""Label-free fidelity of a compressed cache: how closely a method follows the full cache, step by step.

Two numbers per cell, measured against the full cache on the same trajectory, needing no ground truth (any
recorded trajectory, any checkpoint):

- ``agreement``: the share of steps whose parsed action is the full cache's parsed action at that step;
- ``kl``: the mean over steps of the mean over the reference answer's tokens of KL(P_full || P_method), the
  divergence of the next-token distributions (the whole vocabulary, float32 ``log_softmax`` of the logits).

Why teacher forcing: a closed-loop replay lets each cache write its own history, so after the first differing
answer the two runs see different conversations and any comparison mixes compression error with divergent
histories. Here both caches always hold the same conversation: the full cache's answers are the history of
both (recorded screenshots, reference answers), so each step measures only what the compression lost. Per
step, both sessions prefill the step's turn; the full session decodes greedily (the reference answer, its
parsed action the reference action); the compressed session decodes its own greedy answer, which is parsed
(its action) and then taken back out (``rewind_generation``: nothing else changes, the press keeps its
cross-step state, which ``snapshot``/``restore`` would reset); then the reference tokens are fed into the
compressed session one by one, and the distributions before each reference token are compared. 0.0 KL and
agreement 1.0 are the full cache against itself.

Actions are equal when their canonical descriptions are (``action_key``): the same action type at the same
logical screen point (the coordinates the model wrote and any clamping do not matter), the same keys, text,
direction and amount; the thought is not compared. An unparsable answer agrees only with an unparsable
reference. Answers are greedy with no retries.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from guiagent.agent.actions import Action, MobileAction, ParseError, describe
from guiagent.agent.policy.base import Policy
from guiagent.agent.run.decide import ModelDecider, append_turn, parse_answer, rendered_history
from guiagent.agent.trajectory.format import Trajectory, load_screenshot
from guiagent.compression.context import RollingContext
from guiagent.errors import ConfigError


@dataclass
class FidelityStep:
    """One step of the pass: ``reference``/``predicted`` are canonical action keys (None: unparsable)."""

    trajectory: str
    step: int
    agreement: bool
    kl: float | None  # mean over the reference answer's tokens; None when it has none
    tokens: int
    reference: list[str] | None
    predicted: list[str] | None
    reference_raw: str
    raw: str


def action_key(action: Action) -> str:
    """The canonical description of an action (``describe``; a mobile action with its point and text too)."""
    if isinstance(action, MobileAction):
        point = action.target.screen if action.target is not None else None
        return f"mobile {action.name} at {point} {action.text!r}"
    return describe(action)


def canonical(policy: Policy, raw: str, geometry: Any) -> list[str] | None:
    """The answer's actions as ``action_key``s, or None when it does not parse."""
    try:
        return [action_key(a) for a in parse_answer(policy, raw, geometry).actions]
    except ParseError:
        return None


def kl_divergence(reference: torch.Tensor, other: torch.Tensor) -> torch.Tensor:
    """KL(P_ref || P_other) per row of two [n, vocab] logit tensors, in float32 (clamped at 0 against rounding)."""
    log_p = torch.log_softmax(reference.float(), dim=-1)
    log_q = torch.log_softmax(other.float(), dim=-1)
    p = log_p.exp()
    terms = torch.where(p > 0, p * (log_p - log_q), torch.zeros_like(p))
    return terms.sum(dim=-1).clamp_min(0.0)


class FidelityPass:
    """Two sessions over one loaded model, side by side: the full cache and a method's (``set_cell``)."""

    def __init__(self, loaded: Any, max_new_tokens: int) -> None:
        from guiagent.compression.session import KVSession

        self.loaded = loaded
        self.max_new_tokens = max_new_tokens
        self.full = KVSession(loaded)
        self.method = KVSession(loaded)

    def set_cell(self, method: str, budget: str, context: RollingContext | None = None) -> None:
        context = context or RollingContext()
        context.apply(self.method, method, budget)
        context.apply(self.full, None, 100)  # the same history limit: only the compression differs

    def close(self) -> None:
        self.method.close()
        self.full.close()

    def run(
        self, trajectory: Trajectory, policy: Policy, on_step: Callable[[FidelityStep], None] | None = None
    ) -> list[FidelityStep]:
        """Every recorded step of ``trajectory``, with ``policy`` fresh for it (it records the reference answers)."""
        self.full.reset()
        self.method.reset()
        processor = self.loaded.processor
        rendered, previous_stop, results = "", "", []
        for step in trajectory.steps:
            image, geometry = load_screenshot(step), trajectory.geometry(step)
            append_turn((self.full, self.method), policy, image, rendered, previous_stop)
            result, previous_stop = self.step(trajectory.name, step.step, policy, geometry)
            policy.record(image, result.reference_raw)
            rendered = rendered_history(processor, policy)
            results.append(result)
            if on_step is not None:
                on_step(result)
        return results

    @torch.inference_mode()
    def step(self, name: str, number: int, policy: Policy, geometry: Any) -> tuple[FidelityStep, str]:
        """One step after its turn was appended to both sessions: (its record, the reference's stop reason)."""
        tokens, full_logits, stop = self._reference()
        tokenizer = self.loaded.processor.tokenizer
        reference_raw = tokenizer.decode(tokens, skip_special_tokens=True)
        raw = self.method.generate(self.max_new_tokens)  # greedy, as the replay's first attempt
        self.method.rewind_generation()
        method_logits = []
        for token in tokens:  # teacher forcing: the reference answer enters the compressed cache too
            method_logits.append(self.method.logits)
            self.method.feed([token])
        kl = None
        if tokens:
            kl = float(kl_divergence(torch.stack(full_logits), torch.stack(method_logits)).mean())
        reference, predicted = canonical(policy, reference_raw, geometry), canonical(policy, raw, geometry)
        record = FidelityStep(
            trajectory=name,
            step=number,
            agreement=reference == predicted,
            kl=kl,
            tokens=len(tokens),
            reference=reference,
            predicted=predicted,
            reference_raw=reference_raw,
            raw=raw,
        )
        return record, stop

    def _reference(self) -> tuple[list[int], list[torch.Tensor], str]:
        """Greedy decoding in the full session, keeping the logits before each token: the same argmax-and-feed
        as ``KVSession.generate(do_sample=False)`` with no stop strings, so the answer is the replay's."""
        tokens: list[int] = []
        logits_before: list[torch.Tensor] = []
        logits = self.full.logits
        for _ in range(self.max_new_tokens):
            token = int(logits.argmax())
            tokens.append(token)
            logits_before.append(logits)
            logits = self.full.feed([token])
            if token in self.loaded.tokens.eos:
                return tokens, logits_before, "eos"
        return tokens, logits_before, "length"


class FidelityRunner:
    """The pass on the replay's own model, policy and layout, taken from the replay's ``make_decider``.

    The sessions are made at the first call and reused; each trajectory gets the fresh policy the replay's
    decider gets.
    """

    def __init__(self, make_decider: Callable[[Trajectory], Any]) -> None:
        self.make_decider = make_decider
        self._pass: FidelityPass | None = None

    def __call__(
        self, trajectory: Trajectory, cell: Any, on_step: Callable[[FidelityStep], None] | None = None
    ) -> list[FidelityStep]:
        """The fidelity of ``cell`` (an eval ``Cell``: method, budget, context) on ``trajectory``."""
        decider = self.make_decider(trajectory)
        if not isinstance(decider, ModelDecider):  # a script, or a published harness's own turns and parser
            raise ConfigError(
                f"The fidelity pass needs guiagent's own turns on a KV session, not a {type(decider).__name__}.",
                "Pass --no-fidelity.",
            )
        if self._pass is None:
            self._pass = FidelityPass(decider.session.loaded, decider.max_new_tokens)
        self._pass.max_new_tokens = decider.max_new_tokens
        self._pass.set_cell(cell.method, cell.budget, cell.context)
        return self._pass.run(trajectory, decider.policy, on_step=on_step)


def summarize(steps: list[FidelityStep]) -> dict[str, Any]:
    """A cell's fidelity: agreement (share of steps), kl (mean over steps of the per-step token mean), and the
    token-weighted mean KL as ``kl_per_token``."""
    kls = [s.kl for s in steps if s.kl is not None]
    tokens = sum(s.tokens for s in steps if s.kl is not None)
    return {
        "agreement": statistics.fmean(s.agreement for s in steps) if steps else None,
        "kl": statistics.fmean(kls) if kls else None,
        "kl_per_token": sum(s.kl * s.tokens for s in steps if s.kl is not None) / tokens if tokens else None,
        "steps": len(steps),
        "tokens": tokens,
    }


FULL_FIDELITY = {"agreement": 1.0, "kl": 0.0, "kl_per_token": 0.0, "steps": None, "tokens": None}
