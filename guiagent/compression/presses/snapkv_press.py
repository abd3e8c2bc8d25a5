"""SnapKV: keep what the last few queries attend to.

Based on https://arxiv.org/abs/2404.14469, as the GUI-KV code runs it (``SnapKVCluster``): the last ``window``
queries' softmax attention to each past token, summed over the window, average-pooled (kernel 5), top-k,
plus the window itself. Published selection is per query head on a cache repeated to all query heads;
production here averages each GQA group's scores and keeps one set per KV head, so the cache stays GQA.
"""

from __future__ import annotations

from dataclasses import dataclass

from guiagent.compression.presses.base import ScorerPress


@dataclass
class SnapKVPress(ScorerPress):
    """SnapKV with the GUI-KV scripts' defaults (window 8, avgpool kernel 5)."""
