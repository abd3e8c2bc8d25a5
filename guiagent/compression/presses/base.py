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


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


@dataclass
class LayerView:
    """One layer during a prefill.

    Attributes
    ----------
    layer_idx : int
    module : the layer's attention module (``q_proj``, ``head_dim``, ``num_key_value_groups``)
    hidden_states : (1, q, hidden) attention input of the new tokens (post input-RMSNorm)
    cos, sin : (1, q, head_dim) rotary tables of the new tokens (M-RoPE already recomposed; plain 1-D for OpenCUA)
    keys, values : (1, num_kv_heads, S, head_dim) the layer's cache after the update, post-RoPE
    """

    layer_idx: int
    module: Any
    hidden_states: torch.Tensor
    cos: torch.Tensor
    sin: torch.Tensor
    keys: torch.Tensor
    values: torch.Tensor

    def queries(self, last: int | None = None) -> torch.Tensor:
        """Post-RoPE query states of the last ``last`` new tokens: (1, num_heads, w, head_dim).

        Recomputed exactly as the attention layer does (q_proj -> heads -> RoPE), since the hook cannot see
        the layer's locals.
        """
        hidden, cos, sin = self.hidden_states, self.cos, self.sin
        if last is not None:
            hidden, cos, sin = hidden[:, -last:], cos[:, -last:], sin[:, -last:]
        batch, length, _ = hidden.shape
        query = self.module.q_proj(hidden).view(batch, length, -1, self.module.head_dim).transpose(1, 2)
        cos, sin = cos.unsqueeze(1), sin.unsqueeze(1)
        return query * cos + rotate_half(query) * sin


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
    """

    window: int = 8
    kernel_size: int = 5
    pooling: str = "avgpool"

    def __post_init__(self) -> None:
        if self.window < 1:
            raise ValueError(f"window must be at least 1, got {self.window}")
        if self.kernel_size < 1 or self.kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be a positive odd number, got {self.kernel_size}")
        if self.pooling not in ("avgpool", "maxpool"):
            raise ValueError(f"pooling must be 'avgpool' or 'maxpool', got {self.pooling!r}")
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
        probs = window_attention(layer.queries(last=window), layer.keys)
        scores = self.score(cache, layer, probs, budget)
        if scores is not None:
            self._scores[layer.layer_idx] = (scores, window)

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
            keep = self.capacity(cache, layer_idx, budget, window)
            if keep + window >= cache.physical_length(layer_idx):
                selection.append(None)  # within budget: nothing to evict, no copy
            else:
                selection.append(keep_top_and_window(scores, max(0, keep), window))
        return selection


def current_image_rows(cache: CacheView, layer: LayerView) -> tuple[int, int] | None:
    """Rows of the newest screenshot among this prefill's new tokens, or None if it came in an earlier turn."""
    if not cache.spans:
        return None
    span = cache.spans[-1]
    first_new = cache.logical_tokens - layer.hidden_states.shape[1]
    if span.start < first_new:
        return None
    return span.start - first_new, span.end - first_new
