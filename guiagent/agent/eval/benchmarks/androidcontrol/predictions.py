"""Our parsed actions as AndroidControl predictions: the first action only (the only one the harnesses score),
points in screenshot pixels, ``finished`` mapped to a goal status by the harnesses' keyword rule."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from guiagent.agent.actions import Action, Click, Finished, MobileAction, Scroll, Target, Type, Wait
from guiagent.agent.policy.coords import ScreenGeometry

_INFEASIBLE_WORDS = ("unsuccessful", "infeasible", "impossible", "cannot", "can't", "unable", "fail", "error")


def _pixel(target: Target, geometry: ScreenGeometry) -> tuple[float, float]:
    """A screen point in screenshot pixels (AndroidControl's x, y and a11y boxes are in those)."""
    (ox, oy), (width, height), (image_w, image_h) = geometry.origin, geometry.logical_size, geometry.image_size
    return (target.screen[0] - ox) * image_w / width, (target.screen[1] - oy) * image_h / height


def _goal_status(content: str) -> str:
    """finished(content) -> AndroidControl's goal_status, by the harnesses' keyword rule."""
    if content in ("successful", "infeasible"):
        return content
    return "infeasible" if any(word in content.lower() for word in _INFEASIBLE_WORDS) else "successful"


def _ac_prediction(kind: str, point: tuple[float, float] | None = None, **fields: str) -> dict[str, Any]:
    return {"action_type": kind, "point": point, "text": "", "direction": "", "status": "", "app_name": ""} | fields


def androidcontrol_action(actions: Sequence[Action], geometry: ScreenGeometry) -> dict[str, Any]:
    """The first action (the only one the harnesses score) as an AndroidControl prediction dict.

    Keys: ``action_type`` (click, long_press, type, scroll, navigate_back, open_app, wait, status; anything else
    keeps its own name, e.g. ``press_home`` or ``drag``, and never matches, as in the harnesses), ``point``
    (x, y in screenshot pixels, or None), ``text`` (typed text, trailing Enter dropped), ``direction`` (scroll),
    ``status`` (successful | infeasible) and ``app_name``. No action at all gives ``action_type`` "".
    """
    if not actions:
        return _ac_prediction("")
    match actions[0]:
        case Click(target=target):
            return _ac_prediction("click", _pixel(target, geometry))
        case MobileAction(name="long_press", target=Target() as target):
            return _ac_prediction("long_press", _pixel(target, geometry))
        case Type(text=text):
            return _ac_prediction("type", text=text.removesuffix("\n"))
        case Scroll(direction=direction, target=target):
            return _ac_prediction("scroll", _pixel(target, geometry) if target else None, direction=direction)
        case MobileAction(name="press_back"):
            return _ac_prediction("navigate_back")
        case MobileAction(name="open_app", text=text):
            return _ac_prediction("open_app", app_name=text)
        case Wait():
            return _ac_prediction("wait")
        case Finished(content=content):
            return _ac_prediction("status", status=_goal_status(content))
        case MobileAction(name=name):
            return _ac_prediction(name)
        case other:
            return _ac_prediction(type(other).__name__.lower())
