"""AndroidControl predictions and GUI-KV's strict step check, shared by the protocols and STaR-KV's lenient check.

A prediction is the harness's ``prediction_response``: ``{"operation", "click_point" (relative point, a 4-float
list for UI-TARS, an (x, y) tuple for OpenCUA, "" when none), "direction", "content"}``.
"""

from __future__ import annotations

from typing import Any

from guiagent.agent.eval.protocols.harness_parsing import extract_opencua, literal, parse_uitars

GROUNDING_TYPES = ("click", "long_press", "type_text")
FAILURE_WORDS = ("unsuccessful", "infeasible", "impossible", "cannot", "can't", "unable", "fail", "error")
OPENCUA_CLICKS = ("click", "doubleClick", "rightClick", "tripleClick", "moveTo", "dragTo", "triple_click")
OPERATION_TO_GT = {"press_back": "navigate_back", "wait": "wait", "finished": "status", "scroll": "scroll"}


def empty_prediction() -> dict[str, Any]:
    return {"operation": "", "click_point": "", "direction": "", "content": ""}


def finished_status(content: str) -> str:
    """Free-text ``finished`` / ``terminate`` content mapped to AndroidControl's goal_status."""
    return "infeasible" if any(word in content.lower() for word in FAILURE_WORDS) else "successful"


def uitars_prediction(raw: str, size: tuple[int, int], strict: bool, pixels: tuple[int, int]) -> dict[str, Any]:
    """The harness's conversion of a UI-TARS answer; raises ``HarnessParseError`` / ``IndexError`` as it does."""
    action = parse_uitars(raw, size, lenient=not strict, min_pixels=pixels[0], max_pixels=pixels[1])[0]
    operation, inputs = action["action_type"], action["action_inputs"]
    prediction = empty_prediction() | {"operation": operation}
    if operation in ("scroll", "click", "long_press"):
        prediction["click_point"] = list(inputs.values())[0]
        if operation == "scroll":
            prediction["direction"] = inputs.get("direction", "")
    elif operation == "type":
        prediction["content"] = inputs.get("content", "")
    elif operation == "finished":
        content = inputs.get("content", "")
        prediction["content"] = content if content in ("successful", "infeasible") else finished_status(content)
    prediction["click_point"] = literal(prediction["click_point"])
    return prediction


def opencua_prediction(raw: str, size: tuple[int, int]) -> dict[str, Any] | None:
    """The harness's conversion of the first OpenCUA call; ``None`` when no call was recognised."""
    actions = extract_opencua(raw, size)
    if not actions:
        return None
    kind, value = actions[0]
    prediction = empty_prediction()
    if kind in OPENCUA_CLICKS:
        prediction |= {"operation": "click", "click_point": value}
    elif kind == "scroll":
        prediction |= {"operation": "scroll", "direction": value}  # the int itself (a quirk of both harnesses)
    elif kind in ("write", "press"):
        prediction |= {"operation": "type" if kind == "write" else "press", "content": value}
    elif kind == "terminate":
        prediction |= {"operation": "finished", "content": finished_status(value)}
    return prediction


def point(prediction: dict[str, Any]) -> tuple[float, float] | None:
    """The predicted point as relative (x, y), when the prediction has one the harness would use."""
    click = prediction["click_point"]
    if isinstance(click, (list, tuple)) and len(click) >= 2:
        return float(click[0]), float(click[1])
    return None


def inside(bbox: dict[str, float], x: float, y: float) -> bool:
    return bbox["x_min"] <= x <= bbox["x_max"] and bbox["y_min"] <= y <= bbox["y_max"]


def smallest_node(x: float, y: float, tree: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The smallest-area node containing (x, y); the first one on ties (the harness's depth-first order)."""
    best, best_area = None, float("inf")
    for node in tree:
        box = node["bbox_pixels"]
        if inside(box, x, y):
            area = (box["x_max"] - box["x_min"]) * (box["y_max"] - box["y_min"])
            if area < best_area:
                best, best_area = node, area
    return best


def labels(node: dict[str, Any]) -> tuple[str, str]:
    return (node.get("text") or "").lower(), (node.get("content_description") or "").lower()


def strict_correct(prediction: dict[str, Any], expected: dict[str, Any], size: tuple[int, int]) -> bool:
    """GUI-KV's step check."""
    gt, tree = expected["action"], expected["accessibility_tree"]
    gt_type, operation, where = gt.get("action_type", ""), prediction["operation"], point(prediction)
    pixel = (where[0] * size[0], where[1] * size[1]) if where else None
    if operation in ("click", "long_press", "type") and gt_type in GROUNDING_TYPES:
        mine = "type_text" if operation == "type" else operation
        if mine != gt_type or "x" not in gt or "y" not in gt or not tree or pixel is None:
            return False
        target = smallest_node(gt["x"], gt["y"], tree)
        if target is None or not inside(target["bbox_pixels"], *pixel):
            return False
        return mine != "type_text" or gt.get("text", "") == prediction["content"]
    if (operation, gt_type) in (("click", "open_app"), ("open_app", "click")):
        node = smallest_node(*pixel, tree) if operation == "click" and pixel and tree else None
        app = (gt.get("app_name") or "").lower()
        return bool(node and app and any(label and app in label for label in labels(node)))
    if gt_type == "navigate_back" and operation in ("click", "press_back"):
        if operation == "press_back":
            return True
        node = smallest_node(*pixel, tree) if pixel and tree else None
        return bool(node and any(label and "back" in label for label in labels(node)))
    mapped = OPERATION_TO_GT.get(operation, operation)
    if mapped != gt_type:
        return False
    if mapped == "scroll":
        return gt.get("direction", "") == prediction["direction"]
    if mapped == "status":
        return gt.get("goal_status", "") == prediction["content"]
    return True
