"""Our parsed actions as a Mind2Web operation: ``{"op", "value", "point"}`` with the point in screenshot pixels.

Mind2Web has three operations (CLICK, TYPE, SELECT) on one element per step. The mapping:

- ``Type(text)`` anywhere in the answer -> TYPE with that text (a trailing Enter dropped): UI-TARS and OpenCUA
  type into a field by clicking it and then typing, so the step's operation is the typing;
- else the first action: ``Click`` (any button, any count) -> CLICK; anything else keeps its own name upper-cased
  (SCROLL, HOTKEY, FINISHED, ...), which never equals a Mind2Web operation, so its operation F1 is 0;
- SELECT is never predicted: no action of ours selects an option (UI-TARS's ``select`` parses as a drag), so a
  SELECT step can score element accuracy but not operation F1 or step success;
- the point is the first one the answer names (a click's, a drag's start, a scroll's target), so "click the
  field, type" is scored on the clicked element. No answer gives op "" and no point.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from guiagent.agent.actions import Action, Click, Drag, Move, Scroll, Target, Type
from guiagent.agent.policy.coords import ScreenGeometry


def _pixel(target: Target, geometry: ScreenGeometry) -> list[float]:
    """A screen point in screenshot pixels (Mind2Web's boxes are in the full-page screenshot's pixels)."""
    (ox, oy), (width, height), (image_w, image_h) = geometry.origin, geometry.logical_size, geometry.image_size
    return [(target.screen[0] - ox) * image_w / width, (target.screen[1] - oy) * image_h / height]


def _point(actions: Sequence[Action], geometry: ScreenGeometry) -> list[float] | None:
    for action in actions:
        target = action.start if isinstance(action, Drag) else getattr(action, "target", None)
        if isinstance(action, (Click, Move, Drag, Scroll)) and target is not None:
            return _pixel(target, geometry)
    return None


def mind2web_operation(actions: Sequence[Action], geometry: ScreenGeometry) -> dict[str, Any]:
    """The answer as a Mind2Web prediction (see the module doc for the mapping)."""
    if not actions:
        return {"op": "", "value": "", "point": None}
    typed = next((action for action in actions if isinstance(action, Type)), None)
    if typed is not None:
        op, value = "TYPE", typed.text.removesuffix("\n")
    else:
        first = actions[0]
        op, value = ("CLICK" if isinstance(first, Click) else type(first).__name__.upper()), ""
    return {"op": op, "value": value, "point": _point(actions, geometry)}
