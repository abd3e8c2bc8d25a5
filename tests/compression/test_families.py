"""The session and the presses over every family: ``tiny`` (M-RoPE), ``tiny-opencua`` (1-D RoPE) and the
``tiny-1d`` stand-in (see ``tests/helpers/families.py``).

Issue 15's acceptance: a rolling session over three screenshot turns and generated answers gives the logits of one
plain forward of the whole conversation; a pruned session equals the masked full forward; every method holds its
budget in real GQA bytes. Plus what 1-D RoPE changes: positions are the logical token count (pruning never moves
them), and image spans are the placeholder runs between the media tokens, not the published gap formula.
"""

from __future__ import annotations

import pytest
import torch
from PIL import Image

from guiagent import KVSession, compat
from guiagent.compression.parity import reference_keep
from guiagent.compression.positions import image_placeholder, published_opencua_spans
from guiagent.compression.presses import method_defaults, method_names
from tests.compression.test_presses import assert_consistent, capture_prefill
from tests.compression.test_session import selection
from tests.conftest import noise_image
from tests.helpers.families import FAMILY_MODELS, family_model, skip_if_missing
from tests.helpers.options import logit_tolerance
from tests.helpers.reference import EvictionLog, reference_logits, reference_model

COMPRESSING = [m for m in method_names() if m != "full"]
ONE_D = [name for name in FAMILY_MODELS if name != "tiny"]
SIZES = [(224, 112), (168, 168), (280, 140), (112, 196), (252, 126)]


def shots() -> list[Image.Image]:
    return [noise_image(w, h, 50 + seed) for seed, (w, h) in enumerate(SIZES)]


def turn(loaded, step: int) -> str:
    """A plain-text turn with one screenshot: the same bytes for every tokenizer's family."""
    opening = "System: you are a GUI agent.\n" if step == 0 else "\n"
    return f"{opening}User: {image_placeholder(loaded.processor)}Step {step}: what next?\nAssistant:"


def tensor_bytes(session: KVSession) -> int:
    pairs = (compat.layer_keys_values(session.cache, i) for i in range(session.loaded.num_layers))
    return sum(t.numel() * t.element_size() for pair in pairs if pair is not None for t in pair)


@pytest.fixture(scope="module", params=FAMILY_MODELS)
def name(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def loaded(name):
    return family_model(name)


@pytest.fixture(scope="module")
def ref(name):
    return reference_model(name)


def test_rolling_session_equals_one_plain_forward(loaded, ref):
    images, rows, got = shots()[:3], [], []
    with KVSession(loaded) as session:
        for step in range(3):
            got.append(session.append(turn(loaded, step), [images[step]]).clone())
            rows.append(session.logical_tokens - 1)
            session.generate(max_new_tokens=4)
            got.append(session.logits.clone())
            rows.append(session.logical_tokens - 1)
        if session.layout.name == "1d":
            assert session.next_position == session.logical_tokens
        truth = reference_logits(ref, session.token_ids, images, rows=rows)
    error = float((truth - torch.stack(got)).abs().max())
    print(f"{loaded.spec}: rolling vs one forward, max |logit difference| {error:.2e}")
    assert error < logit_tolerance()  # 1e-5 in fp32, inside the 1e-4


@pytest.mark.parametrize("kind", ["per_head", "per_layer"])
def test_pruned_session_matches_masked_full_forward(loaded, ref, kind):
    generator = torch.Generator().manual_seed(11)
    log = EvictionLog(loaded.num_layers, loaded.num_kv_heads)
    images, rows, got = shots()[:4], [], []
    with KVSession(loaded) as session:
        for step in range(2):
            session.append(turn(loaded, step), [images[step]])
            session.generate(max_new_tokens=3)
        for round_ in range(2):  # prune, a new screenshot turn, 6 decoded tokens; twice
            keep = selection(kind, session, generator)
            log.record(session, keep)
            session.keep(keep)
            if session.layout.name == "1d":  # the next position is the logical count, not the physical length
                assert session.next_position == session.logical_tokens > max(session.stats.physical_tokens_per_layer)
            got.append(session.append(turn(loaded, 2 + round_), [images[2 + round_]]).clone())
            rows.append(session.logical_tokens - 1)
            for _ in range(6):
                got.append(session.feed([int(session.logits.argmax())]).clone())
                rows.append(session.logical_tokens - 1)
        truth = reference_logits(ref, session.token_ids, images, rows=rows, log=log)
    error = float((truth - torch.stack(got)).abs().max())
    print(f"{loaded.spec} {kind}: pruned session vs masked forward, max |logit difference| {error:.2e}")
    assert error < logit_tolerance()


@pytest.mark.parametrize("method", COMPRESSING)
def test_every_method_holds_its_budget_in_gqa_bytes(loaded, method):
    images = shots()
    per_layer_token = 2 * loaded.num_kv_heads * loaded.head_dim * torch.empty(0, dtype=loaded.dtype).element_size()
    with KVSession(loaded, method=method, budget=20) as session:
        for step in range(3):
            session.append(turn(loaded, step), [images[step]])
            lengths = session.stats.physical_tokens_per_layer
            assert tensor_bytes(session) == session.stats.bytes_held == sum(lengths) * per_layer_token
            assert sum(lengths) <= session.budget_tokens() * loaded.num_layers + loaded.num_layers
            session.generate(max_new_tokens=3)
        assert session.stats.bytes_held <= 0.25 * session.stats.bytes_full
        session.set_budget("40t")  # live changes: the next append compresses to the new cap
        session.append(turn(loaded, 3), [images[3]])
        assert sum(session.stats.physical_tokens_per_layer) <= 40 * loaded.num_layers + loaded.num_layers
        cap = 30 * session.bytes_per_token()
        session.set_budget(f"{cap}B")
        session.append(turn(loaded, 4), [images[4]])
        assert tensor_bytes(session) <= cap + session.bytes_per_token()


def test_spans_are_the_placeholder_runs_between_media_tokens(loaded):
    images = shots()
    placeholder = image_placeholder(loaded.processor)
    tokenizer = loaded.processor.tokenizer
    # the placeholder text opens with the media begin token and closes with the media end token
    begin_text, end_text = placeholder[: placeholder.index("|>") + 2], placeholder[placeholder.rindex("<|") :]
    begin, end = tokenizer.convert_tokens_to_ids(begin_text), tokenizer.convert_tokens_to_ids(end_text)
    with KVSession(loaded) as session:
        session.append(f"look {placeholder} and {placeholder}", images[:2])
        session.append(f"then {placeholder}", images[2:3])
        ids = session.token_ids.tolist()
        merge = loaded.image.merge_size
        begins = [i for i, token in enumerate(ids) if token == begin]
        assert len(begins) == len(session.spans) == 3
        framing = session.spans[0].start - begins[0] - 1  # tokens between the begin token and the placeholders
        for span, opened in zip(session.spans, begins, strict=True):
            t, h, w = span.grid_thw
            assert span.end - span.start == t * h * w // merge**2  # STaR-KV reads this grid
            assert set(ids[span.start : span.end]) == {loaded.tokens.image_pad}
            assert span.start - opened - 1 == framing and ids[span.end] == end
        if session.layout.name == "1d":
            counts = [s.end - s.start for s in session.spans]
            published = published_opencua_spans(ids, begin, end, counts)
            ours = [(s.start, s.end) for s in session.spans]
            # image 0 starts right after the begin token (``framing`` early); each later start builds on the previous
            # early end and skips the framing again, one more token each time: image i is (i+1)*framing + i early
            early = [(i + 1) * framing + i for i in range(len(ours))]
            assert published == [(a - e, b - e) for (a, b), e in zip(ours, early, strict=True)]
            assert early[1] >= 1


def test_published_span_formula_hand_computed():
    """Byte-level tiny tokenizer on the stand-in: one token per character; a 112x56 image is 8 tokens."""
    loaded = family_model("tiny-1d")
    white = Image.new("RGB", (112, 56), "white")
    with KVSession(loaded) as session:
        image = image_placeholder(loaded.processor)
        session.append(f"ab{image}cd{image}", [white] * 2)
        session.append(f"e{image}", [white])
        # a b <begin> 8 x pad <end> c d <begin> 8 x pad <end> e <begin> 8 x pad <end>
        assert [(s.start, s.end) for s in session.spans] == [(3, 11), (15, 23), (26, 34)]
        assert session.next_position == session.logical_tokens == 35
        ids = session.token_ids.tolist()
        published = published_opencua_spans(ids, ids[2], ids[11], [8, 8, 8])
        # image 1 starts on its <begin> (14) and drops its last visual token (22); image 2 two early (24 = <end>, e)
        assert published == [(3, 11), (14, 22), (24, 32)]
        unexpanded = ids[:3] + ids[10:15] + ids[22:26] + ids[33:]  # one placeholder per image, as GUI-KV feeds it
        assert published_opencua_spans(unexpanded, ids[2], ids[11], [8, 8, 8]) == published


@pytest.mark.parametrize("spec", ONE_D)
def test_split_one_d_model_gives_the_same_session_as_one_device(spec, tmp_path):
    one = family_model(spec)
    weights = sum(p.numel() * p.element_size() for p in one.model.parameters())
    split = load_family_split(spec, weights, tmp_path)
    images = shots()
    runs = []
    for model in (one, split):
        with KVSession(model, method="starkv", budget=20) as session:
            logits = []
            for step in range(2):
                logits.append(session.append(turn(model, step), [images[step]]).clone())
                session.generate(max_new_tokens=3)
            runs.append((logits, session.token_ids.clone(), session.stats))
    for a, b in zip(runs[0][0], runs[1][0], strict=True):
        torch.testing.assert_close(b, a, atol=1e-5, rtol=0)
    assert torch.equal(runs[0][1], runs[1][1]) and runs[0][2] == runs[1][2]


def load_family_split(spec: str, weights: int, folder):
    """``spec`` with its last decoder layers offloaded to disk (a CPU budget a little under the weights)."""
    import dataclasses

    from guiagent.agent.model.loading import load_model

    source = "tiny" if spec == "tiny-1d" else spec
    skip_if_missing(spec)
    split = load_model(
        source,
        device_map="auto",
        max_memory={"cpu": int(weights * 0.985)},
        offload_folder=folder,
        dtype="fp32",
        attn="sdpa",
    )
    if spec == "tiny-1d":
        split = dataclasses.replace(split, family="opencua", spec="tiny-1d")
    if split.device_map is None or "disk" not in split.device_map.values():
        pytest.skip(f"{spec}: a CPU budget of 98.5% of the weights split nothing")
    return split


def test_a_family_without_a_layout_is_refused_before_its_weights_load(monkeypatch):
    from guiagent.agent.model import loading
    from guiagent.compression import positions
    from guiagent.errors import SessionError

    monkeypatch.delitem(positions.LAYOUTS, "qwen2_5_vl")

    def never(*args, **kwargs):
        raise AssertionError("the weights were loaded")

    monkeypatch.setattr(loading, "_load_qwen2_5_vl", never)
    with pytest.raises(SessionError, match="no position layout"):
        loading.load_model("tiny", device="cpu", dtype="fp32", attn="sdpa")


@pytest.mark.parametrize("method", COMPRESSING)
def test_budget_100_is_the_full_cache_exactly(loaded, method):
    images = shots()
    with KVSession(loaded) as full, KVSession(loaded, method=method, budget=100) as pressed:
        for step in range(2):
            a, b = full.append(turn(loaded, step), [images[step]]), pressed.append(turn(loaded, step), [images[step]])
            assert torch.equal(a, b)
            full.generate(max_new_tokens=3)
            pressed.generate(max_new_tokens=3)
            assert torch.equal(full.logits, pressed.logits)
        assert pressed.stats.bytes_held == pressed.stats.bytes_full


@pytest.mark.parametrize("method", COMPRESSING)
def test_rolling_steps_stay_consistent_under_a_token_cap(loaded, method):
    images = shots()
    cap = 120
    with KVSession(loaded, method=method, budget=f"{cap}t") as session:
        for step in range(5):
            session.append(turn(loaded, step), [images[step]])
            assert_consistent(session)
            assert sum(session.stats.physical_tokens_per_layer) <= cap * loaded.num_layers + loaded.num_layers
            session.generate(max_new_tokens=3)
            assert_consistent(session)
            if session.layout.name == "1d":
                assert session.next_position == session.logical_tokens
        assert len(session.spans) == 5 and session.stats.images[-1].kept_fraction > 0


def test_starkv_production_keeps_what_the_published_code_keeps(loaded):
    """STaR-KV on the spans and grids of this family == reference_keep on the same tensors."""
    images = shots()[:3]
    placeholder = image_placeholder(loaded.processor)
    text = turn(loaded, 0) + f"\nUser: {placeholder}{placeholder}Compare.\nAssistant:"
    with KVSession(loaded, budget=20) as plain:
        views = capture_prefill(plain, text, images)
        with KVSession(loaded) as full, torch.inference_mode():
            full.append(text, images)
            spans = [(s.start, s.end) for s in full.spans]
            for layer_idx, view in views.items():
                keys, _ = compat.layer_keys_values(full.cache, layer_idx)
                expected = reference_keep(
                    "starkv",
                    queries=view.queries(),
                    keys=keys,
                    hidden_states=view.hidden_states,
                    image_spans=spans,
                    budget=20,
                    layer_idx=layer_idx,
                    num_layers=loaded.num_layers,
                    state={},
                    **method_defaults("starkv"),
                )
                assert plain.slots(layer_idx)[0].tolist() == expected[0, 0].tolist()


def test_rewind_snapshot_and_attention_switch(loaded):
    images = shots()
    before_attention = compat.text_attention(loaded.model)
    with KVSession(loaded, method="snapkv", budget=50) as session:
        assert compat.text_attention(loaded.model) == "guiagent_sdpa"
        session.append(turn(loaded, 0), [images[0]])
        session.generate(max_new_tokens=3)
        session.append(turn(loaded, 1), [images[1]])  # compressed: the layers now differ from the logical count
        state = (session.logical_tokens, session.next_position, session.stats.physical_tokens_per_layer)
        logits = session.logits.clone()
        first = session.generate(max_new_tokens=5)
        session.rewind_generation()
        assert (session.logical_tokens, session.next_position, session.stats.physical_tokens_per_layer) == state
        assert torch.equal(session.logits, logits)
        snapshot = session.snapshot()
        assert session.generate(max_new_tokens=5) == first
        session.restore(snapshot)
        assert session.generate(max_new_tokens=5) == first
    assert compat.text_attention(loaded.model) == before_attention
