"""The press contract: what a compression method sees during a prefill and what it returns afterwards.

A press is called twice per ``KVSession.append``:

1. ``observe(cache, layer)`` once per decoder layer, from a forward hook on that layer's attention, while
   the new turn is being prefilled. It sees the layer's attention input and rotary tables for the new
   tokens and the layer's whole cache (compressed history + new turn). Scores are cheap to compute here
   and the query states can be recomputed exactly.
2. ``select(cache)`` once after the forward, when every layer has been observed: it returns what each
   layer keeps (or ``None`` to keep everything). Layer-budget methods (PyramidKV, VL-Cache) need all layers
   before they can allocate, which is why selection waits for the end of the prefill.

``cache`` is a ``CacheView``: the few things a press reads of the session, so that a press can be written (and
tested) without one, and the session can import the registry without the presses importing it back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import torch

from guiagent.compression.budget import Budget
from guiagent.compression.scoring import group_mean, keep_top_and_window, pool_past, window_attention, window_size

OBSERVERS = ("tail", "instruction", "both")


@dataclass(frozen=True)
class ImageSpan:
    """A screenshot's tokens in the logical stream: ``[start, end)``, in prompt order."""

    index: int
    turn: int
    start: int
    end: int
    grid_thw: tuple[int, int, int]


class CacheView(Protocol):
    """What a press may read of the cache it compresses (``KVSession`` is one)."""

    @property
    def budget(self) -> Budget: ...

    @property
    def spans(self) -> Sequence[ImageSpan]:
        """Every screenshot so far, oldest first, in logical coordinates (the new turn's included)."""

    @property
    def logical_tokens(self) -> int:
        """Tokens in the conversation, evicted ones included (the new turn's too)."""

    @property
    def num_layers(self) -> int: ...

    @property
    def merge_size(self) -> int:
        """Vision patches merged into one token along each side (a screenshot's token grid is its patch grid
        divided by this)."""

    def budget_tokens(self) -> int:
        """Tokens each layer may keep under the budget now."""

    def physical_length(self, layer: int) -> int:
        """Entries ``layer`` holds now."""

    def image_spans(self, layer: int) -> torch.Tensor:
        """Physical spans of every screenshot in ``layer``: [num_images, num_kv_heads, 2]."""

    def slot_images(self, layer: int) -> torch.Tensor:
        """Screenshot index of each entry of ``layer`` (-1 for text): [num_kv_heads, S]."""

    def instruction_queries(self, layer: int) -> torch.Tensor | None:
        """The task instruction's post-RoPE queries in ``layer`` ([1, num_heads, n, head_dim]) or None."""

    @property
    def expired_images(self) -> int:
        """Screenshots (the oldest ones) beyond the history limit: a press evicts what is left of them first."""


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


@dataclass
class LayerView:
    """One layer during a prefill.

    Attributes
    ----------
    layer_idx : int
    module : the layer's attention module (``q_proj``, ``k_proj``, ``head_dim``, ``num_key_value_groups``)
    hidden_states : (1, q, hidden) attention input of the new tokens (post input-RMSNorm)
    cos, sin : (1, q, head_dim) rotary tables of the new tokens (M-RoPE already recomposed; plain 1-D for OpenCUA)
    keys, values : (1, cache heads, S, head_dim) the layer's cache after the update, post-RoPE (the KV heads, or
        every query head in the session's query-head layout)
    embeddings : (1, q, hidden) the prefill's input embeddings (the first decoder layer's input), if known
    input_norm : the decoder layer's input RMSNorm, if known
    """

    layer_idx: int
    module: Any
    hidden_states: torch.Tensor
    cos: torch.Tensor
    sin: torch.Tensor
    keys: torch.Tensor
    values: torch.Tensor
    embeddings: torch.Tensor | None = None
    input_norm: Any = None

    def queries(self, last: int | None = None) -> torch.Tensor:
        """Post-RoPE query states of the last ``last`` new tokens: (1, num_heads, w, head_dim).

        Recomputed exactly as the attention layer does (q_proj -> heads -> RoPE), since the hook cannot see
        the layer's locals.
        """
        hidden, cos, sin = self.hidden_states, self.cos, self.sin
        if last is not None:
            hidden, cos, sin = hidden[:, -last:], cos[:, -last:], sin[:, -last:]
        return self._rotated(self.module.q_proj, hidden, cos, sin)

    def project(self, hidden: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """This layer's post-RoPE (queries, keys) of another input for the new tokens, e.g. ``embedding_input()``.

        (1, num_heads, q, head_dim) and (1, key heads, q, head_dim).
        """
        return (
            self._rotated(self.module.q_proj, hidden, self.cos, self.sin),
            self._rotated(self.module.k_proj, hidden, self.cos, self.sin),
        )

    def embedding_input(self) -> torch.Tensor:
        """The input embeddings as this layer's attention would see them (its input RMSNorm applied).

        VL-Cache's published sparsity pass feeds every layer this instead of its real input.
        """
        if self.embeddings is None or self.input_norm is None:
            raise ValueError("this LayerView was made without the prefill's embeddings")
        return self.input_norm(self.embeddings.to(self.hidden_states.device))

    def _rotated(self, projection: Any, hidden: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        return rotated(projection, self.module.head_dim, hidden, cos, sin)


def rotated(projection: Any, head_dim: int, hidden: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """``projection(hidden)`` split into heads and rotated: what the attention layer computes for q (or k)."""
    batch, length, _ = hidden.shape
    states = projection(hidden).view(batch, length, -1, head_dim).transpose(1, 2)
    cos, sin = cos.unsqueeze(1), sin.unsqueeze(1)
    return states * cos + rotate_half(states) * sin


class Press:
    """Base class: keeps everything. Methods override ``observe`` and ``select``."""

    name = "full"

    def reset(self) -> None:
        """Forget cross-step state (a new trajectory starts)."""

    def discard(self) -> None:
        """Drop what ``observe`` gathered for a prefill that failed (the session rolled it back)."""

    def observe(self, cache: CacheView, layer: LayerView) -> None:
        """Look at one layer during the prefill (scores, statistics)."""

    def select(self, cache: CacheView) -> list[torch.Tensor] | None:
        """Per layer, the physical positions to keep: ``[K]`` (all heads) or ``[num_kv_heads, K]``; or None."""
        return None


@dataclass
class ScorerPress(Press):
    """Window-attention scoring shared by SnapKV, PyramidKV, GUI-KV and STaR-KV.

    During the prefill each layer's last ``window`` queries score every past cache entry (softmax mass,
    pooled); after it, each layer keeps its top entries plus the window. Subclasses change the scores
    (``score``) or how many entries a layer keeps (``capacity``).

    Parameters
    ----------
    window : int
        Observation window (published scripts: 8); shrinks to ``budget - 2`` for tiny budgets.
    kernel_size : int
        1-D pooling kernel over the scores (published: 5).
    pooling : str
        ``avgpool`` (published) or ``maxpool``.
    observers : str
        Which queries score the cache: ``tail`` (published: the last ``window`` tokens of the prefill),
        ``instruction`` (the task instruction's queries the session kept, see ``compression/context.py``) or
        ``both`` (their attention mass added up). Without a kept instruction, ``tail`` is used.
    """

    window: int = 8
    kernel_size: int = 5
    pooling: str = "avgpool"
    observers: str = "tail"

    def __post_init__(self) -> None:
        if self.window < 1:
            raise ValueError(f"window must be at least 1, got {self.window}")
        if self.kernel_size < 1 or self.kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be a positive odd number, got {self.kernel_size}")
        if self.pooling not in ("avgpool", "maxpool"):
            raise ValueError(f"pooling must be 'avgpool' or 'maxpool', got {self.pooling!r}")
        if self.observers not in OBSERVERS:
            raise ValueError(f"observers must be one of {', '.join(OBSERVERS)}, got {self.observers!r}")
        self.reset()

    def reset(self) -> None:
        self._scores: dict[int, tuple[torch.Tensor, int]] = {}

    def discard(self) -> None:
        self._scores.clear()

    def observe(self, cache: CacheView, layer: LayerView) -> None:
        if cache.budget.is_full:
            return
        budget = cache.budget_tokens()
        window = window_size(budget, self.window, new_tokens=layer.hidden_states.shape[1])
        probs = self.observation(cache, layer, window)
        scores = self.score(cache, layer, probs, budget)
        if scores is not None:
            self._scores[layer.layer_idx] = (scores, window)

    def observation(self, cache: CacheView, layer: LayerView, window: int) -> torch.Tensor:
        """(1, num_heads, window, S) attention rows whose summed mass scores each entry (``observers`` picks whose).

        The instruction's rows see every key (they come from an earlier turn); their summed mass is added to the
        first window row, so every scorer downstream (pooling, saliency, priors) works on the rows unchanged.
        """
        probs = window_attention(layer.queries(last=window), layer.keys)
        stored = cache.instruction_queries(layer.layer_idx) if self.observers != "tail" else None
        if stored is None:
            return probs
        mass = window_attention(stored.to(layer.keys.device), layer.keys, causal=False).sum(dim=2)
        if self.observers == "instruction":
            probs = torch.zeros_like(probs)
        probs[:, :, 0] += mass
        return probs

    def score(self, cache: CacheView, layer: LayerView, probs: torch.Tensor, budget: int) -> torch.Tensor | None:
        """Scores of the past entries, (num_kv_heads, S - w) or (1, S - w) for one shared set."""
        return group_mean(pool_past(probs, self.kernel_size, self.pooling), layer.keys.shape[1])[0]

    def capacity(self, cache: CacheView, layer_idx: int, budget: int, window: int) -> int:
        """Past entries layer ``layer_idx`` keeps besides the window (uniform: ``budget - window``)."""
        return budget - window

    def select(self, cache: CacheView) -> list[torch.Tensor | None] | None:
        if not self._scores:
            return None
        budget = cache.budget_tokens()
        selection: list[torch.Tensor | None] = []
        for layer_idx in range(cache.num_layers):
            entry = self._scores.pop(layer_idx, None)
            if entry is None:
                selection.append(None)
                continue
            scores, window = entry
            scores = without_expired(cache, layer_idx, scores)
            keep = self.capacity(cache, layer_idx, budget, window)
            if keep + window >= cache.physical_length(layer_idx):
                selection.append(None)  # within budget: nothing to evict, no copy
            else:
                selection.append(keep_top_and_window(scores, max(0, keep), window))
        return selection


def without_expired(cache: CacheView, layer_idx: int, scores: torch.Tensor) -> torch.Tensor:
    """``scores`` (rows, S - w) with what is left of screenshots beyond the history limit scored lowest.

    The session drops them before a new screenshot arrives, but a cache compressed per head must keep the same
    count in every head, so a head can be left holding a few of their tokens; this makes them the first to go.
    """
    if not cache.expired_images:
        return scores
    images = cache.slot_images(layer_idx)[:, : scores.shape[-1]]
    old = (images >= 0) & (images < cache.expired_images)
    if scores.shape[0] != old.shape[0]:  # one shared set
        old = old.any(dim=0, keepdim=True)
    return scores.masked_fill(old, float("-inf"))


def current_image_rows(cache: CacheView, layer: LayerView) -> tuple[int, int] | None:
    """Rows of the newest screenshot among this prefill's new tokens, or None if it came in an earlier turn."""
    if not cache.spans:
        return None
    span = cache.spans[-1]
    first_new = cache.logical_tokens - layer.hidden_states.shape[1]
    if span.start < first_new:
        return None
    return span.start - first_new, span.end - first_new
