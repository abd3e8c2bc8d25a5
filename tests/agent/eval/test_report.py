"""The eval report a paper can use: timing columns, and results.png's panels, axes, lines and legend."""

from __future__ import annotations

import csv
from typing import Any

import pytest

from guiagent.agent.eval.report import COLUMNS, Cell, figure, row, write_results

KINDS = {"20%": "budget (% of context)", "4096t": "budget (tokens per layer)", "512MiB": "budget (MiB)"}
TICKS = {"20%": "20", "4096t": "4096", "512MiB": "512"}  # in the row's unit, as measured: no fractional ticks


def table_row(method: str, budget: str, accuracy: float = 0.0, **fields: Any) -> dict[str, Any]:
    values = {"history": 2, "observers": "tail" if method != "full" else "-", "steps": 7, "kv_held_over_full": 0.2}
    values |= {"mean_kv_mib": 2.0, "mean_step_s": 0.4, "mean_compress_s": 0.01, "agreement": None, "kl": None}
    return {"method": method, "budget": budget, "step_accuracy": accuracy, **values, **fields}


def grid_table(fidelity: bool = False) -> list[dict[str, Any]]:
    """A ``20,4096t,512MiB`` grid of two methods whose values coincide, as tiny's do."""
    measured = {"agreement": 1.0, "kl": 0.05} if fidelity else {}
    full = {"agreement": 1.0, "kl": 0.0} if fidelity else {}
    rows = [table_row("full", "100%", mean_kv_mib=10.0, **full)]
    return rows + [table_row(m, b, **measured) for m in ("starkv", "snapkv") for b in KINDS]


def panels(fig: Any) -> dict[tuple[str, str], Any]:
    """The axes by (budget axis label, y label)."""
    return {(a.get_xlabel(), a.get_ylabel()): a for a in fig.axes}


def test_the_table_has_compression_time_next_to_step_latency(tmp_path):
    summary = {
        "step_accuracy": 0.5,
        "steps": 4,
        "memory": {"mean_bytes_held": 2**20, "held_over_full": 0.25},
        "timing": {"mean_step_s": 0.123456, "mean_compress_s": 0.000312345, "mean_prefill_s": 0.1},
    }
    cells = row(Cell("snapkv", "20"), summary)
    assert cells["mean_step_s"] == 0.1235 and cells["mean_compress_s"] == 0.0003123
    assert COLUMNS[COLUMNS.index("mean_step_s") + 1] == "mean_compress_s"
    write_results([{**cells, "summary": summary}], tmp_path, "t")
    header = (tmp_path / "results.md").read_text().splitlines()[2]
    assert "| mean_step_s | mean_compress_s | agreement | kl |" in header
    assert next(csv.DictReader((tmp_path / "results.csv").open()))["mean_compress_s"] == "0.0003123"


def test_one_row_of_panels_per_budget_kind_with_units_and_the_measured_budgets_as_ticks():
    fig = figure(grid_table(), "grid")
    by = panels(fig)
    assert {x for x, _ in by} == set(KINDS.values())
    assert {y for _, y in by} == {"step accuracy", "mean KV cache held (MiB)", "mean step latency (s)"}
    for budget, axis in KINDS.items():
        for y in ("step accuracy", "mean KV cache held (MiB)", "mean step latency (s)"):
            assert [t.get_text() for t in by[axis, y].get_xticklabels()] == [TICKS[budget]]
        assert by[axis, "step accuracy"].get_ylim() == (0.0, 1.0)
        memory = by[axis, "mean KV cache held (MiB)"].get_ylim()
        assert memory[0] == 0.0 and memory[1] > 10.0  # from zero, and the full cache's 10 MiB line inside
        assert by[axis, "mean step latency (s)"].get_ylim()[0] == 0.0


def test_fidelity_panels_appear_when_measured():
    by = panels(figure(grid_table(fidelity=True), "grid"))
    for axis in KINDS.values():
        assert by[axis, "action agreement with the full cache"].get_ylim() == (0.0, 1.0)
        assert by[axis, "KL(full || method), nats per token"].get_ylim()[0] == 0.0


def test_coinciding_methods_stay_apart_with_their_own_marker_and_style_and_the_full_cache_is_labelled():
    fig = figure(grid_table(), "grid")
    accuracy = panels(fig)[KINDS["4096t"], "step accuracy"]
    lines = {line.get_label(): line for line in accuracy.get_lines()}
    starkv, snapkv, full = lines["starkv"], lines["snapkv"], lines["full cache"]
    assert starkv.get_ydata()[0] == snapkv.get_ydata()[0] and starkv.get_xdata()[0] != snapkv.get_xdata()[0]
    assert starkv.get_marker() != snapkv.get_marker() and starkv.get_color() != snapkv.get_color()
    assert starkv.get_linestyle() != snapkv.get_linestyle()
    assert full.get_linestyle() == "--" and list(full.get_ydata()) == [0.0, 0.0]


def test_one_shared_legend_outside_every_panel():
    fig = figure(grid_table(fidelity=True), "grid")
    fig.draw_without_rendering()
    [legend] = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == ["starkv", "snapkv", "full cache"]
    assert all(a.get_legend() is None for a in fig.axes)
    box = legend.get_window_extent()
    for axes in fig.axes:
        assert not box.overlaps(axes.get_window_extent())


@pytest.mark.parametrize(("swept", "values"), [("history", (2, "all")), ("observers", ("tail", "both"))])
def test_a_swept_context_is_its_own_line(swept, values):
    table = [table_row("full", "100%")] + [table_row("snapkv", "20%", **{swept: value}) for value in values]
    labels = {line.get_label() for line in figure(table, "grid").axes[0].get_lines()}
    assert labels == {f"snapkv ({swept} {value})" for value in values} | {"full cache"}
