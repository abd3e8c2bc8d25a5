"""Assemble a Qwen2.5-VL processor from a checkpoint folder without torchvision.

``AutoProcessor.from_pretrained`` needs torchvision for Qwen2.5-VL in transformers 5.x (its video processor
imports it), and the stock processor refuses ``video_processor=None``. guiagent never feeds video, so it builds
the processor from its parts: the PIL image processor (the same pixels on every machine, with or without
torchvision), the checkpoint's tokenizer, and the checkpoint's chat template.
"""

from __future__ import annotations

import json
from pathlib import Path

from transformers import AutoTokenizer, Qwen2_5_VLProcessor, Qwen2VLImageProcessorPil

from guiagent.compat import accept_missing_processor_parts
from guiagent.compression.positions import QWEN_IMAGE_PLACEHOLDER

# ``Qwen2_5_VLProcessor`` that accepts ``video_processor=None`` (guiagent feeds images only).
GuiProcessor = accept_missing_processor_parts(Qwen2_5_VLProcessor)
# The text a turn puts per image: the session and the policies read it here, as they do from OpenCUA's processor.
GuiProcessor.image_placeholder = QWEN_IMAGE_PLACEHOLDER


def read_chat_template(folder: Path, tokenizer) -> str | None:
    """The checkpoint's chat template: processor-level file first (as the Hub's Qwen2.5-VL repos ship it)."""
    json_file = folder / "chat_template.json"
    if json_file.exists():
        return json.loads(json_file.read_text())["chat_template"]
    jinja_file = folder / "chat_template.jinja"
    if jinja_file.exists():
        return jinja_file.read_text()
    return getattr(tokenizer, "chat_template", None)


def assemble_processor(folder: Path, *, min_pixels: int | None = None, max_pixels: int | None = None) -> GuiProcessor:
    """Build the processor of a local Qwen2.5-VL checkpoint folder.

    ``min_pixels`` / ``max_pixels`` override the checkpoint's resize limits; they fix how many visual tokens
    a screenshot becomes and the grid the model's coordinates live on, so the policy reads them back from
    the processor rather than assuming them.
    """
    overrides = {}
    if min_pixels is not None:
        overrides["min_pixels"] = min_pixels
    if max_pixels is not None:
        overrides["max_pixels"] = max_pixels
    image_processor = Qwen2VLImageProcessorPil.from_pretrained(folder, **overrides)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    return GuiProcessor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        video_processor=None,
        chat_template=read_chat_template(folder, tokenizer),
    )
