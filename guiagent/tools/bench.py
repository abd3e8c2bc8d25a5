"""``guiagent bench``: how step cost grows with history, rolling vs. re-prefill, per method and budget.

Every configuration replays the same synthetic GUI run: step k shows screenshot k (random pixels of a real
screen size) and the model answers. The answer kept in the history is a fixed text ``ANSWER_TEXT`` in every mode,
so all configurations hold exactly the same tokens; each step still decodes ``decode_tokens`` real tokens
(timed), which are then taken back out of the cache.

- ``rolling``: one ``KVSession`` for the run; a step appends only its screenshot turn, the press compresses.
- ``rebuild`` (the published harnesses): every step empties the cache and prefills the whole conversation
  (all screenshots re-encoded), the press compresses that prefill once.

Per step: wall time of prefill (vision encoder + decoder), compress (the press's scoring inside the forward,
its selection and the cache gather), decode; the peak memory of the step; the KV bytes held; and analytic
FLOPs (``prefill_flops``, ``decode_flops``). Peak memory: ``torch.cuda.max_memory_allocated`` on CUDA (reset
per step); on CPU the process's resident-set high-water
mark (Linux ``VmHWM``, reset per step through ``/proc/self/clear_refs``), which includes the weights.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from guiagent.extras import versions
from guiagent.tools.bench_stats import aggregate, interleaved, label, ratios, warnings

if TYPE_CHECKING:
    from guiagent.compression.settings import MethodSettings


@dataclass(frozen=True)
class Preset:
    name: str
    screen: tuple[int, int]
    steps: int
    decode_tokens: int
    methods: tuple[str, ...]
    budgets: tuple[str, ...]
    layers: int | None = None  # 7b-shaped only: decoder layers (reduced on CPU)
    repeats: int = 3  # runs of each configuration, interleaved: medians and a spread (``bench_stats``)


PRESETS = {
    # tiny decodes 4 tokens a step: each of its tokens costs a read of the 78 MB output matrix (real Qwen vocabulary
    # on a 128-wide model), which would otherwise swamp the prefill this benchmark is about
    "tiny": Preset(
        "tiny",
        (1280, 720),
        steps=10,
        decode_tokens=4,
        methods=("starkv", "guikv", "snapkv", "pyramidkv", "vlcache"),
        budgets=("20",),
    ),
    "7b-shaped": Preset(
        "7b-shaped",
        (1920, 1080),
        steps=3,
        decode_tokens=4,
        methods=("starkv", "guikv", "snapkv"),
        budgets=("20",),
        layers=1,
    ),
}
# the same run on the offline OpenCUA-layout model (1-D RoPE, its own chat template and media tokens)
PRESETS["tiny-opencua"] = replace(PRESETS["tiny"], name="tiny-opencua")
OFFLINE_MODELS = ("tiny", "tiny-opencua")  # presets that load the offline checkpoint of the same name
GPU_7B = {
    "steps": 10,
    "decode_tokens": 16,
    "layers": 28,
    "methods": ("starkv", "guikv", "snapkv", "pyramidkv", "vlcache"),
}


@dataclass
class StepCost:
    step: int
    latency_s: float
    prefill_s: float
    compress_s: float
    decode_s: float
    peak_bytes: int
    cache_bytes: int
    flops_prefill: int
    flops_per_token: int
    logical_tokens: int
    physical_tokens: int


@dataclass
class Run:
    mode: str
    method: str
    budget: str
    steps: list[StepCost] = field(default_factory=list)

    @property
    def label(self) -> str:
        return label({"mode": self.mode, "method": self.method, "budget": self.budget})


# -- analytic FLOPs --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Shape:
    """What the FLOP count needs from the decoder."""

    hidden: int
    heads: int
    kv_heads: int
    head_dim: int
    intermediate: int
    vocab: int
    layers: int

    @classmethod
    def of(cls, loaded: Any) -> Shape:
        config = loaded.text_config
        return cls(
            config.hidden_size,
            loaded.num_heads,
            loaded.num_kv_heads,
            loaded.head_dim,
            config.intermediate_size,
            config.vocab_size,
            loaded.num_layers,
        )

    def per_token_linear(self) -> int:
        """One token through one layer's projections and MLP: 2 x multiply-adds."""
        d, e = self.hidden, self.head_dim
        projections = d * self.heads * e + 2 * d * self.kv_heads * e + self.heads * e * d
        return 2 * (projections + 3 * d * self.intermediate)

    def attention(self, queries: int, past: int) -> int:
        """q new tokens over ``past`` cached keys, causal among themselves: QK^T and AV, 4*H*e per pair."""
        pairs = queries * past + queries * (queries + 1) // 2
        return 4 * self.heads * self.head_dim * pairs


def prefill_flops(shape: Shape, queries: int, past_per_layer: list[int]) -> int:
    """Decoder FLOPs of prefilling ``queries`` tokens on caches of ``past_per_layer`` (one logits row)."""
    linear = queries * shape.per_token_linear() * shape.layers
    return linear + sum(shape.attention(queries, past) for past in past_per_layer) + 2 * shape.hidden * shape.vocab


def decode_flops(shape: Shape, cache_per_layer: list[int]) -> int:
    """Decoder FLOPs of one generated token attending to the (compressed) caches, plus its logits."""
    return (
        shape.per_token_linear() * shape.layers
        + sum(shape.attention(1, past) for past in cache_per_layer)
        + 2 * shape.hidden * shape.vocab
    )


# -- memory ----------------------------------------------------------------------------------------------------
class PeakMemory:
    """The peak memory of one step (see the module doc for what is measured where)."""

    def __init__(self, device: Any) -> None:
        self.cuda = getattr(device, "type", str(device)) == "cuda"
        self.kind = "cuda max_memory_allocated" if self.cuda else "process RSS high-water mark (VmHWM)"

    def reset(self) -> None:
        if self.cuda:
            import torch

            torch.cuda.reset_peak_memory_stats()
            return
        try:
            Path("/proc/self/clear_refs").write_text("5")
        except OSError:
            self.kind = "process RSS high-water mark (not resettable here: cumulative)"

    def peak(self) -> int:
        if self.cuda:
            import torch

            return int(torch.cuda.max_memory_allocated())
        try:
            for line in Path("/proc/self/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
        except OSError:
            pass
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


# -- the runs --------------------------------------------------------------------------------------------------
def screenshots(size: tuple[int, int], count: int) -> list[Image.Image]:
    rng = np.random.default_rng(0)
    return [Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8), "RGB") for _ in range(count)]


TASK = "Open the settings and enable dark mode."
ANSWER_TEXT = "Thought: The next control is visible; I click it.\nAction: click(start_box='(100,200)')"


def run_config(
    loaded: Any,
    mode: str,
    method: str,
    budget: str,
    shots: list[Image.Image],
    decode_tokens: int,
    progress: Callable[[str], None],
    settings: MethodSettings | None = None,
) -> Run:
    from guiagent.compression.chat import screenshot_turns
    from guiagent.compression.context import RollingContext
    from guiagent.compression.session import KVSession
    from guiagent.compression.settings import MethodSettings

    run = Run(mode, method, budget)
    shape, memory = Shape.of(loaded), PeakMemory(loaded.device)
    fragments = screenshot_turns(
        loaded.processor, len(shots), system="You are a helpful assistant.", task=TASK, answer=ANSWER_TEXT
    )
    press = RollingContext(None, settings=settings or MethodSettings()).press(method)  # --config / --set applied
    with KVSession(loaded, method=press, budget=budget) as session:
        for step, _ in enumerate(shots, start=1):
            progress(f"{run.label}: step {step}/{len(shots)}")
            memory.reset()
            if mode == "rolling":
                past = [session.physical_length(i) for i in range(loaded.num_layers)]
                before = session.logical_tokens
                session.append(fragments[step - 1][0], [shots[step - 1]])
                queries = session.logical_tokens - before
            else:
                session.reset(press=False)  # the press's cross-step state lives on, as in the published runs
                past = [0] * loaded.num_layers
                text = "".join(user + answer for user, answer in fragments[: step - 1]) + fragments[step - 1][0]
                session.append(text, shots[:step])
                queries = session.logical_tokens
            timings = dict(session.last_timings)
            cache = [session.physical_length(i) for i in range(loaded.num_layers)]
            cache_bytes = session.stats.bytes_held
            start = time.perf_counter()
            session.generate(decode_tokens, stop=None)
            decode_s = time.perf_counter() - start
            peak = memory.peak()
            session.rewind_generation()
            if mode == "rolling":
                answer_ids = loaded.processor.tokenizer(fragments[step - 1][1], add_special_tokens=False)["input_ids"]
                session.feed(answer_ids)  # the history holds the fixed answer in every mode
            scoring = timings.get("observe_s", 0.0)  # the press's scoring runs inside the prefill forward
            prefill_s, compress_s = timings["prefill_s"] - scoring, timings["compress_s"] + scoring
            run.steps.append(
                StepCost(
                    step=step,
                    prefill_s=prefill_s,
                    compress_s=compress_s,
                    decode_s=decode_s,
                    latency_s=prefill_s + compress_s + decode_s,
                    peak_bytes=peak,
                    cache_bytes=cache_bytes,
                    flops_prefill=prefill_flops(shape, queries, past),
                    flops_per_token=decode_flops(shape, cache),
                    logical_tokens=session.logical_tokens,
                    physical_tokens=sum(cache),
                )
            )
    return run


def configurations(preset: Preset, methods: tuple[str, ...], budgets: tuple[str, ...]) -> list[tuple[str, str, str]]:
    """(mode, method, budget): rolling full, rolling x methods x budgets, rebuild full, rebuild + STaR-KV."""
    configs = [("rolling", "full", "100")]
    configs += [("rolling", m, b) for m in methods for b in budgets]
    configs += [("rebuild", "full", "100")]
    configs += [("rebuild", m, budgets[0]) for m in methods[:1]]  # the published setting, for the first method
    return configs


def environment(loaded: Any, preset: Preset, memory_kind: str) -> dict[str, Any]:
    import torch

    device = str(loaded.device)
    if loaded.device.type == "cuda":
        device += f" ({torch.cuda.get_device_name(loaded.device)})"
    return {
        "device": device,
        "dtype": str(loaded.dtype).removeprefix("torch."),
        "attention": loaded.attn,
        "cpu_threads": torch.get_num_threads(),
        **versions(),  # guiagent, python, torch, transformers
        "machine": platform.machine(),
        "preset": preset.name,
        "layers": loaded.num_layers,
        "screen": list(preset.screen),
        "peak_memory": memory_kind,
        "flops": "decoder only (vision encoder excluded): per token 2*(projections + 3*d*f) per layer, "
        "attention 4*H*e per query-key pair (causal within the new tokens), logits 2*d*V per "
        "logits row; per-generated-token figures count the compressed cache of each layer",
    }


def run_bench(
    preset: Preset,
    *,
    steps: int,
    decode_tokens: int,
    methods: tuple[str, ...],
    budgets: tuple[str, ...],
    layers: int | None,
    device: str,
    dtype: str,
    repeats: int | None = None,
    progress: Callable[[str], None] = lambda text: None,
    settings: MethodSettings | None = None,
) -> dict[str, Any]:
    """Run every configuration of ``preset`` ``repeats`` times (default the preset's), round-robin; returns the
    JSON report: ``env``, ``config``, ``order`` (the runs as they ran), ``runs`` (medians, spreads, repeats),
    ``ratios`` (of medians) and ``warnings`` (spreads too large to trust). ``settings``: the methods' settings
    over their presses' defaults; ``config.settings`` records every method's resolved."""
    from guiagent.compression.context import RollingContext
    from guiagent.compression.settings import MethodSettings

    repeats = repeats or preset.repeats
    settings = settings or MethodSettings()
    loaded = load_preset(preset, layers=layers, device=device, dtype=dtype)
    shots = screenshots(preset.screen, steps)
    progress("warming up (first calls are several times slower and are not measured)")
    run_config(loaded, "rolling", "full", "100", shots[:1], 1, lambda text: None)
    configs = configurations(preset, methods, budgets)
    measured: dict[tuple[str, str, str], list[list[dict[str, Any]]]] = {config: [] for config in configs}
    order = []
    for repeat, config in interleaved(configs, repeats):
        order.append({"repeat": repeat + 1, "mode": config[0], "method": config[1], "budget": config[2]})
        run = run_config(
            loaded,
            *config,
            shots,
            decode_tokens,
            lambda text, r=repeat: progress(f"[{r + 1}/{repeats}] {text}"),
            settings,
        )
        measured[config].append([asdict(s) for s in run.steps])
    report = {
        "env": environment(loaded, preset, PeakMemory(loaded.device).kind),
        "config": {
            "steps": steps,
            "decode_tokens": decode_tokens,
            "methods": list(methods),
            "budgets": list(budgets),
            "repeats": repeats,
            "settings": {method: RollingContext(None, settings=settings).resolved(method) for method in methods},
        },
        "order": order,
        "runs": [aggregate(*config, measured[config]) for config in configs],
    }
    report["ratios"] = ratios(report)
    report["warnings"] = warnings(report)
    return report


def load_preset(preset: Preset, *, layers: int | None, device: str, dtype: str) -> Any:
    from guiagent.agent.model.loading import choose_device, choose_dtype, load_model
    from guiagent.agent.model.tiny import seven_b_config, synthetic_model

    if preset.name in OFFLINE_MODELS:
        return load_model(preset.name, device=device, dtype=dtype)
    chosen = choose_device(device)
    config = seven_b_config(num_layers=layers or preset.layers or 1)
    return synthetic_model(config, device=str(chosen), dtype=choose_dtype(dtype, chosen), attn="sdpa")
