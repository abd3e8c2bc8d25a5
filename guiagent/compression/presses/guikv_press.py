"""GUI-KV: SnapKV scores plus spatial saliency of the current screenshot and temporal redundancy pruning.

Based on https://arxiv.org/abs/2510.00536 and its published code (``GUIKVCluster``; alpha 2, temperature 3.5,
window 8, avgpool kernel 5): (a) the current screenshot's tokens get ``alpha * softmax(z / T)`` of their
attention-input L2 norms added to their pooled attention scores; (b) with earlier screenshots present, each
head projects every earlier screenshot's keys onto the subspace spanned by the current screenshot's first 32
keys (QR), and zeroes the scores of the ``(1 - kept share)`` most redundant ones; (c) top-k plus the window.

Production differs from the published code in one respect, on purpose: scores are averaged over each GQA
group and one set is kept per KV head (the published UI-TARS path repeats the cache to 28 query heads and
selects per query head, which holds 7x the memory). The per-head QR is one batched QR here.
In a rolling session the current screenshot is the newest one; when a turn adds no screenshot (its hidden
states are not available), (a) and (b) are skipped and GUI-KV scores like SnapKV.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from guiagent.compression.presses.base import CacheView, LayerView, ScorerPress, current_image_rows
from guiagent.compression.scoring import group_mean, pool_past, redundant_history, saliency


def guikv_scores(
    base: torch.Tensor,
    keys: torch.Tensor,
    current: tuple[int, int] | None,
    current_hidden: torch.Tensor | None,
    history: torch.Tensor,
    budget_ratio: float,
    alpha: float,
    temperature: float,
    rank: int,
) -> torch.Tensor:
    """Apply GUI-KV's saliency boost and redundancy zeroing to pooled scores.

    base : (rows, P) pooled window attention of the past entries; keys : (rows, S, D);
    current : the current screenshot's cache span; current_hidden : (n, M) its attention inputs;
    history : (rows, S) True on earlier screenshots' entries.
    """
    if current is None or current_hidden is None:
        return base
    scores = base.clone()
    start, end = current
    stop = min(end, scores.shape[-1])
    if stop > start:
        scores[:, start:stop] += saliency(current_hidden, alpha, temperature)[: stop - start]
    positions = torch.arange(start, end, device=keys.device)
    redundant = redundant_history(keys, positions, history, budget_ratio, rank)
    return scores.masked_fill(redundant[:, : scores.shape[-1]], 0.0)


@dataclass
class GUIKVPress(ScorerPress):
    """GUI-KV with the published script defaults."""

    alpha: float = 2.0
    temperature: float = 3.5
    rank: int = 32

    def __post_init__(self) -> None:
        if self.temperature <= 0:
            raise ValueError(f"temperature must be positive, got {self.temperature}")
        super().__post_init__()

    def score(self, cache: CacheView, layer: LayerView, probs: torch.Tensor, budget: int) -> torch.Tensor:
        base = group_mean(pool_past(probs, self.kernel_size, self.pooling), layer.keys.shape[1])[0]
        rows = current_image_rows(cache, layer)
        if rows is None:
            return base
        offset = layer.keys.shape[2] - layer.hidden_states.shape[1]  # new tokens sit at the end of the cache
        images = cache.slot_images(layer.layer_idx)
        history = (images >= 0) & (images < cache.spans[-1].index)
        return guikv_scores(
            base,
            layer.keys[0],
            (offset + rows[0], offset + rows[1]),
            layer.hidden_states[0, rows[0] : rows[1]],
            history,
            budget / layer.keys.shape[2],
            self.alpha,
            self.temperature,
            self.rank,
        )
