"""KVSession: rolling appends, pruning with exact positions, bookkeeping, re-prefill parity."""

from __future__ import annotations

import pytest
import torch

from guiagent import KVSession
from guiagent.compression.chat import turn_fragments
from guiagent.errors import SessionError
from tests.helpers.options import logit_tolerance
from tests.helpers.reference import EvictionLog, reference_logits, reference_model

IMAGE = "<|vision_start|><|image_pad|><|vision_end|>"
SYSTEM = "<|im_start|>system\nYou are a GUI agent.<|im_end|>\n"


def user_turn(step: int, first: bool = False) -> str:
    opening = SYSTEM if first else "<|im_end|>\n"
    return f"{opening}<|im_start|>user\n{IMAGE}Step {step}: what next?<|im_end|>\n<|im_start|>assistant\n"


@pytest.fixture(scope="module")
def ref():
    return reference_model()


def run_turns(session: KVSession, screenshots, turns: int, answer_tokens: int = 3) -> list[torch.Tensor]:
    logits = []
    for step in range(turns):
        logits.append(session.append(user_turn(step, first=step == 0), [screenshots[step]]).clone())
        session.generate(max_new_tokens=answer_tokens)
    return logits


def test_keep_everything_is_bit_exact_and_matches_one_full_forward(tiny, ref, screenshots):
    plain, kept = KVSession(tiny), KVSession(tiny)
    try:
        plain_logits = run_turns(plain, screenshots, 3)
        kept_logits = []
        for step in range(3):
            kept_logits.append(kept.append(user_turn(step, first=step == 0), [screenshots[step]]).clone())
            kept.keep([torch.arange(kept.physical_length(i)) for i in range(tiny.num_layers)])
            kept.generate(max_new_tokens=3)
        for a, b in zip(plain_logits, kept_logits, strict=True):
            assert torch.equal(a, b)
        assert torch.equal(plain.logits, kept.logits)
        assert torch.equal(plain.token_ids, kept.token_ids)
        # one forward over the concatenated sequence (last position of each turn's prefill and the end)
        truth = reference_logits(ref, plain.token_ids, screenshots[:3], rows=[plain.logical_tokens - 1])
        assert (truth[0] - plain.logits).abs().max() < logit_tolerance()
    finally:
        plain.close()
        kept.close()


def selection(kind: str, session: KVSession, generator: torch.Generator) -> list[torch.Tensor]:
    """Random selections: the same 50% in every layer, 50% per KV head, or a different share per layer."""
    heads, out = session.loaded.num_kv_heads, []
    shares = {"shared": [0.5] * 4, "per_head": [0.5] * 4, "per_layer": [0.8, 0.5, 0.3, 0.6]}[kind]
    shared = None
    for layer, share in enumerate(shares):
        length = session.physical_length(layer)
        count = max(1, int(length * share))
        if kind == "shared":
            shared = shared if shared is not None else torch.randperm(length, generator=generator)[:count]
            out.append(shared)
        elif kind == "per_head":
            out.append(torch.stack([torch.randperm(length, generator=generator)[:count] for _ in range(heads)]))
        else:
            out.append(torch.stack([torch.randperm(length, generator=generator)[:count] for _ in range(heads)]))
    return out


@pytest.mark.parametrize("attn", ["sdpa", "eager"])
@pytest.mark.parametrize("kind", ["shared", "per_head", "per_layer"])
def test_pruned_session_matches_masked_full_forward(tiny, tiny_eager, ref, screenshots, attn, kind):
    loaded = tiny if attn == "sdpa" else tiny_eager
    generator = torch.Generator().manual_seed(7)
    log = EvictionLog(loaded.num_layers, loaded.num_kv_heads)
    session = KVSession(loaded)
    try:
        rows, got = [], []
        run_turns(session, screenshots, 2)
        for round_ in range(2):  # prune, then a new turn with a NEW screenshot, then decode 8 tokens; twice
            keep = selection(kind, session, generator)
            log.record(session, keep)
            session.keep(keep)
            got.append(session.append(user_turn(2 + round_), [screenshots[2 + round_]]).clone())
            rows.append(session.logical_tokens - 1)
            for _ in range(8):
                got.append(session.feed([int(session.logits.argmax())]).clone())
                rows.append(session.logical_tokens - 1)
        truth = reference_logits(ref, session.token_ids, screenshots[:4], rows=rows, log=log)
        error = (truth - torch.stack(got)).abs().max()
        assert error < logit_tolerance(), f"max |logit error| {error:.2e}"
        assert session.stats.physical_tokens_per_layer != (session.logical_tokens,) * loaded.num_layers
    finally:
        session.close()


def test_spans_and_stats_follow_pruning_hand_computed(tiny, screenshots):
    from PIL import Image

    session = KVSession(tiny)
    try:
        # byte-level tokenizer: one token per character; a 112x56 image is a 4x8 patch grid = 8 tokens
        session.append(f"ab{IMAGE}cd", [Image.new("RGB", (112, 56), "white")])
        assert session.logical_tokens == 2 + 1 + 8 + 1 + 2
        [span] = session.spans
        assert (span.start, span.end, span.grid_thw) == (3, 11, (1, 4, 8))
        # text a=0 b=1 <vs>=2; image t=3, h=3..4, w=3..6; <ve> at 3 + max(4, 8)/2 = 7; c=8 d=9
        assert session.next_position == 10
        keep = [
            torch.tensor([0, 1, 2, 3, 5, 12]),
            torch.tensor([[4, 10, 11], [3, 6, 9]]),
            torch.arange(13),
            torch.tensor([12]),
        ]
        session.keep(keep)
        spans = [session.image_spans(layer)[0].tolist() for layer in range(4)]
        assert spans == [[[3, 5], [3, 5]], [[0, 2], [0, 3]], [[3, 11], [3, 11]], [[0, 0], [0, 0]]]
        stats = session.stats
        assert stats.logical_tokens == 14
        assert stats.physical_tokens_per_layer == (6, 3, 13, 1)
        itemsize = torch.empty(0, dtype=tiny.dtype).element_size()  # 4 in fp32
        per_token = 2 * tiny.num_kv_heads * tiny.head_dim * itemsize  # K and V, one layer
        assert stats.bytes_held == (6 + 3 + 13 + 1) * per_token
        assert stats.bytes_full == 14 * 4 * per_token
        assert stats.images[0].kept_per_layer == (2.0, 2.5, 8.0, 0.0)
        assert session.slots(1).tolist() == [[4, 10, 11], [3, 6, 9]]
        # a new turn lands after the kept entries; the old image keeps its physical span
        session.append(f"e{IMAGE}", [Image.new("RGB", (56, 56), "white")])
        # e=10, <vs>=11, a 4x4 patch grid = 2x2 tokens at h, w in 12..13, <ve> at 12 + 4/2 = 14
        assert session.next_position == 15
        assert (session.spans[1].start, session.spans[1].end) == (16, 20)
        spans = session.image_spans(1).tolist()
        assert spans[0] == [[0, 2], [0, 3]] and spans[1] == [[5, 9], [5, 9]]
        assert session.stats.physical_tokens_per_layer == (13, 10, 20, 8)
    finally:
        session.close()


def conversation(screenshots):
    messages = []
    for step, image in enumerate(screenshots):
        if step:
            messages.append({"role": "assistant", "content": f"click(start_box='({step}0,{step}5)')"})
        messages.append(
            {"role": "user", "content": [{"type": "image", "image": image}, {"type": "text", "text": f"Step {step}"}]}
        )
    return messages


def test_prefill_messages_equals_rolling_session(tiny, screenshots):
    messages = conversation(screenshots)
    assert len([m for m in messages if m["role"] == "user"]) == 5
    rebuilt, rolling = KVSession(tiny), KVSession(tiny)
    try:
        rebuilt_logits = rebuilt.prefill_messages(messages)
        for text, images in turn_fragments(tiny.processor, messages):
            rolling.append(text, images)
        assert torch.equal(rolling.token_ids, rebuilt.token_ids)
        assert rolling.next_position == rebuilt.next_position
        assert [(s.start, s.end) for s in rolling.spans] == [(s.start, s.end) for s in rebuilt.spans]
        assert (rolling.logits - rebuilt_logits).abs().max() < logit_tolerance()
    finally:
        rebuilt.close()
        rolling.close()


def test_generate_stops_and_records_every_token(tiny, screenshots):
    session = KVSession(tiny)
    try:
        session.append(user_turn(0, first=True), [screenshots[0]])
        before = session.logical_tokens
        text = session.generate(max_new_tokens=5)
        assert session.last_stop_reason in ("length", "eos")
        assert session.logical_tokens == before + len(session.last_tokens)
        assert text == tiny.processor.tokenizer.decode(session.last_tokens, skip_special_tokens=True)
        assert session.last_timings["decode_s"] > 0
    finally:
        session.close()


def test_bad_calls_get_clear_errors(tiny, screenshots):
    session = KVSession(tiny)
    try:
        with pytest.raises(SessionError, match="nothing to continue"):
            session.generate(4)
        with pytest.raises(SessionError, match="1 image placeholder"):
            session.append(f"x{IMAGE}", [])
        session.append(f"x{IMAGE}y", [screenshots[0]])
        with pytest.raises(SessionError, match="index sets for 4 layers"):
            session.keep([torch.arange(3)])
        length = session.physical_length(0)
        with pytest.raises(SessionError, match=rf"must lie in \[0, {length}\)"):
            session.keep([torch.tensor([length])] * 4)
        with pytest.raises(SessionError, match="twice"):
            session.keep([torch.tensor([1, 1])] * 4)
        with pytest.raises(SessionError, match="3 index rows for 2 KV heads"):
            session.keep([torch.zeros(3, 2, dtype=torch.long)] * 4)
        assert session.physical_length(0) == length  # nothing was lost
    finally:
        session.close()


def test_session_restores_attention_on_close(tiny, screenshots):
    from guiagent.compat import text_attention, vision_attention

    before = text_attention(tiny.model)
    first, second = KVSession(tiny), KVSession(tiny)
    assert text_attention(tiny.model) == "guiagent_sdpa"
    assert vision_attention(tiny.model) == "sdpa"
    first.close()  # the other session still works: it re-arms the wrapper before each forward
    second.append(user_turn(0, first=True), [screenshots[0]])
    second.keep([torch.arange(0, second.physical_length(i), i + 2) for i in range(tiny.num_layers)])
    second.append(user_turn(1), [screenshots[1]])  # different lengths per layer on a multi-token step
    assert text_attention(tiny.model) == "guiagent_sdpa"
    second.close()
    assert text_attention(tiny.model) == before == "sdpa"


def test_rewind_generation_restores_the_turn_end_exactly(tiny, screenshots):
    import threading

    with KVSession(tiny) as session:
        session.append(user_turn(0, first=True), [screenshots[0]])
        before = (session.logical_tokens, session.next_position, session.stats.physical_tokens_per_layer)
        logits = session.logits.clone()
        first = session.generate(max_new_tokens=6)
        session.rewind_generation()
        assert (session.logical_tokens, session.next_position, session.stats.physical_tokens_per_layer) == before
        assert torch.equal(session.logits, logits)
        assert session.generate(max_new_tokens=6) == first  # greedy again: the same answer
        with pytest.raises(SessionError, match="no answer to take back"):
            session.rewind_generation()
            session.rewind_generation()
        cancel = threading.Event()
        cancel.set()
        assert session.generate(max_new_tokens=6, cancel=cancel) == ""
        assert session.last_stop_reason == "cancelled"
