"""The scoring rules a replayed step can be scored by, by name, and the converters from our parsed actions to
each benchmark's own schema (so the same rule serves every model we parse).

Each rule lives with its benchmark (``benchmarks/<name>``) and copies one published evaluator, quirks included:
numbers are only comparable with published ones when they are computed the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from guiagent.agent.eval.benchmarks.agentnetbench.predictions import agentnetbench_actions
from guiagent.agent.eval.benchmarks.agentnetbench.scorer import score_agentnetbench, score_agentnetbench_papers
from guiagent.agent.eval.benchmarks.androidcontrol.predictions import androidcontrol_action
from guiagent.agent.eval.benchmarks.androidcontrol.scorer import score_androidcontrol
from guiagent.agent.eval.benchmarks.mind2web.predictions import mind2web_operation
from guiagent.agent.eval.benchmarks.mind2web.scorer import score_mind2web
from guiagent.agent.eval.benchmarks.screenspot import grounding_hit

__all__ = ["METRICS", "agentnetbench_actions", "androidcontrol_action", "grounding_hit", "mind2web_operation"]

METRICS: dict[str, Callable[..., Any]] = {
    "agentnetbench": score_agentnetbench,
    "agentnetbench-papers": score_agentnetbench_papers,
    "androidcontrol-strict": partial(score_androidcontrol, rule="strict"),
    "androidcontrol-lenient": partial(score_androidcontrol, rule="lenient"),
    "grounding": grounding_hit,
    "mind2web": score_mind2web,
}
