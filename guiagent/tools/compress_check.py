"""``guiagent compress-check``: what each method keeps, what it holds, and what its compression costs.

Two settings, measured side by side in one run:

- ``tiny``: the offline tiny model, rolling over the bundled trajectory's screenshots (real pixels);
- ``7b-layer``: one decoder layer with UI-TARS-1.5-7B's attention shapes (28 query / 4 KV heads, head_dim 128)
  over 1080p screenshots (2,691 visual tokens each, random weights). Its cache first holds four screenshots
  uncompressed, then the fifth turn is appended and compressed (the published setting: five screenshots,
  ~13.5k tokens); a sixth turn then shows a steady rolling step, where the history is already at budget.

Compression time is the press's scoring inside the forward plus its selection and the cache gather. It is
compared with the attention block of the same layers in the same step (projections, RoPE, cache update and
the attention kernel), timed with hooks on the attention modules.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from guiagent.compression.session import KVSession

IMAGE = "<|vision_start|><|image_pad|><|vision_end|>"


def screenshot_turn(step: int, instruction: str = "Open the settings and enable dark mode.") -> str:
    opening = (
        f"<|im_start|>system\nYou are a GUI agent.<|im_end|>\n<|im_start|>user\n{instruction}\n"
        if step == 0
        else "<|im_end|>\n<|im_start|>user\n"
    )
    return f"{opening}{IMAGE}What is the next action?<|im_end|>\n<|im_start|>assistant\n"


@dataclass(frozen=True)
class CheckRow:
    setting: str
    method: str
    budget: str
    logical_tokens: int
    kept_per_layer: float
    mib_held: float
    mib_full: float
    compress_ms: float
    attention_ms: float

    @property
    def share(self) -> float:
        return self.compress_ms / self.attention_ms if self.attention_ms else 0.0


class AttentionTimer:
    """Times every attention block of a model (pre/post forward hooks), using the session's clock."""

    def __init__(self, session: KVSession) -> None:
        self.session, self.total, self._start = session, 0.0, 0.0

    def __enter__(self) -> AttentionTimer:
        layers = self.session.loaded.language_model.layers
        self._handles = [
            h
            for layer in layers
            for h in (
                layer.self_attn.register_forward_pre_hook(self._begin),
                layer.self_attn.register_forward_hook(self._end),
            )
        ]
        return self

    def __exit__(self, *exc: object) -> None:
        for handle in self._handles:
            handle.remove()

    def _begin(self, *args: Any) -> None:
        self._start = self.session._clock()

    def _end(self, *args: Any) -> None:
        self.total += self.session._clock() - self._start


def measured_append(session: KVSession, text: str, images: list[Image.Image]) -> tuple[float, float]:
    """Append a turn; return (compression seconds, attention seconds) of that step."""
    with AttentionTimer(session) as timer:
        session.append(text, images)
    return session.last_timings["observe_s"] + session.last_timings["compress_s"], timer.total


def row(setting: str, session: KVSession, method: str, cost: tuple[float, float]) -> CheckRow:
    stats = session.stats
    return CheckRow(
        setting=setting,
        method=method,
        budget=str(session.budget),
        logical_tokens=stats.logical_tokens,
        kept_per_layer=sum(stats.physical_tokens_per_layer) / len(stats.physical_tokens_per_layer),
        mib_held=stats.bytes_held / 2**20,
        mib_full=stats.bytes_full / 2**20,
        compress_ms=cost[0] * 1e3,
        attention_ms=cost[1] * 1e3,
    )


def check_tiny(loaded: Any, methods: list[str], budget: str, screenshots: list[Image.Image]) -> Iterator[CheckRow]:
    """Roll every method over the same screenshots on the tiny model; report the last step."""
    for method in methods:
        with KVSession(loaded, method=method, budget=budget) as session:
            for step, image in enumerate(screenshots):
                cost = measured_append(session, screenshot_turn(step), [image])
            yield row("tiny", session, method, cost)


def noise_screenshot(size: tuple[int, int], seed: int) -> Image.Image:
    pixels = np.random.default_rng(seed).integers(0, 256, size=(size[1], size[0], 3), dtype=np.uint8)
    return Image.fromarray(pixels, "RGB")


def check_layer(
    loaded: Any, methods: list[str], budget: str, size: tuple[int, int], screens: int = 5
) -> Iterator[CheckRow]:
    """The 7B-shaped layer: ``screens - 1`` screenshots uncompressed, then the compressed ``screens``-th turn
    (setting ``7b-layer``) and one more steady rolling turn (``7b-layer steady``)."""
    shots = [noise_screenshot(size, seed) for seed in range(screens + 1)]
    with KVSession(loaded) as session:
        for step in range(screens - 1):
            session.append(screenshot_turn(step), [shots[step]])
        history = session.snapshot()
        for method in methods:
            session.restore(history)
            session.set_method(method)
            session.set_budget(budget)
            cost = measured_append(session, screenshot_turn(screens - 1), [shots[screens - 1]])
            yield row(f"{screens}-screens", session, method, cost)
            cost = measured_append(session, screenshot_turn(screens), [shots[screens]])
            yield row("steady", session, method, cost)


def print_rows(rows: Iterator[CheckRow], echo: Callable[[str], None] = print) -> list[CheckRow]:
    header = (
        f"{'setting':<12} {'method':<10} {'budget':>7} {'logical':>8} {'kept/layer':>10} {'MiB held':>9} "
        f"{'MiB full':>9} {'held/full':>9} {'compress ms':>11} {'attention ms':>12} {'share':>7}"
    )
    echo(header)
    echo("-" * len(header))
    collected = []
    for r in rows:
        collected.append(r)
        echo(
            f"{r.setting:<12} {r.method:<10} {r.budget:>7} {r.logical_tokens:>8} {r.kept_per_layer:>10.1f} "
            f"{r.mib_held:>9.2f} {r.mib_full:>9.2f} {r.mib_held / r.mib_full:>9.3f} {r.compress_ms:>11.1f} "
            f"{r.attention_ms:>12.1f} {r.share:>7.3f}"
        )
    return collected
