"""AgentNetBench as the GUI-KV and STaR-KV drivers (``eval/agentnetbench_eval.py``) run it, per model family.

Per step ``t`` (0-based) the drivers build a fresh conversation (re-prefilled every step):

- UI-TARS (both harnesses): for each earlier step ``j``, a user turn with screenshot ``j`` when ``j`` is one of
  the last ``image_slots - 1 = 4`` steps, then (when ``j >= t - 10``) an assistant turn
  ``"# Step {j+1}:\\nStep {j+1}:\\n" + the model's own raw answer at j`` (thinking included); finally a user
  turn with the current screenshot and the prompt. No system turn: the chat template adds its default one.
  Steps older than 4 thus give consecutive assistant turns.
- OpenCUA, GUI-KV: the same loop, but an indentation slip ties the OpenCUA image branch to "not one of the
  last 4", and it sends a path variable left over from the driver's previous step: every step ``j < t - 4``
  gets a user turn with screenshot ``t - 2`` (the last history image of step ``t - 1``), and the last 4
  get none. Text history and the final turn as for UI-TARS, with the long OpenCUA prompt.
- OpenCUA, STaR-KV: no history at all: a system turn (the compact pyautogui prompt) and a user turn with the
  current screenshot and ``"Task: ..."``.

Scoring: only the first converted prediction against the first ground-truth action (``evaluate_action``:
``scorer.score_agentnetbench_papers``), after the harness's own parse and conversion (``agentnetbench_parsing``).
A parse error scores 0. Not reproduced: trajectories with a missing screenshot (the drivers skip the step but
still reference it in later history, and fall back to ground-truth ``inner_monologue`` text we do not import);
an empty ``high_level_task_description`` (the drivers send it empty, the importer falls back to the user task).
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, ClassVar

from PIL import Image

from guiagent.agent.eval.benchmarks.agentnetbench.scorer import score_agentnetbench_papers
from guiagent.agent.eval.protocols import harness_prompts as prompts
from guiagent.agent.eval.protocols.agentnetbench_parsing import (
    Predicted,
    opencua_actions,
    opencua_fallback,
    tars_to_agentnet,
    uitars_actions,
)
from guiagent.agent.eval.protocols.base import CacheLayout, HarnessScore, Message, Protocol
from guiagent.agent.eval.protocols.harness_parsing import MAX_PIXELS, MIN_PIXELS, PROCESSOR_PIXELS
from guiagent.agent.eval.protocols.summaries import agentnetbench_summary
from guiagent.agent.trajectory.format import Trajectory
from guiagent.errors import ConfigError

IMAGE_SLOTS = 5  # the drivers' --image_slots default: 4 history screenshots + the current one
TEXT_HISTORY = 10  # max_history_length: earlier answers sent as text
_POINTED = ("click", "doubleclick", "rightclick", "tripleclick", "moveto", "dragto", "triple_click")
_VALUE_FIELDS = {"write": "text", "press": "keys", "hotkey": "keys", "scroll": "amount", "terminate": "status"}


def _image(image: Image.Image) -> Message:
    return {"type": "image", "image": image}


def _final_turn(screenshot: Image.Image, prompt: str) -> Message:
    return {"role": "user", "content": [_image(screenshot), {"type": "text", "text": prompt}]}


def _answer_turn(index: int, answers: list[str]) -> Message:
    return {"role": "assistant", "content": f"# Step {index + 1}:\nStep {index + 1}:\n{answers[index]}"}


def _as_action(predicted: Predicted) -> dict[str, Any]:
    """A converted tuple in the ground truth's dict schema, for the shared scorer."""
    kind, value = predicted
    if kind.lower() in _POINTED:
        return {"type": kind, "params": {"position": {"x": value[0], "y": value[1]}}}
    field = _VALUE_FIELDS.get(kind.lower())
    return {"type": kind, "params": {field: value} if field else {}}


class _AgentNetBench(Protocol):
    """What both harnesses share: limits, step checks, the first-action scoring and the harness's aggregates.

    The STaR-KV driver resets the press's cross-step state once per trajectory (``reset_starkv_per_sample_state``
    before its step loop, sk agentnetbench_eval.py L612); its ``add_starkv_kv_arguments`` overrides (L390-402: MI
    prior 5 steps / ramp 10, temporal and AEB on, AEB 0.95 .. 1.05, warmup 0) are the press's defaults.
    """

    benchmark: ClassVar[str] = "agentnetbench"
    max_new_tokens: ClassVar[int] = 1000
    min_pixels: ClassVar[int] = MIN_PIXELS
    max_pixels: ClassVar[int] = MAX_PIXELS
    cache: ClassVar[CacheLayout] = CacheLayout(heads="query", reset="trajectory")

    def messages(
        self, trajectory: Trajectory, step_index: int, screenshots: list[Image.Image], answers: list[str]
    ) -> list[Message]:
        if not 0 <= step_index < len(trajectory.steps):
            raise ValueError(f"step {step_index} is outside the trajectory's {len(trajectory.steps)} steps")
        if len(screenshots) < step_index + 1 or len(answers) < step_index:
            raise ValueError(
                f"step {step_index} needs {step_index + 1} screenshots and {step_index} earlier answers, "
                f"got {len(screenshots)} and {len(answers)}"
            )
        return self.turns(trajectory, step_index, screenshots, answers)

    @abstractmethod
    def turns(
        self, trajectory: Trajectory, step_index: int, screenshots: list[Image.Image], answers: list[str]
    ) -> list[Message]:
        """``messages`` once the step and its inputs are checked."""

    @abstractmethod
    def predict(self, raw: str, image_size: tuple[int, int]) -> list[Predicted]:
        """The driver's converted prediction (all tuples; only the first is scored). Raises ``ValueError``."""

    def score(self, trajectory: Trajectory, step_index: int, raw: str, image_size: tuple[int, int]) -> HarnessScore:
        expected = trajectory.steps[step_index].expected or {}
        if expected.get("schema") != "agentnetbench":
            raise ConfigError(
                f"Step {step_index + 1} of '{trajectory.name}' has no AgentNetBench ground truth.",
                "Replay an AgentNetBench trajectory (imported from the benchmark's task files) with this protocol.",
            )
        truth = expected["ground_truth_actions"]
        try:
            predicted = self.predict(raw, image_size)
        except ValueError as error:  # the drivers catch any parse failure and score the step 0
            return HarnessScore(0.0, [], truth, {"used_alternative": False, "error": str(error)})
        result = score_agentnetbench_papers(
            [_as_action(predicted[0])] if predicted else [], truth, expected.get("alternative_options") or []
        )
        extra = {"used_alternative": result.used_alternative, "error": None}
        return HarnessScore(result.score, predicted, truth, extra)

    def summarize(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        """``overall_score`` (mean step score) and ``average_trajectory_score`` (mean of per-trajectory means)."""
        return agentnetbench_summary(records)


class _UITars(_AgentNetBench):
    family: ClassVar[str] = "uitars"

    def turns(
        self, trajectory: Trajectory, step_index: int, screenshots: list[Image.Image], answers: list[str]
    ) -> list[Message]:
        with_images = range(step_index - min(IMAGE_SLOTS - 1, step_index), step_index)
        messages: list[Message] = []
        for index in range(step_index):
            if index in with_images:
                messages.append({"role": "user", "content": [_image(screenshots[index])]})
            if index >= step_index - TEXT_HISTORY:
                messages.append(_answer_turn(index, answers))
        prompt = prompts.AGENTNETBENCH_UITARS_HEAD + trajectory.task + prompts.AGENTNETBENCH_UITARS_TAIL
        return [*messages, _final_turn(screenshots[step_index], prompt)]

    def predict(self, raw: str, image_size: tuple[int, int]) -> list[Predicted]:
        return tars_to_agentnet(uitars_actions(raw, image_size, self.name))


class GuiKVUITars(_UITars):
    """GUI-KV, UI-TARS-1.5: GUI-KV's parser (text after the last "Action: ", every action must parse)."""

    name: ClassVar[str] = "guikv"


class StarKVUITars(_UITars):
    """STaR-KV, UI-TARS-1.5: the same prompt; STaR-KV's lenient parser (thinking dropped, first action).

    Cache: ``repeat_kv`` before caching (28 stored heads), with STaR-KV's one index set shared by every head.
    """

    name: ClassVar[str] = "starkv"


class _OpenCUA(_AgentNetBench):
    """OpenCUA-7B: the checkpoint's processor limits feed the model, the parse converts on another grid
    (``harness_parsing``'s pixel rule)."""

    family: ClassVar[str] = "opencua"
    min_pixels, max_pixels = PROCESSOR_PIXELS


class GuiKVOpenCUA(_OpenCUA):
    """GUI-KV, OpenCUA-7B: multi-turn, with the misplaced stale history screenshots (module docstring).

    Cache: SnapKV / PyramidKV on Qwen2 store the 28 repeated heads (``heads="query"``); GUI-KV's own OpenCUA path
    ("unrepeat keeps the first query head of each group", i.e. per-KV-head indices picked by one query head) is
    NOT reproduced: our GUI-KV press selects per repeated query head here.
    """

    name: ClassVar[str] = "guikv"

    def turns(
        self, trajectory: Trajectory, step_index: int, screenshots: list[Image.Image], answers: list[str]
    ) -> list[Message]:
        oldest_with_image = step_index - min(IMAGE_SLOTS - 1, step_index)
        messages: list[Message] = []
        for index in range(step_index):
            if index < oldest_with_image:  # only from step 5 on, so screenshot t - 2 always exists
                messages.append({"role": "user", "content": [_image(screenshots[step_index - 2])]})
            if index >= step_index - TEXT_HISTORY:
                messages.append(_answer_turn(index, answers))
        prompt = prompts.AGENTNETBENCH_OPENCUA_HEAD + trajectory.task + prompts.AGENTNETBENCH_OPENCUA_TAIL
        return [*messages, _final_turn(screenshots[step_index], prompt)]

    def predict(self, raw: str, image_size: tuple[int, int]) -> list[Predicted]:
        return opencua_actions(raw, image_size)


class StarKVOpenCUA(_OpenCUA):
    """STaR-KV, OpenCUA-7B: single turn, no history; free-text answers go through STaR-KV's keyword fallback.

    Cache: STaR-KV's exact GQA unrepeat (one shared index set) keeps the 4 KV heads (``heads="kv"``).
    """

    name: ClassVar[str] = "starkv"
    cache: ClassVar[CacheLayout] = CacheLayout(heads="kv", reset="trajectory")

    def turns(
        self, trajectory: Trajectory, step_index: int, screenshots: list[Image.Image], answers: list[str]
    ) -> list[Message]:
        prompt = prompts.STARKV_OPENCUA_HEAD + trajectory.task + prompts.STARKV_OPENCUA_TAIL
        return [
            {"role": "system", "content": prompts.STARKV_OPENCUA_SYSTEM},
            _final_turn(screenshots[step_index], prompt),
        ]

    def predict(self, raw: str, image_size: tuple[int, int]) -> list[Predicted]:
        return opencua_actions(raw, image_size) or opencua_fallback(raw, image_size)
