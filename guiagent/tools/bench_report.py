"""The ``guiagent bench`` report as files: the markdown table, the latency / memory plot, and the JSON.

Rendering and writing only; the measuring, and the ratios against its baselines, are ``guiagent.tools.bench``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def markdown(report: dict[str, Any]) -> str:
    env = report["env"]
    lines = [
        f"Preset `{env['preset']}` on {env['device']} ({env['dtype']}, {env['attention']}, {env['layers']} "
        f"layer(s), {env['screen'][0]}x{env['screen'][1]} screenshots, {report['config']['decode_tokens']} "
        f"tokens decoded per step); last step = {report['runs'][0]['steps'][-1]['step']}.",
        "",
        "| mode | method | budget | step latency s | prefill s | compress s | decode s | compress share | peak MiB "
        "| cache MiB | GFLOP prefill | MFLOP / token | latency vs rebuild full | cache vs full "
        "| decode FLOPs vs full |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run, ratio in zip(report["runs"], report["ratios"], strict=True):
        s = run["steps"][-1]
        budget = "-" if run["method"] == "full" else f"{run['budget']}%"
        lines.append(
            f"| {run['mode']} | {run['method']} | {budget} | {s['latency_s']:.3f} | {s['prefill_s']:.3f} "
            f"| {s['compress_s']:.4f} | {s['decode_s']:.3f} | {ratio['compress_share_of_step']:.4f} "
            f"| {s['peak_bytes'] / 2**20:.0f} "
            f"| {s['cache_bytes'] / 2**20:.2f} | {s['flops_prefill'] / 1e9:.1f} "
            f"| {s['flops_per_token'] / 1e6:.1f} | {ratio['latency_vs_rebuild_full']:.2f}x "
            f"| {ratio['cache_vs_full']:.2f}x | {ratio['decode_flops_vs_full']:.2f}x |"
        )
    return "\n".join(lines) + "\n"


def plot(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (latency, memory) = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
    for run in report["runs"]:
        steps = [s["step"] for s in run["steps"]]
        label = f"{run['mode']} {run['method']}" + ("" if run["method"] == "full" else f" {run['budget']}%")
        style = "--" if run["mode"] == "rebuild" else "-"
        latency.plot(steps, [s["latency_s"] for s in run["steps"]], style, marker="o", label=label)
        memory.plot(steps, [s["cache_bytes"] / 2**20 for s in run["steps"]], style, marker="o", label=label)
    latency.set(xlabel="step", ylabel="step latency (s)", title="latency vs. step")
    memory.set(xlabel="step", ylabel="KV cache held (MiB)", title="memory vs. step")
    for axes in (latency, memory):
        axes.grid(alpha=0.3)
        axes.legend(fontsize="x-small")
    figure.suptitle(f"guiagent bench: {report['env']['preset']} on {report['env']['device']}")
    figure.savefig(path, dpi=100)
    plt.close(figure)


def write_files(report: dict[str, Any], folder: Path, json_file: str | None = None) -> tuple[str, list[str]]:
    """Write bench.md and bench.png into ``folder`` (and the JSON report to ``json_file``, if given).

    Returns the markdown table and the paths written, for the command to print.
    """
    folder.mkdir(parents=True, exist_ok=True)
    table = markdown(report)
    (folder / "bench.md").write_text(table)
    plot(report, folder / "bench.png")
    written = [str(folder / "bench.md"), str(folder / "bench.png")]
    if json_file:
        Path(json_file).write_text(json.dumps(report, indent=2) + "\n")
        written.append(json_file)
    return table, written
