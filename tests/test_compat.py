"""Contract tests of the transformers seam (``guiagent/compat.py``): one named test per assumption.

When an upstream release renames or changes something guiagent relies on, exactly the test of that assumption
fails, and its message says which one. Both spellings of the cache keyword (``cache`` since 5.24,
``past_key_values`` before) are exercised on purpose, whatever release is installed.
"""

from __future__ import annotations

import functools
import warnings

import pytest
import torch

from guiagent import KVSession, compat
from guiagent.compression.presses.base import LayerView
from guiagent.errors import CompatError


@pytest.mark.parametrize("assumption", compat.ASSUMPTIONS, ids=lambda a: a.name.replace(" ", "-"))
def test_assumption_holds(assumption: compat.Assumption) -> None:
    try:
        assumption.check()
    except CompatError as error:
        pytest.fail(f"assumption '{assumption.name}' ({assumption.relies_on}) is broken: {error}")


# -- the cache keyword, both spellings -------------------------------------------------------------------------
def new_style(input_ids=None, cache=None, use_cache=None): ...


def old_style(input_ids=None, past_key_values=None, use_cache=None): ...


def neither(input_ids=None, kv=None): ...


def test_cache_keyword_is_read_from_either_signature() -> None:
    assert compat.cache_keyword_of(new_style) == "cache"
    assert compat.cache_keyword_of(old_style) == "past_key_values"

    @functools.wraps(new_style)  # deprecate_kwarg wraps forwards this way: the signature is followed through
    def decorated(*args, **kwargs): ...

    assert compat.cache_keyword_of(decorated) == "cache"


def test_a_forward_without_a_cache_keyword_names_the_assumption() -> None:
    with pytest.raises(CompatError, match=r"cache keyword.*takes neither 'cache' nor 'past_key_values'"):
        compat.cache_keyword_of(neither)


def test_the_installed_model_takes_the_keyword_compat_passes_without_deprecation(tiny) -> None:
    keyword = compat.model_cache_keyword()
    assert keyword in compat.CACHE_KEYWORDS
    ids = torch.tensor([[1, 2, 3]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a deprecated spelling warns: that would be the next rename coming
        tiny.model(
            input_ids=ids, **compat.cache_kwargs(compat.new_cache(tiny.text_config)), use_cache=True, logits_to_keep=1
        )


@pytest.mark.parametrize("keyword", compat.CACHE_KEYWORDS)
def test_hook_reads_the_cache_under_either_name(keyword: str) -> None:
    cache = object()
    kwargs = {"hidden_states": torch.zeros(1), "position_embeddings": (torch.zeros(1), torch.ones(1)), keyword: cache}
    _, (_, sin), found = compat.hook_inputs(kwargs)
    assert found is cache and bool(sin == 1)


@pytest.mark.parametrize("wrong", ["past_key_value", "kv_cache", "layer_past"])
def test_hook_handed_a_wrong_cache_name_names_the_assumption(wrong: str) -> None:
    kwargs = {"hidden_states": torch.zeros(1), "position_embeddings": (torch.zeros(1), torch.zeros(1)), wrong: 1}
    with pytest.raises(CompatError, match=r"attention layers get the cache as a keyword.*none of"):
        compat.hook_inputs(kwargs)


def test_hook_without_hidden_states_names_the_assumption() -> None:
    with pytest.raises(CompatError, match=r"hidden_states and position_embeddings.*without \['hidden_states'\]"):
        compat.hook_inputs({"cache": 1, "position_embeddings": (1, 2)})


class RecordingPress:
    """Just enough of a press for the session's layer hook: remembers what each layer showed it."""

    name = "recording"

    def __init__(self) -> None:
        self.views: list[LayerView] = []

    def observe(self, session: KVSession, view: LayerView) -> None:
        self.views.append(view)

    def reset(self) -> None: ...


@pytest.mark.parametrize("keyword", compat.CACHE_KEYWORDS)
def test_session_hook_sees_the_same_layer_under_either_spelling(tiny, keyword: str) -> None:
    with KVSession(tiny) as session:
        session.append("<|im_start|>user\nhello<|im_end|>\n")
        press = RecordingPress()
        session.set_method(press)
        attention = tiny.language_model.layers[1].self_attn
        hidden = torch.randn(1, 3, tiny.text_config.hidden_size)
        cos_sin = (torch.ones(1, 3, tiny.head_dim), torch.zeros(1, 3, tiny.head_dim))
        kwargs = {"hidden_states": hidden, "position_embeddings": cos_sin, keyword: session.cache}
        session._hook(attention, (), kwargs, None)
        view = press.views[0]
        keys, values = compat.layer_keys_values(session.cache, 1)
        assert view.layer_idx == 1 and view.keys is keys and view.values is values and view.hidden_states is hidden


# -- behaviours the session and the per-layer attention rely on --------------------------------------------------
def test_attention_hooks_are_called_with_the_cache_keyword(tiny) -> None:
    """Relied on: a forward hook on ``self_attn`` (with_kwargs) is handed hidden_states, cos/sin and the cache."""
    seen: list[dict] = []
    handle = tiny.language_model.layers[0].self_attn.register_forward_hook(
        lambda module, args, kwargs, output: seen.append(kwargs), with_kwargs=True
    )
    cache = compat.new_cache(tiny.text_config)
    try:
        tiny.model(input_ids=torch.tensor([[5, 6, 7]]), **compat.cache_kwargs(cache), use_cache=True)
    finally:
        handle.remove()
    try:
        hidden, (cos, _), found = compat.hook_inputs(seen[0])
    except CompatError as error:
        pytest.fail(f"assumption 'attention hooks see the cache' is broken: {error}")
    assert found is cache and hidden.shape[:2] == (1, 3) and cos.shape[-2] == 3


def test_a_registered_attention_without_a_mask_function_gets_no_mask(tiny) -> None:
    """Relied on (the no-mask assumption): for an attention name transformers has no mask function for, it passes
    ``attention_mask=None`` and the function owns causality. If upstream starts building one mask per forward
    (sized from one layer) for such names, per-layer cache lengths would silently misalign."""
    masks: list[object] = []

    def probe(module, query, key, value, attention_mask, **kwargs):
        masks.append(attention_mask)
        return compat.stock_sdpa_attention(module, query, key, value, attention_mask, is_causal=False, **kwargs)

    compat.register_attention("test_mask_probe", probe)
    previous = compat.text_attention(tiny.model)
    compat.set_text_attention(tiny.model, "test_mask_probe")
    cache = compat.new_cache(tiny.text_config)
    try:
        for ids in ([[5, 6, 7, 8]], [[9, 10, 11]]):  # a prefill, then a multi-token step on a filled cache
            tiny.model(input_ids=torch.tensor(ids), **compat.cache_kwargs(cache), use_cache=True)
    finally:
        compat.set_text_attention(tiny.model, previous)
    assert masks and all(mask is None for mask in masks), "assumption 'no mask for custom attention' is broken"


def test_explicit_position_ids_are_used_as_given(tiny) -> None:
    """Relied on: explicit ``(3, B, q)`` position ids win over anything derived from the cache or ``rope_deltas``."""

    def logits(offset: int, rope_deltas: torch.Tensor | None = None) -> torch.Tensor:
        tiny.model.model.rope_deltas = rope_deltas
        positions = torch.arange(offset, offset + 4).view(1, 1, -1).expand(3, 1, -1)
        out = tiny.model(input_ids=torch.tensor([[5, 6, 7, 8]]), position_ids=positions, use_cache=False)
        return out.logits[0, -1]

    try:
        plain = logits(40)
        assert not torch.allclose(plain, logits(0)), "positions were ignored"
        assert torch.equal(plain, logits(40, torch.tensor([[1000]]))), "rope_deltas overrode explicit positions"
    except AssertionError as error:
        pytest.fail(f"assumption 'explicit position ids are used as given' is broken: {error}")
    finally:
        tiny.model.model.rope_deltas = None


def test_an_untested_release_gets_one_sentence(monkeypatch) -> None:
    monkeypatch.setattr(compat.transformers, "__version__", "9.0.0")
    error = compat.broken("cache keyword", "something changed")
    assert str(error).startswith("transformers 9.0.0 broke an assumption guiagent relies on (cache keyword)")
    assert "make setup" in str(error)
