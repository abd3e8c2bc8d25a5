"""OpenCUA: its chain-of-thought prompt levels, history templates and pyautogui-code grammar.

The L1/L2/L3 system prompts and the step / instruction / history templates are those of OpenCUA's own
AgentNetBench agent (xlang-ai/OpenCUA ``evaluation/agentnetbench/agent/opencua.py`` @ 1d70f20), character for
character: tests/data/official/opencua holds that agent, and the tests compare against it. The rolling layout
states the instruction once after the system prompt; the rebuild layout is the agent's own message order. The
answer's code block is parsed with a safe AST subset and never executed. Coordinates are absolute pixels on the
smart-resized screenshot (``qwen25``), as OpenCUA-7B is run on OSWorld; ``relative`` (0-1) is available for
checkpoints trained that way.
"""

from __future__ import annotations

from typing import Literal

from PIL import Image

from guiagent.agent.actions import ParsedResponse
from guiagent.agent.policy.base import Message, Policy
from guiagent.agent.policy.coords import ImageGrid, ScreenGeometry
from guiagent.agent.policy.opencua_parser import answer_sections, parse_opencua
from guiagent.errors import ConfigError

_INTRO = (
    "You are a GUI agent. You are given a task and a screenshot of the screen. You need to perform a series "
    "of pyautogui actions to complete the task.\n\nFor each step, provide your response in this format:\n\n"
)
_OBSERVATION = (
    "Observation:\n  - Describe the current computer state based on the full screenshot in detail. \n"
    "  - Application Context:\n    - The active application\n    - The active window or page\n"
    "    - Overall layout and visible interface\n  - Key Elements:\n    - Menu items and toolbars \n"
    "    - Buttons and controls\n    - Text fields and content\n    - Dialog boxes or popups\n"
    "    - Error messages or notifications\n    - Loading states\n    - Other key elements\n"
    "  - Describe any content, elements, options, information or clues that are possibly relevant to achieving "
    "the task goal, including their name, content, or shape (if possible).\n\n"
)
_THOUGHT = (
    "Thought:\n  - Step by Step Progress Assessment:\n"
    "    - Analyze completed task parts and their contribution to the overall goal\n"
    "    - Reflect on potential errors, unexpected results, or obstacles\n"
    "    - If previous action was incorrect, predict a logical recovery step\n  - Next Action Analysis:\n"
    "    - List possible next actions based on current state\n"
    "    - Evaluate options considering current state and previous actions\n"
    "    - Propose most logical next action\n    - Anticipate consequences of the proposed action\n"
    "  - For Text Input Actions:\n    - Note current cursor position\n"
    "    - Consolidate repetitive actions (specify count for multiple keypresses)\n"
    "    - Describe expected final text outcome\n  - Use first-person perspective in reasoning\n\n"
)
_ACTION = (
    "Action:\n  Provide clear, concise, and actionable instructions:\n"
    "  - If the action involves interacting with a specific target:\n"
    "    - Describe target explicitly without using coordinates\n"
    "    - Specify element names when possible (use original language if non-English)\n"
    "    - Describe features (shape, color, position) if name unavailable\n"
    '    - For window control buttons, identify correctly (minimize "—", maximize "□", close "X")\n'
    "  - if the action involves keyboard actions like 'press', 'write', 'hotkey':\n"
    "    - Consolidate repetitive keypresses with count\n    - Specify expected text outcome for typing actions\n\n"
)
_FUNCTIONS = (
    "Finally, output the action as PyAutoGUI code or the following functions:\n"
    '- {"name": "computer.triple_click", "description": "Triple click on the screen", "parameters": {"type": '
    '"object", "properties": {"x": {"type": "number", "description": "The x coordinate of the triple click"}, "y": '
    '{"type": "number", "description": "The y coordinate of the triple click"}}, "required": ["x", "y"]}}\n'
    '- {"name": "computer.terminate", "description": "Terminate the current task and report its completion '
    'status", "parameters": {"type": "object", "properties": {"status": {"type": "string", "enum": ["success", '
    '"failure"], "description": "The status of the task"}}, "required": ["status"]}}'
)
# The agent's levels are not quite the same sections: in L2 (only) "Use first-person perspective" is indented
# under "For Text Input Actions", and only L3 ends with a newline. Kept as the agent has them (see the fixtures).
_L2_THOUGHT = _THOUGHT.replace("\n  - Use first-person", "\n    - Use first-person")
SYSTEM_PROMPTS = {
    "L1": _INTRO + _ACTION + _FUNCTIONS,
    "L2": _INTRO + _L2_THOUGHT + _ACTION + _FUNCTIONS,
    "L3": _INTRO + _OBSERVATION + _THOUGHT + _ACTION + _FUNCTIONS + "\n",
}
STEP_TEMPLATE = "# Step {step_num}:\n"
INSTRUCTION_TEMPLATE = (  # the leading newline is the agent's (its INSTRUTION_TEMPLATE)
    "\n# Task Instruction:\n{instruction}\n\nPlease generate the next move according to the "
    "screenshot, task instruction and previous steps (if provided).\n"
)
# How the agent shows an earlier step (after STEP_TEMPLATE): its sections, never the code.
HISTORY_TEMPLATES = {
    "action": "## Action:\n{action}\n",
    "thought": "## Thought:\n{thought}\n\n## Action:\n{action}\n",
    "observation": "## Observation:\n{observation}\n\n## Thought:\n{thought}\n\n## Action:\n{action}\n",
}

Level = Literal["L1", "L2", "L3"]
History = Literal["action", "thought", "observation"]


class OpenCUAPolicy(Policy):
    """OpenCUA-7B / 32B (L2 chain of thought by default, as OpenCUA's own agent)."""

    family = "opencua"
    max_new_tokens = 1000  # the published harnesses' AgentNetBench cap

    def __init__(
        self,
        instruction: str,
        grid: ImageGrid,
        *,
        level: Level = "L2",
        coordinates: str = "qwen25",
        history: History = "thought",  # AgentNetBench run.py's --opencua-history default
        **layout,
    ) -> None:
        if level not in SYSTEM_PROMPTS:
            raise ConfigError(
                f"The OpenCUA prompt level must be one of {', '.join(SYSTEM_PROMPTS)}, not {level!r}.",
                "Use L2, the level of OpenCUA's own agent.",
            )
        if coordinates not in ("qwen25", "relative"):
            raise ConfigError(
                f"OpenCUA coordinates must be 'qwen25' or 'relative', not {coordinates!r}.",
                "Use 'qwen25' (the default) or 'relative'.",
            )
        if history not in HISTORY_TEMPLATES:
            raise ConfigError(
                f"The OpenCUA history must be one of {', '.join(HISTORY_TEMPLATES)}, not {history!r}.",
                "Use 'thought', the default of OpenCUA's AgentNetBench run.",
            )
        layout.setdefault("history_images", 3)  # OpenCUA's agent sends three screenshots
        super().__init__(instruction, grid, **layout)
        self.level = level
        self.coordinates = coordinates
        self.history = history

    def prompt(self) -> str:
        return INSTRUCTION_TEMPLATE.format(instruction=self.instruction)

    def head(self) -> list[Message]:
        return [{"role": "system", "content": SYSTEM_PROMPTS[self.level]}, {"role": "user", "content": self.prompt()}]

    def history_answer(self, step: int, response: str) -> str:
        """The agent's history entry: the answer's sections in the history template; an answer with none of them
        (which the agent never sees: its history is the benchmark's) is shown as it was, so nothing is lost."""
        sections = answer_sections(response)
        if not sections:
            return STEP_TEMPLATE.format(step_num=step) + response
        return STEP_TEMPLATE.format(step_num=step) + HISTORY_TEMPLATES[self.history].format(
            observation=sections.get("observation", ""),
            thought=sections.get("thought", ""),
            action=sections.get("action", ""),
        )

    def rebuild_messages(self, image: Image.Image) -> list[Message]:
        """The agent's order: its system prompt first, then the history window and the current turn."""
        return [self.head()[0], *super().rebuild_messages(image)]

    def parse(self, text: str, geometry: ScreenGeometry) -> ParsedResponse:
        return parse_opencua(text, geometry, self.grid, coordinates=self.coordinates)
