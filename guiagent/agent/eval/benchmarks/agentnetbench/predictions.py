"""Our parsed actions in AgentNetBench's own ground-truth schema (``{"type", "params"}``), so one scorer serves
every model we parse: positions are 0-1 fractions of the monitor, as the benchmark records them."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from guiagent.agent.actions import (
    Action,
    CallUser,
    Click,
    Drag,
    Finished,
    Hotkey,
    MobileAction,
    Move,
    Press,
    Scroll,
    Target,
    Type,
)
from guiagent.agent.policy.coords import ScreenGeometry

# A triple click is "tripleClick", the ground truth's name, and not OpenCUA's agent's "triple_click": the official
# eval.py lowercases both types and requires them equal (its pointed types are click, doubleclick, rightclick and
# tripleclick), so "triple_click" never matches a ground-truth step and scores 0 (the agent even drops
# pyautogui.tripleClick: its "click" test is case-sensitive). Here we deliberately differ from the agent.
_CLICK_KINDS = {2: "doubleClick", 3: "tripleClick"}
# OpenCUA's agent scores Cmd as Ctrl (its extract_actions maps "cmd" / "command" to "ctrl" in press and hotkey).
_AS_CTRL = frozenset({"cmd", "command"})
_SCROLLS = {"up": ("scroll", 5), "down": ("scroll", -5), "left": ("hscroll", -5), "right": ("hscroll", 5)}
_FAILURE = re.compile(r"fail|infeasible|impossible|unsolvable")


def _relative(target: Target, geometry: ScreenGeometry) -> dict[str, float]:
    """A screen point as the 0-1 fraction of its monitor that AgentNetBench positions use."""
    (ox, oy), (width, height) = geometry.origin, geometry.logical_size
    return {"x": round((target.screen[0] - ox) / width, 4), "y": round((target.screen[1] - oy) / height, 4)}


def _pointed(kind: str, target: Target, geometry: ScreenGeometry) -> dict[str, Any]:
    return {"type": kind, "params": {"position": _relative(target, geometry)}}


def _keyed(kind: str, keys: list[str]) -> dict[str, Any]:
    return {"type": kind, "params": {"keys": ["ctrl" if key.lower() in _AS_CTRL else key for key in keys]}}


def _terminate(status: str) -> dict[str, Any]:
    return {"type": "terminate", "params": {"status": status}}


def _typed(text: str) -> list[dict[str, Any]]:
    """``write`` the text; a trailing newline is Enter, which the benchmark records as its own ``press``."""
    body = text.removesuffix("\n")
    written = [{"type": "write", "params": {"text": body}}] if body else []
    return written + ([_keyed("press", ["enter"])] if body != text else [])


def _scrolled(direction: str, target: Target | None, geometry: ScreenGeometry) -> dict[str, Any]:
    kind, amount = _SCROLLS[direction]
    params: dict[str, Any] = {"amount": amount}
    if target is not None:
        params["position"] = _relative(target, geometry)
    return {"type": kind, "params": params}


def _agentnet_action(action: Action, geometry: ScreenGeometry) -> list[dict[str, Any]]:
    match action:
        case Click(target=target, button="right"):
            return [_pointed("rightClick", target, geometry)]
        case Click(target=target, button="middle"):
            return [_pointed("middleClick", target, geometry)]
        case Click(target=target, clicks=clicks):
            return [_pointed(_CLICK_KINDS.get(clicks, "click"), target, geometry)]
        case Move(target=target):
            return [_pointed("moveTo", target, geometry)]
        case Drag(start=start, end=end):
            return [_pointed("moveTo", start, geometry), _pointed("dragTo", end, geometry)]
        case Type(text=text):
            return _typed(text)
        case Hotkey(keys=keys):
            return [_keyed("hotkey", [key.lower() for key in keys])]
        case Press(key=key):
            return [_keyed("press", [key])]
        case Scroll(direction=direction, target=target):
            # the benchmark records a scroll at a point as moveTo + scroll (what pyautogui does): so do we
            moved = [_pointed("moveTo", target, geometry)] if target is not None else []
            return moved + [_scrolled(direction, target, geometry)]
        case Finished(content=content):
            return [_terminate("failure" if _FAILURE.search(content.lower()) else "success")]
        case CallUser():
            return [_terminate("failure")]
        case MobileAction(name="long_press", target=Target() as target):
            return [_pointed("click", target, geometry)]
        case MobileAction(name="press_back"):
            return [_keyed("press", ["escape"])]
    return []  # Wait, KeyUp and the other mobile buttons have no AgentNetBench counterpart


def agentnetbench_actions(actions: Sequence[Action], geometry: ScreenGeometry) -> list[dict[str, Any]]:
    """Our parsed actions as AgentNetBench ground-truth dicts (``{"type", "params"}``), so both sides share a schema.

    Positions are fractions of the monitor (``geometry``), rounded to 4 decimals like the benchmark's own.
    """
    return [converted for action in actions for converted in _agentnet_action(action, geometry)]
