"""The ``guiagent bench`` report as files: the markdown table, the latency / memory plot, and the JSON.

Rendering and writing only; the measuring is ``guiagent.tools.bench``, the medians, spreads, ratios and
warnings ``guiagent.tools.bench_stats``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from guiagent.agent.eval.report import MARKERS, PALETTE
from guiagent.compression.budget import Budget
from guiagent.extras import available
from guiagent.tools.bench_stats import SPREAD_WARNING, label


def markdown(report: dict[str, Any]) -> str:
    """The last step of every configuration (medians of the repeats), its latency spread, then the warnings."""
    env, config = report["env"], report["config"]
    lines = [
        f"Preset `{env['preset']}` on {env['device']} ({env['dtype']}, {env['attention']}, {env['layers']} "
        f"layer(s), {env['screen'][0]}x{env['screen'][1]} screenshots, {config['decode_tokens']} "
        f"tokens decoded per step); last step = {report['runs'][0]['steps'][-1]['step']}; medians of "
        f"{config['repeats']} interleaved repeat(s), spread = (max - min) / median of the step latency "
        f"(over {SPREAD_WARNING:.0%}: not to be trusted).",
        "",
        "| mode | method | budget | step latency s | min-max s | spread | prefill s | compress s | decode s "
        "| compress share | peak MiB | cache MiB | GFLOP prefill | MFLOP / token | latency vs rebuild full "
        "| cache vs full | decode FLOPs vs full |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run, ratio in zip(report["runs"], report["ratios"], strict=True):
        s, latency = run["steps"][-1], run["spread"][-1]["latency_s"]
        relative = "-" if latency["relative_spread"] is None else f"{latency['relative_spread']:.0%}"
        budget = "-" if run["method"] == "full" else Budget.parse(run["budget"])
        lines.append(
            f"| {run['mode']} | {run['method']} | {budget} "
            f"| {s['latency_s']:.3f} | {latency['min']:.3f}-{latency['max']:.3f} | {relative} "
            f"| {s['prefill_s']:.3f} | {s['compress_s']:.4f} | {s['decode_s']:.3f} "
            f"| {ratio['compress_share_of_step']:.4f} | {s['peak_bytes'] / 2**20:.0f} "
            f"| {s['cache_bytes'] / 2**20:.2f} | {s['flops_prefill'] / 1e9:.1f} "
            f"| {s['flops_per_token'] / 1e6:.1f} | {ratio['latency_vs_rebuild_full']:.2f}x "
            f"| {ratio['cache_vs_full']:.2f}x | {ratio['decode_flops_vs_full']:.2f}x |"
        )
    if report["warnings"]:
        lines += ["", *report["warnings"]]
    return "\n".join(lines) + "\n"


def figure(report: dict[str, Any]) -> Any:
    """Step latency (median, min-max band) and KV memory (from 0) vs. step, a style per configuration
    (re-prefill dashed), whole-numbered steps, one legend outside the panels."""
    from matplotlib.figure import Figure  # no pyplot: no global figure state, no backend to choose
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(13, 4.2), layout="constrained")
    latency, memory = fig.subplots(1, 2)
    for index, run in enumerate(report["runs"]):
        steps = [s["step"] for s in run["steps"]]
        style = {
            "color": PALETTE[index % len(PALETTE)],
            "marker": MARKERS[index % len(MARKERS)],
            "linestyle": "--" if run["mode"] == "rebuild" else "-",
            "markersize": max(3, 8 - index),  # later configurations smaller: markers on equal values stay visible
            "label": label(run),
        }
        band = [s["latency_s"] for s in run["spread"]]
        latency.fill_between(steps, [b["min"] for b in band], [b["max"] for b in band], color=style["color"], alpha=0.2)
        latency.plot(steps, [s["latency_s"] for s in run["steps"]], **style)
        memory.plot(steps, [s["cache_bytes"] / 2**20 for s in run["steps"]], **style)
    repeats = report["config"]["repeats"]
    latency.set(xlabel="step (screenshots in the history)", ylabel="step latency (s)")
    latency.set_title(f"latency vs. step (median of {repeats}, band: min-max)")
    memory.set(xlabel="step (screenshots in the history)", ylabel="KV cache held (MiB)", title="memory vs. step")
    for axes in (latency, memory):
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_ylim(bottom=0)
        axes.grid(alpha=0.3)
    fig.legend(*latency.get_legend_handles_labels(), loc="outside right upper", fontsize="small")
    fig.suptitle(f"guiagent bench: {report['env']['preset']} on {report['env']['device']}")
    return fig


def write_files(report: dict[str, Any], folder: Path, json_file: str | None = None) -> tuple[str, list[str]]:
    """Write bench.md and bench.png (with the plot extra) into ``folder`` (and the JSON report to ``json_file``).

    Returns the markdown table and the paths written, for the command to print.
    """
    folder.mkdir(parents=True, exist_ok=True)
    table = markdown(report)
    (folder / "bench.md").write_text(table)
    written = [str(folder / "bench.md")]
    if available("plot"):
        figure(report).savefig(folder / "bench.png", dpi=100)
        written.append(str(folder / "bench.png"))
    if json_file:
        Path(json_file).write_text(json.dumps(report, indent=2) + "\n")
        written.append(json_file)
    return table, written
