"""Actions as marks to draw on a screenshot: click points, drag and scroll arrows, typed text and keys as labels.

A replay records actions in its ground truth's schema; this turns the ones with a screen to point at into marks
in 0-1 screen fractions (AgentNetBench and recorded trajectories: ``{"type", "params"}`` lists; AndroidControl:
one action dict, points in screenshot pixels; ScreenSpot: a point and a target box). Other schemas draw nothing
and are shown as text.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

Point = tuple[float, float]
SCROLL_VECTORS = {"up": (0.0, -1.0), "down": (0.0, 1.0), "left": (-1.0, 0.0), "right": (1.0, 0.0)}
NAMES = {"predicted": "predicted", "expected": "recorded"}  # the page calls the ground truth "recorded"
_CLICKS = {"click", "doubleclick", "tripleclick", "rightclick", "middleclick", "long_press"}


@dataclass(frozen=True)
class Mark:
    """One drawn element: ``kind`` is point, move, drag, scroll, box or text; ``points`` are 0-1 fractions."""

    kind: str
    points: tuple[Point, ...] = ()
    label: str = ""
    direction: str = ""


def marks_for(actions: Any, schema: str, size: tuple[int, int]) -> list[Mark]:
    """The marks of a recorded or predicted answer in ``schema`` on a screenshot of ``size`` (its pixels)."""
    if schema in ("agentnetbench", "recorded") and isinstance(actions, list):
        return _agentnet_marks(actions)
    if schema == "androidcontrol" and isinstance(actions, dict):
        return _android_marks(actions.get("action", actions), size)
    if schema == "screenspot" and isinstance(actions, dict):
        return _screenspot_marks(actions)
    return []


def _position(value: Any) -> Point | None:
    if isinstance(value, dict) and isinstance(value.get("x"), int | float) and isinstance(value.get("y"), int | float):
        return float(value["x"]), float(value["y"])
    return None


def _words(kind: str, params: dict[str, Any]) -> str:
    """A pointless action in a few words: typed text quoted, keys joined, a terminate's status."""
    if "text" in params:
        return f"type {params['text']!r}"
    if "keys" in params:
        return f"{kind} {'+'.join(str(k) for k in params['keys'])}"
    return " ".join([kind, *(str(v) for v in params.values())])


def _agentnet_marks(actions: list[dict[str, Any]]) -> list[Mark]:
    """AgentNetBench actions: a moveTo then dragTo is one drag arrow, a moveTo then scroll one scroll arrow (their
    label numbers both actions, ``1-2``), a scroll without a point is drawn where the pointer is."""
    marks: list[Mark] = []
    cursor: Point | None = None
    moved = False  # the previous action was a moveTo this one draws from
    for number, action in enumerate(actions, start=1):
        kind, params = str(action.get("type", "")), action.get("params") or {}
        position = _position(params.get("position"))
        name = f"{number - 1}-{number}" if moved else str(number)
        following = str(actions[number].get("type", "")) if number < len(actions) else ""
        moved = kind == "moveTo" and position is not None and following in ("dragTo", "scroll", "hscroll")
        if not moved:  # else drawn with the drag or scroll that follows
            marks.append(_one_mark(kind, params, position, cursor, name))
        marks.extend(_boxes(action))
        cursor = position or cursor
    return marks


def _one_mark(kind: str, params: dict[str, Any], position: Point | None, cursor: Point | None, name: str) -> Mark:
    if kind == "dragTo" and cursor is not None and position is not None:
        return Mark("drag", (cursor, position), f"{name} drag")
    if kind in ("scroll", "hscroll"):
        amount = float(params.get("amount", 0) or 0)
        direction = ("up" if amount > 0 else "down") if kind == "scroll" else ("right" if amount > 0 else "left")
        return Mark("scroll", (position or cursor or (0.5, 0.5),), f"{name} scroll {direction}", direction)
    if position is not None:
        return Mark("move" if kind == "moveTo" else "point", (position,), f"{name} {kind}")
    return Mark("text", (), f"{name} {_words(kind, params)}")


def _boxes(action: dict[str, Any]) -> list[Mark]:
    """The target boxes AgentNetBench's ground truth records with a pointed action (``rel_bbox``: x, y, w, h)."""
    boxes = []
    for box in (action.get("metadata") or {}).get("bboxes") or []:
        rel = box.get("rel_bbox") or ()
        if len(rel) >= 4 and rel[2] > 0 and rel[3] > 0:
            x, y, w, h = (float(v) for v in rel[:4])
            boxes.append(Mark("box", ((x, y), (x + w, y + h))))
    return boxes


def _android_marks(action: dict[str, Any], size: tuple[int, int]) -> list[Mark]:
    """One AndroidControl action: ``point`` (or ``x``, ``y``) in screenshot pixels."""
    kind = str(action.get("action_type", ""))
    raw = action.get("point") or ((action["x"], action["y"]) if "x" in action and "y" in action else None)
    point = (float(raw[0]) / size[0], float(raw[1]) / size[1]) if raw else None
    if kind == "scroll":
        direction = str(action.get("direction", "down"))
        return [Mark("scroll", (point or (0.5, 0.5),), f"scroll {direction}", direction)]
    if point is not None:
        return [Mark("point" if kind in _CLICKS else "move", (point,), kind)]
    details = {k: v for k, v in action.items() if k in ("text", "status", "app_name") and v}
    return [Mark("text", (), _words(kind, details))] if kind else []


def _screenspot_marks(answer: dict[str, Any]) -> list[Mark]:
    """ScreenSpot: the predicted ``point`` and the target ``bbox`` (x1, y1, x2, y2), both 0-1."""
    marks = []
    if isinstance(answer.get("point"), list | tuple) and len(answer["point"]) == 2:
        x, y = answer["point"]
        marks.append(Mark("point", ((float(x), float(y)),), "point"))
    if isinstance(answer.get("bbox"), list | tuple) and len(answer["bbox"]) == 4:
        x1, y1, x2, y2 = (float(v) for v in answer["bbox"])
        marks.append(Mark("box", ((x1, y1), (x2, y2)), "target"))
    return marks


def describe(marks: list[Mark]) -> list[str]:
    """Each mark in words, with its point as screen fractions (target boxes are drawn, not listed)."""
    return [
        f"{mark.label} at ({mark.points[0][0]:.3f}, {mark.points[0][1]:.3f})" if mark.points else mark.label
        for mark in marks
        if mark.kind != "box"
    ]


def svg_marks(marks: list[Mark], who: str, size: tuple[int, int], empty: str) -> str:
    """``marks`` as one SVG group (``data-overlay=who``) in a ``size`` viewBox; ``empty`` labels no marks at all."""
    width, height = size
    unit = width / 100  # strokes, radii and fonts scale with the picture
    stack = 0 if who == "predicted" else 1  # pointless labels: predicted on the first line, recorded below
    parts = []
    texts = [m for m in marks if m.kind == "text"] or ([] if marks else [Mark("text", (), empty)])
    for mark in marks:
        px = [(x * width, y * height) for x, y in mark.points]
        parts.append(_draw(mark, px, unit, who))
    for line, mark in enumerate(texts):  # top-left, interleaved: predicted, recorded, predicted, ...
        y = (2.2 + 2.2 * (2 * line + stack)) * unit
        words = f"{NAMES[who]}: {mark.label}"
        backdrop = (  # text widths are unknown here: about 0.6 em per character of a bold sans face
            f'<rect class="backdrop" x="{unit * 0.6:.1f}" y="{y - unit * 1.5:.1f}" '
            f'width="{unit * (0.85 + len(words)):.1f}" height="{unit * 2.0:.1f}" rx="{unit * 0.4:.1f}"/>'
        )
        parts.append(f'<g data-mark="text">{backdrop}{_text(unit, y, words, unit)}</g>')
    return f'<g class="overlay {who}" data-overlay="{who}">{"".join(parts)}</g>'


def _draw(mark: Mark, px: list[Point], unit: float, who: str) -> str:
    if mark.kind == "box":
        (x1, y1), (x2, y2) = px
        return (
            f'<rect data-mark="box" x="{x1:.1f}" y="{y1:.1f}" width="{x2 - x1:.1f}" height="{y2 - y1:.1f}" '
            f'class="box" stroke-width="{unit * 0.25:.2f}" stroke-dasharray="{unit:.1f} {unit * 0.6:.1f}"/>'
        )
    if mark.kind == "text":
        return ""
    (x, y), tail = px[0], ""
    if mark.kind in ("drag", "scroll"):
        dx, dy = SCROLL_VECTORS.get(mark.direction, (0.0, 0.0))
        (x2, y2) = px[1] if mark.kind == "drag" else (x + dx * 7 * unit, y + dy * 7 * unit)
        tail = (
            f'<line x1="{x:.1f}" y1="{y:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" marker-end="url(#arrow-{who})" class="path"/>'
        )
    radius = unit * (0.9 if mark.kind == "point" else 0.6)
    circle = f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{radius:.1f}" class="{mark.kind}"/>'
    label = _text(x + radius * 1.4, y - radius * 0.6, mark.label, unit)
    return f'<g data-mark="{mark.kind}" stroke-width="{unit * 0.3:.2f}">{tail}{circle}{label}</g>'


def _text(x: float, y: float, words: str, unit: float) -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" font-size="{unit * 1.6:.1f}">{html.escape(words)}</text>'
