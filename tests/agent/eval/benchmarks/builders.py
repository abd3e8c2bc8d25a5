"""Builders for benchmark ground truth and predictions: AgentNetBench ``{type, params}`` dicts and AndroidControl
step samples (a small a11y tree on a 1080x2400 phone) with prediction dicts."""

from __future__ import annotations

from guiagent.agent.actions import Target

# ---------------------------------------------------------------------------------------------------------------
# AgentNetBench


def pointed(kind: str, x: float, y: float, bboxes: list | None = None) -> dict:
    """A click-like action; ``bboxes=None`` leaves out ``metadata`` altogether."""
    action = {"type": kind, "params": {"position": {"x": x, "y": y}}}
    if bboxes is not None:
        action["metadata"] = {"bboxes": [{"rel_bbox": box} for box in bboxes]}
    return action


def write(text: str) -> dict:
    return {"type": "write", "params": {"text": text}}


def keys(kind: str, *names) -> dict:
    return {"type": kind, "params": {"keys": list(names)}}


def scroll(amount: int) -> dict:
    return {"type": "scroll", "params": {"amount": amount}}


def terminate(status: str, kind: str = "terminate") -> dict:
    return {"type": kind, "params": {"status": status}}


def target(x: int, y: int) -> Target:
    return Target(model=(x, y), screen=(x, y))


# ---------------------------------------------------------------------------------------------------------------
# AndroidControl

SEND = {"bbox_pixels": {"x_min": 100, "x_max": 300, "y_min": 1000, "y_max": 1100}, "text": "Send"}
UP = {"bbox_pixels": {"x_min": 0, "x_max": 120, "y_min": 80, "y_max": 200}, "content_description": "Navigate up"}
BACK = {"bbox_pixels": {"x_min": 900, "x_max": 1080, "y_min": 2200, "y_max": 2400}, "text": "Back"}
MAPS = {"bbox_pixels": {"x_min": 500, "x_max": 700, "y_min": 1500, "y_max": 1700}, "text": "Google Maps"}
COMPACT = {"bbox_pixels": {"x_min": 800, "x_max": 1000, "y_min": 1500, "y_max": 1700}, "text": "GoogleMaps"}
ROOT = {"bbox_pixels": {"x_min": 0, "x_max": 1080, "y_min": 0, "y_max": 2400}, "text": ""}
TREE = [[ROOT], [SEND, [UP, BACK]], [MAPS, COMPACT]]
PHONE = (1080, 2400)


def step(action: dict, tree: list | None = None, size=PHONE, **extra) -> dict:
    return {"action": action, "accessibility_tree": TREE if tree is None else tree, "image_size": size} | extra


def pred(kind: str, point=None, **fields) -> dict:
    return {"action_type": kind, "point": point, "text": "", "direction": "", "status": "", "app_name": ""} | fields


CLICK_SEND = step({"action_type": "click", "x": 200, "y": 1050})
