"""reference_keep: what the published selectors keep on one fresh prefill, for fidelity tests.

This is the "reference mode" of the presses: the published behaviour exactly, on the published cache
layout (keys and values repeated to every query head; SnapKV, PyramidKV and GUI-KV choose per query head,
STaR-KV one shared set). It runs the same scoring code as the production presses, which differ only in how
they turn scores into a selection: per KV head on group-averaged scores (SnapKV, PyramidKV, GUI-KV, VL-Cache),
so that the cache holds the model's real KV heads and the budget is real memory. The parity cases
(``tests/data/parity_cases.pt``, produced by running the published code) pin both the shared scoring and
this reference selection.

>>> keep = reference_keep("snapkv", queries=q, keys=k, hidden_states=h, image_spans=[(24, 72)], budget=20,
...                       layer_idx=0, num_layers=4)  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

import torch

from guiagent.compression.presses.guikv_press import GUIKVPress, guikv_scores
from guiagent.compression.presses.pyramidkv_press import PyramidKVPress, pyramid_capacity
from guiagent.compression.presses.snapkv_press import SnapKVPress
from guiagent.compression.presses.starkv_press import StarKVPress, StarKVState
from guiagent.compression.scoring import keep_top_and_window, pool_past, window_attention, window_size

REFERENCE_METHODS = {press.name: press for press in (SnapKVPress, PyramidKVPress, GUIKVPress, StarKVPress)}


def reference_keep(
    method: str,
    queries: torch.Tensor,
    keys: torch.Tensor,
    hidden_states: torch.Tensor,
    image_spans: list[tuple[int, int]],
    budget: float,
    layer_idx: int,
    num_layers: int,
    state: dict[Any, Any] | None = None,
    **params: Any,
) -> torch.Tensor:
    """Positions the published code keeps, per query head, recent window included.

    Parameters
    ----------
    method : "snapkv" | "pyramidkv" | "guikv" | "starkv"
    queries : (1, Hq, L, D) post-RoPE queries of the whole prefill
    keys : (1, Hkv, L, D) post-RoPE keys, Hq = Hkv * groups
    hidden_states : (1, L, M) the attention layer's input
    image_spans : [(start, end), ...] one per screenshot in prompt order; the last is the current one
    budget : percent of L kept, window included (``int(L * budget / 100)``)
    state : STaR-KV only: a dict created empty per trajectory and passed to every step
    params : the method's hyperparameters; anything not given takes the published default

    Returns
    -------
    (1, Hq, K) LongTensor, positions sorted ascending
    """
    if method not in REFERENCE_METHODS:
        raise ValueError(f"reference_keep knows {sorted(REFERENCE_METHODS)}, not {method!r}")
    press = REFERENCE_METHODS[method](**params)
    q_heads, kv_heads, length = queries.shape[1], keys.shape[1], keys.shape[2]
    limit = int(length * budget / 100)
    layer_state = None
    if method == "starkv":
        layer_state = (state if state is not None else {}).setdefault(layer_idx, StarKVState())
        if press.temporal:
            layer_state.temporal_step += 1
    everything = torch.arange(length, device=keys.device).expand(1, q_heads, -1)
    if length < limit:
        return everything
    window = window_size(limit, press.window)
    probs = window_attention(queries[..., -window:, :], keys)
    past = length - window
    if method == "starkv":
        spans = [(max(0, min(s, past)), max(0, min(e, past))) for s, e in image_spans]
        spans = [(s, e) for s, e in spans if e > s]
        hidden = hidden_states[0, spans[-1][0] : spans[-1][1]] if spans else None
        scores = press.scores(probs, kv_heads, spans, hidden, layer_state, grid=None)
        keep = keep_top_and_window(scores[None], max(1, min(limit - window, past)), window)
        return keep.expand(q_heads, -1)[None]
    scores = pool_past(probs, press.kernel_size, press.pooling)[0]  # (Hq, past): per query head, as published
    if method == "guikv" and image_spans:
        repeated = keys[0].repeat_interleave(q_heads // kv_heads, dim=0)  # the published repeat_kv layout
        history = torch.zeros(q_heads, length, dtype=torch.bool, device=keys.device)
        for start, end in image_spans[:-1]:
            history[:, start:end] = True
        current = image_spans[-1]
        scores = guikv_scores(
            scores,
            repeated,
            current,
            hidden_states[0, current[0] : current[1]],
            history,
            limit / length,
            press.alpha,
            press.temperature,
            press.rank,
        )
    if method == "pyramidkv":
        capacity = pyramid_capacity(limit, window, length, layer_idx, num_layers, press.beta)
    else:
        capacity = limit - window
    return keep_top_and_window(scores, capacity, window)[None]
