"""Logical positions and image spans per model family: M-RoPE (Qwen2.5-VL) or plain 1-D RoPE (OpenCUA).

The session never lets transformers derive positions from the cache length: after pruning that length is
wrong. It asks the family's layout instead, always starting from its own logical ``next_position``:

- ``MRopeLayout``: ``(3, 1, q)`` ids from ``get_rope_index`` (an image advances the position by its largest
  grid side, not its token count), offset by the next position; the next position is ``max + 1``.
- ``OneDLayout``: ``(1, q)`` ids ``next .. next + q - 1``; every token advances the position by one, so the next
  position is the logical token count, whatever has been evicted.

Image spans come from the expanded prompt itself: each image is one run of placeholder tokens (the processor
expands a placeholder to its merged-patch count between the media begin/end tokens), so a span is
``[first placeholder, media end)`` in logical coordinates. The span formula published with GUI-KV / STaR-KV for
OpenCUA (``published_opencua_spans``) adds up gaps from the previous image's end instead: the second image starts
on its own ``<|media_begin|>`` (one early) and drops its last visual token, and since each start builds on the
previous early end, image ``i`` lands ``i`` tokens early. It is kept here only so a test can show the difference.
"""

from __future__ import annotations

from typing import Any, Protocol

import torch

from guiagent import compat
from guiagent.errors import SessionError

QWEN_IMAGE_PLACEHOLDER = "<|vision_start|><|image_pad|><|vision_end|>"


class PositionLayout(Protocol):
    """How a family numbers the tokens of a turn."""

    name: str

    def turn_positions(self, model: Any, inputs: Any, start: int) -> torch.Tensor:
        """Position ids of a processed turn (``input_ids`` and, with images, their grid) from ``start`` on."""

    def text_positions(self, start: int, length: int, device: Any) -> torch.Tensor:
        """Position ids of ``length`` text tokens from ``start`` on."""


class MRopeLayout:
    """Qwen2.5-VL's multimodal RoPE: temporal, height and width rows."""

    name = "mrope"

    def turn_positions(self, model: Any, inputs: Any, start: int) -> torch.Tensor:
        grid = inputs.get("image_grid_thw")
        input_ids = inputs["input_ids"]
        if grid is None:
            return self.text_positions(start, input_ids.shape[1], input_ids.device)
        positions = compat.rope_index(model, input_ids, inputs["mm_token_type_ids"], grid)
        return positions + start  # get_rope_index is offset-linear in its start

    def text_positions(self, start: int, length: int, device: Any) -> torch.Tensor:
        positions = torch.arange(start, start + length, device=device)
        return positions.view(1, 1, -1).expand(3, 1, -1)


class OneDLayout:
    """Plain 1-D RoPE (OpenCUA): one position per token, images included."""

    name = "1d"

    def turn_positions(self, model: Any, inputs: Any, start: int) -> torch.Tensor:
        input_ids = inputs["input_ids"]
        return self.text_positions(start, input_ids.shape[1], input_ids.device)

    def text_positions(self, start: int, length: int, device: Any) -> torch.Tensor:
        return torch.arange(start, start + length, device=device).view(1, -1)


LAYOUTS: dict[str, PositionLayout] = {"qwen2_5_vl": MRopeLayout(), "opencua": OneDLayout()}


def layout_for(family: str, spec: str = "") -> PositionLayout:
    """The position layout of ``family``, or a clear refusal (cheap: call it before loading weights)."""
    layout = LAYOUTS.get(family)
    if layout is None:
        raise SessionError(
            f"KVSession has no position layout for '{spec or family}' ({family}).",
            f"Use a checkpoint of a supported family: {', '.join(sorted(LAYOUTS))}.",
        )
    return layout


def image_placeholder(processor: Any) -> str:
    """The text a turn puts per image (the processor says; Qwen2.5-VL's by default)."""
    return getattr(processor, "image_placeholder", None) or QWEN_IMAGE_PLACEHOLDER


def image_runs(ids: torch.Tensor, image_pad: int) -> list[tuple[int, int]]:
    """``[start, end)`` of every run of placeholder tokens in a 1-D id tensor, in order (one run per image)."""
    is_image = (ids == image_pad).cpu().int()
    edges = torch.diff(is_image, prepend=torch.zeros(1, dtype=torch.int), append=torch.zeros(1, dtype=torch.int))
    starts, ends = (edges == 1).nonzero().flatten().tolist(), (edges == -1).nonzero().flatten().tolist()
    return list(zip(starts, ends, strict=True))


def published_opencua_spans(
    ids: list[int], media_begin: int, media_end: int, tokens_per_image: list[int]
) -> list[tuple[int, int]]:
    """The published OpenCUA span formula (GUI-KV / STaR-KV ``analyze_vision_tokens_opencua_multi_images``).

    Image 0 starts one after its ``<|media_begin|>``; image i > 0 starts at ``prev_end + gap + 1`` where the gap
    counts the tokens strictly between the previous ``<|media_end|>`` and this ``<|media_begin|>``. In the
    expanded prompt ``prev_end`` is the previous ``<|media_end|>`` itself, so the start lands on this image's
    ``<|media_begin|>`` (one early) and the span misses its last visual token; the next image builds on that early
    end and lands two early, and so on. With one unexpanded placeholder per image (as GUI-KV feeds it) the result is
    the same. Reference only: not used.
    """
    begins = [i for i, token in enumerate(ids) if token == media_begin]
    ends = [i for i, token in enumerate(ids) if token == media_end]
    spans: list[tuple[int, int]] = []
    for index, count in enumerate(tokens_per_image):
        if index == 0:
            start = begins[0] + 1
        else:
            start = spans[-1][1] + (begins[index] - ends[index - 1] - 1) + 1
        spans.append((start, start + count))
    return spans
