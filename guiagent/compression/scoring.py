"""Scoring primitives shared by the presses and by the parity reference, vectorised over heads.

Each function is one published rule (GUI-KV / STaR-KV code, see the press modules), written once so the
production presses and ``parity.reference_keep`` compute identical numbers. Scores are computed in float32
whatever the cache dtype (the published code softmaxes in fp32 and sums in the model dtype; fp32 throughout
changes at most ties).

Shapes: ``rows`` is query heads (reference mode, or before group aggregation) or KV heads (production);
``S`` is the layer's current cache length and ``w`` the observation window (the last ``w`` tokens).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def window_size(budget_tokens: int, window: int, new_tokens: int | None = None) -> int:
    """The published ``min(window, mcp - 2)``, kept >= 1 (STaR-KV's guard) and within the new tokens."""
    size = max(1, min(window, budget_tokens - 2))
    return size if new_tokens is None else max(1, min(size, new_tokens))


def window_attention(queries: torch.Tensor, keys: torch.Tensor, causal: bool = True) -> torch.Tensor:
    """Softmax attention of the last ``w`` queries over all ``S`` keys, causal inside the window block.

    ``causal=False`` lets every query see every key (queries kept from an earlier turn, e.g. the instruction's).

    Parameters
    ----------
    queries : (B, Hq, w, D) post-RoPE queries of the last ``w`` positions
    keys : (B, Hkv, S, D) post-RoPE keys, Hq = Hkv * groups (GQA handled without repeating keys)

    Returns
    -------
    (B, Hq, w, S) float32 probabilities
    """
    batch, q_heads, w, dim = queries.shape
    kv_heads, length = keys.shape[1], keys.shape[2]
    grouped = queries.float().reshape(batch, kv_heads, (q_heads // kv_heads) * w, dim)
    logits = (grouped @ keys.float().transpose(-1, -2) / math.sqrt(dim)).view(batch, q_heads, w, length)
    if causal:
        future = torch.ones(w, w, dtype=torch.bool, device=keys.device).triu(1)
        logits[..., length - w :] = logits[..., length - w :].masked_fill(future, torch.finfo(torch.float32).min)
    return logits.softmax(dim=-1)


def pool_past(probs: torch.Tensor, kernel_size: int, pooling: str) -> torch.Tensor:
    """Attention mass each past token (all but the window) receives, summed over the window rows, pooled.

    (B, H, w, S) -> (B, H, S - w). Pooling is 1-D over the cache order with zero padding, as published.
    """
    w = probs.shape[-2]
    mass = probs[..., : probs.shape[-1] - w].sum(dim=-2)
    flat = mass.reshape(-1, 1, mass.shape[-1])
    if pooling == "avgpool":
        pooled = F.avg_pool1d(flat, kernel_size=kernel_size, padding=kernel_size // 2, stride=1)
    elif pooling == "maxpool":
        pooled = F.max_pool1d(flat, kernel_size=kernel_size, padding=kernel_size // 2, stride=1)
    else:
        raise ValueError(f"pooling must be 'avgpool' or 'maxpool', not {pooling!r}")
    return pooled.view_as(mass)


def group_mean(scores: torch.Tensor, kv_heads: int) -> torch.Tensor:
    """(B, Hq, N) -> (B, Hkv, N): the mean over each GQA group's query heads (production selection)."""
    batch, q_heads, length = scores.shape
    return scores.view(batch, kv_heads, q_heads // kv_heads, length).mean(dim=2)


def saliency(hidden_states: torch.Tensor, alpha: float, temperature: float) -> torch.Tensor:
    """GUI-KV spatial saliency of the current screenshot's tokens: ``alpha * softmax(z / T)``.

    ``z`` standardises the L2 norms of the attention inputs (unbiased std + 1e-8, as published). (n, M) -> (n,).
    """
    norms = hidden_states.float().norm(dim=-1)
    if norms.numel() < 2:
        return torch.full_like(norms, alpha)
    z = (norms - norms.mean()) / (norms.std() + 1e-8)
    return alpha * torch.softmax(z / temperature, dim=0)


def redundant_history(
    keys: torch.Tensor, current: torch.Tensor, history: torch.Tensor, budget_ratio: float, rank: int = 32
) -> torch.Tensor:
    """GUI-KV temporal redundancy: history-image tokens best explained by the current screenshot.

    Per head, the current image's keys span a subspace (QR of their transpose, first ``rank`` columns: the
    first keys in raster order, unpivoted, as published). Each history-image key's residual after projection
    onto it measures what is new in it; the ``int((1 - budget_ratio) * n_history)`` smallest residuals of each
    head are marked redundant. One batched QR for all heads.

    Parameters
    ----------
    keys : (H, S, D) one layer's keys (one row per head)
    current : (n,) cache positions of the current screenshot (the same in every head)
    history : (H, S) bool, True where a cache entry belongs to an earlier screenshot
    budget_ratio : kept share of this compression (mcp / S)

    Returns
    -------
    (H, S) bool, True = redundant (its score is set to zero)
    """
    if current.numel() == 0 or not bool(history.any()):
        return torch.zeros_like(history)
    basis, _ = torch.linalg.qr(keys[:, current].float().transpose(1, 2), mode="reduced")  # (H, D, min(D, n))
    basis = basis[..., : min(rank, current.numel(), keys.shape[-1])]
    values = keys.float()
    residual = (values - (values @ basis) @ basis.transpose(1, 2)).norm(dim=-1)  # (H, S)
    residual = residual.masked_fill(~history, float("inf"))
    count = history.sum(dim=1)
    n_zero = ((1.0 - budget_ratio) * count.double()).long()  # int() truncation, per head
    rank_in_head = residual.argsort(dim=1, stable=True).argsort(dim=1)
    return rank_in_head < n_zero[:, None]


def keep_top_and_window(scores: torch.Tensor, keep: int, window: int) -> torch.Tensor:
    """Top-``keep`` past positions of each row plus the last ``window`` positions, sorted ascending.

    scores : (rows, S - window) -> (rows, keep + window) physical positions.
    """
    past = scores.shape[-1]
    keep = max(0, min(keep, past))
    top = scores.topk(keep, dim=-1).indices
    recent = torch.arange(past, past + window, device=scores.device).expand(scores.shape[0], -1)
    return torch.cat([top, recent], dim=-1).sort(dim=-1).values
