"""Kept maps: per-token shares of (layers x cache heads) on each screenshot's token grid."""

from __future__ import annotations

import base64
from dataclasses import dataclass

import torch

from guiagent import KVSession
from guiagent.compression.kept_map import encode, kept_maps
from guiagent.compression.presses.base import ImageSpan

IMAGE = "<|vision_start|><|image_pad|><|vision_end|>"


@dataclass
class FakeSession:
    """What ``kept_maps`` reads of a session: spans, merge size, layers and each layer's slots."""

    spans: list[ImageSpan]
    layers: list[torch.Tensor]
    merge_size: int = 2

    @property
    def num_layers(self) -> int:
        return len(self.layers)

    def slots(self, layer: int) -> torch.Tensor:
        return self.layers[layer]


def test_pruning_a_known_set_gives_the_expected_shares():
    # text 0-2, a 2 x 3 token screenshot at 3-8 (patch grid 4 x 6, merge 2), text 9-10, a 1 x 2 one at 11-12, text 13
    spans = [ImageSpan(0, 0, 3, 9, (1, 4, 6)), ImageSpan(1, 1, 11, 13, (1, 2, 4))]
    layers = [  # per layer: each cache head's kept logical tokens, ascending, the same count in every head
        torch.tensor([[0, 1, 2, 3, 4, 9, 10, 12], [3, 4, 5, 6, 7, 8, 11, 13]]),
        torch.tensor([[0, 1, 2, 4, 9, 10, 11, 13], [2, 4, 5, 9, 10, 11, 12, 13]]),
    ]
    maps = kept_maps(FakeSession(spans, layers))
    assert [(m.index, m.turn, m.rows, m.cols) for m in maps] == [(0, 0, 2, 3), (1, 1, 1, 2)]
    # of the 4 (layer, head) pairs, token 3 is held by 2, token 4 by all, tokens 6-8 by layer 0's second head only
    assert torch.allclose(maps[0].share, torch.tensor([[0.5, 1.0, 0.5], [0.25, 0.25, 0.25]]))
    assert torch.allclose(maps[1].share, torch.tensor([[0.75, 0.5]]))


def test_encode_is_one_byte_per_token_in_raster_order():
    raw = base64.b64decode(encode(torch.tensor([[0.0, 0.5], [1.0, 0.25]])))
    assert list(raw) == [0, 128, 255, 64]


def test_maps_agree_with_the_session_stats(tiny, screenshots):
    with KVSession(tiny, method="starkv", budget=30) as session:
        for step in range(3):
            session.append(
                f"<|im_start|>user\n{IMAGE}Step {step}<|im_end|>\n<|im_start|>assistant\n", [screenshots[step]]
            )
            session.generate(max_new_tokens=2)
        maps, images = kept_maps(session), session.stats.images
        assert len(maps) == len(images) == 3
        for kept, image in zip(maps, images, strict=True):
            assert kept.rows * kept.cols == image.tokens
            assert abs(float(kept.share.mean()) - image.kept_fraction) < 1e-5
        assert float(maps[0].share.mean()) < 1.0  # the budget pruned the oldest screenshot
