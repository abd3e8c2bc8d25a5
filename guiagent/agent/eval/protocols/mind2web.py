"""Multimodal-Mind2Web as GUI-KV evaluates it (``eval/multimodal_mind2web_eval.py``; STaR-KV has no such harness).

The harness reads UGround's ``cross_{domain,task,website}_blocks.jsonl``: per step the task, the ground-truth
previous actions, the positive boxes, operation and value, and the page cut into block screenshots
``{annotation_id}_{action_uid}/{n}.png``. Per step it prompts with block 0 (UI-TARS: system turn "You are a
helpful assistant. " + ``MM_MIND2WEB_PROMPT``; OpenCUA: the user turn only, ``MM_MIND2WEB_PROMPT_OPENCUA``), 500
new tokens, greedy. A scroll answer appends "Scroll {direction}." to the previous actions and re-prompts with the
next (down) or previous (up) block, at most 5 prompts per step; the last answer is scored.

Scoring (all per step, ``extra``): element accuracy = the point (relative to the smart-resized block 0) inside
any positive box normalised by block 0's size; operation F1 = token-set F1 of "op content" vs "OP value"
(lower-cased, punctuation-only tokens dropped); step success = both 1 (the step's ``score``). Macro averages per
task, with missing steps as 0, are the reported numbers. Quirks kept: a UI-TARS ``type`` has no point, so TYPE
steps never succeed; ``scroll`` keeps its point, so a final scroll can be element-correct; only click, type,
select and scroll parse for UI-TARS (anything else is the empty prediction); OpenCUA's ``scroll(n)`` is "down"
for n < 0, else "up".

Not reproduced (this interface prompts once per step with one screenshot):

- the scroll loop: ``messages`` is the step's first prompt, with the step's screenshot standing for block 0 (our
  importer reads the dataset's full-page screenshots, not UGround's blocks), and ``score`` scores the answer as
  the step's last one: the harness's figure when the model does not scroll, or scrolls all 5 times;
- the previous actions: UGround's ``previous_actions`` strings are not public; they are taken as the dataset's
  ``action_reprs`` before the step (``target_action_index``);
- a step without previous actions: the harness keeps ``previous_actions_text`` from the PREVIOUS sample in the
  file (another task's, with its "Scroll ..." lines) and raises NameError when it is the first sample; here the
  section is empty.
"""

from __future__ import annotations

import string
from abc import abstractmethod
from typing import Any

from PIL import Image

from guiagent.agent.eval.protocols.androidcontrol_scoring import OPENCUA_CLICKS, empty_prediction, finished_status
from guiagent.agent.eval.protocols.base import CacheLayout, HarnessScore, Message, Protocol
from guiagent.agent.eval.protocols.harness_parsing import (
    MAX_PIXELS,
    MIN_PIXELS,
    PROCESSOR_PIXELS,
    HarnessParseError,
    extract_opencua,
    literal,
    parse_uitars,
)
from guiagent.agent.eval.protocols.harness_prompts import MIND2WEB, MIND2WEB_OPENCUA, SYSTEM
from guiagent.agent.eval.protocols.summaries import mind2web_summary
from guiagent.agent.trajectory.format import Trajectory

MAX_BLOCKS = 5  # prompts per step (scrolls between page blocks)


def previous_actions(trajectory: Trajectory, step_index: int) -> list[str]:
    """The dataset's action representations before the step (standing in for UGround's previous_actions)."""
    expected = trajectory.steps[step_index].expected or {}
    before = expected.get("target_action_index")
    reprs = list(trajectory.meta.get("action_reprs") or [])
    return reprs[: before if before is not None else step_index]


def operation_f1(predicted: str, label: str) -> float:
    """The harness's ``calculate_f1``: lower-cased token sets, tokens found in ``string.punctuation`` dropped."""
    mine = {t for t in predicted.lower().strip().split() if t not in string.punctuation}
    gold = {t for t in label.lower().strip().split() if t not in string.punctuation}
    if not mine and not gold:
        return 1.0
    if not mine or not gold:
        return 0.0
    common = len(mine & gold)
    precision, recall = common / len(mine), common / len(gold)
    return 0.0 if precision == 0 or recall == 0 else 2 * precision * recall / (precision + recall)


def in_any_box(point: Any, boxes: list[list[float]], size: tuple[int, int]) -> bool:
    """``is_output_inside_bbox`` on boxes [x, y, w, h] normalised by the block's size (edges included)."""
    try:
        x, y = point[:2]
    except (TypeError, ValueError):
        return False
    for box in boxes:
        bx, by, bw, bh = box[0] / size[0], box[1] / size[1], box[2] / size[0], box[3] / size[1]
        if bx <= x <= bx + bw and by <= y <= by + bh:
            return True
    return False


class _Mind2Web(Protocol):
    """Each step is its own sample (one ``jsonl`` line, its own prompts; GUI-KV keeps no state across samples).

    Cache: the repeated query heads (UI-TARS ``repeat_kv``; for OpenCUA as SnapKV / PyramidKV on Qwen2 store them;
    GUI-KV's OpenCUA "unrepeat keeps the first query head of each group" is NOT reproduced).
    """

    name = "guikv"
    benchmark = "mind2web"
    max_new_tokens = 500
    cache = CacheLayout(heads="query", reset="step")

    def summarize(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        """Macro over tasks of element accuracy, operation F1 and step success rate."""
        return mind2web_summary(records)

    def template(self) -> str:
        return MIND2WEB

    def head(self) -> list[Message]:
        return []

    def messages(
        self, trajectory: Trajectory, step_index: int, screenshots: list[Image.Image], answers: list[str]
    ) -> list[Message]:
        previous = "\n".join(previous_actions(trajectory, step_index))
        text = self.template().format(instruction=trajectory.task, previous_actions=previous)
        content = [{"type": "image", "image": screenshots[-1]}, {"type": "text", "text": text}]
        return [*self.head(), {"role": "user", "content": content}]

    @abstractmethod
    def predict(self, raw: str, size: tuple[int, int]) -> dict[str, Any]:
        """The harness's prediction_response; raises where its parser raises."""

    def score(self, trajectory: Trajectory, step_index: int, raw: str, image_size: tuple[int, int]) -> HarnessScore:
        expected = trajectory.steps[step_index].expected or {}
        size = tuple(image_size)
        try:
            prediction = self.predict(raw, size)
        except (HarnessParseError, IndexError):
            prediction = empty_prediction()
        where = prediction["click_point"]
        element = 1.0 if where and in_any_box(where, expected["boxes"], size) else 0.0
        operation = expected["operation"]
        f1 = operation_f1(
            f"{prediction['operation']} {prediction['content']}", f"{operation['op']} {operation['value']}"
        )
        success = 1.0 if f1 == 1 and element == 1 else 0.0
        extra = {
            "element_accuracy": element,
            "operation_f1": f1,
            "step_success": success,
            "annotation_id": expected.get("annotation_id"),
            "task_steps": expected.get("task_steps"),
        }
        return HarnessScore(success, prediction, operation, extra)


class GuikvMind2WebUITars(_Mind2Web):
    """UI-TARS-1.5 with the strict GUI-KV parser; positional meaning of the call's values, as the harness reads."""

    family = "uitars"
    min_pixels, max_pixels = MIN_PIXELS, MAX_PIXELS

    def head(self) -> list[Message]:
        return [{"role": "system", "content": SYSTEM}]

    def predict(self, raw: str, size: tuple[int, int]) -> dict[str, Any]:
        action = parse_uitars(raw, size, lenient=False)[0]
        operation, values = action["action_type"], list(action["action_inputs"].values())
        prediction = empty_prediction() | {"operation": operation}
        if operation in ("scroll", "click", "select"):
            prediction["click_point"] = values[0]
            if operation != "click":
                prediction["direction" if operation == "scroll" else "content"] = values[1]
        elif operation == "type":
            prediction["content"] = values[0]
        else:
            return empty_prediction()  # the harness raises NotImplementedError and catches it
        prediction["click_point"] = literal(prediction["click_point"])
        return prediction


class GuikvMind2WebOpenCUA(_Mind2Web):
    """OpenCUA-7B: the first pyautogui call; an int scroll becomes down (< 0) or up."""

    family = "opencua"
    min_pixels, max_pixels = PROCESSOR_PIXELS

    def template(self) -> str:
        return MIND2WEB_OPENCUA

    def predict(self, raw: str, size: tuple[int, int]) -> dict[str, Any]:
        actions = extract_opencua(raw, size)
        prediction = empty_prediction()
        if not actions:
            return prediction
        kind, value = actions[0]
        if kind in OPENCUA_CLICKS:
            prediction |= {"operation": "click", "click_point": value}
        elif kind == "scroll":
            direction = ("down" if value < 0 else "up") if isinstance(value, int) else value
            prediction |= {"operation": "scroll", "direction": direction}
        elif kind in ("write", "press"):
            prediction |= {"operation": "type" if kind == "write" else "press", "content": value}
        elif kind == "terminate":
            prediction |= {"operation": "finished", "content": finished_status(value)}
        return prediction
