"""What a loaded model is: weights, processor, token ids and image settings, shared by every loader.

Kept apart from the loaders so the tiny checkpoints and synthetic models can build a ``LoadedModel`` without
importing the loading code that, in turn, builds them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from guiagent.agent.model.placement import execution_device
from guiagent.errors import ModelLoadError


@dataclass(frozen=True)
class SpecialTokens:
    """Token ids the session needs: where images sit in a prompt and what ends an answer."""

    image_pad: int
    eos: tuple[int, ...]


@dataclass(frozen=True)
class ImageSettings:
    """How screenshots become visual tokens: the resize limits and the patch grid.

    Model coordinates live on the ``smart_resize``-d image, whose sides are multiples of ``factor``.
    """

    min_pixels: int
    max_pixels: int
    patch_size: int
    merge_size: int

    @property
    def factor(self) -> int:
        return self.patch_size * self.merge_size


@dataclass
class LoadedModel:
    """A model ready for a ``KVSession``: weights, processor, family and the facts policies depend on.

    ``device`` is where inputs go: for a model split across devices, accelerate's main device.
    """

    model: Any
    processor: Any
    family: str
    spec: str
    folder: Path
    tokens: SpecialTokens
    image: ImageSettings
    device: Any
    dtype: Any
    attn: str

    def set_pixel_limits(self, min_pixels: int, max_pixels: int) -> None:
        """Resize screenshots between these pixel counts from now on (a harness's limits, not the checkpoint's).

        Changes the processor (how many visual tokens a screenshot becomes) and ``image`` (the grid the policies
        map coordinates through) together, so they never disagree.
        """
        image_processor = self.processor.image_processor
        image_processor.size = {"shortest_edge": int(min_pixels), "longest_edge": int(max_pixels)}
        self.image = dataclasses.replace(self.image, min_pixels=int(min_pixels), max_pixels=int(max_pixels))

    @property
    def device_map(self) -> dict[str, str | int] | None:
        """accelerate's placement (module name -> GPU index, ``cpu`` or ``disk``) when split; None on one device."""
        return getattr(self.model, "hf_device_map", None)

    def layer_device(self, index: int) -> Any:
        """Where decoder layer ``index`` computes, and so where its KV cache lives (never ``meta``)."""
        if self.device_map is None:
            return self.device
        return execution_device(self.language_model.layers[index])

    @property
    def text_config(self) -> Any:
        return self.model.config.get_text_config(decoder=True)

    @property
    def language_model(self) -> Any:
        """The decoder stack whose ``layers[i].self_attn`` hold the KV heads."""
        inner = self.model.model
        return inner.language_model if hasattr(inner, "language_model") else inner

    @property
    def num_layers(self) -> int:
        return self.text_config.num_hidden_layers

    @property
    def num_heads(self) -> int:
        return self.text_config.num_attention_heads

    @property
    def num_kv_heads(self) -> int:
        return self.text_config.num_key_value_heads

    @property
    def head_dim(self) -> int:
        config = self.text_config
        return getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads


def read_special_tokens(tokenizer: Any, config: Any) -> SpecialTokens:
    def token_id(token: str) -> int:
        found = tokenizer.convert_tokens_to_ids(token)
        if found is None or found == tokenizer.unk_token_id:
            raise ModelLoadError(
                f"The tokenizer has no '{token}' token, so it is not a Qwen2.5-VL tokenizer.",
                "Load the tokenizer that belongs to the checkpoint.",
            )
        return int(found)

    im_end, image_pad = token_id("<|im_end|>"), token_id("<|image_pad|>")
    for token in ("<|vision_start|>", "<|vision_end|>", "<|im_start|>"):
        token_id(token)  # the chat template writes these: a tokenizer without them is not Qwen2.5-VL's
    eos = {im_end, *([config.eos_token_id] if isinstance(config.eos_token_id, int) else config.eos_token_id or [])}
    return SpecialTokens(image_pad=image_pad, eos=tuple(sorted(eos)))


def read_weights(model_class: Any, spec: str, folder: Path, **kwargs: Any) -> Any:
    """``model_class.from_pretrained(folder, **kwargs)`` in eval mode; an unreadable checkpoint is one sentence."""
    try:
        return model_class.from_pretrained(folder, **kwargs).eval()
    except OSError as error:
        raise ModelLoadError(
            f"Could not read the weights of '{spec}' in '{folder}': {error}",
            "Re-download the checkpoint, or check that the folder is complete.",
        ) from error
