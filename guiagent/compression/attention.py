"""Attention that works when every layer's cache has its own length.

transformers builds ONE causal mask per forward, sized from the first layer's cache. After a compression
that keeps different token counts per layer (PyramidKV, VL-Cache), a multi-token step (a new screenshot turn)
then fails or silently misaligns. These wrappers build a bottom-right-aligned causal mask from each layer's
own key length and hand it to the stock sdpa / eager kernels. They are registered under their own names and
switched on for the text model only (the vision tower keeps its own attention). Because the names have no
mask function registered, transformers passes ``attention_mask=None`` and the wrapper owns the mask; an
explicit 4-D mask (used by tests for a masked full forward) is honoured as given. Batch size 1, no padding:
the rolling session never pads.

FlashAttention-2 needs no wrapper: its causal mode is already bottom-right aligned for ``q_len < k_len``.

A cache laid out per query head (``KVSession(heads="query")``, the published harnesses' layout) holds as many key
heads as query heads; the wrappers then attend without grouping instead of repeating them again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from guiagent import compat

WRAPPED = {"sdpa": "guiagent_sdpa", "eager": "guiagent_eager"}
UNWRAPPED = {wrapper: base for base, wrapper in WRAPPED.items()}


def bottom_right_causal_mask(q_len: int, k_len: int, device: torch.device) -> torch.Tensor:
    """Boolean ``[q_len, k_len]`` mask: query i sees every key up to ``k_len - q_len + i`` (True = attend)."""
    return torch.ones(q_len, k_len, dtype=torch.bool, device=device).tril(diagonal=k_len - q_len)


class _Ungrouped:
    """An attention module seen with one query head per key head (keys already repeated to every query head)."""

    num_key_value_groups = 1

    def __init__(self, module: Any) -> None:
        self._module = module

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module, name)


def _grouping(module: Any, query: torch.Tensor, key: torch.Tensor) -> Any:
    repeated = key.shape[1] == query.shape[1] and getattr(module, "num_key_value_groups", 1) > 1
    return _Ungrouped(module) if repeated else module


def _sdpa(
    module: Any,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    **kwargs: Any,
) -> tuple[torch.Tensor, None]:
    q_len, k_len = query.shape[-2], key.shape[-2]
    if attention_mask is None and 1 < q_len < k_len:  # q == k: sdpa's is_causal; q == 1: sees everything
        attention_mask = bottom_right_causal_mask(q_len, k_len, query.device)[None, None]
    return compat.stock_sdpa_attention(_grouping(module, query, key), query, key, value, attention_mask, **kwargs)


def _eager(
    module: Any,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    **kwargs: Any,
) -> tuple[torch.Tensor, torch.Tensor]:
    q_len, k_len = query.shape[-2], key.shape[-2]
    if attention_mask is None and q_len > 1:  # eager applies no causality of its own
        allowed = bottom_right_causal_mask(q_len, k_len, query.device)
        attention_mask = torch.zeros(q_len, k_len, dtype=query.dtype, device=query.device)
        attention_mask = attention_mask.masked_fill(~allowed, torch.finfo(query.dtype).min)[None, None]
    elif attention_mask is not None and attention_mask.dtype == torch.bool:
        attention_mask = torch.zeros_like(attention_mask, dtype=query.dtype).masked_fill(
            ~attention_mask, torch.finfo(query.dtype).min
        )
    kwargs.pop("is_causal", None)
    kwargs.pop("sliding_window", None)
    kwargs.pop("position_ids", None)
    return compat.stock_eager_attention(_grouping(module, query, key), query, key, value, attention_mask, **kwargs)


_FUNCTIONS: dict[str, Callable[..., Any]] = {"guiagent_sdpa": _sdpa, "guiagent_eager": _eager}


def register() -> None:
    """Add the wrappers to transformers' AttentionInterface (idempotent; never replaces a stock entry)."""
    for name, function in _FUNCTIONS.items():
        compat.register_attention(name, function)


def use_per_layer_attention(model: Any) -> str:
    """Switch the text model to the per-layer-length wrapper of its kernel (idempotent); return the kernel.

    The vision tower is left alone (dict form of ``set_attn_implementation``). Sessions call this before
    every forward, so one session closing (which unwraps) never leaves another one without the wrapper.
    """
    register()
    current = compat.text_attention(model)
    base = UNWRAPPED.get(current, current)
    if base in WRAPPED and current != WRAPPED[base]:
        compat.set_text_attention(model, WRAPPED[base])
    return base


def restore_attention(model: Any, previous: str) -> None:
    if compat.text_attention(model) != previous:
        compat.set_text_attention(model, previous)
