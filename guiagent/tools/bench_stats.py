"""The statistics of ``guiagent bench``'s repeats: medians, spreads, the ratios, and when not to trust them.

Each configuration runs ``repeats`` times, round-robin (A, B, C, A, B, C, ...), so a change in machine load
during the bench hits every configuration alike instead of one. A configuration's step is the median of its
repeats, column by column (so prefill + compress + decode need not add up to the median latency exactly); the
ratios compare last-step medians. The spread of a step's latency is (max - min) / median: over
``SPREAD_WARNING`` the machine was too busy for that configuration's numbers (and the ratios built on them),
which is what a single run on a loaded machine printed unflagged, up to 30x away from a quiet machine's.
Plain numbers in, plain numbers out, so the statistics are tested without timing anything.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any, TypeVar

from guiagent.compression.budget import Budget

SPREAD_WARNING = 0.25
TIMES = ("latency_s", "prefill_s", "compress_s", "decode_s")  # wall times: medians and spreads; the rest: median_low
Config = TypeVar("Config")


def interleaved(configs: Sequence[Config], repeats: int) -> list[tuple[int, Config]]:
    """(repeat, configuration) in run order: every configuration once per round."""
    return [(repeat, config) for repeat in range(repeats) for config in configs]


def spread(values: Sequence[float]) -> dict[str, Any]:
    """Median, min, max, quartiles and the relative spread (max - min) / median; None where one value can't say."""
    median = statistics.median(values)
    q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive") if len(values) > 1 else [median] * 3
    relative = (max(values) - min(values)) / median if len(values) > 1 and median > 0 else None
    return {
        "n": len(values),
        "median": median,
        "min": min(values),
        "max": max(values),
        "q1": q1,
        "q3": q3,
        "relative_spread": relative,
    }


def aggregate(mode: str, method: str, budget: str, repeats: list[list[dict[str, Any]]]) -> dict[str, Any]:
    """One configuration's report entry: per step the median of its repeats and the spread of its wall times,
    and every repeat's steps as measured."""
    medians, spreads = [], []
    for same_step in zip(*repeats, strict=True):
        median = {
            key: (statistics.median if key in TIMES else statistics.median_low)([s[key] for s in same_step])
            for key in same_step[0]
        }
        medians.append(median)
        spreads.append({"step": median["step"], **{key: spread([s[key] for s in same_step]) for key in TIMES}})
    return {"mode": mode, "method": method, "budget": budget, "steps": medians, "spread": spreads, "repeats": repeats}


def label(run: dict[str, Any]) -> str:
    """``rolling starkv 20%``; the full cache has no budget to name."""
    return f"{run['mode']} {run['method']}" + ("" if run["method"] == "full" else f" {Budget.parse(run['budget'])}")


def _last(report: dict[str, Any], mode: str, method: str) -> dict[str, Any]:
    return next(r["steps"][-1] for r in report["runs"] if r["mode"] == mode and r["method"] == method)


def ratios(report: dict[str, Any]) -> list[dict[str, Any]]:
    """At the last step, each configuration's medians against the baselines' medians of the same bench."""
    rolling_full, rebuild_full = _last(report, "rolling", "full"), _last(report, "rebuild", "full")
    rows = []
    for run in report["runs"]:
        last = run["steps"][-1]
        rows.append(
            {
                "mode": run["mode"],
                "method": run["method"],
                "budget": run["budget"],
                "step": last["step"],
                "latency_vs_rebuild_full": last["latency_s"] / rebuild_full["latency_s"],
                "cache_vs_full": last["cache_bytes"] / rolling_full["cache_bytes"],
                "compress_share_of_step": last["compress_s"] / last["latency_s"],
                "decode_flops_vs_full": last["flops_per_token"] / rolling_full["flops_per_token"],
                "latency_relative_spread": run["spread"][-1]["latency_s"]["relative_spread"],
            }
        )
    return rows


def warnings(report: dict[str, Any], threshold: float = SPREAD_WARNING) -> list[str]:
    """A line per configuration whose last-step latency spread exceeds ``threshold`` (or one saying that a
    single repeat measures no spread)."""
    repeats = report["config"]["repeats"]
    if repeats < 2:
        return [
            "NOTE: one repeat per configuration: no spread measured, so a busy machine goes unnoticed "
            "(use --repeats 3 or more)."
        ]
    lines = []
    for run in report["runs"]:
        relative = run["spread"][-1]["latency_s"]["relative_spread"]
        if relative is not None and relative > threshold:
            which = "every ratio against it" if run["method"] == "full" else "its ratios"
            lines.append(
                f"WARNING: {label(run)}: last-step latency varies {relative:.0%} across {repeats} repeats "
                f"((max - min) / median, over {threshold:.0%}): its numbers and {which} are not to be trusted on "
                "this machine now; rerun on a quiet machine or with more --repeats."
            )
    return lines
