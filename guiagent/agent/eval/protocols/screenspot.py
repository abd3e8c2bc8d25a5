"""ScreenSpot-v2 and ScreenSpot-Pro grounding as GUI-KV and STaR-KV evaluate them.

One sample = one single-turn prompt with its screenshot, no history. UI-TARS: the ``GROUNDING_DOUBAO`` prompt
(``harness_prompts.GROUNDING``, stray quote included) in the user turn and no system turn (the chat template adds
its default). OpenCUA: "You are a GUI agent. ... complete the task.\\n" + instruction in the user turn, except
STaR-KV's ScreenSpot-Pro, which sends that sentence as a system turn and the bare instruction as the user turn.
Greedy, 200 new tokens (v2) / 400 (Pro).

Scoring: the first parsed point, relative to the smart-resized original (UI-TARS: first value of the first
action, whatever the action is; OpenCUA: first two numbers of the first ``pyautogui.click/moveTo/dragTo/
doubleClick/rightClick/middleClick/tripleClick`` or ``computer.tripleClick`` line; ``computer.triple_click`` is
not one of them), must lie in the ground-truth box, edges included. Anything the parser rejects is wrong
(STaR-KV's UI-TARS parser rejects less, see ``harness_parsing``). v2 normalises the box by the image size, Pro
by the sample's ``img_size``; ``extra`` carries what the aggregates group by (v2: split and data_type, reported as
the mean of the per-split text and icon accuracies; Pro: ui_type, group, platform, application, micro accuracy).
"""

from __future__ import annotations

from typing import Any, ClassVar

from PIL import Image

from guiagent.agent.eval.protocols.base import CacheLayout, HarnessScore, Message, Protocol, papers_press_params
from guiagent.agent.eval.protocols.harness_parsing import (
    MAX_PIXELS,
    MIN_PIXELS,
    PROCESSOR_PIXELS,
    HarnessParseError,
    literal,
    opencua_click,
    parse_uitars,
)
from guiagent.agent.eval.protocols.harness_prompts import GROUNDING, OPENCUA_GROUNDING
from guiagent.agent.eval.protocols.summaries import screenspot_pro_summary, screenspot_v2_summary
from guiagent.agent.trajectory.format import Trajectory

# STaR-KV's ScreenSpot drivers: ``add_starkv_kv_arguments`` defaults (sk attention_helpers.py L1204-1220: MI prior
# 0 steps / ramp 0, temporal warmup 20, AEB 0.5 .. 1.5) with temporal and AEB ``store_true`` (off unless passed);
# ScreenSpot-v2 also sets ``temperature_default=1.0`` (sk screenspotv2_eval.py L86-93); alpha None -> 2.0.
STARKV_SCREENSPOT: dict[str, Any] = {
    "profile_steps": 0,
    "lambda_ramp": 0,
    "temporal": False,
    "temporal_warmup": 20,
    "entropy": False,
    "entropy_min": 0.5,
    "entropy_max": 1.5,
}
GROUPED = {"v2": ("split", "data_type", "data_source"), "pro": ("ui_type", "group", "platform", "application", "id")}


def hit(point: Any, bbox: list[float]) -> bool:
    """The harnesses' check: ``x1 <= x <= x2 and y1 <= y <= y2`` on relative coordinates."""
    return bbox[0] <= point[0] <= bbox[2] and bbox[1] <= point[1] <= bbox[3]


class _ScreenSpot(Protocol):
    variant: ClassVar[str]  # "v2" | "pro"
    min_pixels, max_pixels = MIN_PIXELS, MAX_PIXELS

    def user_text(self, instruction: str) -> str:
        return GROUNDING.format(instruction=instruction)

    def head(self) -> list[Message]:
        return []

    def messages(
        self, trajectory: Trajectory, step_index: int, screenshots: list[Image.Image], answers: list[str]
    ) -> list[Message]:
        step = trajectory.steps[step_index]
        text = self.user_text(step.instruction or trajectory.task)
        content = [{"type": "image", "image": screenshots[-1]}, {"type": "text", "text": text}]
        return [*self.head(), {"role": "user", "content": content}]

    def point(self, raw: str, size: tuple[int, int]) -> Any:
        """The harness's click point; raises where the harness's parse raises."""
        action = parse_uitars(raw, size, lenient=self.name == "starkv")[0]
        return literal(list(action["action_inputs"].values())[0])

    def summarize(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        """v2: the mean over the splits of the text and of the icon accuracy, and their average; Pro: micro."""
        return (screenspot_v2_summary if self.variant == "v2" else screenspot_pro_summary)(records)

    def score(self, trajectory: Trajectory, step_index: int, raw: str, image_size: tuple[int, int]) -> HarnessScore:
        expected = trajectory.steps[step_index].expected or {}
        try:
            predicted = self.point(raw, tuple(image_size))
            correct = hit(predicted, expected["bbox"])
        except (HarnessParseError, IndexError, TypeError, KeyError):  # the harness's except: wrong (format)
            predicted, correct = None, False
        extra = {key: expected.get(key) for key in GROUPED[self.variant]}
        if self.variant == "pro":
            extra["correctness"] = "correct" if correct else "wrong"
        return HarnessScore(float(correct), predicted, expected.get("bbox"), extra)


class _OpenCUA(_ScreenSpot):
    family = "opencua"
    min_pixels, max_pixels = PROCESSOR_PIXELS

    def user_text(self, instruction: str) -> str:
        return OPENCUA_GROUNDING + "\n" + instruction

    def point(self, raw: str, size: tuple[int, int]) -> Any:
        return opencua_click(raw, size)


class _V2(_ScreenSpot):
    benchmark, variant, max_new_tokens = "screenspot-v2", "v2", 200


class _Pro(_ScreenSpot):
    benchmark, variant, max_new_tokens = "screenspot-pro", "pro", 400


def _layout(name: str, variant: type[_ScreenSpot], family: type[_ScreenSpot] | None) -> CacheLayout:
    """Both harnesses reset per sample (sk screenspotv2_eval.py L313, screenspotpro_eval.py L533); STaR-KV's
    OpenCUA path keeps the KV heads (exact unrepeat), every other path stores the repeated query heads."""
    heads = "kv" if name == "starkv" and family is _OpenCUA else "query"
    if name != "starkv":
        return CacheLayout(heads=heads, reset="step")
    params = STARKV_SCREENSPOT | ({"temperature": 1.0} if variant is _V2 else {})
    return CacheLayout(heads=heads, reset="step", press_params=papers_press_params(starkv=params))


def _protocol(name: str, variant: type[_ScreenSpot], family: type[_ScreenSpot] | None) -> type[_ScreenSpot]:
    """The concrete protocol of one harness, variant and family (``family`` None: UI-TARS, the base default)."""
    label = f"{name.capitalize()}ScreenSpot{variant.variant.capitalize()}{'OpenCUA' if family else 'UITars'}"
    bases = (family, variant) if family else (variant,)
    attributes = {"__module__": __name__, "__qualname__": label, "name": name}
    attributes |= {} if family else {"family": "uitars"}
    if family and name == "guikv":
        attributes["__doc__"] = (
            "GUI-KV, OpenCUA-7B. Cache: the 28 repeated heads, as SnapKV / PyramidKV on Qwen2 store them; GUI-KV's "
            "OpenCUA unrepeat (the first query head of each group picks that KV head's tokens) is NOT reproduced."
        )
    return type(label, bases, attributes | {"cache": _layout(name, variant, family)})


GuikvScreenSpotV2UITars = _protocol("guikv", _V2, None)
StarkvScreenSpotV2UITars = _protocol("starkv", _V2, None)
GuikvScreenSpotV2OpenCUA = _protocol("guikv", _V2, _OpenCUA)
StarkvScreenSpotV2OpenCUA = _protocol("starkv", _V2, _OpenCUA)
GuikvScreenSpotProUITars = _protocol("guikv", _Pro, None)
StarkvScreenSpotProUITars = _protocol("starkv", _Pro, None)
GuikvScreenSpotProOpenCUA = _protocol("guikv", _Pro, _OpenCUA)


class StarkvScreenSpotProOpenCUA(_OpenCUA, _Pro):
    """The sentence as a system turn, the bare instruction as the user turn."""

    name = "starkv"
    cache = _layout("starkv", _Pro, _OpenCUA)

    def user_text(self, instruction: str) -> str:
        return instruction

    def head(self) -> list[Message]:
        return [{"role": "system", "content": OPENCUA_GROUNDING}]
