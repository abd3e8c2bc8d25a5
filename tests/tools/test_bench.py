"""guiagent bench: a short tiny run checks the report's shape and the deterministic ratios (FLOPs, bytes); the
repeats' statistics and warnings are checked on given numbers (no timing assertions on a shared machine)."""

from __future__ import annotations

from dataclasses import asdict

import pytest

from guiagent.tools.bench import PRESETS, Shape, StepCost, decode_flops, prefill_flops, run_bench
from guiagent.tools.bench_report import figure, markdown
from guiagent.tools.bench_stats import aggregate, interleaved, ratios, spread, warnings

CONFIGS = [
    ("rolling", "full", "100"),
    ("rolling", "starkv", "20"),
    ("rolling", "snapkv", "20"),
    ("rebuild", "full", "100"),
    ("rebuild", "starkv", "20"),
]


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
        repeats=2,
    )


def test_report_shape(report):
    assert {"device", "dtype", "torch", "transformers", "peak_memory", "flops"} <= set(report["env"])
    labels = [(r["mode"], r["method"], r["budget"]) for r in report["runs"]]
    assert labels == CONFIGS
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


def test_the_repeats_run_round_robin_and_the_report_keeps_medians_and_spreads(report):
    assert report["config"]["repeats"] == 2
    assert [(o["repeat"], o["mode"], o["method"], o["budget"]) for o in report["order"]] == [
        (repeat, *config) for repeat in (1, 2) for config in CONFIGS
    ]
    for run in report["runs"]:
        assert len(run["repeats"]) == 2 and all(len(steps) == 8 for steps in run["repeats"])
        last = run["spread"][-1]["latency_s"]
        assert last["n"] == 2 and last["min"] <= run["steps"][-1]["latency_s"] <= last["max"]
        assert last["relative_spread"] is not None
    assert all(r["latency_relative_spread"] is not None for r in report["ratios"])
    assert isinstance(report["warnings"], list)


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
        repeats=1,
    )
    runs = {(r["mode"], r["method"]): r["steps"] for r in report["runs"]}
    rolling = [s["logical_tokens"] for s in runs["rolling", "full"]]
    rebuild = [s["logical_tokens"] for s in runs["rebuild", "full"]]
    (answer,) = {r - b for r, b in zip(rolling, rebuild, strict=True)}  # the same fixed answer every step
    assert answer > 0 and rebuild[1] > rolling[0] and rolling[0] < rolling[1] < rolling[2]
    assert report["env"]["preset"] == preset


def test_interleaved_is_round_robin():
    assert interleaved(["a", "b", "c"], 2) == [(0, "a"), (0, "b"), (0, "c"), (1, "a"), (1, "b"), (1, "c")]


def test_spread_of_given_numbers():
    assert spread([1.0, 2.0, 3.0, 10.0]) == {
        "n": 4,
        "median": 2.5,
        "min": 1.0,
        "max": 10.0,
        "q1": 1.75,
        "q3": 4.75,
        "relative_spread": 3.6,
    }
    one = spread([0.5])
    assert one["median"] == one["q1"] == one["q3"] == 0.5 and one["relative_spread"] is None


def synthetic(latencies: dict[tuple[str, str, str], list[float]]) -> dict:
    """A bench report of one step per configuration whose repeats took ``latencies`` seconds."""

    def step(latency: float) -> dict:
        cost = StepCost(1, latency, latency * 0.8, latency * 0.1, latency * 0.1, 2**30, 2**20, 10**9, 10**6, 90, 18)
        return asdict(cost)

    runs = [aggregate(*config, [[step(t)] for t in times]) for config, times in latencies.items()]
    report = {"config": {"repeats": len(next(iter(latencies.values()))), "decode_tokens": 1}, "runs": runs}
    report["ratios"] = ratios(report)
    report["warnings"] = warnings(report)
    return report


def test_medians_make_the_ratios_and_a_noisy_configuration_is_flagged():
    quiet = {"rolling full": [1.0, 1.05, 0.98], "rebuild full": [4.0, 4.1, 3.9], "rolling starkv": [0.9, 0.9, 0.9]}
    noisy = {**quiet, "rolling starkv": [0.9, 27.0, 0.95]}  # a burst of load during one repeat
    configs = {"rolling full": ("rolling", "full", "100"), "rebuild full": ("rebuild", "full", "100")}
    configs["rolling starkv"] = ("rolling", "starkv", "20")
    calm = synthetic({configs[k]: v for k, v in quiet.items()})
    assert calm["warnings"] == []
    busy = synthetic({configs[k]: v for k, v in noisy.items()})
    (line,) = busy["warnings"]
    assert line.startswith("WARNING: rolling starkv 20%:") and "not to be trusted" in line
    starkv = busy["ratios"][2]
    assert starkv["latency_vs_rebuild_full"] == pytest.approx(0.95 / 4.0)  # medians: the burst does not move it
    assert starkv["latency_relative_spread"] == pytest.approx((27.0 - 0.9) / 0.95)
    assert line in markdown({**busy, "env": ENV}) and "| 0.900-27.000 | 2747% |" in markdown({**busy, "env": ENV})
    noisy_baseline = synthetic({configs[k]: v for k, v in {**quiet, "rebuild full": [4.0, 9.0, 3.9]}.items()})
    assert "every ratio against it" in noisy_baseline["warnings"][0]
    single = synthetic({configs[k]: v[:1] for k, v in quiet.items()})
    assert single["warnings"][0].startswith("NOTE: one repeat")


ENV = {"preset": "tiny", "device": "cpu", "dtype": "float32", "attention": "sdpa", "layers": 4, "screen": [8, 8]}


def test_bench_plot_has_whole_steps_spread_bands_memory_from_zero_and_the_legend_outside(report):
    fig = figure(report)
    fig.draw_without_rendering()
    latency, memory = fig.axes
    for axes in (latency, memory):
        assert all(float(tick).is_integer() for tick in axes.get_xticks())
        assert axes.get_ylim()[0] == 0 and axes.get_legend() is None
    assert len(latency.collections) == len(report["runs"])  # a min-max band per configuration
    [legend] = fig.legends
    assert [t.get_text() for t in legend.get_texts()][:2] == ["rolling full", "rolling starkv 20%"]
    box = legend.get_window_extent()
    assert not any(box.overlaps(axes.get_window_extent()) for axes in fig.axes)
