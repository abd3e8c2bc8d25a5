"""Production-path parity cases: what the published selectors keep, step by step, in the papers' layout.

Run the published GUI-KV (SnapKV, PyramidKV, GUI-KV, VL-Cache) and STaR-KV code from the user's clones on
two multi-step trajectories and write, per method, step, layer and cache head, the positions it keeps::

    python -m guiagent.tools.harness_cases.parity --guikv ~/GUI-KV --starkv ~/STaR-KV \\
        --out tests/data/parity_production

1. ``tiny.pt``: the built-in tiny Qwen2.5-VL replaying the bundled AgentNetBench trajectory (screenshots
   shrunk, the harness's history layout: the last 5 screenshots, one assistant turn per earlier step). Every
   step is a fresh ``KVSession.prefill_messages`` of the whole rebuilt prompt in the query-head layout; a
   recording press keeps each layer's attention input, rotary tables and the prompt's input embeddings.
2. ``uitars.pt``: UI-TARS-shaped synthetic layers (28 query / 4 KV heads, head_dim 128) over several steps.
   Inputs and projection weights are small integers (stored int8) times powers of two, so they are exact in
   bf16 and their projections are exact in fp32: any GEMM blocking computes the same queries and keys.

Kept positions are stored as bit masks over the prompt (``pack_kept`` / ``unpack_kept``).

For each layer and step the published attention forward (``qwen2_5_vl_attention_forward_{SnapKV,PyramidKV,
GUIKV,VLCache,STARKV}``) runs bound to a stand-in of the attention module (the layer's own ``q_proj`` and
``k_proj``; a ``v_proj`` that writes each token's position into its values, so the compressed values say which
positions were kept), with the module and config attributes set by the harnesses' own ``set_*`` /
``init_*`` functions as their AgentNetBench drivers call them. VL-Cache runs through the published text-model
forward (its first pass feeds every layer the input embeddings). Nothing of the harnesses is copied here: they
are imported from the folders given (``loader.load_harness_module``) and only their outputs are written.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from guiagent.compression.presses.base import Press
from guiagent.tools.harness_cases.parity_harness import VARIANTS, Harness, LayerInputs, Prefill, Variant

TINY_LOAD = {"device": "cpu", "dtype": "fp32", "attn": "sdpa"}
TRAJECTORY = "s_a96285eb665bef92.json"  # tests/data/agentnetbench, the real AgentNetBench sample
# Screenshots shrunk so the tiny model's prompts stay short: 560 x 336 -> 40 x 24 patches -> 20 x 12 tokens (more
# than STaR-KV's 12 x 12 MI cells, not square: the guess is 15 x 16). VL-Cache gets 112 x 56 (4 x 2 tokens): the
# random tiny model attends flat, and past ~300 tokens every weight is under VL-Cache's 0.01 in every layer, where
# the published code divides 0 by 0 and fails (README); short prompts keep some of its steps computable.
SCREENS = {"large": (560, 336), "small": (112, 56)}
STEPS = 8  # past STaR-KV's 5 MI warm-up steps, so its prior ramps in (lambda 0.05, 0.1, 0.15)
IMAGE_SLOTS = 5  # the harness default: the current screenshot and the 4 before it
PROMPT = "{task}. Next move?"  # short: the tiny tokenizer spells text byte by byte


def trajectory_messages(data: Path, screen: tuple[int, int], steps: int = STEPS) -> list[list[dict[str, Any]]]:
    """Per step, the messages the UI-TARS AgentNetBench driver builds (short recorded answers as history).

    Earlier steps: a user turn with the screenshot for the last ``IMAGE_SLOTS - 1`` of them, then an
    assistant turn ``# Step k:\\nStep k:\\n<answer>``; last, the user turn with the current screenshot and the
    prompt. Screenshots are shrunk to ``screen`` so the tiny model's prompts stay short.
    """
    folder = data / "agentnetbench"
    record = json.loads((folder / TRAJECTORY).read_text())
    task = record["high_level_task_description"].split(",")[0]
    shots = [Image.open(folder / "images" / s["image"]).convert("RGB").resize(screen) for s in record["steps"]]
    answers = [s["action"].removeprefix("pyautogui.") for s in record["steps"]]
    out = []
    for step in range(steps):
        messages: list[dict[str, Any]] = []
        with_images = set(range(step)[-(IMAGE_SLOTS - 1) :]) if IMAGE_SLOTS > 1 else set()
        for past in range(step):
            if past in with_images:
                messages.append({"role": "user", "content": [{"type": "image", "image": shots[past]}]})
            messages.append({"role": "assistant", "content": f"# Step {past + 1}:\nStep {past + 1}:\n{answers[past]}"})
        prompt = PROMPT.format(task=task)
        messages.append(
            {"role": "user", "content": [{"type": "image", "image": shots[step]}, {"type": "text", "text": prompt}]}
        )
        out.append(messages)
    return out


# -- stand-ins the published forwards run on -------------------------------------------------------------------
class Recorder(Press):
    """A press that keeps everything and records each layer's inputs of the last prefill."""

    name = "record"

    def __init__(self) -> None:
        self.layers: dict[int, LayerInputs] = {}

    def observe(self, cache, layer) -> None:
        self.layers[layer.layer_idx] = LayerInputs(
            hidden=layer.hidden_states.detach().clone(),
            cos=layer.cos.detach().clone(),
            sin=layer.sin.detach().clone(),
            embedding_input=layer.embedding_input().detach().clone(),
        )


def load_tiny():
    from guiagent import load_model

    return load_model("tiny", **TINY_LOAD)


def record_tiny(loaded, trajectory: list[list[dict[str, Any]]]) -> list[Prefill]:
    from guiagent.compression.session import KVSession

    recorder = Recorder()
    prefills = []
    with KVSession(loaded, method=recorder, budget=100, heads="query") as session, torch.inference_mode():
        for messages in trajectory:
            recorder.layers = {}
            session.prefill_messages(messages)
            layers = [recorder.layers[i] for i in range(loaded.num_layers)]
            prefills.append(Prefill(layers, [s.start for s in session.spans], [s.end for s in session.spans]))
    return prefills


def tiny_cases(harness: Harness, data: Path) -> dict[str, Any]:
    loaded = load_tiny()
    modules = [layer.self_attn for layer in loaded.language_model.layers]
    projections = [(m.q_proj, m.k_proj) for m in modules]
    section = loaded.text_config.rope_parameters["mrope_section"]
    groups = loaded.num_heads // loaded.num_kv_heads
    trajectories, prefills = {}, {}
    for name, screen in SCREENS.items():
        prefills[name] = record_tiny(loaded, trajectory_messages(data, screen))
        trajectories[name] = {
            "screen": screen,
            "prompt_lengths": [p.length for p in prefills[name]],
            "spans": [list(zip(p.starts, p.ends, strict=True)) for p in prefills[name]],
        }
    methods: dict[str, Any] = {}
    with torch.inference_mode():
        for name, variant in VARIANTS.items():
            steps = prefills[variant.tiny_screen]
            for budget in variant.tiny_budgets:
                kept = harness.run(
                    variant, budget, steps, projections, loaded.num_kv_heads, loaded.head_dim, groups, section
                )
                record = case_record(variant, budget, kept, [p.length for p in steps])
                methods[f"{name}-b{budget}"] = {**record, "trajectory": variant.tiny_screen}
    return {
        "format": 1,
        "load": TINY_LOAD,
        "source": TRAJECTORY,
        "steps": STEPS,
        "trajectories": trajectories,
        "methods": methods,
    }


# -- 2. UI-TARS-shaped synthetic layers ------------------------------------------------------------------------
UITARS = {"heads": 28, "kv_heads": 4, "head_dim": 128, "hidden": 36, "layers": 3, "steps": 6}
# 12 x 20 tokens after the 2 x 2 merge: more tokens than STaR-KV's 12 x 12 MI cells (with fewer, every token has a
# cell to itself and every group's MI is the same: the prior is inert), and not square (the guess is 15 x 16)
GRID_THW = (1, 24, 40)
SCALES = {"weight": 1 / 16, "hidden": 1 / 8, "embedding": (1 / 4, 3 / 16, 1 / 8)}


def small_integers(generator: torch.Generator, shape: tuple[int, ...]) -> torch.Tensor:
    """Integers in [-8, 8] (int8). Times a power-of-two scale they are exact in bf16, and the projections'
    sums of their products are exact in fp32, so any GEMM blocking gives the same queries and keys."""
    return torch.randint(-8, 9, shape, generator=generator, dtype=torch.int8)


def synthetic_layout(step: int) -> tuple[int, list[int], list[int]]:
    """Prompt length and image spans of step ``step``: up to 3 screenshots of 240 tokens, text between."""
    tokens = GRID_THW[1] * GRID_THW[2] // 4
    images = min(step + 1, 3)
    position, starts, ends = 12, [], []  # system text
    for _ in range(images):
        starts.append(position + 1)  # after <|vision_start|>
        ends.append(position + 1 + tokens)  # the <|vision_end|> index
        position += tokens + 2 + 9  # the image, its two markers, an assistant turn
    return position + 15, starts, ends  # the prompt after the current screenshot


def uitars_cases(harness: Harness, seed: int = 2606) -> dict[str, Any]:
    shape = UITARS
    generator = torch.Generator().manual_seed(seed)
    data: dict[str, Any] = {
        "format": 1,
        "shape": shape,
        "grid_thw": GRID_THW,
        "seed": seed,
        "scales": SCALES,
        "q_weight": small_integers(generator, (shape["heads"] * shape["head_dim"], shape["hidden"])),
        "k_weight": small_integers(generator, (shape["kv_heads"] * shape["head_dim"], shape["hidden"])),
        "steps": [],
    }
    for step in range(shape["steps"]):
        length, starts, ends = synthetic_layout(step)
        hidden = small_integers(generator, (shape["layers"], length, shape["hidden"]))
        # salient screenshot tokens (large attention-input norms), as real screenshots have
        salient = torch.rand(ends[-1] - starts[-1], generator=generator) < 0.2
        hidden[:, starts[-1] : ends[-1]][:, salient] *= 2
        embedded = small_integers(generator, (shape["layers"], length, shape["hidden"]))
        data["steps"].append(
            {"length": length, "starts": starts, "ends": ends, "hidden": hidden, "embedding_input": embedded}
        )
    q_weight, k_weight, hidden, embedded = synthetic_inputs(data)
    prefills = synthetic_prefills(data, hidden, embedded)
    q_proj, k_proj = linear(q_weight), linear(k_weight)
    groups = shape["heads"] // shape["kv_heads"]
    methods: dict[str, Any] = {}
    with torch.inference_mode():
        for name, variant in VARIANTS.items():
            for budget in variant.uitars_budgets:
                kept = harness.run(
                    variant,
                    budget,
                    prefills,
                    [(q_proj, k_proj)] * shape["layers"],
                    shape["kv_heads"],
                    shape["head_dim"],
                    groups,
                    [16, 24, 24],  # UI-TARS' mrope_section (the identity tables make it immaterial)
                )
                methods[f"{name}-b{budget}"] = case_record(variant, budget, kept, [p.length for p in prefills])
    data["methods"] = methods
    return data


def synthetic_inputs(data: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor, list, list]:
    """The stored integers widened to the fp32 inputs: q/k weights, per step the layers' attention inputs
    ``(layers, L, M)`` and their sparsity-pass inputs (each layer its own scale, so VL-Cache's budgets differ)."""
    scales = data["scales"]
    q_weight = data["q_weight"].float() * scales["weight"]
    k_weight = data["k_weight"].float() * scales["weight"]
    layer_scales = torch.tensor(scales["embedding"][: data["shape"]["layers"]]).view(-1, 1, 1)
    hidden = [s["hidden"].float() * scales["hidden"] for s in data["steps"]]
    embedded = [s["embedding_input"].float() * layer_scales for s in data["steps"]]
    return q_weight, k_weight, hidden, embedded


def linear(weight: torch.Tensor) -> torch.nn.Linear:
    """A bias-free projection (``x @ W.T``); exact here whatever the blocking, the inputs being dyadic."""
    projection = torch.nn.Linear(weight.shape[1], weight.shape[0], bias=False).requires_grad_(False).eval()
    projection.weight.copy_(weight.float())
    return projection


def pack_kept(kept: torch.Tensor, length: int) -> torch.Tensor:
    """(heads, K) kept positions -> (heads, ceil(L / 8)) uint8, one bit per position (numpy's packbits order)."""
    mask = torch.zeros(kept.shape[0], length, dtype=torch.bool)
    mask.scatter_(1, kept.long(), True)
    return torch.from_numpy(np.packbits(mask.numpy(), axis=-1))


def unpack_kept(packed: torch.Tensor, length: int) -> torch.Tensor:
    """Inverse of ``pack_kept``: (heads, K) sorted positions (every head keeps the same count)."""
    mask = torch.from_numpy(np.unpackbits(packed.numpy(), axis=-1, count=length).astype(bool))
    return mask.nonzero()[:, 1].view(mask.shape[0], -1)


def case_record(variant: Variant, budget: int, kept: list, lengths: list[int]) -> dict[str, Any]:
    return {
        "method": variant.method,
        "budget": budget,
        "params": variant.params,
        "expected": [
            None if step is None else [pack_kept(k, length) for k in step]
            for step, length in zip(kept, lengths, strict=True)
        ],
    }


def synthetic_prefills(data: dict[str, Any], hidden: list, embedded: list) -> list[Prefill]:
    """The synthetic steps as prefills: identity rotary tables (cos 1, sin 0)."""
    head_dim = data["shape"]["head_dim"]
    prefills = []
    for step, h, e in zip(data["steps"], hidden, embedded, strict=True):
        length = step["length"]
        cos, sin = torch.ones(1, length, head_dim), torch.zeros(1, length, head_dim)
        layers = [LayerInputs(h[i : i + 1], cos, sin, e[i : i + 1]) for i in range(h.shape[0])]
        prefills.append(Prefill(layers, list(step["starts"]), list(step["ends"])))
    return prefills


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m guiagent.tools.harness_cases.parity",
        description="Write production-path parity cases by running the published GUI-KV / STaR-KV code.",
    )
    parser.add_argument("--guikv", required=True, help="a clone of SalesforceAIResearch/GUI-KV (its top folder)")
    parser.add_argument("--starkv", required=True, help="a clone of kawhiiiileo/STaR-KV (its top folder)")
    parser.add_argument("--out", default="tests/data/parity_production", help="folder for tiny.pt and uitars.pt")
    parser.add_argument("--data", default="tests/data", help="the tests' data folder (the bundled trajectory)")
    torch.set_num_threads(1)  # the tests replay with one thread too: QR and BLAS rounding depend on the count
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    harness = Harness(args.guikv, args.starkv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name, cases in (("tiny.pt", tiny_cases(harness, Path(args.data))), ("uitars.pt", uitars_cases(harness))):
        torch.save(cases, out / name)
        print(f"{out / name}: {len(cases['methods'])} method-budgets")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
