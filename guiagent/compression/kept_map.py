"""Kept maps: which patches of each screenshot the compressed cache still holds, as a grid over the screen.

A press keeps tokens per layer and per cache head, so "kept" is a share: for every token of a screenshot, the
fraction of (layers x cache heads) whose cache still holds it (1.0: every head of every layer, 0.0: none). Laid
out on the screenshot's token grid (``grid_thw // merge_size``, raster order, one token per ``merge x merge``
vision patches), it shows what compression keeps of a screen; the replay report draws it as a heatmap.

For the report the shares are quantised to one byte each (``encode``: base64 of round(share * 255), row-major,
an 8-bit grayscale image of rows x cols): a 1080p screenshot is a few KiB per step, small enough for
``steps.jsonl``.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import torch


@dataclass(frozen=True)
class KeptMap:
    """One screenshot's kept shares: ``share`` is [rows, cols] float32 in [0, 1] (video frames stacked in rows)."""

    index: int  # the screenshot's span index in the session (prompt order)
    turn: int
    share: torch.Tensor

    @property
    def rows(self) -> int:
        return int(self.share.shape[0])

    @property
    def cols(self) -> int:
        return int(self.share.shape[1])


def kept_maps(session: Any) -> list[KeptMap]:
    """The kept map of every screenshot in ``session`` (a ``KVSession``), oldest first, evicted ones included.

    One ``bincount`` per layer counts how many cache heads hold each logical token; no loop over tokens.
    """
    if not session.spans:
        return []
    tokens = max(span.end for span in session.spans)
    counts = torch.zeros(tokens, dtype=torch.float32)
    heads = 0
    for layer in range(session.num_layers):
        slots = session.slots(layer)
        heads += slots.shape[0]
        flat = slots.flatten()
        flat = flat[flat < tokens]  # text after the last screenshot does not matter here
        counts += torch.bincount(flat, minlength=tokens).to("cpu", torch.float32)
    share = counts / max(heads, 1)
    merge = session.merge_size
    maps = []
    for span in session.spans:
        frames, height, width = span.grid_thw
        rows, cols = frames * (height // merge), width // merge
        grid = share[span.start : span.end]
        if grid.numel() != rows * cols:  # a layout this module does not know: say nothing rather than misdraw
            continue
        maps.append(KeptMap(index=span.index, turn=span.turn, share=grid.reshape(rows, cols).clone()))
    return maps


def encode(share: torch.Tensor) -> str:
    """A [rows, cols] share grid as base64 of one byte per token (round(share * 255), row-major)."""
    quantised = (share.clamp(0, 1) * 255).round().to(torch.uint8).flatten()
    return base64.b64encode(quantised.contiguous().numpy().tobytes()).decode("ascii")
