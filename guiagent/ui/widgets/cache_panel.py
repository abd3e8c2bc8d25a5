"""The cache panel: what the KV cache holds after the last step, and what it would hold uncompressed.

Logical tokens (everything the model has seen) against physical tokens (what each layer still holds), MiB
held against MiB a full cache would take, the compression ratio, one bar per layer (kept / logical, its range
underneath) and the share of each screenshot still kept, oldest to newest (the newest that fit, with their
percentages). Bars are block characters sized to the panel; nine lines in all, so it fits at 100x30.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from textual.content import Content
from textual.widget import Widget

from guiagent.ui.metrics import mib

BLOCKS = " ▁▂▃▄▅▆▇█"
SCREEN_COLUMN = 5  # one screenshot: a 4-cell bar over its kept share ("100%")


def column_chart(values: Sequence[float], width: int, rows: int, column: int = 0) -> list[str]:
    """Values in [0, 1] as ``rows`` lines of vertical bars; the newest (rightmost) values that fit ``width``.

    ``column`` is the width of one bar plus its gap (0: as wide as fits, 1-3 cells).

    >>> column_chart([0.0, 0.5, 1.0], width=3, rows=1)
    [' ▄█']
    """
    if not values or width < 1:
        return [""] * rows
    column = column or max(1, min(3, width // len(values)))
    values = list(values)[-max(1, width // column) :]
    bar = column - 1 if column > 1 else 1
    lines = []
    for row in range(rows):
        floor = (rows - 1 - row) * 8
        cells = []
        for value in values:
            level = min(8, max(0, round(min(max(value, 0.0), 1.0) * rows * 8) - floor))
            cells.append(BLOCKS[level] * bar + " " * (column - bar))
        lines.append("".join(cells).rstrip())
    return lines


class CachePanel(Widget):
    """Shows a ``CacheStats`` (or says that the run has no KV cache)."""

    COMPONENT_CLASSES = {"cache-panel--label", "cache-panel--bar", "cache-panel--note"}

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002 - Textual's own parameter name
        super().__init__(id=id)
        self.stats: Any = None
        self.note = "waiting for the first step"

    def show(self, stats: Any, note: str = "") -> None:
        self.stats, self.note = stats, note
        self.refresh()

    def render(self) -> Content:
        label = self.get_visual_style("cache-panel--label", partial=True)
        bar = self.get_visual_style("cache-panel--bar", partial=True)
        muted = self.get_visual_style("cache-panel--note", partial=True)
        stats, width = self.stats, max(1, self.content_size.width)
        if stats is None:
            return Content.assemble((self.note, muted))
        layers = stats.physical_tokens_per_layer
        context = max(1, stats.context)
        per_layer = sum(layers) / len(layers) if layers else 0
        reduction = f"{1 / stats.ratio:.1f}x smaller" if stats.ratio > 0 else "empty"
        lines = [
            Content.assemble(("logical  ", label), f"{stats.logical_tokens:,} tok" + _in_context(stats)),
            Content.assemble(("physical ", label), f"{per_layer:,.0f} tok/layer ({len(layers)} layers)"),
            Content.assemble(("held     ", label), f"{mib(stats.bytes_held)} of {mib(stats.bytes_full)} full"),
            Content.assemble(("ratio    ", label), f"{stats.ratio:.2f} ({reduction})"),
        ]
        shares = [n / context for n in layers]  # what a percent budget is a percentage of
        if shares:
            low, high = min(shares), max(shares)
            spread = f"{low:.0%}" if f"{low:.0%}" == f"{high:.0%}" else f"{low:.0%}-{high:.0%}"
            chart = column_chart(shares, width - 9, 2)
            lines.append(Content.assemble(("layers   ", label), (chart[0], bar)))
            lines.append(Content.assemble((f"{spread:<9}", muted), (chart[1], bar)))
        kept = [image.kept_fraction for image in stats.images]
        if kept:
            fits = max(1, (width - 9) // SCREEN_COLUMN)
            chart = column_chart(kept, fits * SCREEN_COLUMN, 2, column=SCREEN_COLUMN)
            lines.append(Content.assemble(("screens  ", label), (chart[0], bar)))
            lines.append(Content.assemble(("old→new  ", muted), (chart[1], bar)))
            percents = "".join(f"{share:>{SCREEN_COLUMN - 1}.0%} " for share in kept[-fits:])
            older = f"+{len(kept) - fits} older" if len(kept) > fits else "kept"
            lines.append(Content.assemble((f"{older:<9}", label), percents.rstrip()))
        return Content("\n").join(lines)


def _in_context(stats: Any) -> str:
    """", 2,790 in context" when the history limit dropped screenshots (percent budgets count only those)."""
    return f", {stats.context:,} in context" if stats.context != stats.logical_tokens else ""
