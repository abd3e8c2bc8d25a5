"""UI-TARS-1.5: its prompts (computer, mobile, grounding), layouts and absolute-pixel box grammar.

The prompt texts are those of the UI-TARS-1.5 release (bytedance/UI-TARS, Apache-2.0), box-token syntax, with
``call_user()`` as in UI-TARS-desktop's 1.5 prompt. The message layout follows OSWorld's UI-TARS-1.5 agent:
system "You are a helpful assistant.", the filled prompt as the first user turn, then each step's screenshot
as a user turn and the model's raw answer as the assistant turn.
"""

from __future__ import annotations

from typing import Literal

from guiagent.agent.actions import ParsedResponse
from guiagent.agent.policy.base import Message, Policy
from guiagent.agent.policy.coords import ScreenGeometry
from guiagent.agent.policy.uitars_parser import parse_uitars
from guiagent.errors import ConfigError

_HEADER = (
    "You are a GUI agent. You are given a task and your action history, with screenshots. You need to perform "
    "the next action to complete the task. \n\n## Output Format\n```\nThought: ...\nAction: ...\n```\n\n"
    "## Action Space\n\n"
)
_BOX = "<|box_start|>(x1,y1)<|box_end|>"
_TYPE = (
    "type(content='xxx') # Use escape characters \\', \\\", and \\n in content part to ensure we can parse the "
    "content in normal python string format. If you want to submit your input, use \\n at the end of content. "
)
_FINISHED = (
    "finished(content='xxx') # Use escape characters \\', \\\", and \\n in content part to ensure we can "
    "parse the content in normal python string format."
)
_NOTE = (
    "\n\n## Note\n- Use {language} in `Thought` part.\n- Write a small plan and finally summarize your next "
    "action (with its target element) in one sentence in `Thought` part.\n\n## User Instruction\n{instruction}\n"
)

COMPUTER_USE = (
    _HEADER
    + "\n".join(
        [
            f"click(start_box='{_BOX}')",
            f"left_double(start_box='{_BOX}')",
            f"right_single(start_box='{_BOX}')",
            f"drag(start_box='{_BOX}', end_box='<|box_start|>(x3,y3)<|box_end|>')",
            "hotkey(key='')",
            _TYPE,
            f"scroll(start_box='{_BOX}', direction='down or up or right or left')",
            "wait() #Sleep for 5s and take a screenshot to check for any changes.",
            _FINISHED,
            "call_user() # Submit the task and call the user when the task is unsolvable, or when you need the "
            "user's help.",
        ]
    )
    + _NOTE
)

MOBILE_USE = (
    _HEADER
    + "\n".join(
        [
            f"click(start_box='{_BOX}')",
            f"long_press(start_box='{_BOX}')",
            _TYPE,
            f"scroll(start_box='{_BOX}', direction='down or up or right or left')",
            "open_app(app_name='')",
            f"drag(start_box='{_BOX}', end_box='<|box_start|>(x3,y3)<|box_end|>')",
            "press_home()",
            "press_back()",
            _FINISHED,
        ]
    )
    + _NOTE
)

GROUNDING = (
    "You are a GUI agent. You are given a task and your action history, with screenshots. You need to perform the "
    "next action to complete the task. \n\n## Output Format\n\nAction: ...\n\n\n## Action Space\n"
    f"click(start_box='{_BOX}')\n\n## User Instruction\n{{instruction}}"
)

PROMPTS = {"computer": COMPUTER_USE, "mobile": MOBILE_USE, "grounding": GROUNDING}
Variant = Literal["computer", "mobile", "grounding"]


class UITarsPolicy(Policy):
    """UI-TARS-1.5 (and Qwen2.5-VL checkpoints prompted the same way)."""

    family = "uitars"
    max_new_tokens = 1000  # the published harnesses' AgentNetBench cap

    def __init__(
        self, instruction: str, grid, *, variant: Variant = "computer", language: str = "English", **layout
    ) -> None:
        if variant not in PROMPTS:
            raise ConfigError(
                f"The UI-TARS prompt variant must be one of {', '.join(PROMPTS)}, not {variant!r}.",
                "Pass --variant computer, mobile or grounding.",
            )
        super().__init__(instruction, grid, **layout)
        self.variant = variant
        self.language = language

    def prompt(self) -> str:
        return PROMPTS[self.variant].format(language=self.language, instruction=self.instruction)

    def head(self) -> list[Message]:
        return [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": self.prompt()},
        ]

    def history_answer(self, step: int, response: str) -> str:
        return f"# Step {step}:\nStep {step}:\n{response}"  # the published AgentNetBench harness

    def parse(self, text: str, geometry: ScreenGeometry) -> ParsedResponse:
        return parse_uitars(text, geometry, self.grid)
