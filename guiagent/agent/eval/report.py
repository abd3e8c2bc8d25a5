"""``guiagent eval``: the grid's cells (method x budget) and its report.

Every cell replays every step with the same model and the same policy, so the rows differ only in the KV
cache: accuracy, KV bytes held, step latency and the compression's share of it (``mean_compress_s``) side by
side. Outputs, in ``OUT``: ``results.md``, ``results.csv``, ``results.json`` (rows plus each cell's summary) and
``results.png`` (accuracy, KV memory and step latency vs. budget, agreement and KL too when measured; one row of
panels per budget kind, so percent, tokens and MiB never share an axis; the full cache dashed across). Each
cell's replay report is kept in ``OUT/cells/<method>-<budget>/``. How the grid is computed (units, ranks,
resuming) is ``grid.py``'s job.

``agreement`` and ``kl`` are the label-free fidelity of a cell against the full cache on the same trajectories
(``fidelity.py``): the share of steps whose parsed action is the full cache's, and the mean KL(P_full || P_cell)
of the next-token distributions under teacher forcing. The full cell shows 1.0 and 0.0; blank: not measured
(``--no-fidelity``, a scripted model).
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from guiagent.compression.budget import Budget
from guiagent.compression.context import DEFAULT_HISTORY_IMAGES, RollingContext
from guiagent.compression.presses import normalize_method
from guiagent.compression.settings import MethodSettings
from guiagent.extras import available

COLUMNS = (
    "method",
    "budget",
    "history",
    "observers",
    "step_accuracy",
    "steps",
    "mean_kv_mib",
    "kv_held_over_full",
    "mean_step_s",
    "mean_compress_s",
    "agreement",
    "kl",
)
TIMING_COLUMNS = ("mean_step_s", "mean_compress_s")  # wall times: the columns two runs of one grid differ in


@dataclass(frozen=True)
class Cell:
    """One configuration of the grid: a method at a budget in a rolling context (history limit, observers), with
    the user's overrides of the method's settings (``settings``: this method's only, so that a sweep of another
    method's setting leaves this cell as it is)."""

    method: str
    budget: str
    history_images: int | None = DEFAULT_HISTORY_IMAGES
    observers: str = "tail"
    settings: MethodSettings = field(default_factory=MethodSettings)

    @property
    def context(self) -> RollingContext:
        return RollingContext(self.history_images, self.observers, self.settings)

    @property
    def resolved(self) -> dict[str, Any]:
        """Every setting the cell's press runs with (what a finished unit must have been computed with)."""
        return self.context.resolved(self.method)

    @property
    def name(self) -> str:
        """``snapkv-20``, plus what differs from the defaults: a changed setting names another cell."""
        labels = [label for label in (self.context.label, self.settings.label(self.method)) if label]
        return "-".join([self.method, self.budget, *labels]).replace("%", "pct")

    @property
    def shown(self) -> str:
        """The method as the table shows it: ``snapkv[kernel_size=3]`` when its settings differ from the defaults."""
        overrides = ",".join(f"{k}={v}" for k, v in self.settings.of(self.method).items())
        return f"{self.method}[{overrides}]" if overrides else self.method

    def as_list(self) -> list[Any]:
        return [self.method, self.budget, self.history_images, self.observers, self.settings.as_dict()]

    @classmethod
    def from_list(cls, values: list[Any]) -> Cell:
        """A cell as grid.json lists it (before history limits existed every screenshot stayed: ``None``; before
        method settings, the defaults)."""
        method, budget, *rest = values
        history, observers, settings = [*rest, *[None, "tail", {}][len(rest) :]]
        return cls(method, budget, history, observers, MethodSettings.from_dict(settings))


def grid_cells(methods: list[str], budgets: list[str], contexts: list[RollingContext] | None = None) -> list[Cell]:
    """Method x budget x context; the full cache has one cell per history limit (its budget is everything, and
    nothing observes). A context's method settings reach only the cells of their method."""
    for budget in budgets:
        Budget.parse(budget)
    cells = []
    for context in contexts or [RollingContext()]:
        for method in (normalize_method(m) for m in methods):
            if method == "full":
                cells.append(Cell("full", "100", context.history_images))
            else:
                settings = context.settings.only(method)
                cells += [Cell(method, b, context.history_images, context.observers, settings) for b in budgets]
    return list(dict.fromkeys(cells))


def row(cell: Cell, summary: dict[str, Any], fidelity: dict[str, Any] | None = None) -> dict[str, Any]:
    """The table's row of a cell: its replay summary, and its fidelity summary when measured."""
    memory, timing = summary["memory"], summary["timing"]
    fidelity = fidelity or {}
    held = memory["mean_bytes_held"]
    return {
        "method": cell.shown,
        "budget": str(Budget.parse(cell.budget)),
        "history": cell.history_images or "all",
        "observers": cell.observers if cell.method != "full" else "-",
        "step_accuracy": round(summary["step_accuracy"], 4),
        "steps": summary["steps"],
        "mean_kv_mib": round(held / 2**20, 3) if held is not None else None,
        "kv_held_over_full": round(memory["held_over_full"], 4) if memory["held_over_full"] is not None else None,
        **{key: _significant(timing.get(key)) for key in TIMING_COLUMNS},
        "agreement": round(fidelity["agreement"], 4) if fidelity.get("agreement") is not None else None,
        "kl": _significant(fidelity.get("kl")),
        "settings": cell.resolved,
    }


def _significant(value: float | None) -> float | None:
    """Four significant digits: a compression of 0.3 ms and a step of 12 s both keep their precision."""
    return float(f"{value:.4g}") if value is not None else None


def write_results(rows: list[dict[str, Any]], out: Path, title: str) -> list[Path]:
    """The table as Markdown, CSV and JSON, and its plot (``figure``) as PNG where matplotlib is installed."""
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
    written = [out / name for name in ("results.md", "results.csv", "results.json")]
    if available("plot"):  # an evaluation node without the plot extra still gets its table
        plot(table, out / "results.png", title)
        written.append(out / "results.png")
    return written


@dataclass(frozen=True)
class Panel:
    """One column of results.png: a table column against the budget, with the axis range a reader expects."""

    column: str
    label: str
    title: str
    top: float | None = None  # a share (accuracy, agreement) is drawn on [0, 1]; the rest start at 0
    always: bool = True  # agreement and KL only when some cell measured them


PANELS = (
    Panel("step_accuracy", "step accuracy", "accuracy", top=1.0),
    Panel("mean_kv_mib", "mean KV cache held (MiB)", "KV memory"),
    Panel("mean_step_s", "mean step latency (s)", "step latency"),
    Panel("agreement", "action agreement with the full cache", "agreement", top=1.0, always=False),
    Panel("kl", "KL(full || method), nats per token", "KL divergence", always=False),
)
BUDGET_AXES = {"percent": "budget (% of context)", "tokens": "budget (tokens per layer)", "bytes": "budget (MiB)"}
# Okabe-Ito: told apart with the common colour-vision deficiencies; marker and dash tell the lines apart in greyscale
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000", "#F0E442")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
DASHES = ("-", "-.", ":", (0, (5, 1, 1, 1, 1, 1)))
REFERENCE_GREYS = ("#4d4d4d", "#8c8c8c", "#b3b3b3")
OFFSET = 0.03  # share of a row's budget span between neighbouring methods, so equal values stay visible


def plot(table: list[dict[str, Any]], path: Path, title: str) -> None:
    """results.png: see ``figure``."""
    figure(table, title).savefig(path, dpi=100)


def figure(table: list[dict[str, Any]], title: str) -> Any:
    """Each measured column vs. budget, one row of panels per budget kind (units never share an axis), a line per
    method nudged sideways so coinciding lines stay visible, the full cache dashed across, one legend outside."""
    from matplotlib.figure import Figure  # no pyplot: no global figure state, no backend to choose

    compressing = [r for r in table if r["method"] != "full"]
    kinds = [k for k in BUDGET_AXES if any(_kind(r) == k for r in compressing)] or ["percent"]
    panels = [p for p in PANELS if p.always or any(r.get(p.column) is not None for r in table)]
    lines = list(dict.fromkeys(_line(r, table) for r in compressing))
    styles = {
        line: {"color": PALETTE[i % len(PALETTE)], "marker": MARKERS[i % len(MARKERS)], "linestyle": DASHES[i % 4]}
        for i, line in enumerate(lines)
    }
    fig = Figure(figsize=(3.4 * len(panels) + 2.4, 2.9 * len(kinds) + 0.6), layout="constrained")
    grid = fig.subplots(len(kinds), len(panels), squeeze=False)
    for kind, axes_row in zip(kinds, grid, strict=True):
        of_kind = [r for r in compressing if _kind(r) == kind]
        budgets = sorted({_budget_value(r["budget"]) for r in of_kind}) or [100.0]
        span = (budgets[-1] - budgets[0]) or budgets[0]
        nudge = OFFSET * span
        pad = 0.1 * span + nudge * (len(lines) - 1) / 2
        for index, line in enumerate(lines):
            points = sorted((r for r in of_kind if _line(r, table) == line), key=lambda r: _budget_value(r["budget"]))
            shift = (index - (len(lines) - 1) / 2) * nudge
            xs = [_budget_value(r["budget"]) + shift for r in points]
            for panel, axes in zip(panels, axes_row, strict=True):
                values = [_number(r.get(panel.column)) for r in points]
                # unclipped: a marker on the axis (accuracy 0, agreement 1) shows whole
                axes.plot(xs, values, label=line, markersize=6, linewidth=1.4, clip_on=False, **styles[line])
        for panel, axes in zip(panels, axes_row, strict=True):
            drawn = _references(axes, table, panel.column)
            axes.set_xticks(budgets, [f"{b:g}" for b in budgets])
            axes.set_xlim(budgets[0] - pad, budgets[-1] + pad)
            axes.set(xlabel=BUDGET_AXES[kind], ylabel=panel.label, title=panel.title)
            axes.set_ylim(0, panel.top or max([axes.get_ylim()[1], *(1.1 * v for v in drawn)]))
            axes.grid(alpha=0.3)
    handles: dict[str, Any] = {}
    for axes in grid.flat:
        for handle, label in zip(*axes.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
    if handles:
        fig.legend(handles.values(), handles.keys(), loc="outside right upper", fontsize="small")
    fig.suptitle(title)
    return fig


def _references(axes: Any, table: list[dict[str, Any]], column: str) -> list[float]:
    """The full cache's value as a dashed line (one per history limit when the grid sweeps them); returns the
    values drawn, which the y range must include (reference lines take no part in autoscaling)."""
    full = [r for r in table if r["method"] == "full"]
    drawn = []
    for index, r in enumerate(full):
        if r.get(column) is not None:
            label = "full cache" + (f" (history {r['history']})" if len(full) > 1 else "")
            axes.axhline(r[column], linestyle="--", linewidth=1.2, color=REFERENCE_GREYS[index % 3], label=label)
            drawn.append(r[column])
    return drawn


def _kind(row: dict[str, Any]) -> str:
    return Budget.parse(row["budget"]).kind


def _number(value: float | None) -> float:
    return float("nan") if value is None else value


def _line(row: dict[str, Any], table: list[dict[str, Any]]) -> str:
    """A plot line's label: the method, and the context when the grid sweeps one."""
    swept = [key for key in ("history", "observers") if len({r[key] for r in table if r["method"] != "full"}) > 1]
    context = ", ".join(f"{key} {row[key]}" for key in swept)
    return f"{row['method']} ({context})" if context else row["method"]


def _budget_value(text: str) -> float:
    """A budget in its axis's unit: percent, tokens per layer, MiB."""
    budget = Budget.parse(text)
    return budget.value if budget.kind != "bytes" else budget.value / 2**20
