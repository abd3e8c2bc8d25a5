"""STaR-KV: one shared index set per layer from head-mean scores, shaped by group priors over time.

Based on arXiv 2606.01790 and its published code (``STARKVGroupCluster`` with ``starkv_mi``, ``starkv_temporal``,
``starkv_aeb``), with the trajectory defaults of its AgentNetBench driver. Per layer and prefill:

1. pooled window attention per query head (SnapKV), plus GUI-KV's saliency boost on the current screenshot;
2. AEB: a temperature from the normalised entropy of the head-mean scores (it sharpens, ``x ** (1/T)``, a
   monotone map: it never changes the top-k; kept for fidelity);
3. MI prior: per KV group, the mutual information between the group's score rank (16 bins) and the spatial
   cell (12x12) of the current screenshot's tokens; an EMA over steps turns into group weights that scale the
   head-mean score of each token by its argmax group, ramped in after ``profile_steps`` steps;
4. temporal discount: tokens of older screenshots are discounted by ``exp(-delta * age * stability)``, with
   stability the cosine between the current group pattern and its EMA;
5. one shared top-k (sorted) plus the window, so the cache stays GQA: STaR-KV needs no production variant.

State (step counters, EMAs) lives per layer on the press and is reset per trajectory. One deliberate
difference in production: the MI's spatial cells come from the screenshot's real patch grid whenever the
session knows where its tokens sit (the newest screenshot, even when the observation window clips its end; an
older one while it is whole); the published code guesses a square grid from the token count, which
``real_grid=False`` reproduces (the papers' protocol; ``parity.reference_keep`` keeps the guess too). The MI
groups are the model's KV groups (``num_heads // module.num_key_value_groups``) in either cache layout, so a
session holding every query head (``heads="query"``, the published layout) groups as the published code does.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from guiagent.compression.presses.base import CacheView, LayerView, ScorerPress, current_image_rows
from guiagent.compression.scoring import pool_past, saliency, window_size


@dataclass
class StarKVState:
    """What one layer carries from step to step within a trajectory."""

    mi_step: int = 0
    mi_ema: torch.Tensor | None = None
    temporal_step: int = 0
    temporal_ema: torch.Tensor | None = None
    aeb_temperature: float | None = None


def square_grid(tokens: int) -> tuple[int, int]:
    """The published grid guess: ``h = round(sqrt(n))``, ``w = ceil(n / h)``."""
    tokens = max(1, tokens)
    height = max(1, round(math.sqrt(tokens)))
    return height, max(1, -(-tokens // height))


def mutual_information(values: torch.Tensor, grid: tuple[int, int], cells: int = 12, bins: int = 16) -> torch.Tensor:
    """Plug-in MI between each row's rank bin and its spatial cell: (G, n) -> (G,) float64.

    Rank bins are quantiles of the row's values (``floor(rank * bins / n)``); spatial cells split the token
    grid (raster order) into ``cells x cells``. One scatter-add builds every group's joint histogram.
    """
    groups, n = values.shape
    zero = torch.zeros(groups, dtype=torch.float64, device=values.device)
    if n <= 1:
        return zero
    grid_h, grid_w = grid
    offsets = torch.arange(n, device=values.device)
    rows = ((offsets // grid_w).double() + 0.5) / max(grid_h, 1)
    cols = ((offsets % grid_w).double() + 0.5) / max(grid_w, 1)
    cell = (rows * cells).floor().long().clamp(0, cells - 1) * cells + (cols * cells).floor().long().clamp(0, cells - 1)
    rank_bins = (offsets.double() * bins / n).floor().long().clamp(max=bins - 1)
    if cell.unique().numel() <= 1 or rank_bins.unique().numel() <= 1:
        return zero
    probs = values.float().clamp_min(0)
    valid = probs.sum(dim=1) > 1e-12
    probs = probs / probs.sum(dim=1, keepdim=True).clamp_min(1e-30)
    ranks = probs.argsort(dim=1, stable=True).argsort(dim=1)
    value_bins = (ranks.double() * bins / n).floor().long().clamp(max=bins - 1)
    joint = torch.zeros(groups, bins * cells * cells, dtype=torch.float64, device=values.device)
    joint.scatter_add_(1, value_bins * cells * cells + cell, torch.ones_like(value_bins, dtype=torch.float64))
    joint = (joint / n).view(groups, bins, cells * cells)
    p_value = joint.sum(dim=2, keepdim=True)
    p_cell = joint.sum(dim=1, keepdim=True)
    expected = p_value / p_value.sum(dim=1, keepdim=True) * (p_cell / p_cell.sum(dim=2, keepdim=True))
    mi = (joint * ((joint + 1e-12).log() - (expected + 1e-12).log())).sum(dim=(1, 2)).clamp_min(0)
    return torch.where(valid, mi, zero)


def group_weights(mi: torch.Tensor, tau: float) -> torch.Tensor:
    """Min-max normalised MI -> softmax group weights (uniform-ish when all groups agree)."""
    low, high = mi.min(), mi.max()
    spread = torch.full_like(mi, 0.5) if float(high - low) < 1e-12 else (mi - low) / (high - low)
    weights = torch.softmax(spread / max(tau, 1e-6), dim=0)
    return weights / weights.sum().clamp_min(1e-8)


def entropy_temperature(scores: torch.Tensor, low: float, high: float) -> float:
    """AEB: ``low + (high - low) * H(p) / log(P)`` with ``p`` the normalised head-mean scores. (H, P) -> T."""
    mean = scores.mean(dim=0)
    probs = mean / mean.sum().clamp_min(1e-8)
    entropy = -(probs * (probs + 1e-8).log()).sum()
    normalised = entropy / (math.log(max(1, mean.shape[-1])) + 1e-8)
    return float(low + (high - low) * normalised)


def temporal_discount(
    group_scores: torch.Tensor,
    spans: list[tuple[int, int]],
    state: StarKVState,
    rho: float,
    delta: float,
    eps: float,
    floor: float,
) -> torch.Tensor:
    """Per-token discount of older screenshots; updates the layer's pattern EMA. (G, P) -> (P,)."""
    start, end = spans[-1]
    current = group_scores[:, start:end].clamp_min(0)
    current = current / current.sum(dim=-1, keepdim=True).clamp_min(1e-8)
    previous = state.temporal_ema
    ema = rho * previous + (1 - rho) * current if previous is not None and previous.shape == current.shape else current
    state.temporal_ema = ema
    stability = F.cosine_similarity(current, ema, dim=-1, eps=1e-8).clamp(0.0, 1.0)
    age = torch.zeros(group_scores.shape[-1], dtype=group_scores.dtype, device=group_scores.device)
    for i, (s, e) in enumerate(spans):
        age[s:e] = float(len(spans) - 1 - i)
    phi = eps + (1 - eps) * stability[group_scores.argmax(dim=0)]
    return floor + (1 - floor) * torch.exp(-delta * age * phi)


@dataclass
class StarKVPress(ScorerPress):
    """STaR-KV with its AgentNetBench (trajectory) defaults.

    ``real_grid``: the MI's spatial cells from the screenshot's real token grid (True, production) or from the
    published square guess ``h = round(sqrt(n))`` (False, the papers' protocol).
    """

    alpha: float = 2.0
    temperature: float = 3.5
    prior_lambda: float = 0.5
    profile_steps: int = 5
    profile_decay: float = 0.9
    profile_tau: float = 1.0
    lambda_ramp: int = 10
    temporal: bool = True
    temporal_rho: float = 0.9
    temporal_delta: float = 0.1
    temporal_eps: float = 0.0
    temporal_discount_min: float = 0.0
    temporal_warmup: int = 0
    entropy: bool = True
    entropy_min: float = 0.95
    entropy_max: float = 1.05
    entropy_smooth: float = 0.0
    real_grid: bool = True

    def reset(self) -> None:
        super().reset()
        self.states: dict[int, StarKVState] = defaultdict(StarKVState)

    def scores(
        self,
        probs: torch.Tensor,
        kv_heads: int,
        spans: list[tuple[int, int]],
        current_hidden: torch.Tensor | None,
        state: StarKVState,
        grid: tuple[int, int] | None,
    ) -> torch.Tensor:
        """The shared per-token score of one layer: (1, Hq, w, S) probabilities -> (P,).

        spans : the screenshots' cache spans, clamped to the past region, non-empty, oldest first; the last
        is the current one. current_hidden : (n, M) its attention inputs, or None to skip the boost.
        """
        ac = pool_past(probs, self.kernel_size, self.pooling)[0]
        if self.alpha > 0 and spans and current_hidden is not None:
            start, end = spans[-1]
            ac[:, start:end] += saliency(current_hidden, self.alpha, self.temperature or 1.0)
        temperature = None
        if self.entropy:
            temperature = entropy_temperature(ac, self.entropy_min, self.entropy_max)
            if self.entropy_smooth > 0 and state.aeb_temperature is not None:
                temperature = self.entropy_smooth * state.aeb_temperature + (1 - self.entropy_smooth) * temperature
            state.aeb_temperature = temperature
        group_scores = ac.view(kv_heads, -1, ac.shape[-1]).mean(dim=1)
        weights, lam = self._prior(group_scores, spans, state, grid)
        boost = weights[group_scores.argmax(dim=0)] * kv_heads
        scaled = ac.mean(dim=0) * ((1.0 - lam) + lam * boost)
        if self.temporal and len(spans) > 1:
            discount = temporal_discount(
                group_scores,
                spans,
                state,
                self.temporal_rho,
                self.temporal_delta,
                self.temporal_eps,
                self.temporal_discount_min,
            )
            if state.temporal_step > self.temporal_warmup:
                scaled = scaled * discount
        if temperature is not None and temperature > 0:
            scaled = scaled.clamp(min=0.0) ** (1.0 / temperature)
        return scaled

    def _prior(self, group_scores, spans, state, grid) -> tuple[torch.Tensor, float]:
        kv_heads = group_scores.shape[0]
        uniform = torch.full((kv_heads,), 1.0 / kv_heads, dtype=group_scores.dtype, device=group_scores.device)
        target = max(0.0, min(1.0, self.prior_lambda))
        if self.profile_steps <= 0:
            return uniform, target
        state.mi_step += 1
        if spans:
            start, end = spans[-1]
            current = group_scores[:, start:end]
            mi = mutual_information(current, grid or square_grid(end - start)).to(group_scores.dtype)
            previous = state.mi_ema
            state.mi_ema = (
                self.profile_decay * previous + (1 - self.profile_decay) * mi
                if previous is not None and previous.shape == mi.shape
                else mi
            )
        ramp = max(1, self.lambda_ramp or self.profile_steps)
        over = state.mi_step - self.profile_steps
        lam = 0.0 if over <= 0 else target * min(1.0, over / ramp)
        weights = group_weights(state.mi_ema, self.profile_tau) if state.mi_ema is not None else uniform
        return weights, lam

    def observe(self, cache: CacheView, layer: LayerView) -> None:
        state = self.states[layer.layer_idx]
        if self.temporal:
            state.temporal_step += 1  # counted on every prefill, as published
        if cache.budget.is_full:
            return
        budget = cache.budget_tokens()
        length = layer.keys.shape[2]
        if length < budget:
            return
        window = window_size(budget, self.window, new_tokens=layer.hidden_states.shape[1])
        probs = self.observation(cache, layer, window)
        past = length - window
        spans, images = [], []
        for index, (start, end) in enumerate(cache.image_spans(layer.layer_idx)[:, 0].tolist()):
            start, end = max(0, min(start, past)), max(0, min(end, past))
            if end > start:
                spans.append((start, end))
                images.append(index)
        current_hidden, grid = None, None
        rows = current_image_rows(cache, layer)
        fresh = bool(spans) and rows is not None and images[-1] == len(cache.spans) - 1
        if fresh:  # the newest screenshot came in this prefill: its tokens are whole, clipped at most by the window
            offset = length - layer.hidden_states.shape[1]
            start, end = spans[-1]
            current_hidden = layer.hidden_states[0, start - offset : end - offset]
        if spans and self.real_grid:
            span, (start, end) = cache.spans[images[-1]], spans[-1]
            if fresh or end - start == span.end - span.start:  # raster order from the image's first token
                merge = cache.merge_size
                grid = (span.grid_thw[1] // merge, span.grid_thw[2] // merge)
        groups = max(1, int(getattr(layer.module, "num_key_value_groups", 1)))
        kv_groups = max(1, probs.shape[1] // groups)  # the model's KV groups, whatever heads the cache holds
        scores = self.scores(probs, kv_groups, spans, current_hidden, state, grid)
        self._scores[layer.layer_idx] = (scores[None], window)

    def capacity(self, cache: CacheView, layer_idx: int, budget: int, window: int) -> int:
        return max(1, budget - window)
