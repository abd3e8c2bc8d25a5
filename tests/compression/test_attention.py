"""The per-layer-length attention wrappers."""

from __future__ import annotations

import torch

from guiagent.compat import stock_sdpa_attention as sdpa_attention_forward
from guiagent.compression.attention import _eager, _sdpa, bottom_right_causal_mask


class Module(torch.nn.Module):
    num_key_value_groups = 2
    is_causal = True


def test_bottom_right_mask():
    assert bottom_right_causal_mask(2, 4, torch.device("cpu")).tolist() == [[1, 1, 1, 0], [1, 1, 1, 1]]


def test_new_turn_on_a_longer_cache_sees_the_cache_and_itself_causally():
    torch.manual_seed(0)
    query, key, value = torch.randn(1, 4, 3, 8), torch.randn(1, 2, 7, 8), torch.randn(1, 2, 7, 8)
    mask = bottom_right_causal_mask(3, 7, torch.device("cpu"))[None, None]
    expected, _ = sdpa_attention_forward(Module(), query, key, value, mask, scaling=8**-0.5)
    for function in (_sdpa, _eager):
        got, _ = function(Module(), query, key, value, None, scaling=8**-0.5)
        assert (got - expected).abs().max() < 1e-6
    # the stock call without a mask would be top-left aligned (is_causal): a different, wrong answer
    wrong, _ = sdpa_attention_forward(Module(), query, key, value, None, scaling=8**-0.5)
    assert (wrong - expected).abs().max() > 1e-3
