"""OpenCUA's architecture from transformers' own parts: Qwen2.5-VL vision tower + Qwen2 (1-D RoPE) + lm_head.

The published checkpoint is a LLaVA-style wrapper (``vision_tower``, ``language_model`` = ``Qwen2ForCausalLM``);
here the parts sit where transformers' Qwen2.5-VL keeps them (``model.visual``, ``model.language_model``,
``lm_head``), so ``LoadedModel.language_model`` and the session find the decoder stack in the usual place.
``KEY_MAPPING`` renames the checkpoint's tensors on load; ``checkpoint_name`` is its inverse, used to write
``tiny-opencua`` with the published names.
"""

from __future__ import annotations

import re
from typing import Any

import torch
from torch import nn
from transformers import PretrainedConfig, PreTrainedModel, Qwen2Config, Qwen2Model
from transformers.modeling_outputs import CausalLMOutputWithPast
from transformers.models.qwen2_5_vl.configuration_qwen2_5_vl import Qwen2_5_VLVisionConfig
from transformers.models.qwen2_5_vl.modeling_qwen2_5_vl import Qwen2_5_VisionTransformerPretrainedModel

from guiagent.compat import CACHE_KEYWORDS, cache_keyword_of, output_cache_field

# checkpoint name (regex) -> this module's name; applied by from_pretrained(key_mapping=...)
KEY_MAPPING = {
    r"^vision_tower\.": "model.visual.",
    r"^language_model\.model\.": "model.language_model.",
    r"^language_model\.lm_head\.": "lm_head.",
}
_INVERSE = (
    ("model.visual.", "vision_tower."),
    ("model.language_model.", "language_model.model."),
    ("lm_head.", "language_model.lm_head."),
)


def checkpoint_name(name: str) -> str:
    """The published checkpoint's name of this module's parameter ``name``."""
    for ours, theirs in _INVERSE:
        if name.startswith(ours):
            return theirs + name[len(ours) :]
    raise KeyError(f"no checkpoint name for parameter '{name}'")


def module_name(name: str) -> str:
    """This module's name for the checkpoint tensor ``name`` (``KEY_MAPPING`` applied), or ``name`` if unmapped."""
    for pattern, replacement in KEY_MAPPING.items():
        if re.match(pattern, name):
            return re.sub(pattern, replacement, name, count=1)
    return name


class OpenCUAConfig(PretrainedConfig):
    """config.json of an OpenCUA checkpoint: a Qwen2 ``text_config`` and a Qwen2.5-VL ``vision_config``."""

    model_type = "opencua"
    sub_configs = {"text_config": Qwen2Config, "vision_config": Qwen2_5_VLVisionConfig}

    def __init__(
        self,
        text_config: dict | Qwen2Config | None = None,
        vision_config: dict | Qwen2_5_VLVisionConfig | None = None,
        media_placeholder_token_id: int = 151664,
        ignore_index: int = -100,
        pad_token_id: int = 0,
        **kwargs: Any,
    ) -> None:
        if not isinstance(text_config, Qwen2Config):
            text_config = Qwen2Config(**(text_config or {}))
        if not isinstance(vision_config, Qwen2_5_VLVisionConfig):
            vision_config = Qwen2_5_VLVisionConfig(**(vision_config or {}))
        self.text_config = text_config
        self.vision_config = vision_config
        self.media_placeholder_token_id = media_placeholder_token_id
        self.ignore_index = ignore_index
        # the head is tied only where the language model's own config says so (OpenCUA-7B/32B: untied)
        kwargs.setdefault("tie_word_embeddings", bool(text_config.tie_word_embeddings))
        super().__init__(pad_token_id=pad_token_id, **kwargs)


class OpenCUAPreTrainedModel(PreTrainedModel):
    config: OpenCUAConfig
    config_class = OpenCUAConfig
    base_model_prefix = "model"
    _no_split_modules = ["Qwen2DecoderLayer", "Qwen2_5_VLVisionBlock"]
    _supports_flash_attn = True
    _supports_sdpa = True
    _supports_attention_backend = True


class OpenCUAModel(OpenCUAPreTrainedModel):
    """Vision tower + decoder stack: image features replace the placeholder embeddings, positions are 1-D."""

    def __init__(self, config: OpenCUAConfig) -> None:
        super().__init__(config)
        self.visual = Qwen2_5_VisionTransformerPretrainedModel._from_config(config.vision_config)
        self.language_model = Qwen2Model._from_config(config.text_config)
        self.post_init()

    def get_input_embeddings(self) -> nn.Module:
        return self.language_model.get_input_embeddings()

    def image_features(self, pixel_values: torch.Tensor, image_grid_thw: torch.Tensor) -> torch.Tensor:
        """Merged-patch features of all images, ``[sum(t*h*w // merge**2), hidden]``."""
        output = self.visual(pixel_values.type(self.visual.dtype), grid_thw=image_grid_thw)
        return output.pooler_output if hasattr(output, "pooler_output") else output

    def forward(
        self,
        input_ids: torch.LongTensor,
        pixel_values: torch.Tensor | None = None,
        image_grid_thw: torch.LongTensor | None = None,
        position_ids: torch.LongTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        cache: Any = None,
        use_cache: bool | None = None,
        **kwargs: Any,
    ) -> Any:
        embeds = self.get_input_embeddings()(input_ids)
        if pixel_values is not None:
            features = self.image_features(pixel_values, image_grid_thw).to(embeds.device, embeds.dtype)
            mask = input_ids == self.config.media_placeholder_token_id
            if int(mask.sum()) != features.shape[0]:
                raise ValueError(f"{int(mask.sum())} image placeholder tokens but {features.shape[0]} image features")
            embeds = embeds.masked_scatter(mask.unsqueeze(-1).to(embeds.device), features)
        keyword = cache_keyword_of(type(self.language_model).forward)
        return self.language_model(
            inputs_embeds=embeds,
            position_ids=position_ids,
            attention_mask=attention_mask,
            use_cache=use_cache,
            **{keyword: cache},
            **kwargs,
        )


class OpenCUAForConditionalGeneration(OpenCUAPreTrainedModel):
    """OpenCUA with its language-model head; ``forward`` takes the cache as ``cache`` or ``past_key_values``."""

    _tied_weights_keys = {"lm_head.weight": "model.language_model.embed_tokens.weight"}

    def __init__(self, config: OpenCUAConfig) -> None:
        super().__init__(config)
        self.model = OpenCUAModel(config)
        text = config.text_config
        self.lm_head = nn.Linear(text.hidden_size, text.vocab_size, bias=False)
        self.post_init()

    def get_input_embeddings(self) -> nn.Module:
        return self.model.get_input_embeddings()

    def get_output_embeddings(self) -> nn.Module:
        return self.lm_head

    def forward(
        self,
        input_ids: torch.LongTensor,
        pixel_values: torch.Tensor | None = None,
        image_grid_thw: torch.LongTensor | None = None,
        position_ids: torch.LongTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        use_cache: bool | None = None,
        logits_to_keep: int = 0,
        **kwargs: Any,
    ) -> CausalLMOutputWithPast:
        cache = next((kwargs.pop(k) for k in CACHE_KEYWORDS if k in kwargs), None)
        for keyword in CACHE_KEYWORDS:
            kwargs.pop(keyword, None)
        kwargs.pop("mm_token_type_ids", None)  # Qwen2.5-VL's processor output; 1-D RoPE does not need it
        output = self.model(
            input_ids,
            pixel_values=pixel_values,
            image_grid_thw=image_grid_thw,
            position_ids=position_ids,
            attention_mask=attention_mask,
            cache=cache,
            use_cache=use_cache,
            **kwargs,
        )
        hidden = output.last_hidden_state
        keep = slice(-logits_to_keep, None) if logits_to_keep else slice(None)
        logits = self.lm_head(hidden[:, keep, :])
        field = output_cache_field()
        return CausalLMOutputWithPast(logits=logits, **{field: getattr(output, field, None)})
