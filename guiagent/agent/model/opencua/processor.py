"""OpenCUA's processor: the checkpoint's chat template, its tiktoken tokenizer and the PIL Qwen2-VL image processor.

A turn carries one ``<|media_placeholder|>`` per image (inside ``<|media_begin|>image<|media_content|> ...
<|media_end|>``, as the chat template writes it); the processor expands each to the image's merged-patch count
``t * h * w // merge_size**2``, the count the vision tower emits, as the published processor and vLLM do.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from transformers import BatchFeature, Qwen2VLImageProcessorPil

from guiagent.agent.model.opencua.tokenizer import OpenCUATokenizer
from guiagent.errors import ModelLoadError, SessionError

PLACEHOLDER = "<|media_placeholder|>"
MEDIA_BEGIN, MEDIA_CONTENT, MEDIA_END = "<|media_begin|>", "<|media_content|>", "<|media_end|>"
IMAGE_SETTINGS = (
    "min_pixels", "max_pixels", "patch_size", "temporal_patch_size", "merge_size", "image_mean", "image_std",
    "do_resize", "do_rescale", "rescale_factor", "do_normalize", "do_convert_rgb",
)  # fmt: skip


def read_image_processor(folder: Path, *, min_pixels: int | None, max_pixels: int | None) -> Qwen2VLImageProcessorPil:
    """The PIL Qwen2-VL image processor with the checkpoint's ``preprocessor_config.json`` settings."""
    path = folder / "preprocessor_config.json"
    if not path.exists():
        raise ModelLoadError(
            f"OpenCUA checkpoint '{folder}' has no preprocessor_config.json.", "Re-download the checkpoint."
        )
    config = json.loads(path.read_text())
    settings = {key: config[key] for key in IMAGE_SETTINGS if key in config}
    size = config.get("size") or {}
    settings.setdefault("min_pixels", size.get("shortest_edge"))
    settings.setdefault("max_pixels", size.get("longest_edge"))
    if min_pixels is not None:
        settings["min_pixels"] = min_pixels
    if max_pixels is not None:
        settings["max_pixels"] = max_pixels
    settings = {key: value for key, value in settings.items() if value is not None}
    return Qwen2VLImageProcessorPil(**settings)


def read_chat_template(folder: Path, tokenizer: OpenCUATokenizer) -> str | None:
    """The checkpoint's template: ``chat_template.jinja`` / ``.json`` if shipped, else tokenizer_config.json's."""
    if (folder / "chat_template.jinja").exists():
        return (folder / "chat_template.jinja").read_text()
    if (folder / "chat_template.json").exists():
        return json.loads((folder / "chat_template.json").read_text())["chat_template"]
    return tokenizer.chat_template


class OpenCUAProcessor:
    """Text + screenshots -> ``input_ids``, ``pixel_values``, ``image_grid_thw`` for the native OpenCUA model."""

    image_placeholder = f"{MEDIA_BEGIN}image{MEDIA_CONTENT}{PLACEHOLDER}{MEDIA_END}"
    image_token = PLACEHOLDER

    def __init__(
        self, tokenizer: OpenCUATokenizer, image_processor: Qwen2VLImageProcessorPil, chat_template: str | None
    ):
        self.tokenizer = tokenizer
        self.image_processor = image_processor
        self.chat_template = chat_template
        self.image_token_id = tokenizer.convert_tokens_to_ids(PLACEHOLDER)
        missing = [t for t in (PLACEHOLDER, MEDIA_BEGIN, MEDIA_END, "<|im_end|>") if t not in tokenizer.special_tokens]
        if missing:
            raise ModelLoadError(
                f"The OpenCUA tokenizer has no {', '.join(missing)} token(s), so it is not OpenCUA's tokenizer.",
                "Load the tokenizer files (tiktoken.model, tokenizer_config.json) that belong to the checkpoint.",
            )

    def apply_chat_template(
        self, messages: list[dict[str, Any]], tokenize: bool = False, add_generation_prompt: bool = False, **kwargs: Any
    ) -> Any:
        """Render ``messages`` with the checkpoint's own chat template (jinja, sandboxed by transformers)."""
        if self.chat_template is None:
            raise ModelLoadError("This OpenCUA checkpoint ships no chat template.", "Re-download the checkpoint.")
        from transformers.utils.chat_template_utils import render_jinja_template

        rendered, _ = render_jinja_template(
            conversations=[messages],
            chat_template=self.chat_template,
            add_generation_prompt=add_generation_prompt,
            **self._template_tokens(),
            **kwargs,
        )
        text = rendered[0]
        return self.tokenizer.encode(text) if tokenize else text

    def _template_tokens(self) -> dict[str, Any]:
        tokenizer = self.tokenizer
        return {"bos_token": tokenizer.bos_token or "", "eos_token": tokenizer.eos_token or ""}

    def __call__(
        self, text: str | list[str] | None = None, images: list[Any] | None = None, return_tensors: str | None = "pt",
        **_: Any,
    ) -> BatchFeature:  # fmt: skip
        texts = [text] if isinstance(text, str) else list(text or [])
        images = list(images or [])
        data: dict[str, Any] = {}
        counts: list[int] = []
        if images:
            pixels = self.image_processor(images=images, return_tensors="pt")
            data["pixel_values"], data["image_grid_thw"] = pixels["pixel_values"], pixels["image_grid_thw"]
            merge = self.image_processor.merge_size**2
            counts = [int(grid.prod()) // merge for grid in pixels["image_grid_thw"]]
        rows, pending = [], iter(counts)
        for row in texts:
            ids: list[int] = []
            for token in self.tokenizer.encode(row):
                if token == self.image_token_id:
                    count = next(pending, None)
                    if count is None:
                        raise SessionError(
                            f"The text has more {PLACEHOLDER} placeholders than images ({len(images)}).",
                            f"Put one {self.image_placeholder} in the text per image.",
                        )
                    ids.extend([token] * count)
                else:
                    ids.append(token)
            rows.append(ids)
        if next(pending, None) is not None:
            raise SessionError(
                f"{len(images)} image(s) but fewer {PLACEHOLDER} placeholders in the text.",
                f"Put one {self.image_placeholder} in the text per image.",
            )
        width = max((len(r) for r in rows), default=0)
        pad = self.tokenizer.pad_token_id or 0
        data["input_ids"] = [r + [pad] * (width - len(r)) for r in rows]
        data["attention_mask"] = [[1] * len(r) + [0] * (width - len(r)) for r in rows]
        if return_tensors == "pt":
            data["input_ids"] = torch.tensor(data["input_ids"], dtype=torch.long).view(len(rows), width)
            data["attention_mask"] = torch.tensor(data["attention_mask"], dtype=torch.long).view(len(rows), width)
        return BatchFeature(data, tensor_type=None)

    def batch_decode(self, *args: Any, **kwargs: Any) -> list[str]:
        return self.tokenizer.batch_decode(*args, **kwargs)

    def decode(self, *args: Any, **kwargs: Any) -> str:
        return self.tokenizer.decode(*args, **kwargs)
