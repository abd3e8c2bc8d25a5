"""Drive a press through a real ``LayerView`` on stored tensors: one fresh prefill, no model.

The attention module is a double with the layer's projections (``q_proj``, and ``k_proj`` repeated to every
query head, as a session with ``heads="query"`` lays its cache out); the cache view answers what a press may
read of a ``KVSession`` that has just prefilled the prompt from empty.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import torch

from guiagent.compression.budget import Budget
from guiagent.compression.presses.base import ImageSpan, LayerView, Press, rotated


@dataclass
class FreshPrefill:
    """A ``CacheView`` of a session right after prefilling ``length`` tokens from an empty cache."""

    budget: Budget
    spans: list[ImageSpan]
    logical_tokens: int
    num_layers: int
    heads: int
    merge_size: int = 2
    expired_images: int = 0  # screenshots beyond a history limit: none in a fresh prefill

    def instruction_queries(self, layer: int) -> None:
        return None

    def budget_tokens(self) -> int:
        return self.budget.tokens_per_layer(self.logical_tokens, bytes_per_token=1)

    def physical_length(self, layer: int) -> int:
        return self.logical_tokens

    def image_spans(self, layer: int) -> torch.Tensor:
        bounds = torch.tensor([[s.start, s.end] for s in self.spans], dtype=torch.long).view(-1, 1, 2)
        return bounds.expand(-1, self.heads, -1)

    def slot_images(self, layer: int) -> torch.Tensor:
        table = torch.full((self.logical_tokens,), -1, dtype=torch.long)
        for span in self.spans:
            table[span.start : span.end] = span.index
        return table.expand(self.heads, -1)


def projection(weight: torch.Tensor) -> torch.nn.Linear:
    layer = torch.nn.Linear(weight.shape[1], weight.shape[0], bias=False).requires_grad_(False).eval()
    layer.weight.copy_(weight)
    return layer


def module_double(q_weight: torch.Tensor, k_weight: torch.Tensor, head_dim: int, layer_idx: int) -> SimpleNamespace:
    """The attention module a press sees: q_proj, k_proj repeated to the query heads, the GQA group size."""
    q_heads, kv_heads = q_weight.shape[0] // head_dim, k_weight.shape[0] // head_dim
    groups = q_heads // kv_heads
    repeated = k_weight.view(kv_heads, head_dim, -1).repeat_interleave(groups, dim=0).reshape(q_heads * head_dim, -1)
    return SimpleNamespace(
        q_proj=projection(q_weight),
        k_proj=projection(repeated),
        head_dim=head_dim,
        num_key_value_groups=groups,
        layer_idx=layer_idx,
    )


def drive(
    press: Press,
    cache: FreshPrefill,
    modules: list[SimpleNamespace],
    hidden: list[torch.Tensor],
    embedding_inputs: list[torch.Tensor],
) -> list[torch.Tensor]:
    """Observe every layer of one prefill (identity rotary tables), select; per layer the kept positions,
    (cache heads, K) sorted (every position where the press keeps the layer whole)."""
    length = cache.logical_tokens
    head_dim = modules[0].head_dim
    cos, sin = torch.ones(1, length, head_dim), torch.zeros(1, length, head_dim)
    with torch.inference_mode():
        for index, module in enumerate(modules):
            keys = rotated(module.k_proj, head_dim, hidden[index], cos, sin)
            press.observe(
                cache,
                LayerView(
                    layer_idx=index,
                    module=module,
                    hidden_states=hidden[index],
                    cos=cos,
                    sin=sin,
                    keys=keys,
                    values=torch.zeros_like(keys),
                    embeddings=embedding_inputs[index],
                    input_norm=lambda x: x,  # the stored inputs are already normed
                ),
            )
        selection = press.select(cache)
    kept = []
    for index in range(len(modules)):
        chosen = None if selection is None else selection[index]
        if chosen is None:
            chosen = torch.arange(length)
        chosen = torch.as_tensor(chosen).long()
        chosen = chosen.reshape(-1, chosen.shape[-1]) if chosen.dim() > 1 else chosen[None]
        kept.append(chosen.expand(cache.heads, -1).sort(dim=-1).values)
    return kept
