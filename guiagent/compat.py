"""The one place guiagent touches transformers internals.

Everything the session, the per-layer attention, the processor and the tiny checkpoints rely on that is not a
stable public API (a private attribute, a keyword name a hook reads, a behaviour the attention wrapper
assumes) is reached through a function here, and each such reliance is listed in ``ASSUMPTIONS`` with a
check. ``tests/test_compat.py`` runs every check as its own named test against the installed release, so an
upstream rename fails one test that says which assumption broke, instead of dozens of unrelated ones.
``check_assumptions`` runs the cheap checks at run time too, so a user on an untested release gets one
sentence instead of a ``KeyError`` deep inside a forward hook.

Spellings that changed inside the supported range are handled here, both ways:

- transformers 5.24 renamed the cache keyword of the model, decoder-layer and attention ``forward`` from
  ``past_key_values`` to ``cache`` (the old name is accepted with a deprecation warning until 5.40);
  ``cache_kwargs`` passes whichever the installed model takes, ``cache_from_hook_kwargs`` reads whichever an
  attention hook is handed.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Any

import torch
import transformers
from transformers import AttentionInterface, DynamicCache, Qwen2_5_VLForConditionalGeneration
from transformers.integrations.sdpa_attention import sdpa_attention_forward as stock_sdpa_attention
from transformers.models.qwen2_5_vl.modeling_qwen2_5_vl import eager_attention_forward as stock_eager_attention
from transformers.models.qwen2_5_vl.modeling_qwen2_5_vl import repeat_kv as repeat_kv

from guiagent.errors import CompatError

# Oldest and newest transformers minor releases the project is tested on (pyproject's range, CI's two worlds).
SUPPORTED_TRANSFORMERS = ("5.20", "5.24")
CACHE_KEYWORDS = ("cache", "past_key_values")  # new name (>= 5.24) first, then the old one
HOOK_KEYWORDS = ("hidden_states", "position_embeddings")  # what an attention forward hook reads besides the cache


def broken(assumption: str, detail: str) -> CompatError:
    """The error for a transformers internal that no longer behaves as guiagent relies on."""
    return CompatError(
        f"transformers {transformers.__version__} broke an assumption guiagent relies on ({assumption}): {detail}.",
        f"Install the locked versions ('make setup'), or transformers {SUPPORTED_TRANSFORMERS[0]}-"
        f"{SUPPORTED_TRANSFORMERS[1]}; please report it with this message.",
    )


# -- the cache keyword -----------------------------------------------------------------------------------------
def _parameters(function: Callable[..., Any]) -> set[str]:
    """Parameter names of ``function``, through decorators that keep ``__wrapped__`` (deprecate_kwarg does)."""
    return set(inspect.signature(function).parameters)


def cache_keyword_of(function: Callable[..., Any]) -> str:
    """Which cache keyword ``function`` takes: ``cache`` (transformers >= 5.24) or ``past_key_values``."""
    names = _parameters(function)
    for keyword in CACHE_KEYWORDS:
        if keyword in names:
            return keyword
    raise broken(
        "cache keyword",
        f"{getattr(function, '__qualname__', function)} takes neither 'cache' nor 'past_key_values'",
    )


@cache
def model_cache_keyword() -> str:
    """The cache keyword of ``Qwen2_5_VLForConditionalGeneration.forward`` in the installed release."""
    return cache_keyword_of(Qwen2_5_VLForConditionalGeneration.forward)


def cache_kwargs(cache_object: Any, keyword: str | None = None) -> dict[str, Any]:
    """``{keyword: cache}`` for a model call, with the keyword the installed release takes."""
    return {keyword or model_cache_keyword(): cache_object}


@cache
def output_cache_field() -> str:
    """The field model outputs hold the cache in: ``cache`` (>= 5.24) or ``past_key_values`` (OpenCUA's wrapper)."""
    import dataclasses

    from transformers.modeling_outputs import CausalLMOutputWithPast

    names = {field.name for field in dataclasses.fields(CausalLMOutputWithPast)}
    for keyword in CACHE_KEYWORDS:
        if keyword in names:
            return keyword
    raise broken("cache keyword", f"CausalLMOutputWithPast has fields {sorted(names)}, none of {list(CACHE_KEYWORDS)}")


def cache_from_hook_kwargs(kwargs: dict[str, Any]) -> Any:
    """The cache an attention layer was called with, under its new or its old keyword name."""
    for keyword in CACHE_KEYWORDS:
        if kwargs.get(keyword) is not None:
            return kwargs[keyword]
    raise broken(
        "attention layers get the cache as a keyword",
        f"the attention forward hook got keywords {sorted(kwargs)}, none of {list(CACHE_KEYWORDS)}",
    )


def hook_inputs(kwargs: dict[str, Any]) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor], Any]:
    """``(hidden_states, (cos, sin), cache)`` from an attention forward hook's keyword arguments."""
    missing = [name for name in HOOK_KEYWORDS if name not in kwargs]
    if missing:
        raise broken(
            "attention layers get hidden_states and position_embeddings as keywords",
            f"the attention forward hook got keywords {sorted(kwargs)}, without {missing}",
        )
    return kwargs["hidden_states"], kwargs["position_embeddings"], cache_from_hook_kwargs(kwargs)


# -- cache layers ----------------------------------------------------------------------------------------------
def new_cache(text_config: Any) -> DynamicCache:
    """An empty dynamic cache laid out for ``text_config``."""
    return DynamicCache(config=text_config)


def layer_keys_values(cache_object: Any, layer: int) -> tuple[torch.Tensor, torch.Tensor] | None:
    """Layer ``layer``'s ``[B, H_kv, S, D]`` keys and values (post-RoPE), or None before its first update."""
    entry = cache_object.layers[layer]
    keys, values = getattr(entry, "keys", None), getattr(entry, "values", None)
    if not isinstance(keys, torch.Tensor) or not isinstance(values, torch.Tensor):
        return None
    if keys.dim() != 4 or keys.numel() == 0:
        return None
    return keys, values


def set_layer_keys_values(cache_object: Any, layer: int, keys: torch.Tensor, values: torch.Tensor) -> None:
    """Replace layer ``layer``'s keys and values (pruning writes the selected slices back)."""
    entry = cache_object.layers[layer]
    entry.keys, entry.values = keys, values


@contextmanager
def repeated_kv_projections(attention_modules: list[Any], groups: int) -> Iterator[None]:
    """While active, each module's ``k_proj`` / ``v_proj`` output is repeated to every query head.

    Relies on the attention forward viewing the projections with ``-1`` heads (Qwen2.5-VL and Qwen2 do), so the
    layer caches ``num_heads`` keys and values: the published harnesses' ``repeat_kv`` before caching. The
    attention wrappers then attend without grouping (``attention.py``). A test checks that this layout gives
    the same logits as the GQA cache.
    """

    def repeat_heads(kv_heads: int) -> Callable[..., torch.Tensor]:
        def hook(module: Any, args: tuple, output: torch.Tensor) -> torch.Tensor:
            *lead, width = output.shape
            heads = output.view(*lead, kv_heads, width // kv_heads)
            return heads.repeat_interleave(groups, dim=-2).reshape(*lead, width * groups)

        return hook

    handles = []
    try:
        for attention in attention_modules:
            hook = repeat_heads(attention.k_proj.out_features // attention.head_dim)
            handles += [attention.k_proj.register_forward_hook(hook), attention.v_proj.register_forward_hook(hook)]
        yield
    finally:
        for handle in handles:
            handle.remove()


# -- attention implementations ---------------------------------------------------------------------------------
def register_attention(name: str, function: Callable[..., Any]) -> None:
    """Add ``function`` to transformers' attention registry under ``name`` (idempotent)."""
    if AttentionInterface._global_mapping.get(name) is not function:
        AttentionInterface.register(name, function)


def text_attention(model: Any) -> str:
    """The attention implementation the text model currently uses."""
    return model.config.get_text_config(decoder=True)._attn_implementation


def vision_attention(model: Any) -> str:
    return model.config.vision_config._attn_implementation


def set_text_attention(model: Any, name: str) -> None:
    """Switch the text model (only) to attention ``name``; the vision tower keeps its own."""
    model.set_attn_implementation({"text_config": name})


def set_config_attention(config: Any, name: str) -> None:
    """Choose the attention of a config before a model is built from it (no public setter exists)."""
    config._attn_implementation = name


# -- positions -------------------------------------------------------------------------------------------------
def rope_index(model: Any, input_ids: torch.Tensor, mm_token_type_ids: torch.Tensor, grid: torch.Tensor) -> Any:
    """M-RoPE position ids ``(3, B, q)`` of a fragment starting at position 0 (Qwen2.5-VL's ``get_rope_index``)."""
    positions, _ = model.model.get_rope_index(input_ids, mm_token_type_ids, grid)
    return positions


# -- processors ------------------------------------------------------------------------------------------------
def accept_missing_processor_parts(processor_class: type) -> type:
    """A subclass of ``processor_class`` whose class check lets an absent part (None) through.

    transformers' processors check each part's class in ``check_argument_for_proper_class``; guiagent feeds no
    video, so it builds Qwen2.5-VL's processor with ``video_processor=None`` (no torchvision needed).
    """

    def check_argument_for_proper_class(self: Any, argument_name: str, argument: Any) -> Any:
        if argument is None:
            return None
        return super(subclass, self).check_argument_for_proper_class(argument_name, argument)

    subclass = type(
        f"Gui{processor_class.__name__.removeprefix('Qwen2_5_VL')}",
        (processor_class,),
        {"check_argument_for_proper_class": check_argument_for_proper_class, "__module__": __name__},
    )
    return subclass


# -- the assumptions, each with a check --------------------------------------------------------------------------
@dataclass(frozen=True)
class Assumption:
    """One thing guiagent relies on in transformers, and how to see whether it still holds."""

    name: str
    relies_on: str
    check: Callable[[], None]
    needs_model: bool = False


def _check_cache_keyword() -> None:
    keyword = model_cache_keyword()
    for layer_forward in _decoder_forwards():
        if cache_keyword_of(layer_forward) != keyword:
            raise broken("cache keyword", f"{layer_forward.__qualname__} takes another cache keyword than the model")


def _decoder_forwards() -> list[Callable[..., Any]]:
    from transformers.models.qwen2_5_vl import modeling_qwen2_5_vl as qwen

    return [qwen.Qwen2_5_VLDecoderLayer.forward, qwen.Qwen2_5_VLAttention.forward]


def _check_attention_registry() -> None:
    if not isinstance(getattr(AttentionInterface, "_global_mapping", None), dict):
        raise broken("attention registry", "AttentionInterface._global_mapping is no longer a dict")
    if "sdpa" not in AttentionInterface._global_mapping:
        raise broken("attention registry", "'sdpa' is not registered in AttentionInterface")
    if not callable(getattr(AttentionInterface, "register", None)):
        raise broken("attention registry", "AttentionInterface.register is gone")


def _check_stock_kernels() -> None:
    for name, function in (("sdpa", stock_sdpa_attention), ("eager", stock_eager_attention)):
        names = _parameters(function)
        if not {"module", "query", "key", "value", "attention_mask"} <= names:
            raise broken("stock attention kernels", f"the {name} kernel's parameters are {sorted(names)}")


def _check_processor_class_check() -> None:
    from transformers import ProcessorMixin, Qwen2_5_VLProcessor

    if not callable(getattr(ProcessorMixin, "check_argument_for_proper_class", None)):
        raise broken("processor class check", "ProcessorMixin.check_argument_for_proper_class is gone")
    if "video_processor" not in _parameters(Qwen2_5_VLProcessor.__init__):
        raise broken("processor class check", "Qwen2_5_VLProcessor no longer takes video_processor")


def _check_rope_index_signature() -> None:
    from transformers.models.qwen2_5_vl.modeling_qwen2_5_vl import Qwen2_5_VLModel

    names = list(inspect.signature(Qwen2_5_VLModel.get_rope_index).parameters)[1:4]
    if names[:1] != ["input_ids"] or len(names) < 3:
        raise broken("get_rope_index(input_ids, mm_token_type_ids, image_grid_thw)", f"its parameters are {names}")


def _check_cache_layer_fields() -> None:
    cache_object = DynamicCache()
    keys = torch.zeros(1, 2, 3, 4)
    cache_object.update(keys, keys.clone(), 0)
    if layer_keys_values(cache_object, 0) is None:
        raise broken("cache layer fields", "DynamicCache.layers[i] has no keys/values tensors after update()")
    set_layer_keys_values(cache_object, 0, keys[:, :, :1], keys[:, :, :1])
    if cache_object.get_seq_length(0) != 1:
        raise broken("cache layer fields", "assigning layers[i].keys/.values does not change the cache length")


def _check_config_attention() -> None:
    from transformers import Qwen2_5_VLConfig

    config = Qwen2_5_VLConfig()
    set_config_attention(config, "eager")
    if getattr(config, "_attn_implementation", None) != "eager":
        raise broken("config._attn_implementation", "setting it on a config does not stick")


def _check_output_cache_field() -> None:
    import dataclasses

    from transformers.modeling_outputs import BaseModelOutputWithPast
    from transformers.models.qwen2.modeling_qwen2 import Qwen2Model

    field = output_cache_field()
    if field not in {f.name for f in dataclasses.fields(BaseModelOutputWithPast)}:
        raise broken("output cache field", f"BaseModelOutputWithPast has no '{field}' field")
    if cache_keyword_of(Qwen2Model.forward) != field:
        raise broken("output cache field", f"Qwen2Model.forward takes another cache keyword than the '{field}' field")


ASSUMPTIONS: tuple[Assumption, ...] = (
    Assumption(
        "cache keyword",
        "the model, decoder-layer and attention forwards take the cache as 'cache' (>= 5.24) or 'past_key_values'",
        _check_cache_keyword,
    ),
    Assumption(
        "attention registry",
        "AttentionInterface.register and its _global_mapping dict hold the attention functions by name",
        _check_attention_registry,
    ),
    Assumption(
        "stock attention kernels",
        "sdpa_attention_forward and Qwen2.5-VL's eager_attention_forward take (module, query, key, value, mask)",
        _check_stock_kernels,
    ),
    Assumption(
        "processor class check",
        "processors check their parts in check_argument_for_proper_class; Qwen2.5-VL's takes video_processor",
        _check_processor_class_check,
    ),
    Assumption(
        "get_rope_index signature",
        "Qwen2_5_VLModel.get_rope_index(input_ids, mm_token_type_ids, image_grid_thw) returns (positions, deltas)",
        _check_rope_index_signature,
    ),
    Assumption(
        "cache layer fields",
        "DynamicCache.layers[i].keys/.values are [B, H_kv, S, D] tensors that can be replaced to prune",
        _check_cache_layer_fields,
    ),
    Assumption(
        "output cache field",
        "model outputs hold the cache in the field named like Qwen2Model's cache keyword (OpenCUA's native wrapper)",
        _check_output_cache_field,
    ),
    Assumption(
        "config attention field",
        "config._attn_implementation chooses the attention a model is built with",
        _check_config_attention,
    ),
)


@cache
def check_assumptions() -> None:
    """Run every model-free check once per process; raise the first broken one as one sentence."""
    for assumption in ASSUMPTIONS:
        if not assumption.needs_model:
            assumption.check()
