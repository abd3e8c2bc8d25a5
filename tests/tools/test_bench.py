"""guiagent bench: a short tiny run checks the report's shape and the deterministic ratios (FLOPs, bytes)."""

from __future__ import annotations

import pytest

from guiagent.tools.bench import PRESETS, Shape, decode_flops, prefill_flops, run_bench
from guiagent.tools.bench_report import markdown


@pytest.fixture(scope="module")
def report():
    return run_bench(
        PRESETS["tiny"],
        steps=8,
        decode_tokens=2,
        methods=("starkv", "snapkv"),
        budgets=("20",),
        layers=None,
        device="cpu",
        dtype="auto",
    )


def test_report_shape(report):
    assert {"device", "dtype", "torch", "transformers", "peak_memory", "flops"} <= set(report["env"])
    labels = [(r["mode"], r["method"], r["budget"]) for r in report["runs"]]
    assert labels == [
        ("rolling", "full", "100"),
        ("rolling", "starkv", "20"),
        ("rolling", "snapkv", "20"),
        ("rebuild", "full", "100"),
        ("rebuild", "starkv", "20"),
    ]
    for run in report["runs"]:
        assert [s["step"] for s in run["steps"]] == list(range(1, 9))
        for step in run["steps"]:
            assert {
                "step",
                "latency_s",
                "prefill_s",
                "compress_s",
                "decode_s",
                "peak_bytes",
                "cache_bytes",
                "flops_prefill",
                "flops_per_token",
            } <= set(step)
            assert step["latency_s"] > 0 and step["peak_bytes"] > 0 and step["cache_bytes"] > 0
    assert "| rolling | starkv | 20% |" in markdown(report)


def test_rolling_beats_reprefill_and_the_budget_is_real_memory(report):
    by = {(r["mode"], r["method"]): r["steps"][-1] for r in report["runs"]}
    # step 8 rebuild prefills all 8 screenshot turns; rolling prefills one
    assert by[("rebuild", "full")]["flops_prefill"] >= 4 * by[("rolling", "full")]["flops_prefill"]
    assert by[("rolling", "starkv")]["cache_bytes"] <= 0.3 * by[("rolling", "full")]["cache_bytes"]
    assert by[("rolling", "starkv")]["flops_per_token"] < by[("rolling", "full")]["flops_per_token"]
    ratios = {(r["mode"], r["method"]): r for r in report["ratios"]}
    assert ratios[("rolling", "snapkv")]["cache_vs_full"] <= 0.3
    assert ratios[("rolling", "full")]["latency_vs_rebuild_full"] > 0


def test_flop_formula_by_hand():
    shape = Shape(hidden=4, heads=2, kv_heads=1, head_dim=2, intermediate=8, vocab=10, layers=1)
    # projections: q 4*2*2=16, k+v 2*4*1*2=16, o 2*2*4=16 -> 48; MLP 3*4*8=96; x2 = 288 per token per layer
    assert shape.per_token_linear() == 288
    # 3 new tokens over 5 cached: pairs 3*5 + 3*4/2 = 21; attention 4*2*2*21 = 336; logits 2*4*10 = 80
    assert prefill_flops(shape, 3, [5]) == 3 * 288 + 336 + 80
    # one token over 7 cached: pairs 7 + 1 = 8 -> 4*2*2*8 = 128
    assert decode_flops(shape, [7]) == 288 + 128 + 80


@pytest.mark.parametrize("preset", ["tiny", "tiny-opencua"])
def test_rolling_and_rebuild_hold_the_same_conversation_in_each_family(preset):
    """Turns come from each model's own chat template, so OpenCUA's framing works too, and a rolling step holds
    exactly the tokens the re-prefill of the same conversation holds, plus the answer it keeps after decoding."""
    report = run_bench(
        PRESETS[preset],
        steps=3,
        decode_tokens=1,
        methods=("starkv",),
        budgets=("20",),
        layers=None,
        device="cpu",
        dtype="auto",
    )
    runs = {(r["mode"], r["method"]): r["steps"] for r in report["runs"]}
    rolling = [s["logical_tokens"] for s in runs["rolling", "full"]]
    rebuild = [s["logical_tokens"] for s in runs["rebuild", "full"]]
    (answer,) = {r - b for r, b in zip(rolling, rebuild, strict=True)}  # the same fixed answer every step
    assert answer > 0 and rebuild[1] > rolling[0] and rolling[0] < rolling[1] < rolling[2]
    assert report["env"]["preset"] == preset
