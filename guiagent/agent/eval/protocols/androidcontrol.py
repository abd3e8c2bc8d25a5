"""AndroidControl as GUI-KV and STaR-KV evaluate it (``eval/androidcontrol_eval.py``, 500 step samples).

Every step is one fresh single-turn prompt: the CURRENT screenshot only, the ground-truth ``previous_actions``
joined by newlines inside the prompt text (never the model's own answers), the episode goal, and in ``low`` mode
the step instruction. UI-TARS gets the system turn "You are a helpful assistant. " (trailing space); OpenCUA gets
no system turn. 600 new tokens, greedy.

Scoring converts the answer to the harness's ``{operation, click_point (relative), direction, content}`` and
compares it with the sample's ground truth; a step scores 1 or 0 (``extra["grounding"]`` marks the steps the
harness's grounding accuracy counts: GT click, long_press, type_text).

GUI-KV (strict) quirks, reproduced:

- UI-TARS ``type(...)`` and OpenCUA ``write(...)`` carry no point, and a GT ``type_text`` needs a point inside
  its element, so type_text steps never score;
- OpenCUA ``scroll(n)`` keeps the int as the direction, which never equals GT 'up'/'down': scroll steps never
  score for OpenCUA; OpenCUA ``press``/``hotkey`` map to nothing AndroidControl has;
- an answer the parser rejects (no "Action:", an unparsable call) is the empty prediction (scores 0);
- ``finished`` content other than successful/infeasible is mapped by keywords ("cannot", "fail", ... ->
  infeasible, else successful).

STaR-KV (lenient, ``androidcontrol_lenient``) reuses the same prompts (its OpenCUA prompt lacks GUI-KV's stray
quote), its own parser (see ``harness_parsing``), scoring dims capped at 1200x2600 (the model still sees the
original), heuristics for near misses, and fallback parsers when parsing fails. Not reproduced: its
``--use_history_frames`` mode (GT history screenshots from android_control_test.json, off by default) and
``--no-opencua_legacy_prompts``.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

from PIL import Image

from guiagent.agent.eval.protocols import androidcontrol_lenient as lenient
from guiagent.agent.eval.protocols.androidcontrol_scoring import (
    GROUNDING_TYPES,
    empty_prediction,
    opencua_prediction,
    strict_correct,
    uitars_prediction,
)
from guiagent.agent.eval.protocols.base import CacheLayout, HarnessScore, Message, Protocol
from guiagent.agent.eval.protocols.harness_parsing import MAX_PIXELS, MIN_PIXELS, PROCESSOR_PIXELS, HarnessParseError
from guiagent.agent.eval.protocols.harness_prompts import (
    ANDROIDCONTROL_HIGH,
    ANDROIDCONTROL_LOW,
    ANDROIDCONTROL_OPENCUA,
    SYSTEM,
)
from guiagent.agent.eval.protocols.summaries import androidcontrol_summary
from guiagent.agent.trajectory.format import Trajectory
from guiagent.errors import ConfigError

LEVELS = ("high", "low")


class _AndroidControl(Protocol):
    """One step sample: prompt from its goal, GT previous actions (and step instruction in ``low``).

    Every step of ``500_steps.json`` is its own sample; STaR-KV resets the press's state before each one (sk
    androidcontrol_eval.py L1042; per episode only with ``--use_history_frames``, not reproduced). Its
    ``add_starkv_kv_arguments`` overrides (L623-635: MI prior 5 / ramp 10, warmup 0, AEB 0.95 .. 1.05) plus
    ``force_full_starkv_stack`` (L656-658: temporal and AEB on) are the press's defaults.
    """

    benchmark = "androidcontrol"
    max_new_tokens = 600
    cache = CacheLayout(heads="query", reset="step")

    def __init__(self, level: str = "high") -> None:
        if level not in LEVELS:
            raise ConfigError(
                f"The AndroidControl instruction level must be high or low, not {level!r}.",
                "Pass level='high' (the harnesses' default) or 'low'.",
            )
        self.level = level

    @abstractmethod
    def template(self) -> str:
        """The prompt template for ``self.level``."""

    def head(self) -> list[Message]:
        return []

    def messages(
        self, trajectory: Trajectory, step_index: int, screenshots: list[Image.Image], answers: list[str]
    ) -> list[Message]:
        expected = trajectory.steps[step_index].expected or {}
        text = self.template().format(
            goal=trajectory.task,
            previous_actions="\n".join(expected.get("previous_actions", [])),
            task=expected.get("step_instruction", ""),
        )
        content = [{"type": "image", "image": screenshots[-1]}, {"type": "text", "text": text}]
        return [*self.head(), {"role": "user", "content": content}]

    def scoring_size(self, image_size: tuple[int, int]) -> tuple[int, int]:
        return image_size

    @abstractmethod
    def predict(self, raw: str, size: tuple[int, int]) -> dict[str, Any]:
        """The harness's prediction_response for a raw answer (parsed in ``size`` pixels)."""

    @abstractmethod
    def correct(self, prediction: dict[str, Any], raw: str, expected: dict[str, Any], task: str, size: tuple) -> bool:
        """The harness's step check."""

    def score(self, trajectory: Trajectory, step_index: int, raw: str, image_size: tuple[int, int]) -> HarnessScore:
        expected = trajectory.steps[step_index].expected or {}
        size = self.scoring_size(tuple(image_size))
        prediction = self.predict(raw, size)
        correct = self.correct(prediction, raw, expected, trajectory.task, size)
        grounding = expected["action"].get("action_type") in GROUNDING_TYPES
        return HarnessScore(float(correct), prediction, expected["action"], {"grounding": grounding})

    def summarize(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        """``step_accuracy`` and ``grounding_accuracy`` (click / long-press / type ground truth)."""
        return androidcontrol_summary(records)


class _UITars(_AndroidControl):
    """The processor limits are also the ones the harness parses with."""

    family = "uitars"
    min_pixels, max_pixels = MIN_PIXELS, MAX_PIXELS

    def template(self) -> str:
        return ANDROIDCONTROL_HIGH if self.level == "high" else ANDROIDCONTROL_LOW

    def head(self) -> list[Message]:
        return [{"role": "system", "content": SYSTEM}]


class _OpenCUA(_AndroidControl):
    family = "opencua"
    min_pixels, max_pixels = PROCESSOR_PIXELS

    def template(self) -> str:
        return ANDROIDCONTROL_OPENCUA[(self.name, self.level)]


class _GuiKV(_AndroidControl):
    name = "guikv"

    def correct(self, prediction: dict[str, Any], raw: str, expected: dict[str, Any], task: str, size: tuple) -> bool:
        return strict_correct(prediction, expected, size)


class _StarKV(_AndroidControl):
    name = "starkv"

    def scoring_size(self, image_size: tuple[int, int]) -> tuple[int, int]:
        return lenient.scoring_size(image_size)

    def correct(self, prediction: dict[str, Any], raw: str, expected: dict[str, Any], task: str, size: tuple) -> bool:
        return lenient.lenient_correct(prediction, raw, expected, task, size, strict_box=self.family == "opencua")


class GuikvAndroidControlUITars(_GuiKV, _UITars):
    """GUI-KV, UI-TARS-1.5: Qwen2.5-VL processor limits 100*28*28 .. 16384*28*28, strict parser."""

    def predict(self, raw: str, size: tuple[int, int]) -> dict[str, Any]:
        try:
            return uitars_prediction(raw, size, strict=True, pixels=(self.min_pixels, self.max_pixels))
        except (HarnessParseError, IndexError):
            return empty_prediction()


class StarkvAndroidControlUITars(_StarKV, _UITars):
    """STaR-KV, UI-TARS-1.5: the checkpoint's own processor (3136 .. 12845056, also used to parse)."""

    min_pixels, max_pixels = PROCESSOR_PIXELS

    def predict(self, raw: str, size: tuple[int, int]) -> dict[str, Any]:
        try:
            return uitars_prediction(raw, size, strict=False, pixels=(self.min_pixels, self.max_pixels))
        except (HarnessParseError, IndexError):
            return lenient.fallback_prediction(raw, size)


class GuikvAndroidControlOpenCUA(_GuiKV, _OpenCUA):
    """GUI-KV, OpenCUA-7B: pyautogui lines; nothing recognised is the empty prediction.

    Cache: the 28 repeated heads, as SnapKV / PyramidKV on Qwen2 store them; GUI-KV's OpenCUA unrepeat (the first
    query head of each group picks that KV head's tokens) is NOT reproduced.
    """

    def predict(self, raw: str, size: tuple[int, int]) -> dict[str, Any]:
        try:
            return opencua_prediction(raw, size) or empty_prediction()
        except HarnessParseError:
            return empty_prediction()


class StarkvAndroidControlOpenCUA(_StarKV, _OpenCUA):
    """STaR-KV, OpenCUA-7B (legacy prompts, its default): keyword fallback when no call is recognised.

    Cache: STaR-KV's exact GQA unrepeat keeps the 4 KV heads (one shared index set).
    """

    cache = CacheLayout(heads="kv", reset="step")

    def predict(self, raw: str, size: tuple[int, int]) -> dict[str, Any]:
        try:
            return opencua_prediction(raw, size) or lenient.opencua_fallback(raw, size)
        except HarnessParseError:
            return lenient.fallback_prediction(raw, size)
