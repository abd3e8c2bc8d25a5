"""The rolling context made explicit: the history limit in screenshots, the budget's base, instruction queries."""

from __future__ import annotations

import pytest
import torch

from guiagent import KVSession
from guiagent.compression.context import find_tokens, without_screenshots
from guiagent.compression.presses import GUIKVPress, Press, SnapKVPress, StarKVPress
from guiagent.compression.presses.base import ImageSpan
from guiagent.errors import SessionError

IMAGE = "<|vision_start|><|image_pad|><|vision_end|>"
TASK = "open the display settings and enable dark mode"


def turn(step: int) -> str:
    opening = f"<|im_start|>user\n{TASK}<|im_end|>\n" if step == 0 else "<|im_end|>\n"
    return f"{opening}<|im_start|>user\n{IMAGE}Step {step}<|im_end|>\n<|im_start|>assistant\n"


def run(session: KVSession, screenshots, steps: int) -> None:
    for step in range(steps):
        session.append(turn(step), [screenshots[step]], instruction=TASK if step == 0 else None)
        session.generate(2)


def held_images(session: KVSession) -> set[int]:
    return {int(i) for layer in range(session.num_layers) for i in session.slot_images(layer).unique() if i >= 0}


def test_the_history_limit_drops_older_screenshots_before_the_next_one(tiny, screenshots):
    with KVSession(tiny, history_images=2) as session:
        run(session, screenshots, 4)
        assert held_images(session) == {2, 3}
        expired = sum(s.end - s.start for s in session.spans[:2])
        assert session.context_tokens == session.logical_tokens - expired
        assert session.stats.physical_tokens_per_layer == (session.context_tokens,) * tiny.num_layers


def test_a_compressed_cache_forgets_expired_screenshots_in_every_head(tiny, screenshots):
    with KVSession(tiny, method="snapkv", budget=40, history_images=2) as session:
        run(session, screenshots, 4)
        assert held_images(session) <= {2, 3}  # per-head leftovers of an expired screenshot lose on score
        assert session.budget_tokens() == int(session.context_tokens * 40 / 100)  # a percentage of the context


def test_without_a_limit_every_screenshot_stays_and_the_base_is_everything(tiny, screenshots):
    with KVSession(tiny) as session:
        run(session, screenshots, 3)
        assert held_images(session) == {0, 1, 2}
        assert session.context_tokens == session.logical_tokens


def test_per_head_leftovers_keep_every_head_the_same_length():
    slots = torch.tensor([[0, 1, 2, 3, 10, 11], [0, 2, 3, 4, 5, 11]])  # screenshot [1, 6): 3 in head 0, 4 in head 1
    keep = without_screenshots(slots, [ImageSpan(0, 0, 1, 6, (1, 2, 2))])
    assert keep.shape == (2, 3)
    assert slots.gather(1, keep).tolist() == [[0, 10, 11], [0, 5, 11]]  # head 1 keeps its newest old entry
    assert without_screenshots(slots, [ImageSpan(0, 0, 20, 30, (1, 2, 2))]) is None


def test_the_instruction_queries_are_the_layers_queries_at_its_tokens(tiny, screenshots):
    seen: dict[int, torch.Tensor] = {}

    class Recorder(Press):
        def observe(self, cache, layer):
            seen[layer.layer_idx] = layer.queries()

    with KVSession(tiny, method=Recorder()) as session:
        session.append(turn(0), [screenshots[0]], instruction=TASK)
        ids = tiny.processor.tokenizer(TASK, add_special_tokens=False)["input_ids"]
        start, end = find_tokens(session.token_ids, [ids])
        for layer in range(tiny.num_layers):
            kept = session.instruction_queries(layer)
            assert kept.shape == (1, tiny.num_heads, end - start, tiny.head_dim)
            assert torch.equal(kept, seen[layer][:, :, start:end])


@pytest.mark.parametrize("press", [SnapKVPress, StarKVPress, GUIKVPress], ids=lambda p: p.name)
@pytest.mark.parametrize("observers", ["instruction", "both"])
def test_instruction_queries_change_what_is_kept(tiny, screenshots, observers, press):
    kept = {}
    for name in ("tail", observers):
        with KVSession(tiny, method=press(observers=name), budget=30) as session:
            run(session, screenshots, 3)
            kept[name] = [session.slots(layer) for layer in range(tiny.num_layers)]
    assert any(not torch.equal(a, b) for a, b in zip(kept["tail"], kept[observers], strict=True))


def test_without_an_instruction_the_tail_observes(tiny, screenshots):
    kept = []
    for name in ("tail", "both"):
        with KVSession(tiny, method=SnapKVPress(observers=name), budget=30) as session:
            for step in range(2):
                session.append(turn(step), [screenshots[step]])  # no instruction named
                session.generate(2)
            kept.append([session.slots(layer) for layer in range(tiny.num_layers)])
    assert all(torch.equal(a, b) for a, b in zip(*kept, strict=True))


def test_snapshots_keep_the_context_bookkeeping(tiny, screenshots):
    with KVSession(tiny, method="snapkv", budget=100, history_images=1) as session:
        run(session, screenshots, 2)
        snapshot, context = session.snapshot(), session.context_tokens
        session.append(turn(2), [screenshots[2]])
        session.restore(snapshot)
        assert session.context_tokens == context
        assert session.instruction_queries(0) is not None


def test_bad_limits_and_observers_are_one_sentence(tiny):
    with pytest.raises(SessionError, match="at least 1 screenshot"):
        KVSession(tiny, history_images=0)
    with pytest.raises(ValueError, match="observers must be one of"):
        SnapKVPress(observers="everything")
