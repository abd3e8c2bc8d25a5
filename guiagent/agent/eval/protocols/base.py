"""What an evaluation protocol fixes around the model: prompt, history, image limits, decoding, parsing, scoring.

``native`` is this project's own protocol (rolling cache, GQA-true budgets, the policy's prompts, the benchmark's
own scorer). ``guikv`` and ``starkv`` reproduce the published harnesses (SalesforceAIResearch/GUI-KV eval/*_eval.py,
kawhiiiileo/STaR-KV eval/*_eval.py) so that a checkpoint gives the papers' numbers: each step is a fresh prompt
built the way the harness builds it, scored the way the harness converts and scores it. Nothing of the harness
code is copied (its licence forbids it); ``guiagent.tools.harness_cases`` runs it from a user's clone and writes
the expected prompts and scores that the tests compare against.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

from PIL import Image

from guiagent.agent.trajectory.format import Trajectory

Message = dict[str, Any]


@dataclass(frozen=True)
class HarnessScore:
    """One step scored as the harness scores it: ``predicted`` is the harness's converted prediction."""

    score: float
    predicted: Any
    expected: Any
    extra: dict[str, Any] = field(default_factory=dict)


# What every published harness does differently from guiagent's production presses (the papers' code paths):
# STaR-KV's MI grid is a square guess, VL-Cache measures sparsity on the input embeddings in every layer and
# handles a budget below its window its own way. A protocol's ``press_params`` start from these.
PAPERS_PRESS_PARAMS: dict[str, dict[str, Any]] = {
    "starkv": {"real_grid": False},
    "vlcache": {"sparsity_input": "embeddings", "small_budget": "published"},
}


def papers_press_params(**overrides: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``PAPERS_PRESS_PARAMS`` with a harness driver's own settings per method merged in."""
    merged = {name: dict(params) for name, params in PAPERS_PRESS_PARAMS.items()}
    for name, params in overrides.items():
        merged[name] = {**merged.get(name, {}), **params}
    return merged


@dataclass(frozen=True)
class CacheLayout:
    """How the harness lays out and selects the KV cache, for ``KVSession`` (see ``compression.session``).

    ``heads``: ``"query"`` stores keys and values repeated to every query head and selects per query head (the
    published Qwen2.5-VL paths: 7x the memory of a GQA cache at the same token count); ``"kv"`` keeps the model's
    KV heads. ``window`` is the observation window the harness passes (8). ``press_params`` are per-method
    settings the harness uses (e.g. STaR-KV's MI prior and temporal flags, VL-Cache's sparsity input). ``reset``
    is when the press's cross-step state starts over: every ``trajectory`` (AgentNetBench) or every ``step``
    (harnesses that treat each step as its own sample: AndroidControl, ScreenSpot v2 / Pro, Mind2Web).
    """

    heads: str = "query"
    window: int = 8
    press_params: dict[str, dict[str, Any]] = field(default_factory=papers_press_params)
    reset: str = "trajectory"


class Protocol(ABC):
    """One harness (``name``) for one benchmark and model family.

    The replay calls ``messages`` once per step with every screenshot so far (the current one last) and the
    model's own earlier raw answers, prefills them into a fresh cache (the harness re-prefills every step), decodes
    at most ``max_new_tokens`` greedily, and calls ``score`` on the raw answer.
    """

    name: ClassVar[str]  # "guikv" | "starkv" | "native"
    benchmark: ClassVar[str]  # "agentnetbench" | "androidcontrol" | "screenspot-v2" | "screenspot-pro" | "mind2web"
    family: ClassVar[str]  # "uitars" | "opencua"
    max_new_tokens: ClassVar[int]
    min_pixels: ClassVar[int]
    max_pixels: ClassVar[int]
    cache: ClassVar[CacheLayout] = CacheLayout()

    @abstractmethod
    def messages(
        self, trajectory: Trajectory, step_index: int, screenshots: list[Image.Image], answers: list[str]
    ) -> list[Message]:
        """The chat messages the harness sends at ``step_index`` (0-based); images as PIL images."""

    @abstractmethod
    def score(self, trajectory: Trajectory, step_index: int, raw: str, image_size: tuple[int, int]) -> HarnessScore:
        """The harness's parse + conversion + metric on one raw answer (``image_size``: original (w, h))."""

    def summarize(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        """The harness's reported aggregates over a replay's step records (``StepResult.record()``: ``score``,
        ``trajectory``, ``expected`` and this protocol's ``HarnessScore.extra`` flattened in); ``{}`` if none."""
        return {}
