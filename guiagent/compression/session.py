"""KVSession: one KV cache for a whole multi-step GUI run.

Each step appends only its new tokens (a screenshot turn, the model's answer) to the cache, at the right
logical positions, and a press may then prune the cache back to budget. The published methods re-prefill the
whole history at every step instead; ``prefill_messages`` does that, for parity replays.

Bookkeeping that survives pruning (transformers derives positions from the cache length, which is wrong once
tokens are gone):

- ``next_position``: the next logical position (max position so far + 1): with M-RoPE not a token count, with
  1-D RoPE (OpenCUA) the logical token count, never the physical length (``positions.py`` has both layouts);
- ``slots(layer)``: for each KV head, the logical token index of every physical cache entry;
- image spans in logical coordinates, and per layer and head in physical coordinates (``image_spans``).

Every forward passes explicit position ids (``(3, 1, q)`` or ``(1, q)``) and no 2-D mask; the per-layer-length
attention of ``attention.py`` builds each layer's causal mask from its own key length.

A model split across devices (``load_model(..., device_map="auto")``) keeps each layer's cache on that layer's
device; the session keeps each layer's bookkeeping there too, and sends inputs to ``loaded.device``.

>>> from guiagent import KVSession, load_model
>>> session = KVSession(load_model("tiny"))
>>> logits = session.append(text="<|im_start|>user\\nhello<|im_end|>\\n<|im_start|>assistant\\n")
>>> answer = session.generate(max_new_tokens=4)
>>> session.stats.logical_tokens > 0
True
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

import torch
from PIL import Image

from guiagent import compat
from guiagent.compression.attention import restore_attention, use_per_layer_attention
from guiagent.compression.budget import Budget
from guiagent.compression.chat import message_images, render
from guiagent.compression.context import expired_screenshots, find_tokens, instruction_variants, without_screenshots
from guiagent.compression.positions import image_placeholder, image_runs, layout_for
from guiagent.compression.presses import get_press
from guiagent.compression.presses.base import ImageSpan, LayerView, Press, rotated
from guiagent.compression.stats import CacheStats, ImageStats
from guiagent.errors import SessionError

CACHE_HEADS = ("kv", "query")


@dataclass(frozen=True)
class SessionSnapshot:
    """What ``KVSession.restore`` needs to put a session back where it was."""

    layers: list[tuple[torch.Tensor, torch.Tensor] | None]
    kept: list[torch.Tensor]
    tail_from: int
    token_ids: torch.Tensor
    next_position: int
    turns: int
    spans: tuple[ImageSpan, ...]
    logits: torch.Tensor | None
    expired: tuple[int, int] = (0, 0)  # screenshots beyond the history limit, and their tokens
    instruction: tuple[tuple[int, int] | None, tuple[torch.Tensor | None, ...]] = (None, ())


class KVSession:
    """A rolling, prunable KV cache over a loaded Qwen2.5-VL or OpenCUA model.

    Parameters
    ----------
    loaded : LoadedModel
        From ``guiagent.load_model``.
    method : str, Press or None
        The compression method run after every prefill: a registered name (``starkv``, ``guikv``, ``snapkv``,
        ``pyramidkv``, ``vlcache``, ``full`` or one of ``register_press``) or a configured press; None keeps the
        full cache. ``set_method`` changes it.
    budget : Budget, str or number
        ``100`` (percent of logical tokens), ``"4096t"`` (tokens per layer) or ``"512MiB"``; see ``Budget``.
    heads : "kv" or "query"
        How the cache is laid out. ``kv`` (default) holds the model's KV heads: the budget is real memory and a
        press selects per KV head. ``query`` holds keys and values repeated to every query head, as the
        published harnesses cache them, so a press selects per query head (the papers' protocol); it costs
        ``num_heads / num_kv_heads`` times the memory at the same token count, and ``stats`` says so.
    history_images : int or None
        Keep at most this many screenshots (the papers: 5); older ones are dropped before a new one is prefilled
        and percent budgets count only what is left (``context.py``). None keeps every screenshot.
    """

    def __init__(
        self,
        loaded: Any,
        method: Press | str | None = None,
        budget: Budget | str | float = 100,
        *,
        heads: str = "kv",
        history_images: int | None = None,
    ) -> None:
        if heads not in CACHE_HEADS:
            raise SessionError(
                f"The cache layout must be 'kv' or 'query', not {heads!r}.", "Pass heads='kv' or 'query'."
            )
        self.layout = layout_for(loaded.family, loaded.spec)
        compat.check_assumptions()  # an untested transformers: one sentence here, not a KeyError in a hook
        self.heads = heads
        self.history_images = self._checked_history(history_images)
        self.cache_heads = loaded.num_kv_heads if heads == "kv" else loaded.num_heads
        self.loaded = loaded
        self.model = loaded.model
        self._press = get_press(method) if isinstance(method, str) else method
        self.budget = Budget.parse(budget)
        self._previous_attention = use_per_layer_attention(self.model)
        self._devices = [loaded.layer_device(i) for i in range(loaded.num_layers)]
        self._cuda_devices = sorted({d for d in (loaded.device, *self._devices) if d.type == "cuda"}, key=str)
        self.last_timings: dict[str, float] = {}
        self._observe_s = 0.0
        self.reset()

    # -- lifecycle -----------------------------------------------------------------------------------------
    def reset(self, *, press: bool = True) -> None:
        """Empty the cache and forget all positions and spans.

        ``press=True`` (a new trajectory) also resets the press's cross-step state; ``press=False`` keeps it,
        as a re-prefilling harness does between the steps of one trajectory.
        """
        self.cache = compat.new_cache(self.loaded.text_config)
        self.next_position = 0
        self.turns = 0
        self.spans: list[ImageSpan] = []
        self._token_ids = torch.empty(0, dtype=torch.long)
        self._kept: list[torch.Tensor] = [self._empty_slots(i) for i in range(self.loaded.num_layers)]
        self._tail_from = 0  # logical tokens >= this are held by every layer and head
        self._logits: torch.Tensor | None = None
        self.last_tokens: list[int] = []
        self.last_stop_reason = ""
        self._expired_images, self._expired_tokens = 0, 0
        self._embeddings: torch.Tensor | None = None  # the prefill's input embeddings, while a press observes
        self._instruction: tuple[int, int] | None = None  # logical span of the task instruction, once seen
        self._instruction_queries: list[torch.Tensor | None] = [None] * self.loaded.num_layers
        self._before_generation: tuple[int, int, torch.Tensor | None] | None = None
        if press and self._press is not None:
            self._press.reset()

    def close(self) -> None:
        """Give the model its original attention implementation back."""
        restore_attention(self.model, self._previous_attention)

    def __enter__(self) -> KVSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def set_budget(self, budget: Budget | str | float) -> None:
        """Change the budget; it applies at the next compression (the next ``append``)."""
        self.budget = Budget.parse(budget)

    def set_history_images(self, limit: int | None) -> None:
        """Change the history limit; it applies when the next screenshot arrives."""
        self.history_images = self._checked_history(limit)

    @staticmethod
    def _checked_history(limit: int | None) -> int | None:
        if limit is not None and limit < 1:
            raise SessionError(f"The history limit must be at least 1 screenshot, not {limit}.", "Pass 1 or more.")
        return limit

    def set_method(self, method: Press | str | None) -> None:
        """Compress with ``method`` from the next ``append`` on: a registered name (a fresh press with its
        defaults), a configured press, or None (``full``) to keep everything."""
        self._press = get_press(method) if isinstance(method, str) else method

    @property
    def press(self) -> Press | None:
        """The press run after every prefill (None: the full cache); ``set_method`` changes it."""
        return self._press

    # -- state ---------------------------------------------------------------------------------------------
    @property
    def logical_tokens(self) -> int:
        return int(self._token_ids.numel())

    @property
    def context_tokens(self) -> int:
        """Tokens a percent budget is a percentage of: every token so far but the screenshots beyond the limit."""
        return self.logical_tokens - self._expired_tokens

    @property
    def expired_images(self) -> int:
        """Screenshots dropped by the history limit (always the oldest)."""
        return self._expired_images

    def instruction_queries(self, layer: int) -> torch.Tensor | None:
        """The task instruction's post-RoPE queries in ``layer`` ([1, num_heads, n, head_dim]), once prefilled
        through ``append(..., instruction=...)``; None otherwise."""
        return self._instruction_queries[layer]

    @property
    def num_layers(self) -> int:
        return self.loaded.num_layers

    @property
    def merge_size(self) -> int:
        """Vision patches merged into one token along each side of a screenshot."""
        return self.loaded.image.merge_size

    @property
    def token_ids(self) -> torch.Tensor:
        """Every token appended so far, in logical order (CPU, [N])."""
        return self._token_ids

    @property
    def logits(self) -> torch.Tensor | None:
        """Next-token logits after the last call ([vocab], float32), or None before any input."""
        return self._logits

    def _empty_slots(self, layer: int) -> torch.Tensor:
        return torch.empty(self.cache_heads, 0, dtype=torch.long, device=self._devices[layer])

    def physical_length(self, layer: int) -> int:
        return self._kept[layer].shape[1] + self.logical_tokens - self._tail_from

    def slots(self, layer: int) -> torch.Tensor:
        """Logical token index of each physical cache entry of ``layer``: [cache heads, S], ascending per head."""
        kept = self._kept[layer]
        tail = torch.arange(self._tail_from, self.logical_tokens, device=kept.device)
        return torch.cat([kept, tail.expand(kept.shape[0], -1)], dim=1)

    def image_spans(self, layer: int) -> torch.Tensor:
        """Physical spans of every image in ``layer``: [num_images, num_kv_heads, 2] as (start, end) per head.

        Kept entries stay in logical order, so an image's surviving tokens are contiguous in every head.
        """
        slots = self.slots(layer)
        if not self.spans:
            return torch.empty(0, slots.shape[0], 2, dtype=torch.long, device=slots.device)
        bounds = torch.tensor([[s.start, s.end] for s in self.spans], device=slots.device).view(1, -1)
        physical = torch.searchsorted(slots, bounds.expand(slots.shape[0], -1).contiguous())
        return physical.view(slots.shape[0], -1, 2).transpose(0, 1)

    def budget_tokens(self) -> int:
        """Tokens each layer may keep under the budget now (percent of ``context_tokens``, or the cap)."""
        return self.budget.tokens_per_layer(self.context_tokens, self.bytes_per_token())

    def slot_images(self, layer: int) -> torch.Tensor:
        """Index of the screenshot each cache entry of ``layer`` belongs to (-1 for text): [num_kv_heads, S]."""
        slots = self.slots(layer)
        table = torch.full((self.logical_tokens,), -1, dtype=torch.long, device=slots.device)
        for span in self.spans:
            table[span.start : span.end] = span.index
        return table[slots]

    def bytes_per_token(self) -> int:
        """K+V bytes one token takes in this cache, summed over all layers (its heads, the cache dtype)."""
        return self._bytes_per_token(self.cache_heads)

    def _bytes_per_token(self, heads: int) -> int:
        itemsize = torch.empty(0, dtype=self.loaded.dtype).element_size()
        return 2 * self.loaded.num_layers * heads * self.loaded.head_dim * itemsize

    @property
    def stats(self) -> CacheStats:
        held = sum(t.numel() * t.element_size() for pair in self._held_layers() if pair is not None for t in pair)
        lengths = tuple(self.physical_length(i) for i in range(self.loaded.num_layers))
        kept = [
            (spans[..., 1] - spans[..., 0]).float().mean(dim=1).tolist()
            for spans in (self.image_spans(i) for i in range(self.loaded.num_layers))
        ]
        images = tuple(
            ImageStats(
                index=s.index,
                turn=s.turn,
                logical_start=s.start,
                logical_end=s.end,
                kept_per_layer=tuple(layer_kept[s.index] for layer_kept in kept),
            )
            for s in self.spans
        )
        return CacheStats(
            logical_tokens=self.logical_tokens,
            next_position=self.next_position,
            physical_tokens_per_layer=lengths,
            bytes_held=held,
            # the context uncompressed, in the model's GQA layout: what the press saved, not what the history limit did
            bytes_full=self.context_tokens * self._bytes_per_token(self.loaded.num_kv_heads),
            images=images,
            budget=str(self.budget),
            method=self._press.name if self._press is not None else "full",
            context_tokens=self.context_tokens,
        )

    # -- feeding the model ---------------------------------------------------------------------------------
    @torch.inference_mode()
    def append(
        self, text: str, images: list[Image.Image] | None = None, *, instruction: str | None = None
    ) -> torch.Tensor:
        """Prefill one turn (text with one ``processor.image_placeholder`` per image; Qwen2.5-VL's is
        ``<|vision_start|><|image_pad|><|vision_end|>``).

        Only the new tokens are computed; they get the logical positions they would have in the full
        conversation. Screenshots beyond the history limit are dropped first; the press (if any) then
        compresses the cache to the budget. ``instruction``: the task instruction's text in this turn, whose
        queries the session keeps for presses that score with them. Returns the next-token logits ([vocab]).
        """
        images = list(images or [])
        placeholder = image_placeholder(self.loaded.processor)
        placeholders = text.count(placeholder)
        if placeholders != len(images):
            raise SessionError(
                f"The turn has {placeholders} image placeholder(s) but {len(images)} image(s).",
                f"Put one {placeholder} in the text per image.",
            )
        if not text:
            raise SessionError("append() got an empty turn.", "Pass the text of the turn to prefill.")
        inputs = self.loaded.processor(text=[text], images=images or None, return_tensors="pt")
        inputs = inputs.to(self.loaded.device)
        input_ids = inputs["input_ids"]
        grid = inputs.get("image_grid_thw")
        positions = self.layout.turn_positions(self.model, inputs, self.next_position)
        self._expire_screenshots(len(images))
        if instruction:
            found = find_tokens(input_ids[0], instruction_variants(self.loaded.processor.tokenizer, instruction))
            if found is not None:
                self._instruction = (self.logical_tokens + found[0], self.logical_tokens + found[1])
        self._observe_s = 0.0
        self._before_generation = None
        start = self._clock()
        self._run(
            input_ids, positions, grid, observe=True, pixel_values=inputs.get("pixel_values"), image_grid_thw=grid
        )
        prefill_s = self._clock() - start
        start = self._clock()
        self.compress()
        # prefill_s includes observe_s (the press scoring inside the forward); compress_s is select + keep
        self.last_timings = {"prefill_s": prefill_s, "observe_s": self._observe_s, "compress_s": self._clock() - start}
        self.turns += 1
        return self._logits

    @torch.inference_mode()
    def feed(self, token_ids: list[int] | torch.Tensor) -> torch.Tensor:
        """Append text tokens (decoded output) without compressing; return the next-token logits."""
        ids = torch.as_tensor(token_ids, dtype=torch.long, device=self.loaded.device).view(1, -1)
        return self._run(ids, self._text_positions(ids.shape[1]), None, observe=False)

    @torch.inference_mode()
    def generate(
        self,
        max_new_tokens: int = 256,
        stop: str | list[str] | None = None,
        *,
        do_sample: bool = False,
        temperature: float = 1.0,
        top_p: float = 1.0,
        seed: int | None = None,
        cancel: threading.Event | None = None,
    ) -> str:
        """Decode from the current logits; every generated token (the stop token too) enters the cache.

        Stops at an end-of-turn token, at the first ``stop`` string (excluded from the returned text), after
        ``max_new_tokens``, or as soon as ``cancel`` is set (checked per token). Greedy unless ``do_sample``.
        ``last_stop_reason`` says which; ``rewind_generation()`` takes the answer back out of the cache.
        """
        if self._logits is None:
            raise SessionError("generate() has nothing to continue from.", "Call append() with a turn first.")
        self._before_generation = (self.logical_tokens, self.next_position, self._logits)
        stops = [stop] if isinstance(stop, str) else list(stop or [])
        generator = torch.Generator(device="cpu").manual_seed(seed) if seed is not None else None
        tokenizer = self.loaded.processor.tokenizer
        generated: list[int] = []
        self.last_tokens = generated
        self.last_stop_reason = "length"
        start = self._clock()
        text = None
        for _ in range(max_new_tokens):
            if cancel is not None and cancel.is_set():
                self.last_stop_reason = "cancelled"
                break
            token = self._pick(self._logits, do_sample, temperature, top_p, generator)
            generated.append(token)
            self.feed([token])
            if token in self.loaded.tokens.eos:
                self.last_stop_reason = "eos"
                break
            if stops:
                decoded = tokenizer.decode(generated, skip_special_tokens=True)
                hits = [decoded.index(s) for s in stops if s in decoded]
                if hits:
                    self.last_stop_reason, text = "stop", decoded[: min(hits)]
                    break
        self.last_timings["decode_s"] = self._clock() - start
        return text if text is not None else tokenizer.decode(generated, skip_special_tokens=True)

    @torch.inference_mode()
    def rewind_generation(self) -> None:
        """Take the last ``generate()`` answer back out of the cache (to retry an unparsable response).

        Generated tokens are never compressed before the next append, so they are still the tail of every
        layer and can simply be cut off.
        """
        if self._before_generation is None:
            raise SessionError("rewind_generation() has no answer to take back.", "Call it right after generate().")
        tokens, next_position, logits = self._before_generation
        lengths = [self.physical_length(i) - (self.logical_tokens - tokens) for i in range(self.loaded.num_layers)]
        self._rollback(tokens, next_position, len(self.spans), lengths)
        self._logits = logits
        self._before_generation = None

    def prefill_messages(
        self, messages: list[dict[str, Any]], add_generation_prompt: bool = True, *, instruction: str | None = None
    ) -> torch.Tensor:
        """Re-prefill a whole conversation from an empty cache (what the published harnesses do every step).

        The press keeps its cross-step state (STaR-KV's EMAs), as in the published per-trajectory runs.
        """
        self.reset(press=False)
        text = render(self.loaded.processor, messages, add_generation_prompt=add_generation_prompt)
        return self.append(text, message_images(messages), instruction=instruction)

    # -- snapshots -----------------------------------------------------------------------------------------
    def snapshot(self) -> SessionSnapshot:
        """A copy of the cache and its bookkeeping, to branch one history into several runs."""
        layers = [None if pair is None else (pair[0].clone(), pair[1].clone()) for pair in self._held_layers()]
        return SessionSnapshot(
            layers=layers,
            kept=[k.clone() for k in self._kept],
            tail_from=self._tail_from,
            token_ids=self._token_ids.clone(),
            next_position=self.next_position,
            turns=self.turns,
            spans=tuple(self.spans),
            logits=self._logits,
            expired=(self._expired_images, self._expired_tokens),
            instruction=(self._instruction, tuple(self._instruction_queries)),
        )

    def restore(self, snapshot: SessionSnapshot) -> None:
        """Go back to ``snapshot`` (reusable); the press starts afresh, as for a new trajectory."""
        self.reset()
        for index, pair in enumerate(snapshot.layers):
            if pair is not None:
                self.cache.update(pair[0].clone(), pair[1].clone(), index)
        self._kept = [k.clone() for k in snapshot.kept]
        self._tail_from = snapshot.tail_from
        self._token_ids = snapshot.token_ids.clone()
        self.next_position, self.turns = snapshot.next_position, snapshot.turns
        self.spans = list(snapshot.spans)
        self._logits = snapshot.logits
        self._expired_images, self._expired_tokens = snapshot.expired
        self._instruction = snapshot.instruction[0]
        self._instruction_queries = list(snapshot.instruction[1]) or [None] * self.loaded.num_layers

    # -- pruning -------------------------------------------------------------------------------------------
    @torch.inference_mode()
    def compress(self) -> None:
        """Run the press's selection on the current cache (done by ``append``; callable after set_budget)."""
        if self._press is None:
            return
        selection = self._press.select(self)
        if selection is not None:
            self.keep(selection)

    @torch.inference_mode()
    def keep(self, indices_per_layer: list[torch.Tensor | None] | tuple[torch.Tensor | None, ...]) -> None:
        """Prune every layer to a selection of its physical cache entries.

        Parameters
        ----------
        indices_per_layer
            One entry per layer: ``[K]`` (the same entries for every KV head), ``[num_kv_heads, K]`` (per
            head, the same count in every head) or None (keep the layer whole). Counts may differ between
            layers. Order does not matter.
        """
        if len(indices_per_layer) != self.loaded.num_layers:
            raise SessionError(
                f"keep() got {len(indices_per_layer)} index sets for {self.loaded.num_layers} layers.",
                "Pass one index tensor per layer.",
            )
        heads = self.cache_heads
        self._before_generation = None  # an answer that was pruned can no longer be cut off cleanly
        for layer_idx, indices in enumerate(indices_per_layer):
            if indices is None:  # keep the whole layer: no copy
                self._kept[layer_idx] = self.slots(layer_idx)
                continue
            indices = self._checked_indices(layer_idx, indices, heads)
            keys, values = compat.layer_keys_values(self.cache, layer_idx)
            gather = indices[None, :, :, None].expand(1, heads, indices.shape[1], keys.shape[-1])
            compat.set_layer_keys_values(self.cache, layer_idx, keys.gather(2, gather), values.gather(2, gather))
            self._kept[layer_idx] = self.slots(layer_idx).gather(1, indices)
        self._tail_from = self.logical_tokens  # the old tail is now part of every layer's kept set

    def _checked_indices(self, layer_idx: int, indices: torch.Tensor, heads: int) -> torch.Tensor:
        indices = torch.as_tensor(indices, device=self._devices[layer_idx])
        if indices.dtype not in (torch.int64, torch.int32):
            raise SessionError(f"keep(): layer {layer_idx} indices are {indices.dtype}, not integers.")
        indices = indices.long().reshape(-1, indices.shape[-1]) if indices.dim() > 1 else indices[None]
        if indices.shape[0] == 1:
            indices = indices.expand(heads, -1)
        if indices.shape[0] != heads:
            raise SessionError(
                f"keep(): layer {layer_idx} has {indices.shape[0]} index rows for {heads} KV heads.",
                "Pass [K] for all heads or [cache heads, K].",
            )
        length = self.physical_length(layer_idx)
        if indices.numel() and (indices.min() < 0 or indices.max() >= length):
            raise SessionError(f"keep(): layer {layer_idx} indices must lie in [0, {length}).")
        indices = indices.sort(dim=1).values
        if indices.shape[1] > 1 and (indices[:, 1:] == indices[:, :-1]).any():
            raise SessionError(f"keep(): layer {layer_idx} selects an entry twice.")
        return indices

    # -- internals -----------------------------------------------------------------------------------------
    def _expire_screenshots(self, incoming: int) -> None:
        """Apply the history limit before a turn with ``incoming`` screenshots (``context.py``)."""
        expired = expired_screenshots(self.spans, self._expired_images, incoming, self.history_images)
        if expired == self._expired_images:
            return
        leaving = self.spans[self._expired_images : expired]
        self._expired_images = expired
        self._expired_tokens += sum(span.end - span.start for span in leaving)
        selection = [without_screenshots(self.slots(i), leaving) for i in range(self.loaded.num_layers)]
        if any(keep is not None for keep in selection):
            self.keep(selection)

    def _run(
        self, ids: torch.Tensor, positions: torch.Tensor, grid: torch.Tensor | None, observe: bool, **inputs: Any
    ) -> torch.Tensor:
        """Record the new tokens and run them; if the forward fails (OOM, Ctrl-C), undo both.

        Recording first lets a press see the new turn's spans during the forward.
        """
        before = (
            self.logical_tokens,
            self.next_position,
            len(self.spans),
            [self.physical_length(i) for i in range(self.loaded.num_layers)],
        )
        self._record(ids[0], positions, grid)
        use_per_layer_attention(self.model)
        try:
            with self._observing() if observe else nullcontext(), self._head_layout():
                out = self.model(
                    input_ids=ids,
                    position_ids=positions,
                    **compat.cache_kwargs(self.cache),
                    use_cache=True,
                    logits_to_keep=1,
                    **inputs,
                )
        except BaseException:
            self._rollback(*before)
            raise
        self._logits = out.logits[0, -1].float()
        return self._logits

    def _rollback(self, tokens: int, next_position: int, spans: int, lengths: list[int]) -> None:
        self._token_ids = self._token_ids[:tokens]
        self.next_position = next_position
        del self.spans[spans:]
        for index, (pair, length) in enumerate(zip(self._held_layers(), lengths, strict=True)):
            if pair is not None and pair[0].shape[2] > length:
                compat.set_layer_keys_values(self.cache, index, pair[0][:, :, :length], pair[1][:, :, :length])
        if self._press is not None:
            self._press.discard()

    def _held_layers(self) -> list[tuple[torch.Tensor, torch.Tensor] | None]:
        """Each layer's (keys, values), or None for a layer the cache has not filled yet."""
        return [compat.layer_keys_values(self.cache, i) for i in range(self.loaded.num_layers)]

    def _text_positions(self, length: int) -> torch.Tensor:
        return self.layout.text_positions(self.next_position, length, self.loaded.device)

    def _record(self, ids: torch.Tensor, positions: torch.Tensor, grid: torch.Tensor | None) -> None:
        """Log the new tokens: ids, the next position and any image spans (image tokens come in runs)."""
        runs = [] if grid is None else image_runs(ids, self.loaded.tokens.image_pad)
        if grid is not None and len(runs) != grid.shape[0]:  # checked before anything is recorded
            raise SessionError(f"The turn expanded to {len(runs)} image token run(s) for {grid.shape[0]} image(s).")
        offset = self.logical_tokens
        self._token_ids = torch.cat([self._token_ids, ids.cpu()])
        self.next_position = int(positions.max()) + 1  # 1-D RoPE: the logical token count
        if grid is None:
            return
        for (start, end), thw in zip(runs, grid.tolist(), strict=True):
            self.spans.append(
                ImageSpan(
                    index=len(self.spans), turn=self.turns, start=offset + start, end=offset + end, grid_thw=tuple(thw)
                )
            )

    @staticmethod
    def _pick(
        logits: torch.Tensor, do_sample: bool, temperature: float, top_p: float, generator: torch.Generator | None
    ) -> int:
        if not do_sample:
            return int(logits.argmax())
        probs = torch.softmax(logits.float().cpu() / max(temperature, 1e-5), dim=-1)
        if top_p < 1.0:
            sorted_probs, order = probs.sort(descending=True)
            outside = sorted_probs.cumsum(0) - sorted_probs > top_p
            probs = torch.zeros_like(probs).scatter(0, order, sorted_probs.masked_fill(outside, 0))
        return int(torch.multinomial(probs, 1, generator=generator))

    def _head_layout(self):
        """Query-head layout: the text model's key and value projections repeated to every query head."""
        if self.heads == "kv":
            return nullcontext()
        modules = [layer.self_attn for layer in self.loaded.language_model.layers]
        return compat.repeated_kv_projections(modules, self.loaded.num_heads // self.loaded.num_kv_heads)

    @contextmanager
    def _observing(self):
        """Forward hooks that show the press each layer during a prefill; removed on exit."""
        if self._press is None:
            yield
            return
        layers = self.loaded.language_model.layers
        handles = [layers[0].register_forward_pre_hook(self._remember_embeddings, with_kwargs=True)]
        handles += [layer.self_attn.register_forward_hook(self._hook, with_kwargs=True) for layer in layers]
        try:
            yield
        finally:
            for handle in handles:
                handle.remove()
            self._embeddings = None

    def _remember_embeddings(self, module: Any, args: tuple, kwargs: dict[str, Any]) -> None:
        """The first decoder layer's input: the prefill's input embeddings (image features scattered in)."""
        self._embeddings = args[0] if args else kwargs["hidden_states"]

    def _hook(self, module: Any, args: tuple, kwargs: dict[str, Any], output: Any) -> None:
        hidden_states, (cos, sin), cache = compat.hook_inputs(kwargs)
        keys, values = compat.layer_keys_values(cache, module.layer_idx)
        start = self._clock()
        self._remember_instruction(module.layer_idx, hidden_states, cos, sin, module)
        self._press.observe(
            self,
            LayerView(
                layer_idx=module.layer_idx,
                module=module,
                hidden_states=hidden_states,
                cos=cos,
                sin=sin,
                keys=keys,
                values=values,
                embeddings=self._embeddings,
                input_norm=self.loaded.language_model.layers[module.layer_idx].input_layernorm,
            ),
        )
        self._observe_s += self._clock() - start

    def _remember_instruction(self, layer: int, hidden: torch.Tensor, cos: Any, sin: Any, module: Any) -> None:
        """Keep the instruction's queries of this layer when this prefill holds the instruction."""
        first_new = self.logical_tokens - hidden.shape[1]
        if self._instruction is None or self._instruction[0] < first_new:
            return
        rows = slice(self._instruction[0] - first_new, self._instruction[1] - first_new)
        self._instruction_queries[layer] = rotated(
            module.q_proj, module.head_dim, hidden[:, rows], cos[:, rows], sin[:, rows]
        )

    def _clock(self) -> float:
        """Wall time, after every used GPU's queued work (timings must not flatter asynchronous kernels)."""
        for device in self._cuda_devices:
            torch.cuda.synchronize(device)
        return time.perf_counter()
