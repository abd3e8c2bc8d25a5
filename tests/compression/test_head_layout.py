"""The query-head cache layout (``KVSession(heads="query")``): the published harnesses' repeated heads.

It must compute exactly what the GQA cache computes when every query head of a group keeps the same entries,
let each query head keep its own entries (what the papers' per-query-head selection needs), and say what it
costs in memory.
"""

from __future__ import annotations

import pytest
import torch

from guiagent import KVSession
from guiagent.errors import SessionError

IMAGE = "<|vision_start|><|image_pad|><|vision_end|>"


def turn(step: int) -> str:
    opening = "" if step == 0 else "<|im_end|>\n"
    return f"{opening}<|im_start|>user\n{IMAGE}Step {step}: what next?<|im_end|>\n<|im_start|>assistant\n"


def half_of_each_layer(session: KVSession, generator: torch.Generator) -> list[torch.Tensor]:
    """The same random half of every layer for each KV head: [num_kv_heads, K]."""
    heads = session.loaded.num_kv_heads
    selection = []
    for layer in range(session.num_layers):
        length = session.physical_length(layer)
        rows = [torch.randperm(length, generator=generator)[: length // 2] for _ in range(heads)]
        selection.append(torch.stack(rows))
    return selection


def test_repeated_heads_compute_what_the_gqa_cache_computes(tiny, screenshots):
    grouped, repeated = KVSession(tiny), KVSession(tiny, heads="query")
    groups = tiny.num_heads // tiny.num_kv_heads
    try:
        for step in range(3):
            a = grouped.append(turn(step), [screenshots[step]])
            b = repeated.append(turn(step), [screenshots[step]])
            assert torch.allclose(a, b, atol=1e-5, rtol=0), f"step {step}: {float((a - b).abs().max())}"
            keep = half_of_each_layer(grouped, torch.Generator().manual_seed(step))
            grouped.keep(keep)
            repeated.keep([k.repeat_interleave(groups, dim=0) for k in keep])  # each query head: its group's set
            assert grouped.generate(4) == repeated.generate(4)
            assert torch.allclose(grouped.logits, repeated.logits, atol=1e-5, rtol=0)
    finally:
        grouped.close()
        repeated.close()


def test_each_query_head_keeps_its_own_entries_and_decoding_goes_on(tiny, screenshots):
    session = KVSession(tiny, method="snapkv", budget=30, heads="query")
    try:
        for step in range(3):
            session.append(turn(step), [screenshots[step]])
            session.generate(3)
        slots = [session.slots(layer) for layer in range(tiny.num_layers)]
        assert all(s.shape[0] == tiny.num_heads for s in slots)
        groups = tiny.num_heads // tiny.num_kv_heads
        differs = any(
            not torch.equal(s[h], s[h + 1]) for s in slots for h in range(0, tiny.num_heads, groups)
        )  # the published per-query-head top-k: heads of one group disagree somewhere
        assert differs
        assert torch.isfinite(session.logits).all()
    finally:
        session.close()


def test_the_repeated_layout_reports_its_real_memory(tiny, screenshots):
    grouped, repeated = KVSession(tiny), KVSession(tiny, heads="query")
    try:
        grouped.append(turn(0), [screenshots[0]])
        repeated.append(turn(0), [screenshots[0]])
        groups = tiny.num_heads // tiny.num_kv_heads
        assert repeated.stats.bytes_held == groups * grouped.stats.bytes_held
        assert repeated.stats.bytes_full == grouped.stats.bytes_full  # "full" is the model's own GQA cache
        assert repeated.bytes_per_token() == groups * grouped.bytes_per_token()
    finally:
        grouped.close()
        repeated.close()


def test_the_layout_leaves_other_sessions_on_the_same_model_alone(tiny, screenshots):
    alone, beside = KVSession(tiny), KVSession(tiny)
    repeated = KVSession(tiny, method="snapkv", budget=30, heads="query")
    try:
        expected = alone.append(turn(0), [screenshots[0]])
        repeated.append(turn(0), [screenshots[0]])
        assert torch.equal(beside.append(turn(0), [screenshots[0]]), expected)
    finally:
        for session in (alone, beside, repeated):
            session.close()


def test_an_unknown_layout_is_one_sentence(tiny):
    with pytest.raises(SessionError, match="must be 'kv' or 'query'"):
        KVSession(tiny, heads="value")
