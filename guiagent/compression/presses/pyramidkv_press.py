"""PyramidKV: SnapKV scores with a budget that shrinks linearly from the first layer to the last.

Based on https://arxiv.org/abs/2406.02069, as the GUI-KV code runs it (``PyramidKVCluster``, beta 20): with
``base = budget - window``, layer 0 keeps about ``2 * base - base // beta`` past tokens and the last layer
``base // beta``, the average staying ``base``. In a rolling session the arithmetic uses the logical
conversation length, and each layer keeps at most what it holds.
"""

from __future__ import annotations

from dataclasses import dataclass

from guiagent.compression.presses.base import CacheView, ScorerPress


def pyramid_capacity(budget: int, window: int, length: int, layer_idx: int, num_layers: int, beta: int) -> int:
    """Past tokens layer ``layer_idx`` keeps (the published rule; ``length`` is the prompt length)."""
    base = budget - window
    if length < 2 * base:  # short prompts: plain SnapKV
        return base
    min_num = base // beta
    max_num = 2 * base - min_num
    if max_num >= length - window:
        max_num = length - window
        min_num = 2 * base - max_num
    step = (max_num - min_num) // (num_layers - 1) if num_layers > 1 else 0
    return max_num - layer_idx * step


@dataclass
class PyramidKVPress(ScorerPress):
    """PyramidKV with the GUI-KV scripts' defaults (window 8, avgpool kernel 5, beta 20)."""

    beta: int = 20

    def __post_init__(self) -> None:
        if self.beta < 1:
            raise ValueError(f"beta must be at least 1, got {self.beta}")
        super().__post_init__()

    def capacity(self, cache: CacheView, layer_idx: int, budget: int, window: int) -> int:
        return pyramid_capacity(budget, window, cache.logical_tokens, layer_idx, cache.num_layers, self.beta)
