"""The published code's side of the parity cases: its attention forwards, bound to stand-ins of our modules.

``Harness`` runs the published GUI-KV / STaR-KV attention (and VL-Cache's text-model) forwards from the user's
clones on recorded layer inputs: a stand-in attention module uses the layer's own ``q_proj`` / ``k_proj`` and a
``v_proj`` that writes each token's position into its values (``PositionValues``), so the compressed values say
which positions the published code kept. ``parity.py`` records the inputs and writes the cases.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import torch

from guiagent.tools.harness_cases.loader import load_harness_module

UI_TARS = "ByteDance-Seed/UI-TARS-1.5-7B"


@dataclass(frozen=True)
class Variant:
    """One method as the papers run it: the production press's parameters and the harness flags that match."""

    method: str
    params: dict[str, Any]
    starkv_flags: tuple[str, ...] = ()  # extra STaR-KV AgentNetBench CLI flags
    tiny_budgets: tuple[int, ...] = (10, 30)
    tiny_screen: str = "large"
    uitars_budgets: tuple[int, ...] = (10, 25)


# The papers' protocol, as production press parameters (everything else is the presses' defaults).
VARIANTS = {
    "snapkv": Variant("snapkv", {}),
    "pyramidkv": Variant("pyramidkv", {}),
    "guikv": Variant("guikv", {}),
    "vlcache": Variant(
        "vlcache",
        {"sparsity_input": "embeddings", "small_budget": "published"},
        tiny_budgets=(10, 30, 60),
        tiny_screen="small",
    ),
    "starkv": Variant("starkv", {"real_grid": False}),
    # the MI prior at full strength from step 2 on (the driver's own flags), so the cases pin its group weights
    "starkv-mi": Variant(
        "starkv",
        {"real_grid": False, "profile_steps": 1, "lambda_ramp": 1},
        ("--kv_group_online_profile_steps", "1", "--kv_group_online_profile_lambda_ramp_steps", "1"),
    ),
}
GK_MODES = {"snapkv": "SnapKV", "pyramidkv": "PyramidKV", "guikv": "GUIKV", "vlcache": "VLCache"}


# -- the bundled trajectory, laid out as the AgentNetBench harness lays it out ---------------------------------


class PositionValues:
    """A ``v_proj`` whose output holds each token's position: kept positions can be read off the values."""

    def __init__(self, kv_heads: int, head_dim: int) -> None:
        self.width = kv_heads * head_dim

    def __call__(self, hidden: torch.Tensor) -> torch.Tensor:
        batch, length, _ = hidden.shape
        positions = torch.arange(length, dtype=torch.float32, device=hidden.device)
        return positions.view(1, length, 1).expand(batch, length, self.width).contiguous()


class RecordingCache:
    """The cache a published forward updates: keeps, per layer, the positions its values carry."""

    def __init__(self) -> None:
        self.kept: dict[int, torch.Tensor] = {}
        self._seen_tokens = 0

    def update(self, keys, values, layer_idx, cache_kwargs=None):
        self.kept[layer_idx] = values[0, :, :, 0].round().long().sort(dim=-1).values
        return keys, values

    def get_usable_length(self, *args: Any) -> int:
        return 0

    def get_seq_length(self, *args: Any) -> int:
        return 0


def attention_stand_in(q_proj, k_proj, kv_heads: int, head_dim: int, groups: int, layer_idx: int, config) -> Any:
    """What a patched ``Qwen2_5_VLAttention`` is to the published forwards: projections, sizes, the shared config."""
    return SimpleNamespace(
        q_proj=q_proj,
        k_proj=k_proj,
        v_proj=PositionValues(kv_heads, head_dim),
        o_proj=lambda x: x,
        head_dim=head_dim,
        num_key_value_groups=groups,
        layer_idx=layer_idx,
        config=config,
        rope_scaling={"mrope_section": config.rope_parameters["mrope_section"]},
        training=False,
        attention_dropout=0.0,
        move_attention_to_cpu=False,
    )


def shared_config(num_layers: int, mrope_section: list[int]) -> SimpleNamespace:
    """The text config every attention module of a model shares (the harnesses write their settings into it)."""
    return SimpleNamespace(
        _attn_implementation="eager",  # VL-Cache's sparsity pass needs returned weights (FA2 returns None)
        num_hidden_layers=num_layers,
        rope_parameters={"mrope_section": list(mrope_section)},
        output_attentions=False,
        output_hidden_states=False,
        use_cache=True,
        use_return_dict=True,
    )


def fake_model(attentions: list[Any]) -> Any:
    """Just enough of ``Qwen2_5_VLForConditionalGeneration`` for the harnesses' ``set_*`` functions."""
    layers = [SimpleNamespace(self_attn=a) for a in attentions]
    return SimpleNamespace(model=SimpleNamespace(language_model=SimpleNamespace(layers=layers), visual=None))


def causal_mask(length: int) -> torch.Tensor:
    """The eager 4-D causal mask transformers builds for a prefill from an empty cache."""
    mask = torch.full((length, length), torch.finfo(torch.float32).min).triu(1)
    return mask[None, None]


@dataclass
class LayerInputs:
    """One layer of one prefill: the attention input, the rotary tables, the sparsity pass's input."""

    hidden: torch.Tensor  # (1, L, M) attention input (post input-RMSNorm)
    cos: torch.Tensor  # (1, L, D) recomposed M-RoPE tables
    sin: torch.Tensor
    embedding_input: torch.Tensor  # (1, L, M) input_layernorm(input embeddings): VL-Cache's first pass


@dataclass
class Prefill:
    """One step's prompt: its layers' inputs and the screenshots' token spans (vision_start+1, vision_end)."""

    layers: list[LayerInputs]
    starts: list[int]
    ends: list[int]

    @property
    def length(self) -> int:
        return self.layers[0].hidden.shape[1]


class DecoderLayer:
    """A decoder layer for the published VL-Cache text-model forward.

    Its first pass calls every layer on the input embeddings; the layer's ``input_layernorm`` turns them into
    the recorded ``embedding_input``. The second pass (with a cache) runs the attention on the layer's real
    recorded input, which the stand-in cannot compute from the previous layer.
    """

    attention_type = "full_attention"

    def __init__(self, forward, attention, inputs: LayerInputs) -> None:
        self.forward, self.self_attn, self.inputs = forward, attention, inputs

    def __call__(self, hidden_states, past_key_value=None, **kwargs):
        attention_input = self.inputs.embedding_input if past_key_value is None else self.inputs.hidden
        kwargs.pop("output_attentions", None)
        self.forward(self.self_attn, attention_input, past_key_value=past_key_value, output_attentions=False, **kwargs)
        return (hidden_states, past_key_value)


class Harness:
    """The published code, imported from the user's clones."""

    def __init__(self, guikv: str | Path, starkv: str | Path) -> None:
        self.gk = load_harness_module(guikv, "eval/attention_helpers.py")
        self.sk = load_harness_module(starkv, "eval/attention_helpers.py")
        self.starkv_folder = str(Path(starkv).expanduser().resolve() / "starkv")  # init_starkv imports lazily

    def gk_args(self, budget: float) -> SimpleNamespace:
        """The GUI-KV AgentNetBench script's arguments (agentnetbench_eval.sh: window 8, alpha 2, T 3.5)."""
        return SimpleNamespace(
            model_path=UI_TARS,
            kv_cache_budget=budget,
            window_size=8,
            alpha=2.0,
            temperature=3.5,
            attention_implementation="eager",
        )

    def sk_args(self, budget: float, flags: tuple[str, ...] = ()) -> argparse.Namespace:
        """STaR-KV's AgentNetBench driver arguments: its own parser, defaults and finalisation."""
        parser = argparse.ArgumentParser()
        parser.add_argument("--model_path", default=UI_TARS)
        self.sk.add_starkv_kv_arguments(  # the call in agentnetbench_eval.py's __main__
            parser,
            kv_cache_default="starkv",
            kv_cache_budget_default=20,
            soft_prior_source_default="mi_saliency",
            online_profile_steps_default=5,
            online_profile_lambda_ramp_default=10,
            temporal_warmup_default=0,
            temporal_enable_action="boolean_optional",
            aeb_enable_action="boolean_optional",
            aeb_min_scale_default=0.95,
            aeb_max_scale_default=1.05,
        )
        args = parser.parse_args(["--kv_cache_budget", str(budget), *flags])
        self.sk.finalize_starkv_args(args, force_full_starkv_stack=True, disable_starkv_extras_for_original=True)
        return args

    def run(
        self,
        variant: Variant,
        budget: float,
        prefills: list[Prefill],
        projections: list[tuple[Any, Any]],
        kv_heads: int,
        head_dim: int,
        groups: int,
        mrope_section: list[int],
    ) -> list[list[torch.Tensor] | None]:
        """Kept positions per step and layer, (Hq, K) sorted, of one method over one trajectory.

        None for a step the published code cannot compress (VL-Cache when every layer is fully sparse).
        """
        config = shared_config(len(projections), mrope_section)
        attentions = [
            attention_stand_in(q, k, kv_heads, head_dim, groups, i, config) for i, (q, k) in enumerate(projections)
        ]
        model = fake_model(attentions)
        method = variant.method
        if method == "starkv":
            helpers, args = self.sk, self.sk_args(budget, variant.starkv_flags)
            helpers.set_kv_cache_budget(model, args)
            helpers.set_starkv_group_config(model, args)
            helpers.reset_starkv_per_sample_state(model, args)  # per trajectory, as the ANB driver does
            forward = helpers.qwen2_5_vl_attention_forward_STARKV
        else:
            helpers, args = self.gk, self.gk_args(budget)
            helpers.set_kv_cache_budget(model, args)
            forward = getattr(helpers, f"qwen2_5_vl_attention_forward_{GK_MODES[method]}")
        sys.path.insert(0, self.starkv_folder)
        try:
            return self._steps(method, helpers, args, model, forward, attentions, prefills, config)
        finally:
            sys.path.remove(self.starkv_folder)

    def _steps(self, method, helpers, args, model, forward, attentions, prefills, config) -> list[list[torch.Tensor]]:
        steps = []
        for prefill in prefills:
            helpers.set_window_size(model, args)
            if method in ("guikv", "starkv"):
                helpers.set_vision_start_idx(model, list(prefill.starts), args)
                helpers.set_vision_end_idx(model, list(prefill.ends), args)
                helpers.set_alpha(model, args)
                helpers.set_temperature(model, args)
            if method == "vlcache":
                helpers.set_last_vision_indices(model, [prefill.ends[-1]], args)
            cache = RecordingCache()
            length = prefill.length
            mask = causal_mask(length)
            cache_position = torch.arange(length)
            if method == "vlcache":
                try:
                    self._vlcache_prefill(helpers, forward, attentions, prefill, cache, mask, cache_position, config)
                except RuntimeError as error:  # every layer fully sparse: 0/0 betas, NaN budgets (module docstring)
                    if not all(float(a.gammas[0]) == 1.0 for a in attentions):
                        raise
                    print(f"  vlcache: the published code fails at a step of {prefill.length} tokens ({error})")
                    steps.append(None)
                    continue
            else:
                for layer, attention in zip(prefill.layers, attentions, strict=True):
                    forward(
                        attention,
                        layer.hidden,
                        attention_mask=mask,
                        past_key_value=cache,
                        cache_position=cache_position,
                        position_embeddings=planes(layer),
                    )
            steps.append([cache.kept[i] for i in range(len(attentions))])
        return steps

    @staticmethod
    def _vlcache_prefill(helpers, forward, attentions, prefill, cache, mask, cache_position, config) -> None:
        layers = [DecoderLayer(forward, a, inputs) for a, inputs in zip(attentions, prefill.layers, strict=True)]
        tables = planes(prefill.layers[0])
        text_model = SimpleNamespace(
            config=config,
            gradient_checkpointing=False,
            training=False,
            layers=layers,
            rotary_emb=lambda hidden, position_ids: tables,
            norm=lambda x: x,
            has_sliding_layers=False,
        )
        length = prefill.length
        helpers.qwen2_5_vl_text_model_forward_VLCache(
            text_model,
            inputs_embeds=prefill.layers[0].embedding_input,  # only its shape is used: each layer norms its own
            attention_mask={"full_attention": mask},
            position_ids=torch.zeros(3, 1, length, dtype=torch.long),
            past_key_values=cache,
            use_cache=True,
            cache_position=cache_position,
        )


def planes(layer: LayerInputs) -> tuple[torch.Tensor, torch.Tensor]:
    """The recomposed rotary tables as the three M-RoPE planes the published rotary code splits (all equal)."""
    return layer.cos.expand(3, *layer.cos.shape[1:])[:, None], layer.sin.expand(3, *layer.sin.shape[1:])[:, None]


# -- 1. the tiny model on the bundled trajectory ---------------------------------------------------------------
