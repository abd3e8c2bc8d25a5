"""Field checks for trajectory records: every field a reader relies on, named when it is wrong.

A trajectory file is data anyone may have edited (or a crash may have cut), and everything downstream (scoring,
the dashboard, the report) indexes into it freely. So each record is checked once, when it is read, against
what the format says (format.py); a wrong field raises ``FieldError`` with the field's path
(``actions[0].target.screen``) and the loader adds the file and line. The benchmark importers reuse the checks
for the same shapes (AgentNetBench ground truth).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from guiagent.agent.policy.coords import ScreenGeometry

MAX_ASPECT = 200  # the Qwen2-VL processor refuses images (and screens) with sides further apart than this
SCHEMAS = ("recorded", "agentnetbench", "androidcontrol", "screenspot", "mind2web")
BUTTONS = ("left", "right", "middle")
DIRECTIONS = ("up", "down", "left", "right")
POINTED = ("click", "doubleclick", "rightclick", "tripleclick", "triple_click", "moveto", "dragto")
BBOX_KEYS = ("x_min", "x_max", "y_min", "y_max")
LARGEST = 2**53  # beyond this an integer has no exact float, and screen arithmetic can overflow


class FieldError(ValueError):
    """A field that does not hold what the format says; ``str()`` is the field and the problem."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"'{field}' {problem}")


# -- names for messages ----------------------------------------------------------------------------------------
def type_name(value: Any) -> str:
    """A JSON-ish name for a Python value's type (for messages)."""
    return {
        dict: "object",
        list: "list",
        str: "string",
        bool: "boolean",
        int: "number",
        float: "number",
        type(None): "null",
    }.get(type(value), type(value).__name__)


def a_type(value: Any) -> str:
    """The type of a value with its article, for messages: 'a string', 'an object', 'null'."""
    name = type_name(value)
    return name if name == "null" else ("an " if name[0] in "aeiou" else "a ") + name


def is_number(value: Any) -> bool:
    """A JSON number that is one: not a boolean, not NaN or infinite (Python's json reads both), not so large
    that arithmetic with floats overflows."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return abs(value) <= LARGEST if isinstance(value, int) else math.isfinite(value)


# -- scalars ---------------------------------------------------------------------------------------------------
def present(value: Any, field: str) -> Any:
    if value is None:
        raise FieldError(field, "is missing")
    return value


def obj(value: Any, field: str) -> Mapping[str, Any]:
    if not isinstance(present(value, field), dict):
        raise FieldError(field, f"is {a_type(value)}, not an object")
    return value


def text(value: Any, field: str) -> str:
    if not isinstance(present(value, field), str):
        raise FieldError(field, f"is {a_type(value)}, not a string")
    return value


def whole(value: Any, field: str, minimum: int | None = None) -> int:
    if not isinstance(present(value, field), int) or isinstance(value, bool):
        raise FieldError(field, f"is {_shown(value)}, not a whole number")
    if abs(value) > LARGEST:
        raise FieldError(field, f"is a number of {len(str(abs(value)))} digits, larger than any this format holds")
    if minimum is not None and value < minimum:
        raise FieldError(field, f"is {value}, below the smallest allowed ({minimum})")
    return value


def number(value: Any, field: str) -> float:
    if not is_number(present(value, field)):
        raise FieldError(field, f"is {_shown(value)}, not a finite number")
    return value


def one_of(value: Any, field: str, choices: tuple[str, ...]) -> str:
    if present(value, field) not in choices:
        raise FieldError(field, f"is {_shown(value)}, not one of {', '.join(choices)}")
    return value


def items(value: Any, field: str) -> list[Any]:
    if not isinstance(present(value, field), list):
        raise FieldError(field, f"is {a_type(value)}, not a list")
    return value


def optional(value: Any, check, field: str, *args: Any) -> Any:
    """``check(value, field, *args)`` when the field is present and not null; None otherwise."""
    return None if value is None else check(value, field, *args)


def brief(error: Exception) -> str:
    """A short, one-sentence account of an exception from a parser or decoder (theirs can run to paragraphs)."""
    detail = _printable(str(error).split("\n")[0].replace(". ", "; ").rstrip("."))
    if len(detail) > 100:
        detail = detail[:100] + "..."
    return f"{type(error).__name__}: {detail}" if detail else type(error).__name__


def unencodable_field(record: dict[str, Any]) -> str | None:
    """The first field (or key) holding text UTF-8 cannot write: JSON's ``\\ud800`` escapes allow lone surrogates."""
    stack: list[tuple[str, Any]] = [("", record)]
    while stack:
        field, value = stack.pop()
        if isinstance(value, str) and not _encodable(value):
            return _printable(field)
        if isinstance(value, dict):
            for key, item in value.items():
                name = f"{field}.{key}" if field else key
                if not _encodable(key):
                    return _printable(name)
                stack.append((name, item))
        elif isinstance(value, list):
            stack.extend((f"{field}[{index}]", item) for index, item in enumerate(value))
    return None


def _encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _printable(name: str) -> str:
    return name.encode("utf-8", "backslashreplace").decode("utf-8")


def _shown(value: Any) -> str:
    if isinstance(value, str):
        return f"the string {value[:40]!r}"
    if isinstance(value, float):
        return str(value)
    return a_type(value)


def _pair(value: Any, field: str, check, **limits: Any) -> tuple[Any, Any]:
    if not isinstance(value, list) or len(value) != 2:
        raise FieldError(field, f"is {a_type(value)}, not a pair [a, b]")
    return check(value[0], f"{field}[0]", **limits), check(value[1], f"{field}[1]", **limits)


# -- geometry --------------------------------------------------------------------------------------------------
def check_geometry(value: Any, field: str) -> ScreenGeometry:
    """A screen: ``origin`` [x, y], ``logical_size`` and ``image_size`` [w, h] in whole pixels."""
    data = obj(value, field)
    for name in ("origin", "logical_size", "image_size"):
        if name not in data:
            raise FieldError(f"{field}.{name}", "is missing")
    origin = _pair(data["origin"], f"{field}.origin", whole)
    logical = _pair(data["logical_size"], f"{field}.logical_size", whole, minimum=1)
    image = _pair(data["image_size"], f"{field}.image_size", whole, minimum=1)
    check_aspect(image, f"{field}.image_size")
    return ScreenGeometry(origin, logical, image)


def check_aspect(size: tuple[int, int], field: str) -> None:
    if max(size) / min(size) > MAX_ASPECT:
        raise FieldError(field, f"is {size[0]}x{size[1]}, sides more than {MAX_ASPECT} times apart")


# -- actions (the inverse of trajectory.action_to_dict) --------------------------------------------------------
def check_target(value: Any, field: str) -> Mapping[str, Any]:
    data = obj(value, field)
    for name in ("screen", "model"):
        if name not in data:
            raise FieldError(f"{field}.{name}", "is missing")
        _pair(data[name], f"{field}.{name}", number)
    if data.get("clamped") is not None and not isinstance(data["clamped"], bool):
        raise FieldError(f"{field}.clamped", f"is {a_type(data['clamped'])}, not true or false")
    return data


def check_action(value: Any, field: str) -> Mapping[str, Any]:
    """A recorded action dict: a known ``type`` and the fields that type needs, of the right kinds."""
    data = obj(value, field)
    kind = text(data.get("type"), f"{field}.type")

    def need(name: str, check, *args: Any) -> None:
        if data.get(name) is None:
            raise FieldError(f"{field}.{name}", f"is missing (a {kind} action needs it)")
        check(data[name], f"{field}.{name}", *args)

    def may(name: str, check, *args: Any) -> None:
        if data.get(name) is not None:
            check(data[name], f"{field}.{name}", *args)

    match kind:
        case "click":
            need("target", check_target)
            may("button", one_of, BUTTONS)
            may("clicks", whole, 1)
        case "move":
            need("target", check_target)
        case "drag":
            need("start", check_target)
            need("end", check_target)
        case "scroll":
            need("direction", one_of, DIRECTIONS)
            may("target", check_target)
            may("amount", whole, 0)
        case "hotkey":
            need("keys", items)
            for position, key in enumerate(data["keys"]):
                text(key, f"{field}.keys[{position}]")
        case "press" | "keyup":
            need("key", text)
        case "type":
            need("text", text)
        case "wait":
            may("seconds", number)
        case "finished" | "call_user":
            may("content", text)
        case "mobile":
            need("name", text)
            may("target", check_target)
            may("text", text)
        case _:
            raise FieldError(f"{field}.type", f"is {kind[:40]!r}, an action type this guiagent does not know")
    return data


# -- ground truth (``expected``) -------------------------------------------------------------------------------
def check_expected(value: Any, field: str = "expected") -> Mapping[str, Any]:
    """The ground truth of a step, checked for what its schema's scoring rule reads."""
    data = obj(value, field)
    schema = data.get("schema", "recorded")
    one_of(schema, f"{field}.schema", SCHEMAS)
    if schema == "agentnetbench":
        check_agentnet_actions(data.get("ground_truth_actions"), f"{field}.ground_truth_actions")
        options = optional(data.get("alternative_options"), items, f"{field}.alternative_options") or []
        for position, option in enumerate(options):
            check_agentnet_actions(option, f"{field}.alternative_options[{position}]")
    elif schema == "androidcontrol":
        _androidcontrol(data, field)
    elif schema == "screenspot":
        box = data.get("bbox")
        if not isinstance(box, list) or len(box) != 4:
            raise FieldError(f"{field}.bbox", f"is {a_type(box)}, not [x1, y1, x2, y2]")
        for position, coordinate in enumerate(box):
            number(coordinate, f"{field}.bbox[{position}]")
    elif schema == "mind2web":
        operation = obj(data.get("operation"), f"{field}.operation")
        text(operation.get("op"), f"{field}.operation.op")
        text(operation.get("value"), f"{field}.operation.value")
        for position, box in enumerate(items(data.get("boxes"), f"{field}.boxes")):
            if not isinstance(box, list) or len(box) != 4 or not all(is_number(c) for c in box):
                raise FieldError(f"{field}.boxes[{position}]", "is not [x1, y1, x2, y2] of numbers")
        whole(data.get("task_steps"), f"{field}.task_steps", 1)
    return data


def check_agentnet_actions(value: Any, field: str) -> list[Any]:
    """AgentNetBench ground-truth actions: ``{"type", "params", "metadata"?}`` as its evaluator reads them."""
    for position, action in enumerate(items(value, field)):
        where = f"{field}[{position}]"
        data = obj(action, where)
        kind = text(data.get("type"), f"{where}.type").lower()
        params = obj(data.get("params"), f"{where}.params")
        if kind in POINTED:
            position_of = obj(params.get("position"), f"{where}.params.position")
            for axis in ("x", "y"):
                number(position_of.get(axis), f"{where}.params.position.{axis}")
        elif kind == "write":
            name = "text" if "text" in params else "content"
            text(params.get(name), f"{where}.params.{name}")
        elif kind in ("press", "hotkey") and isinstance(params.get("keys"), list):
            for index, key in enumerate(params["keys"]):
                text(key, f"{where}.params.keys[{index}]")
        elif kind == "terminate":
            text(params.get("status"), f"{where}.params.status")
        if data.get("metadata") is not None:
            metadata = obj(data["metadata"], f"{where}.metadata")
            for index, box in enumerate(items(metadata.get("bboxes", []), f"{where}.metadata.bboxes")):
                if "rel_bbox" not in obj(box, f"{where}.metadata.bboxes[{index}]"):
                    raise FieldError(f"{where}.metadata.bboxes[{index}].rel_bbox", "is missing")
    return value


def _androidcontrol(data: Mapping[str, Any], field: str) -> None:
    action = obj(data.get("action"), f"{field}.action")
    text(action.get("action_type"), f"{field}.action.action_type")
    for name in ("x", "y"):
        optional(action.get(name), number, f"{field}.action.{name}")
    for name in ("text", "direction", "goal_status", "app_name"):
        optional(action.get(name), text, f"{field}.action.{name}")
    _pair(data.get("image_size"), f"{field}.image_size", number)
    previous = optional(data.get("previous_actions"), items, f"{field}.previous_actions") or []
    for position, entry in enumerate(previous):
        text(entry, f"{field}.previous_actions[{position}]")
    tree = optional(data.get("accessibility_tree"), items, f"{field}.accessibility_tree") or []
    check_nodes(tree, f"{field}.accessibility_tree")


def check_nodes(tree: list[Any], field: str) -> None:
    """Accessibility-tree nodes (lists may nest; ``field[n]`` counts nodes, not lists): a ``bbox_pixels`` of
    numbers and text labels, as the AndroidControl scorers read them."""
    stack, count = [tree], 0
    while stack:
        for node in stack.pop():
            if isinstance(node, list):
                stack.append(node)
                continue
            where = f"{field}[{count}]"
            box = obj(node, where).get("bbox_pixels")
            if not isinstance(box, dict) or not all(is_number(box.get(k)) for k in BBOX_KEYS):
                raise FieldError(f"{where}.bbox_pixels", f"is not an object of numbers {{{', '.join(BBOX_KEYS)}}}")
            for name in ("text", "content_description"):
                optional(node.get(name), text, f"{where}.{name}")
            count += 1


# -- records ---------------------------------------------------------------------------------------------------
def check_header(record: Mapping[str, Any]) -> dict[str, Any]:
    """The header fields a reader uses (format and version are the loader's to judge)."""
    return {
        "task": optional(record.get("task"), text, "task") or "",
        "source": optional(record.get("source"), text, "source") or "recorded",
        "name": optional(record.get("name"), text, "name") or "",
        "meta": optional(record.get("meta"), obj, "meta") or {},
        "screen": optional(record.get("screen"), check_geometry, "screen"),
    }


def check_step(record: Mapping[str, Any]) -> dict[str, Any]:
    """A step record's fields, checked (the image path is the loader's to resolve); ``Step``'s keyword arguments."""
    if record.get("image") is None:
        raise FieldError("image", "is missing (every step names its screenshot)")
    image = text(record["image"], "image")
    if not image.strip() or "\x00" in image:
        raise FieldError("image", f"is {image[:40]!r}, not a file name")
    actions = optional(record.get("actions"), items, "actions") or []
    for position, action in enumerate(actions):
        check_action(action, f"actions[{position}]")
    outcomes = optional(record.get("outcomes"), items, "outcomes") or []
    for position, outcome in enumerate(outcomes):
        text(outcome, f"outcomes[{position}]")
    timings = optional(record.get("timings"), obj, "timings") or {}
    for name, value in timings.items():
        number(value, f"timings.{name}")
    return {
        "step": whole(record.get("step"), "step", 1),
        "screen": optional(record.get("screen"), check_geometry, "screen"),
        "instruction": optional(record.get("instruction"), text, "instruction"),
        "raw": optional(record.get("raw"), text, "raw") or "",
        "thought": optional(record.get("thought"), text, "thought") or "",
        "actions": list(actions),
        "outcomes": list(outcomes),
        "status": optional(record.get("status"), text, "status") or "",
        "timings": dict(timings),
        "cache": optional(record.get("cache"), obj, "cache"),
        "expected": optional(record.get("expected"), check_expected, "expected"),
    }
