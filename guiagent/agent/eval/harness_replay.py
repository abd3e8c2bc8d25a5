"""Replays under a published harness's protocol (``--protocol guikv|starkv``): its prompts, cache and scorer.

Each step is what the harness does at that step: the whole prompt rebuilt from the trajectory (its screenshots,
the model's own earlier answers, the harness's text), prefilled into an emptied cache laid out as the harness lays
it out (``KVSession(heads="query")``: keys repeated to every query head, per-query-head selection), compressed once,
decoded greedily up to the harness's cap, and scored by the harness's parser, conversion and metric. The loop
around it is still the agent's own dry-run loop, so the dashboard and reports are the same as in ``native``.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from PIL import Image

from guiagent.agent.actions import ParseError
from guiagent.agent.eval.protocols import get_protocol
from guiagent.agent.eval.protocols.base import Protocol
from guiagent.agent.policy.base import Policy
from guiagent.agent.policy.coords import ScreenGeometry
from guiagent.agent.run.decide import Decision, parse_answer
from guiagent.agent.trajectory.format import Trajectory
from guiagent.errors import ConfigError

if TYPE_CHECKING:
    from guiagent.compression.settings import MethodSettings


def benchmark_of(trajectory: Trajectory) -> str:
    """The benchmark a trajectory's ground truth comes from (what picks the harness's driver)."""
    expected = next((step.expected for step in trajectory.steps if step.expected), None)
    schema = (expected or {}).get("schema", "recorded")
    if schema == "screenspot":
        return f"screenspot-{expected.get('variant', 'v2')}"
    if schema in ("agentnetbench", "androidcontrol", "mind2web"):
        return schema
    raise ConfigError(
        f"Trajectory '{trajectory.name}' is a recording of ours, which no published harness evaluates.",
        "Replay benchmark data (AgentNetBench, AndroidControl, ScreenSpot, Mind2Web) or use --protocol native.",
    )


def protocol_for(name: str, trajectory: Trajectory, family: str) -> Protocol:
    return get_protocol(name, benchmark_of(trajectory), family)


def configured_press(method: str, protocol: Protocol, settings: MethodSettings | None = None) -> Any:
    """``method``'s press with the harness's settings (window, and what its driver sets for that method), and
    the user's ``settings`` (``--config``/``--set``) on top."""
    from guiagent.compression.presses import get_press, method_defaults, normalize_method

    name = normalize_method(method)
    if name == "full":
        return None
    params = dict(protocol.cache.press_params.get(name, {}))
    if "window" in method_defaults(name):
        params.setdefault("window", protocol.cache.window)
    return get_press(name, **{**params, **(settings.of(name) if settings else {})})


class HarnessDecider:
    """One trajectory's steps as the harness runs them, on the shared session (see the module docstring).

    ``policy`` only parses each answer into actions for the loop (the dashboard and the steps report); the
    score comes from the protocol's own parser. ``max_new_tokens`` overrides the harness's answer cap (a short
    cap makes offline tiny-model runs quick; the report records it).
    """

    def __init__(
        self,
        session: Any,
        protocol: Protocol,
        trajectory: Trajectory,
        policy: Policy,
        max_new_tokens: int | None = None,
    ) -> None:
        self.session = session
        self.protocol = protocol
        self.trajectory = trajectory
        self.policy = policy
        self.max_new_tokens = max_new_tokens or protocol.max_new_tokens
        self.screenshots: list[Image.Image] = []
        self.answers: list[str] = []

    def decide(self, image: Image.Image, geometry: ScreenGeometry) -> Decision:
        step = len(self.answers)
        self.screenshots.append(image)
        if self.protocol.cache.reset == "step":  # a harness that treats every step as its own sample
            self.session.reset()
        messages = self.protocol.messages(self.trajectory, step, self.screenshots, self.answers)
        self.session.prefill_messages(messages)
        timings = dict(self.session.last_timings)
        prompt_tokens = self.session.logical_tokens
        start = time.perf_counter()
        raw = self.session.generate(self.max_new_tokens)
        timings["decode_s"] = self.session.last_timings.get("decode_s", time.perf_counter() - start)
        self.answers.append(raw)
        try:
            parsed, errors = parse_answer(self.policy, raw, geometry), []
        except ParseError as error:
            parsed, errors = None, [str(error)]
        return Decision(raw, parsed, errors, self.session.stats, timings, prompt_tokens)

    def score_step(self, step_index: int, raw: str, image_size: tuple[int, int]) -> tuple[Any, Any, float, dict]:
        """(predicted, expected, score, extra) by the harness's parser, conversion and metric."""
        result = self.protocol.score(self.trajectory, step_index, raw, image_size)
        which = {
            "protocol": self.protocol.name,
            "protocol_benchmark": self.protocol.benchmark,
            "protocol_family": self.protocol.family,
        }  # what ``ReplaySummary`` needs to find the protocol again for the harness's aggregates
        return result.predicted, result.expected, result.score, {**which, **result.extra}
