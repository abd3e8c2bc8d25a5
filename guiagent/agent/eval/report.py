"""``guiagent eval``: the grid's cells (method x budget) and its report.

Every cell replays every step with the same model and the same policy, so the rows differ only in the KV
cache: accuracy, KV bytes held and step latency side by side. Outputs, in ``OUT``: ``results.md``,
``results.csv``, ``results.json`` (rows plus each cell's summary) and ``results.png`` (accuracy and memory vs.
budget, one line per method, the full cache as a reference line). Each cell's replay report is kept in
``OUT/cells/<method>-<budget>/``. How the grid is computed (units, ranks, resuming) is ``grid.py``'s job.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from guiagent.compression.budget import Budget
from guiagent.compression.presses import normalize_method

COLUMNS = ("method", "budget", "step_accuracy", "steps", "mean_kv_mib", "kv_held_over_full", "mean_step_s")


@dataclass(frozen=True)
class Cell:
    method: str
    budget: str

    @property
    def name(self) -> str:
        return f"{self.method}-{self.budget}".replace("%", "pct")


def grid_cells(methods: list[str], budgets: list[str]) -> list[Cell]:
    """Method x budget; the full cache is one cell (its budget is everything)."""
    for budget in budgets:
        Budget.parse(budget)
    cells = []
    for method in (normalize_method(m) for m in methods):
        cells += [Cell("full", "100")] if method == "full" else [Cell(method, b) for b in budgets]
    return list(dict.fromkeys(cells))


def row(cell: Cell, summary: dict[str, Any]) -> dict[str, Any]:
    memory, timing = summary["memory"], summary["timing"]
    held = memory["mean_bytes_held"]
    return {
        "method": cell.method,
        "budget": str(Budget.parse(cell.budget)),
        "step_accuracy": round(summary["step_accuracy"], 4),
        "steps": summary["steps"],
        "mean_kv_mib": round(held / 2**20, 3) if held is not None else None,
        "kv_held_over_full": round(memory["held_over_full"], 4) if memory["held_over_full"] is not None else None,
        "mean_step_s": round(timing["mean_step_s"], 4) if timing["mean_step_s"] is not None else None,
    }


def write_results(rows: list[dict[str, Any]], out: Path, title: str) -> list[Path]:
    """The table as Markdown, CSV and JSON, and the accuracy / memory plot as PNG."""
    out.mkdir(parents=True, exist_ok=True)
    table = [{k: r[k] for k in COLUMNS} for r in rows]
    lines = [f"# {title}", "", "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join("" if r[k] is None else str(r[k]) for k in COLUMNS) + " |" for r in table]
    (out / "results.md").write_text("\n".join(lines) + "\n")
    with (out / "results.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(table)
    (out / "results.json").write_text(json.dumps({"title": title, "rows": rows}, indent=2, default=str) + "\n")
    plot(table, out / "results.png", title)
    return [out / name for name in ("results.md", "results.csv", "results.json", "results.png")]


def plot(table: list[dict[str, Any]], path: Path, title: str) -> None:
    """Accuracy and KV memory vs. budget, a line per method; the full cache dashed across."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (accuracy, memory) = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    methods = list(dict.fromkeys(r["method"] for r in table if r["method"] != "full"))
    for method in methods:
        points = sorted(
            ((_budget_value(r["budget"]), r) for r in table if r["method"] == method), key=lambda item: item[0]
        )
        xs = [x for x, _ in points]
        accuracy.plot(xs, [r["step_accuracy"] for _, r in points], marker="o", label=method)
        memory.plot(xs, [r["mean_kv_mib"] or 0 for _, r in points], marker="o", label=method)
    for r in table:
        if r["method"] == "full":
            accuracy.axhline(r["step_accuracy"], linestyle="--", color="grey", label="full cache")
            memory.axhline(r["mean_kv_mib"] or 0, linestyle="--", color="grey", label="full cache")
    accuracy.set(xlabel="budget", ylabel="step accuracy", title="accuracy vs. budget")
    memory.set(xlabel="budget", ylabel="mean KV MiB held", title="memory vs. budget")
    for axes in (accuracy, memory):
        axes.legend(fontsize="small")
        axes.grid(alpha=0.3)
    figure.suptitle(title)
    figure.savefig(path, dpi=100)
    plt.close(figure)


def _budget_value(text: str) -> float:
    budget = Budget.parse(text)
    return budget.value if budget.kind != "bytes" else budget.value / 2**20
