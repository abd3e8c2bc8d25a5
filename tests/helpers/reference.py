"""An independent ground truth: one no-cache forward over the whole logical sequence.

Positions come from the family's layout over the full sequence (``get_rope_index`` for M-RoPE, ``0..N-1`` for
1-D RoPE), and attention is a plain fp32 softmax with a
per-layer, per-KV-head visibility mask: query i sees key j iff j <= i and key j had not been evicted from
that layer and head before token i was appended. This is exactly "pruned cache + original positions".
"""

from __future__ import annotations

import torch

from guiagent import compat
from guiagent.agent.model.loading import LoadedModel
from guiagent.compression.positions import layout_for
from tests.helpers.families import load_family

_MASKS: dict[int, torch.Tensor] = {}


def _reference_attention(module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kwargs):
    allowed = _MASKS[module.layer_idx].to(query.device).repeat_interleave(module.num_key_value_groups, dim=0)[None]
    groups = module.num_key_value_groups
    key, value = compat.repeat_kv(key, groups), compat.repeat_kv(value, groups)
    scores = (query.float() @ key.float().transpose(-1, -2)) * scaling
    probs = scores.masked_fill(~allowed, float("-inf")).softmax(dim=-1)
    return (probs @ value.float()).to(query.dtype).transpose(1, 2).contiguous(), None


def reference_model(name: str = "tiny") -> LoadedModel:
    """A second copy of the tiny model ``name`` (see ``families.py``) whose text attention is the reference above."""
    compat.register_attention("test_reference", _reference_attention)
    loaded = load_family(name, attn="sdpa")
    compat.set_text_attention(loaded.model, "test_reference")
    return loaded


class EvictionLog:
    """Per layer and KV head, the logical time each key was evicted (``inf``: never)."""

    def __init__(self, num_layers: int, num_kv_heads: int) -> None:
        self.evicted_at = [torch.full((num_kv_heads, 0), float("inf")) for _ in range(num_layers)]

    def grow(self, total_tokens: int) -> None:
        for i, times in enumerate(self.evicted_at):
            extra = torch.full((times.shape[0], total_tokens - times.shape[1]), float("inf"))
            self.evicted_at[i] = torch.cat([times, extra], dim=1)

    def record(self, session, keep) -> None:
        """Call with the same selection right before ``session.keep(keep)``."""
        self.grow(session.logical_tokens)
        now = session.logical_tokens
        for layer, indices in enumerate(keep):
            slots = session.slots(layer).cpu()
            indices = torch.as_tensor(indices).cpu()
            indices = indices.expand(slots.shape[0], -1) if indices.dim() == 1 else indices
            kept = torch.zeros_like(slots, dtype=torch.bool).scatter(1, indices, True)
            for head in range(slots.shape[0]):
                dropped = slots[head][~kept[head]]
                self.evicted_at[layer][head, dropped] = torch.minimum(
                    self.evicted_at[layer][head, dropped], torch.tensor(float(now))
                )

    def masks(self, total_tokens: int) -> list[torch.Tensor]:
        self.grow(total_tokens)
        query = torch.arange(total_tokens).view(-1, 1)
        key = torch.arange(total_tokens).view(1, -1)
        causal = key <= query
        return [causal[None] & (query[None] < times[:, None, :]) for times in self.evicted_at]


@torch.inference_mode()
def reference_logits(
    ref: LoadedModel, token_ids: torch.Tensor, images, rows: list[int], log: EvictionLog | None = None
) -> torch.Tensor:
    """Logits at logical ``rows`` of one full forward over ``token_ids`` (1-D) with ``images`` in order."""
    model = ref.model
    total = token_ids.numel()
    log = log or EvictionLog(ref.num_layers, ref.num_kv_heads)
    for layer, mask in enumerate(log.masks(total)):
        _MASKS[layer] = mask
    ids = token_ids.view(1, -1).to(ref.device)
    pixel_values = grid = None
    if images:
        vision = ref.processor.image_processor(images=images, return_tensors="pt").to(ref.device)
        pixel_values, grid = vision["pixel_values"].to(ref.dtype), vision["image_grid_thw"]
    mm_types = (ids == ref.tokens.image_pad).int()
    layout = layout_for(ref.family)
    if layout.name == "1d":  # the whole model (OpenCUA's wrapper has no ``.model`` / ``.lm_head`` of Qwen's kind)
        positions = layout.text_positions(0, total, ref.device)
        out = model(
            input_ids=ids, pixel_values=pixel_values, image_grid_thw=grid, position_ids=positions, use_cache=False
        )
        return out.logits[0, rows].float()
    if grid is not None:
        positions = compat.rope_index(model, ids, mm_types, grid)
    else:
        positions = torch.arange(total, device=ref.device).view(1, 1, -1).expand(3, 1, -1)
    hidden = model.model(
        input_ids=ids, pixel_values=pixel_values, image_grid_thw=grid, position_ids=positions, use_cache=False
    ).last_hidden_state
    return model.lm_head(hidden[0, rows]).float()
