"""The report page: one section per step (screenshot, both actions, kept-patch heatmaps, answer, cache), one file.

Every screenshot is embedded once, as a downscaled JPEG in a hidden SVG ``<defs>``, and drawn wherever it
appears (its own step, and later steps whose cache still holds some of it) with ``<use>``; a heatmap is a tiny
PNG of one pixel per token stretched over its screenshot, pixelated. Nothing is fetched: no URL leaves the page.
"""

from __future__ import annotations

import base64
import html
import io
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from PIL import Image

from guiagent.tools.replay_html.assets import SCRIPT, STYLE
from guiagent.tools.replay_html.marks import NAMES, Mark, describe, marks_for, svg_marks

WIDTH = 960  # screenshots are embedded at most this wide (JPEG): readable, and about 60 KiB of base64 each
# The heatmap's colour ramp (share of layers x heads holding a token -> RGBA): evicted dark, kept bright and clear.
RAMP = ((0.0, (8, 12, 40, 200)), (0.5, (40, 90, 200, 115)), (1.0, (205, 235, 255, 20)))
THOUGHT = re.compile(r"Thought:\s*(.*?)\s*(?:\n\s*Action:|$)", re.S)


class Shots:
    """The page's screenshots: each file read, downscaled and embedded once, then referenced by id.

    A relative path that does not exist from here is looked up in ``base`` (the report folder).
    """

    def __init__(self, base: Path) -> None:
        self.base = base
        self._ids: dict[str, tuple[str, tuple[int, int], tuple[int, int]]] = {}
        self._defs: list[str] = []

    def get(self, path: str) -> tuple[str, tuple[int, int], tuple[int, int]] | None:
        """(id, embedded size, original size) of the screenshot at ``path``; None when it cannot be read."""
        if path not in self._ids:
            file = Path(path)
            file = file if file.is_absolute() or file.exists() else self.base / file
            try:
                with Image.open(file) as image:
                    original = image.size
                    shot = image.convert("RGB")
            except (OSError, ValueError):
                return None
            shot.thumbnail((WIDTH, WIDTH * 4))
            ident = f"shot-{len(self._ids)}"
            self._ids[path] = (ident, shot.size, original)
            uri = data_uri(shot, "JPEG", quality=82)
            self._defs.append(f'<image id="{ident}" href="{uri}" width="{shot.size[0]}" height="{shot.size[1]}"/>')
        return self._ids[path]

    def defs(self) -> str:
        """The hidden SVG every screenshot and both arrowheads are defined in."""
        arrows = "".join(
            f'<marker id="arrow-{who}" viewBox="0 0 10 10" refX="8" refY="5" markerWidth="4" markerHeight="4" '
            f'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" class="{who}-fill"/></marker>'
            for who in ("predicted", "expected")
        )
        return f'<svg class="defs" width="0" height="0"><defs>{arrows}{"".join(self._defs)}</defs></svg>'


def data_uri(image: Image.Image, kind: str, **options: Any) -> str:
    buffer = io.BytesIO()
    image.save(buffer, kind, **options)
    return f"data:image/{kind.lower()};base64,{base64.b64encode(buffer.getvalue()).decode('ascii')}"


def heatmap_uri(kept: dict[str, Any]) -> str:
    """A kept map (one byte per token, ``kept_map.encode``) as an RGBA PNG of one pixel per token."""
    gray = Image.frombytes("L", (kept["cols"], kept["rows"]), base64.b64decode(kept["share"]))
    return data_uri(Image.merge("RGBA", [gray.point(table) for table in _ramp_tables()]), "PNG")


@cache
def _ramp_tables() -> list[list[int]]:
    """Per channel, the ramp's value at each byte 0-255 (linear between its stops)."""
    tables: list[list[int]] = [[], [], [], []]
    for byte in range(256):
        share = byte / 255
        (s0, c0), (s1, c1) = next((a, b) for a, b in zip(RAMP, RAMP[1:], strict=False) if share <= b[0])
        t = (share - s0) / (s1 - s0)
        for channel in range(4):
            tables[channel].append(round(c0[channel] + t * (c1[channel] - c0[channel])))
    return tables


def render(records: list[dict[str, Any]], summary: dict[str, Any], title: str, folder: Path) -> str:
    """The whole page for a replay's step records and summary (screenshot paths relative to ``folder`` or here)."""
    shots = Shots(folder)
    sections = "".join(step_section(record, shots, n) for n, record in enumerate(records))
    items = "".join(
        f'<li><a href="#step-{n}">{html.escape(str(r.get("step", n + 1)))}'
        f'<span class="score s{_band(r.get("score", 0.0))}">{float(r.get("score", 0.0)):.2f}</span></a></li>'
        for n, r in enumerate(records)
    )
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{STYLE}</style></head><body>'
        f'{shots.defs()}{_header(summary, title)}<div class="layout"><nav><ol id="steps">{items}</ol>'
        f'<p class="keys">&larr; &rarr; to move between steps</p></nav><main>{sections}</main></div>'
        f"<script>{SCRIPT}</script></body></html>"
    )


def _band(score: float) -> int:
    return 2 if score >= 1 else 1 if score > 0 else 0


def _header(summary: dict[str, Any], title: str) -> str:
    memory = summary.get("memory") or {}
    facts = {
        "model": summary.get("model"),
        "method": summary.get("method"),
        "budget": summary.get("budget"),
        "protocol": summary.get("protocol"),
        "layout": summary.get("layout"),
        "source": summary.get("source"),
        "step accuracy": _number(summary.get("step_accuracy")),
        "steps": summary.get("steps"),
        "cache held / full": _percent(memory.get("held_over_full")),
    }
    cells = "".join(f"<div><dt>{k}</dt><dd>{html.escape(str(v))}</dd></div>" for k, v in facts.items() if v is not None)
    toggles = "".join(
        f'<label class="toggle {name}"><input type="checkbox" checked data-toggle="{name}"> {label}</label>'
        for name, label in (("heatmap", "kept-patch heatmap"), ("predicted", "predicted"), ("expected", "recorded"))
    )
    legend = '<span class="ramp"></span><small>evicted &rarr; held by every layer and head</small>'
    return f'<header><h1>{html.escape(title)}</h1><dl>{cells}</dl><div class="tools">{toggles}{legend}</div></header>'


def _number(value: Any) -> str | None:
    return f"{value:.3f}" if isinstance(value, int | float) else None


def _percent(value: Any) -> str | None:
    return f"{value:.0%}" if isinstance(value, int | float) else None


def step_section(record: dict[str, Any], shots: Shots, n: int) -> str:
    """One step: its screenshot with both actions and its heatmap, older held screenshots, the facts."""
    kept = {entry["age"]: entry for entry in record.get("kept") or []}
    path = str(record.get("image", ""))
    shot = shots.get(path)
    schema = str(record.get("schema", "recorded"))
    marks = {who: marks_for(record.get(who), schema, shot[2] if shot else (1, 1)) for who in NAMES}
    empty = {"expected": "no action", "predicted": "unparsable answer" if record.get("parse_errors") else "no action"}
    overlays = tuple((marks[who], who, empty[who]) for who in ("expected", "predicted"))  # predicted on top
    current = _figure(path, kept.get(0), shots, "this step's screen", overlays)
    older = "".join(_figure(e["image"], e, shots, f"{age} step(s) ago") for age, e in sorted(kept.items()) if age > 0)
    if older:
        older = (
            f'<div class="older"><h3>Older screens the cache still holds</h3><div class="held-list">{older}</div></div>'
        )
    step, score = html.escape(str(record.get("step", n + 1))), float(record.get("score", 0.0))
    trajectory = html.escape(str(record.get("trajectory", "")))
    return (
        f'<section class="step" data-index="{n}" data-step="{step}"><h2>Step {step} <small>{trajectory}</small> '
        f'<span class="score s{_band(score)}">score {score:.3f}</span></h2>'
        f'<div class="body">{current}{_facts(record, marks)}</div>{older}</section>'
    )


def _figure(
    path: str,
    kept: dict[str, Any] | None,
    shots: Shots,
    caption: str,
    overlays: tuple[tuple[list[Mark], str, str], ...] = (),
) -> str:
    """A screenshot as an SVG: the image, its heatmap (when the cache reported one), then each overlay's marks."""
    shot = shots.get(path)
    if shot is None:
        return f'<figure class="missing"><p>Screenshot {html.escape(path)} cannot be read.</p></figure>'
    ident, (width, height), _ = shot
    layers = [f'<use href="#{ident}"/>']
    share = ""
    if kept is not None:
        layers.append(
            f'<image data-heatmap="{kept["age"]}" class="heatmap" href="{heatmap_uri(kept)}" width="{width}" '
            f'height="{height}" preserveAspectRatio="none"/>'
        )
        share = f" · {sum(base64.b64decode(kept['share'])) / (255 * kept['rows'] * kept['cols']):.0%} kept"
    layers += [svg_marks(marks, who, (width, height), empty) for marks, who, empty in overlays]
    return (
        f'<figure class="{"current" if overlays else "held"}"><svg viewBox="0 0 {width} {height}">'
        f"{''.join(layers)}</svg><figcaption>{caption} · {html.escape(Path(path).name)}{share}</figcaption></figure>"
    )


def _facts(record: dict[str, Any], marks: dict[str, list[Mark]]) -> str:
    """The step's answer, both actions (in words and as recorded), its cache and its timings."""
    raw = str(record.get("raw", ""))
    thought = THOUGHT.search(raw)
    cache = record.get("cache") or {}
    rows = []
    if cache:
        held, full = cache.get("bytes_held", 0), cache.get("bytes_full", 0)
        rows += [
            ("cache", f"{held / 1024:,.0f} KiB held of {full / 1024:,.0f} KiB ({cache.get('ratio', 0):.0%})"),
            (
                "tokens",
                f"{max(cache.get('physical_tokens_per_layer') or [0])} held per layer of "
                f"{cache.get('logical_tokens', 0)}",
            ),
            ("budget", f"{cache.get('budget', '')} · {cache.get('method', '')}"),
        ]
    timings = record.get("timings") or {}
    if timings:
        rows.append(("timings", ", ".join(f"{k.removesuffix('_s')} {v:.3f} s" for k, v in timings.items())))
    table = "".join(f"<tr><th>{k}</th><td>{html.escape(v)}</td></tr>" for k, v in rows)
    errors = "".join(f"<li>{html.escape(_short(str(e)))}</li>" for e in record.get("parse_errors") or [])
    return (
        '<div class="facts">'
        + (f'<h3>Thought</h3><p class="thought">{html.escape(thought.group(1))}</p>' if thought else "")
        + f'<h3>Answer</h3><pre class="raw">{html.escape(raw) or "(empty)"}</pre>'
        + (f'<ul class="errors">{errors}</ul>' if errors else "")
        + "".join(_actions(who, record.get(who), marks[who]) for who in NAMES)
        + f"<table>{table}</table></div>"
    )


def _short(text: str, limit: int = 160) -> str:
    """A parse error names the offending answer, which is shown in full just above."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _actions(who: str, actions: Any, marks: list[Mark]) -> str:
    """One side's actions in words (what the overlay draws), and as the report recorded them."""
    items = "".join(f"<li>{html.escape(line)}</li>" for line in describe(marks)) or "<li>none drawn</li>"
    text = html.escape(json.dumps(actions, ensure_ascii=False, default=str))
    return (
        f'<h3 class="{who}-text">{NAMES[who].capitalize()}</h3><ul class="actions">{items}</ul>'
        f"<details><summary>as recorded</summary><pre>{text}</pre></details>"
    )
