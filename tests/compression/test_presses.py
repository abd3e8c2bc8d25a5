"""The compression methods on the rolling session of the tiny model: real memory, budgets, state, rolling use."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from guiagent import KVSession, compat
from guiagent.compression.parity import reference_keep
from guiagent.compression.presses import (
    GUIKVPress,
    PyramidKVPress,
    SnapKVPress,
    VLCachePress,
    get_press,
    method_defaults,
    method_names,
    normalize_method,
)
from guiagent.compression.presses.base import LayerView
from guiagent.compression.presses.starkv_press import StarKVPress, mutual_information, square_grid
from guiagent.errors import ConfigError
from tests.conftest import noise_image

IMAGE = "<|vision_start|><|image_pad|><|vision_end|>"
COMPRESSING = [m for m in method_names() if m != "full"]


def turn(step: int) -> str:
    opening = "<|im_start|>system\nYou are a GUI agent.<|im_end|>\n" if step == 0 else "<|im_end|>\n"
    return f"{opening}<|im_start|>user\n{IMAGE}Step {step}: what is the next action?<|im_end|>\n<|im_start|>assistant\n"


def shot(step: int):
    return noise_image(280, 168, 100 + step)  # 10x6 merged patches = 60 visual tokens


def tensor_bytes(session: KVSession) -> int:
    pairs = (compat.layer_keys_values(session.cache, i) for i in range(session.loaded.num_layers))
    return sum(t.numel() * t.element_size() for pair in pairs if pair is not None for t in pair)


def assert_consistent(session: KVSession) -> None:
    """CacheStats agree with the cache tensors and the bookkeeping is a valid selection."""
    stats = session.stats
    assert stats.logical_tokens == session.token_ids.numel()
    assert stats.bytes_held == tensor_bytes(session)
    assert stats.bytes_full == stats.logical_tokens * session.bytes_per_token()
    for index in range(session.loaded.num_layers):
        keys, values = compat.layer_keys_values(session.cache, index)
        slots = session.slots(index)
        assert keys.shape[2] == values.shape[2] == stats.physical_tokens_per_layer[index]
        assert slots.shape == (session.loaded.num_kv_heads, keys.shape[2])
        assert bool((slots[:, 1:] > slots[:, :-1]).all()) and int(slots.max()) < stats.logical_tokens
        kept = [image.kept_per_layer[index] for image in stats.images]
        assert sum(kept) <= keys.shape[2]


@pytest.mark.parametrize("method", ["snapkv", "guikv", "starkv"])
def test_budget_20_holds_a_quarter_of_the_full_cache_or_less(tiny, method):
    with KVSession(tiny, method=method, budget=20) as session:
        for step in range(3):
            session.append(turn(step), [shot(step)])
        held, full = tensor_bytes(session), session.stats.bytes_full
        assert held <= 0.25 * full, f"{method}: {held} bytes held vs {full} full"
        assert session.stats.physical_tokens_per_layer == (session.budget_tokens(),) * tiny.num_layers
        assert_consistent(session)


@pytest.mark.parametrize("method", COMPRESSING)
def test_budget_100_is_the_full_cache_exactly(tiny, method):
    full, pressed = KVSession(tiny), KVSession(tiny, method=method, budget=100)
    try:
        for step in range(3):
            assert torch.equal(full.append(turn(step), [shot(step)]), pressed.append(turn(step), [shot(step)]))
            full.generate(max_new_tokens=3)
            pressed.generate(max_new_tokens=3)
            assert torch.equal(full.logits, pressed.logits)
        assert pressed.stats.bytes_held == pressed.stats.bytes_full
    finally:
        full.close()
        pressed.close()


@pytest.mark.parametrize("method", COMPRESSING)
def test_rolling_eight_steps_stay_consistent_and_within_budget(tiny, method):
    with KVSession(tiny, method=method, budget=30) as session:
        for step in range(8):
            session.append(turn(step), [shot(step)])
            assert_consistent(session)
            lengths = session.stats.physical_tokens_per_layer
            budget = session.budget_tokens()
            if method in ("snapkv", "guikv", "starkv"):
                assert lengths == (budget,) * tiny.num_layers
            else:  # per-layer budgets: the average stays the budget
                assert sum(lengths) <= budget * tiny.num_layers + tiny.num_layers
            session.generate(max_new_tokens=4)
            assert_consistent(session)
        assert len(session.spans) == 8 and session.stats.images[-1].kept_fraction > 0


@pytest.mark.parametrize("method", COMPRESSING)
def test_token_cap_keeps_memory_flat_once_reached(tiny, method):
    cap = 200
    with KVSession(tiny, method=method, budget=f"{cap}t") as session:
        totals = []
        for step in range(8):
            session.append(turn(step), [shot(step)])
            totals.append(sum(session.stats.physical_tokens_per_layer))
            assert_consistent(session)
        assert max(totals) <= cap * tiny.num_layers + tiny.num_layers
        if method in ("snapkv", "guikv", "starkv"):  # flat from the first step that reaches the cap
            reached = totals.index(cap * tiny.num_layers)
            assert reached <= 2 and set(totals[reached:]) == {cap * tiny.num_layers}
        else:  # per-layer budgets settle after the deepest layers shrink, then stay flat
            assert len(set(totals[-4:])) == 1 and totals[-1] >= 0.9 * cap * tiny.num_layers


def test_memory_cap_is_bytes_of_real_kv_heads(tiny):
    per_token = 2 * tiny.num_layers * tiny.num_kv_heads * tiny.head_dim * 4
    with KVSession(tiny, method="starkv", budget=f"{150 * per_token}B") as session:
        for step in range(4):
            session.append(turn(step), [shot(step)])
        assert session.stats.bytes_held == 150 * per_token


def test_set_budget_applies_at_the_next_step(tiny):
    with KVSession(tiny, method="snapkv", budget=100) as session:
        session.append(turn(0), [shot(0)])
        full = session.physical_length(0)
        session.set_budget(25)
        assert session.physical_length(0) == full  # nothing happens until the next prefill
        session.append(turn(1), [shot(1)])
        assert session.physical_length(0) == session.budget_tokens() == int(session.logical_tokens * 0.25)


def capture_prefill(session: KVSession, text: str, images) -> dict[int, LayerView]:
    """Run one prefill and keep every layer's view (queries recomputed from it)."""
    captured: dict[int, LayerView] = {}

    class Recorder(StarKVPress):
        def observe(self, session, layer):
            captured[layer.layer_idx] = layer
            super().observe(session, layer)

    session.set_method(Recorder(real_grid=False))
    session.append(text, images)
    return captured


def test_starkv_production_keeps_what_the_published_code_keeps(tiny):
    """STaR-KV is GQA-consistent as published: production on the model == reference_keep on its tensors."""
    with KVSession(tiny, budget=20) as plain:
        text = (
            turn(0) + "<|im_end|>\n<|im_start|>user\n" + IMAGE + IMAGE + "Compare.<|im_end|>\n<|im_start|>assistant\n"
        )
        images = [shot(0), shot(1), shot(2)]
        views = capture_prefill(plain, text, images)
        # the same prefill without compression gives the uncompressed tensors the reference needs
        with KVSession(tiny) as full, torch.inference_mode():
            full.append(text, images)
            for layer_idx, view in views.items():
                keys, _ = compat.layer_keys_values(full.cache, layer_idx)
                queries = view.queries()
                spans = [(s.start, s.end) for s in full.spans]
                expected = reference_keep(
                    "starkv",
                    queries=queries,
                    keys=keys,
                    hidden_states=view.hidden_states,
                    image_spans=spans,
                    budget=20,
                    layer_idx=layer_idx,
                    num_layers=tiny.num_layers,
                    state={},
                    **method_defaults("starkv"),
                )
                assert plain.slots(layer_idx)[0].tolist() == expected[0, 0].tolist()


def straightforward_mi(p: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> float:
    """The published loop-and-histogram MI (12x12 cells, 16 rank bins), written plainly."""
    n = p.size
    y = rows * 12 + cols
    rank = np.empty(n, dtype=np.int64)
    rank[np.argsort(p, kind="stable")] = np.arange(n)
    a = np.clip(np.floor(rank * 16 / n).astype(np.int64), 0, 15)
    joint = np.zeros((16, 144))
    for ai, yi in zip(a, y, strict=True):
        joint[ai, yi] += 1
    joint /= joint.sum()
    pa, py = joint.sum(1, keepdims=True), joint.sum(0, keepdims=True)
    return max(0.0, float(np.sum(joint * (np.log(joint + 1e-12) - np.log(pa @ py + 1e-12)))))


def test_vectorised_mutual_information_matches_the_straightforward_loop():
    generator = torch.Generator().manual_seed(3)
    for n in (7, 60, 300):
        values = torch.rand(4, n, generator=generator)
        grid = square_grid(n)
        offsets = np.arange(n)
        rows = np.clip(np.floor((offsets // grid[1] + 0.5) / grid[0] * 12), 0, 11).astype(np.int64)
        cols = np.clip(np.floor((offsets % grid[1] + 0.5) / grid[1] * 12), 0, 11).astype(np.int64)
        ours = mutual_information(values, grid)
        for g in range(4):
            p = (values[g] / values[g].sum()).numpy()
            assert abs(float(ours[g]) - straightforward_mi(p, rows, cols)) < 1e-9


def test_starkv_state_ramps_and_resets(tiny):
    press = get_press("starkv")
    with KVSession(tiny, method=press, budget=20) as session:
        for step in range(7):
            session.append(turn(step), [shot(step)])
        state = press.states[0]
        assert state.mi_step == 7 and state.temporal_step == 7 and state.mi_ema is not None
        assert state.temporal_ema is not None
        session.reset()
        assert press.states == {}


# every published script, every method (the observation window is the prompt's last tokens: "tail")
SCRIPTS = {"window": 8, "kernel_size": 5, "pooling": "avgpool", "observers": "tail"}
PUBLISHED = {  # the published scripts' values, written out: the presses' dataclass defaults must be these
    "starkv": (
        StarKVPress,
        {
            **SCRIPTS,
            **{"alpha": 2.0, "temperature": 3.5},
            **{"prior_lambda": 0.5, "profile_steps": 5, "profile_decay": 0.9, "profile_tau": 1.0, "lambda_ramp": 10},
            **{"temporal": True, "temporal_rho": 0.9, "temporal_delta": 0.1, "temporal_eps": 0.0},
            **{"temporal_discount_min": 0.0, "temporal_warmup": 0},
            **{"entropy": True, "entropy_min": 0.95, "entropy_max": 1.05, "entropy_smooth": 0.0},
            "real_grid": True,  # the one deliberate difference: the real patch grid, not the published guess
        },
    ),
    "guikv": (GUIKVPress, {**SCRIPTS, "alpha": 2.0, "temperature": 3.5, "rank": 32}),
    "snapkv": (SnapKVPress, SCRIPTS),
    "pyramidkv": (PyramidKVPress, {**SCRIPTS, "beta": 20}),
    "vlcache": (
        VLCachePress,
        {**SCRIPTS, "sparsity_threshold": 0.01, "min_share": 0.001}
        | {"sparsity_input": "layer", "small_budget": "recent"},  # the published behaviours: the papers' protocol
    ),
}


def test_presses_carry_the_published_defaults():
    assert method_names() == ("full", *PUBLISHED)
    for name, (cls, published) in PUBLISHED.items():
        press = get_press(name)
        assert type(press) is cls and press.name == name
        assert method_defaults(name) == published
        assert {key: getattr(press, key) for key in published} == published
    assert method_defaults("full") == {}


def test_registry_names_and_errors():
    assert normalize_method("GUI-KV") == "guikv" and normalize_method("star_kv") == "starkv"
    assert normalize_method("original") == "full" and get_press("full") is None
    assert get_press("pyramidkv", beta=4).beta == 4
    with pytest.raises(ConfigError, match="Unknown compression method 'snapk'") as error:
        get_press("snapk")
    assert "Did you mean 'snapkv'?" in error.value.hint
    with pytest.raises(ConfigError, match="do not fit method 'guikv'"):
        get_press("guikv", temperature=0)
    with pytest.raises(ConfigError, match="do not fit method 'snapkv'"):
        get_press("snapkv", colour="blue")


def test_failed_prefill_leaves_the_session_as_it_was(tiny):
    with KVSession(tiny, method="snapkv", budget=50) as session:
        session.append(turn(0), [shot(0)])
        before = (
            session.logical_tokens,
            session.next_position,
            len(session.spans),
            session.stats.physical_tokens_per_layer,
        )

        class Boom(RuntimeError):
            pass

        def explode(module, args, kwargs, output):
            if module.layer_idx == 2:
                raise Boom("simulated out-of-memory in layer 2")

        handle = tiny.language_model.layers[2].self_attn.register_forward_hook(explode, with_kwargs=True)
        try:
            with pytest.raises(Boom):
                session.append(turn(1), [shot(1)])
        finally:
            handle.remove()
        after = (
            session.logical_tokens,
            session.next_position,
            len(session.spans),
            session.stats.physical_tokens_per_layer,
        )
        assert after == before
        session.append(turn(1), [shot(1)])  # and it carries on
        assert_consistent(session)
