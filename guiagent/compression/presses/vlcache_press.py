"""VL-Cache: layer budgets from attention sparsity, tokens scored by the queries after the last screenshot.

Based on https://arxiv.org/abs/2410.23317 (VL-Cache: sparsity and modality-aware KV cache compression), with
the details of the GUI-KV code's implementation: a layer's sparsity ``gamma`` is the share of its post-vision
attention weights (the rows from the last screenshot's end to the prompt's end, causal entries only) that are
at most 0.01, averaged over heads (when every layer is fully sparse the shares are uniform: the
published code divides by zero there); layer ``l`` gets ``int(budget * num_layers * beta_l)`` tokens with
``beta_l = clamp((1 - gamma_l) / sum(1 - gamma), 0.001, 1)``; inside a layer the post-vision queries are the
observation window and their pooled attention ranks the rest.

The published code needs eager attention (returned weights) and a second prefill pass. Here the window's
queries are recomputed in the layer hook, so any attention kernel works and the prefill runs once. Selection
is per KV head on group-averaged scores, so the cache stays GQA. A layer whose budget does not exceed its
window keeps its most recent ``budget`` entries. A turn without a screenshot uses all its tokens as window.

Two published behaviours are parameters, off in production and on in the papers' protocol
(``tests/data/parity_production``):

- ``sparsity_input="embeddings"``: the published sparsity pass feeds every layer the prompt's input embeddings
  (its own input RMSNorm applied) instead of the layer's real input, so each layer's sparsity is measured on
  what the first layer sees (``LayerView.embedding_input``); production (``"layer"``) measures the real input.
- ``small_budget="published"``: a layer whose budget does not exceed its window keeps its top-scored entry
  plus the last ``budget - 1`` entries, scored by those last ``budget - 1`` queries; production
  (``"recent"``) keeps the last ``budget`` entries.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from guiagent.compression.presses.base import (
    CacheView,
    LayerView,
    ScorerPress,
    current_image_rows,
    without_expired,
)
from guiagent.compression.scoring import group_mean, keep_top_and_window, pool_past, window_attention


def post_vision_sparsity(probs: torch.Tensor, threshold: float) -> float:
    """Share of causal attention weights <= threshold, averaged over heads. probs: (1, H, w, S)."""
    w, length = probs.shape[-2], probs.shape[-1]
    valid = torch.ones(w, length, dtype=torch.bool, device=probs.device).tril(diagonal=length - w)
    dense = ((probs > threshold) & valid).sum(dim=(-1, -2)).double() / valid.sum()
    return float(1.0 - dense.mean())


@dataclass
class VLCachePress(ScorerPress):
    """VL-Cache with the published sparsity threshold (0.01) and beta clamp (0.001).

    ``window`` is unused: the observation window is the turn's text after its last screenshot.
    ``sparsity_input`` and ``small_budget`` select published behaviours (module docstring).
    """

    sparsity_threshold: float = 0.01
    min_share: float = 0.001
    sparsity_input: str = "layer"
    small_budget: str = "recent"

    def __post_init__(self) -> None:
        if self.sparsity_input not in ("layer", "embeddings"):
            raise ValueError(f"sparsity_input must be 'layer' or 'embeddings', got {self.sparsity_input!r}")
        if self.small_budget not in ("recent", "published"):
            raise ValueError(f"small_budget must be 'recent' or 'published', got {self.small_budget!r}")
        super().__post_init__()

    def reset(self) -> None:
        super().reset()
        self._sparsity: dict[int, float] = {}
        self._layer_views: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}

    def discard(self) -> None:
        super().discard()
        self._sparsity.clear()
        self._layer_views.clear()

    def observe(self, cache: CacheView, layer: LayerView) -> None:
        if cache.budget.is_full:
            return
        new_tokens = layer.hidden_states.shape[1]
        rows = current_image_rows(cache, layer)
        window = new_tokens - rows[1] if rows is not None else new_tokens
        window = max(1, min(window, layer.keys.shape[2] - 1))
        queries = layer.queries(last=window)
        probs = window_attention(queries, layer.keys)
        if self.sparsity_input == "embeddings" and layer.keys.shape[2] == new_tokens:
            embedded_queries, embedded_keys = layer.project(layer.embedding_input())
            sparse = window_attention(embedded_queries[:, :, -window:], embedded_keys)
        else:
            sparse = probs
        self._sparsity[layer.layer_idx] = post_vision_sparsity(sparse, self.sparsity_threshold)
        scores = group_mean(pool_past(probs, self.kernel_size, self.pooling), layer.keys.shape[1])[0]
        self._scores[layer.layer_idx] = (scores, window)
        if self.small_budget == "published":
            self._layer_views[layer.layer_idx] = (queries, layer.keys)

    def layer_budgets(self, cache: CacheView) -> list[int]:
        """Tokens each layer may keep: the uniform budget redistributed by (1 - sparsity)."""
        layers = cache.num_layers
        density = torch.tensor([1.0 - self._sparsity.get(i, 0.0) for i in range(layers)], dtype=torch.float64)
        if float(density.sum()) <= 1e-12:  # every layer fully sparse (flat attention): nothing to go by
            density = torch.ones_like(density)
        shares = (density / density.sum()).clamp(self.min_share, 1.0)
        total = cache.budget_tokens() * layers
        return [max(1, int(total * share)) for share in shares.tolist()]

    def select(self, cache: CacheView) -> list[torch.Tensor | None] | None:
        if not self._scores:
            return None
        selection = []
        for layer_idx, budget in enumerate(self.layer_budgets(cache)):
            scores, window = self._scores.pop(layer_idx)
            scores = without_expired(cache, layer_idx, scores)
            view = self._layer_views.pop(layer_idx, None)
            length = cache.physical_length(layer_idx)
            if budget >= length:
                selection.append(None)
            elif budget > window:
                selection.append(keep_top_and_window(scores, budget - window, window))
            elif view is not None and budget >= 2:  # published: the top entry by the last budget - 1 queries
                queries, keys = view
                small = budget - 1
                probs = window_attention(queries[:, :, -small:], keys)
                rescored = group_mean(pool_past(probs, self.kernel_size, self.pooling), keys.shape[1])[0]
                selection.append(keep_top_and_window(rescored, 1, small))
            else:
                recent = torch.arange(length - budget, length, device=scores.device)
                selection.append(recent[None].expand(scores.shape[0], -1))
        self._sparsity.clear()
        self._layer_views.clear()
        return selection
