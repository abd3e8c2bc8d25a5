"""Load an OpenCUA checkpoint folder natively: config, weights (renamed), tokenizer, image processor.

``from_pretrained`` is called on our own class with a config built here from config.json's data, so transformers
never resolves ``auto_map`` and never imports a file of the checkpoint; the tensors are renamed on load by
``KEY_MAPPING`` (accelerate's device maps, dtype casting and sharded safetensors work as for any model).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from guiagent.agent.model.loaded import ImageSettings, LoadedModel, SpecialTokens, read_weights
from guiagent.errors import ModelLoadError

# config.json keys that name code or the wrapper, not the architecture: never handed to the config class
_CODE_KEYS = ("auto_map", "architectures", "model_type", "transformers_version", "_name_or_path")


def is_native_opencua(config: dict[str, Any]) -> bool:
    """Whether config.json describes the OpenCUA layout this loader builds (Qwen2 text + Qwen2.5-VL vision)."""
    text, vision = config.get("text_config") or {}, config.get("vision_config") or {}
    text_ok = text.get("model_type", "qwen2") == "qwen2" and "hidden_size" in text
    vision_ok = "depth" in vision or vision.get("model_type") in ("qwen2_5_vl", "qwen2_5_vl_vision")
    return str(config.get("model_type")) == "opencua" and text_ok and vision_ok


def build_config(config: dict[str, Any], attn: str) -> Any:
    """``OpenCUAConfig`` from config.json's data, with ``attn`` for the language model and the vision tower."""
    from guiagent.agent.model.opencua.modeling import OpenCUAConfig
    from guiagent.compat import set_config_attention

    fields = {k: v for k, v in config.items() if k not in _CODE_KEYS}
    for key in ("text_config", "vision_config"):
        fields[key] = {k: v for k, v in dict(fields.get(key) or {}).items() if k not in _CODE_KEYS}
    built = OpenCUAConfig(**fields)
    for part in (built, built.text_config, built.vision_config):
        set_config_attention(part, attn)
    return built


def read_eos(folder: Path, config: dict[str, Any]) -> set[int]:
    """eos ids the checkpoint declares: generation_config.json, config.json and its text_config."""
    found: set[int] = set()
    sources = [config, config.get("text_config") or {}]
    if (folder / "generation_config.json").exists():
        sources.append(json.loads((folder / "generation_config.json").read_text()))
    for source in sources:
        value = source.get("eos_token_id")
        found.update([value] if isinstance(value, int) else [int(v) for v in value or []])
    return found


def load_opencua_native(
    spec: str,
    folder: Path,
    place: dict[str, Any],
    dtype: Any,
    attn: str,
    min_pixels: int | None,
    max_pixels: int | None,
) -> LoadedModel:
    """The published OpenCUA checkpoint (or ``tiny-opencua``) as a ``LoadedModel``, running none of its code."""
    from guiagent.agent.model.opencua.modeling import KEY_MAPPING, OpenCUAForConditionalGeneration
    from guiagent.agent.model.opencua.processor import (
        PLACEHOLDER,
        OpenCUAProcessor,
        read_chat_template,
        read_image_processor,
    )
    from guiagent.agent.model.opencua.tokenizer import load_tokenizer

    raw = json.loads((folder / "config.json").read_text())
    if not is_native_opencua(raw):
        raise ModelLoadError(
            f"'{spec}' says it is OpenCUA, but its config.json is not the Qwen2 + Qwen2.5-VL layout guiagent "
            "builds natively.",
            "Pass --trust-remote-code to run the checkpoint's own code instead, if you trust it.",
        )
    config = build_config(raw, attn)
    model = read_weights(
        OpenCUAForConditionalGeneration,
        spec,
        folder,
        config=config,
        dtype=dtype,
        attn_implementation=attn,
        key_mapping=KEY_MAPPING,
        **place,
    )
    tokenizer = load_tokenizer(folder)
    image_processor = read_image_processor(folder, min_pixels=min_pixels, max_pixels=max_pixels)
    processor = OpenCUAProcessor(tokenizer, image_processor, read_chat_template(folder, tokenizer))
    placeholder = tokenizer.convert_tokens_to_ids(PLACEHOLDER)
    if placeholder != config.media_placeholder_token_id:
        raise ModelLoadError(
            f"The tokenizer puts {PLACEHOLDER} at id {placeholder}, "
            f"config.json at {config.media_placeholder_token_id}.",
            "The tokenizer files and the config belong to different checkpoints; re-download it.",
        )
    eos = read_eos(folder, raw) | {tokenizer.convert_tokens_to_ids("<|im_end|>")}
    if tokenizer.eos_token_id is not None:
        eos.add(tokenizer.eos_token_id)
    merge = int(image_processor.merge_size)
    if merge != config.vision_config.spatial_merge_size:
        raise ModelLoadError(
            f"preprocessor_config.json merges {merge}x{merge} patches, the vision tower "
            f"{config.vision_config.spatial_merge_size}; the image token counts would not match.",
            "Re-download the checkpoint.",
        )
    return LoadedModel(
        model=model,
        processor=processor,
        family="opencua",
        spec=spec,
        folder=folder,
        tokens=SpecialTokens(image_pad=int(placeholder), eos=tuple(sorted(eos))),
        image=ImageSettings(
            min_pixels=int((image_processor.size or {}).get("shortest_edge") or image_processor.min_pixels),
            max_pixels=int((image_processor.size or {}).get("longest_edge") or image_processor.max_pixels),
            patch_size=int(image_processor.patch_size),
            merge_size=merge,
        ),
        device=None,  # set by load_model
        dtype=dtype,
        attn=attn,
    )
