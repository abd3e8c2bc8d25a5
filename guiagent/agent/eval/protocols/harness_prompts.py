"""The prompt texts the published harnesses send, verbatim (data, not code: a protocol must send them as they are).

Sources: GUI-KV b301d41 / STaR-KV 9f36ecf ``eval/androidcontrol_eval.py`` (``ANDROIDCONTROL_PROMPT_*``),
``eval/screenspotv2_eval.py`` and ``eval/screenspotpro_eval.py`` (``GROUNDING_DOUBAO``, the OpenCUA grounding
sentence), GUI-KV ``eval/multimodal_mind2web_eval.py`` (``MM_MIND2WEB_PROMPT*``), both harnesses'
``eval/agentnetbench_eval.py``. Templates keep the harnesses' ``str.format`` fields and doubled braces. Quirks
kept on purpose: the grounding prompt's stray quote (``'<point>x1 y1</point>''``), GUI-KV's stray ``'`` after the
OpenCUA AndroidControl function list (STaR-KV dropped it), the AndroidControl system turn "You are a helpful
assistant. " with its trailing space.
"""

from __future__ import annotations

SYSTEM = "You are a helpful assistant. "  # UI-TARS system turn of the AndroidControl and Mind2Web harnesses
OPENCUA_GROUNDING = (
    "You are a GUI agent. You are given a task and a screenshot of the screen. "
    "You need to perform a series of pyautogui actions to complete the task."
)

# What both AndroidControl UI-TARS templates (high and low level) share, up to their last notes.
_AC_UITARS = (
    "You are a GUI agent. You are given a task and your action history, with screenshots. You "
    "need to perform the next action to complete the task. \n"
    "## Output Format\n"
    "```\n"
    "Thought: ...\n"
    "Action: ...\n"
    "```\n"
    "## Action Space\n"
    "\n"
    "click(point='<point>x1 y1</point>')\n"
    "long_press(point='<point>x1 y1</point>')\n"
    "type(content='') #If you want to submit your input, use \"\\n\" at the end of `content`.\n"
    "scroll(point='<point>x1 y1</point>', direction='down or up or right or left')\n"
    "press_back()\n"
    "wait() # Wait for the screen to finish loading.\n"
    "finished(content='successful|infeasible') # Use `infeasible` if you think the task is not "
    "feasible (including cases like you don't have enough information or cannot perform some "
    "necessary actions); otherwise, use `successful`.\n"
    "\n"
    "\n"
    "## Note\n"
    "- Use English in `Thought` part.\n"
    "- Write a small plan and finally summarize your next action (with its target element) in "
    "one sentence in `Thought` part.\n"
    "- Always use `click` if you want to open an app.\n"
)
ANDROIDCONTROL_HIGH = (
    _AC_UITARS + "- content in `finished` action should only be `successful` or `infeasible`.\n"
    "\n"
    "## Previous Actions\n"
    "{previous_actions}\n"
    "\n"
    "## User Instruction\n"
    "{goal}\n"
    "\n"
)
ANDROIDCONTROL_LOW = (
    _AC_UITARS + "- You must follow User Instruction below.\n"
    "\n"
    "## User Goal:\n"
    "{goal}\n"
    "\n"
    "## Previous Actions\n"
    "{previous_actions}\n"
    "\n"
    "## User Instruction\n"
    "{task}\n"
)

# The OpenCUA action description both AndroidControl and Mind2Web OpenCUA prompts share (after their first words).
_OPENCUA_ACTIONS = (
    "You need to perform a series of pyautogui actions to complete the task.\n"
    "\n"
    "For each step, provide your response in this format:\n"
    "\n"
    "Thought:\n"
    "  - Step by Step Progress Assessment:\n"
    "    - Analyze completed task parts and their contribution to the overall goal\n"
    "    - Reflect on potential errors, unexpected results, or obstacles\n"
    "    - If previous action was incorrect, predict a logical recovery step\n"
    "  - Next Action Analysis:\n"
    "    - List possible next actions based on current state\n"
    "    - Evaluate options considering current state and previous actions\n"
    "    - Propose most logical next action\n"
    "    - Anticipate consequences of the proposed action\n"
    "  - For Text Input Actions:\n"
    "    - Note current cursor position\n"
    "    - Consolidate repetitive actions (specify count for multiple keypresses)\n"
    "    - Describe expected final text outcome\n"
    "    - Use first-person perspective in reasoning\n"
    "\n"
    "Action:\n"
    "  Provide clear, concise, and actionable instructions:\n"
    "  - If the action involves interacting with a specific target:\n"
    "    - Describe target explicitly without using coordinates\n"
    "    - Specify element names when possible (use original language if non-English)\n"
    "    - Describe features (shape, color, position) if name unavailable\n"
    '    - For window control buttons, identify correctly (minimize "—", maximize "□", close "X")\n'
    "  - if the action involves keyboard actions like 'press', 'write', 'hotkey':\n"
    "    - Consolidate repetitive keypresses with count\n"
    "    - Specify expected text outcome for typing actions\n"
    "\n"
    "Finally, output the action as PyAutoGUI code or the following functions:\n"
    '- {{"name": "computer.triple_click", "description": "Triple click on the screen", '
    '"parameters": {{"type": "object", "properties": {{"x": {{"type": "number", "description": '
    '"The x coordinate of the triple click"}}, "y": {{"type": "number", "description": "The y '
    'coordinate of the triple click"}}}}, "required": ["x", "y"]}}}}\n'
    '- {{"name": "computer.terminate", "description": "Terminate the current task and report its '
    'completion status", "parameters": {{"type": "object", "properties": {{"status": {{"type": '
    '"string", "enum": ["success", "failure"], "description": "The status of the task"}}}}, '
    '"required": ["status"]}}}}'
)
_AC_OPENCUA_HEAD = "\nYou are a GUI agent. You are given a task and a screenshot of the screen. " + _OPENCUA_ACTIONS
_AC_OPENCUA_HIGH = "\n\n## Previous Actions\n{previous_actions}\n\n## User Instruction\n{goal}\n"
_AC_OPENCUA_LOW = (
    "\n\n\n## Note\n- You must follow User Instruction below.\n\n## User Goal\n{goal}\n\n"
    "## Previous Actions\n{previous_actions}\n\n## User Instruction\n{task}\n"
)
# (harness, level) -> template; GUI-KV's has the stray quote right after the function list.
ANDROIDCONTROL_OPENCUA = {
    ("guikv", "high"): _AC_OPENCUA_HEAD + "'" + _AC_OPENCUA_HIGH,
    ("guikv", "low"): _AC_OPENCUA_HEAD + "'" + _AC_OPENCUA_LOW,
    ("starkv", "high"): _AC_OPENCUA_HEAD + _AC_OPENCUA_HIGH,
    ("starkv", "low"): _AC_OPENCUA_HEAD + _AC_OPENCUA_LOW,
}

GROUNDING = (
    "You are a GUI agent. You are given a task and your action history, with screenshots. You "
    "need to perform the next action to complete the task. \n"
    "\n"
    "## Output Format\n"
    "\n"
    "Action: ...\n"
    "\n"
    "\n"
    "## Action Space\n"
    "click(point='<point>x1 y1</point>'')\n"
    "\n"
    "## User Instruction\n"
    "{instruction}"
)

MIND2WEB = (
    "You are a GUI agent. You are given a task and your action history, with screenshots. You "
    "need to perform the next action to complete the task. \n"
    "\n"
    "\n"
    "## Output Format\n"
    "```\n"
    "Thought: ...\n"
    "Action: ...\n"
    "```\n"
    "\n"
    "## Action Space\n"
    "\n"
    "\n"
    "- type(content='xxx') # First click on the textbox, and then type the content. \n"
    "- scroll(point='<point>x1 y1</point>', direction='down or up') # Show more information on "
    "the `direction` side.\n"
    "- select(point='<point>x1 y1</point>', content='xxx') # Select dropdown menu at point x1 y1 "
    "and choose entry xxx.\n"
    "- click(point='<point>x1 y1</point>').   \n"
    "\n"
    "## Note\n"
    "- Use English in `Thought` part.\n"
    "- Write a small plan and finally summarize your next action (with its target element) in "
    "one sentence in `Thought` part. \n"
    "- For `type` action, Use escape characters \\', \\\", and \\n in content part to ensure we can "
    "parse the content in normal python string format. If you want to submit your input, use \\n "
    "at the end of content. \n"
    "\n"
    "## Rule\n"
    "- The `type` action will click + type in a textbox or search box. DO NOT `click` ON search "
    "box; otherwise, you will be terminated.\n"
    "\n"
    "## Previous Actions\n"
    "{previous_actions}\n"
    "\n"
    "\n"
    "\n"
    "## User Instruction\n"
    "{instruction}\n"
    "\n"
    "\n"
)

MIND2WEB_OPENCUA = (
    "You are a GUI agent. You are given a task and your action history, with screenshots. "
    + _OPENCUA_ACTIONS
    + "\n\n## Rule\n- The `write` action will click + write in a textbox or search box. DO NOT `click` ON search "
    "box; otherwise, you will be terminated.\n\n\n## Previous Actions\n{previous_actions}\n\n"
    "## User Instruction\n{instruction}\n"
)


# AgentNetBench (GUI-KV / STaR-KV ``eval/agentnetbench_eval.py``): each template split around its instruction slot
# (``HEAD + instruction + TAIL``, so an instruction holding braces goes in as is, as ``str.format`` inserts it).
# The UI-TARS template is the same in both harnesses; GUI-KV's OpenCUA one is the long "Thought / Action /
# PyAutoGUI" text (the AndroidControl / Mind2Web action description, single braces), STaR-KV's a short user text
# under a system prompt (its default ``--opencua_legacy_prompts``).
AGENTNETBENCH_UITARS_HEAD = (
    "You are a GUI agent. You are given a task and your action history, with screenshots. You need to "
    "perform the next action to complete the task.\n"
    "\n"
    "## Output Format\n"
    "You should first think about the reasoning process in the mind and then provide the user with the answer. \n"
    "The reasoning process is enclosed within <think> </think> tags\n"
    "After the <think> tags, you should place final answer, which concludes your summarized thought and "
    "your action.\n"
    "\n"
    "For example,\n"
    "```\n"
    "<think>detailed reasoning content here</think>\n"
    "Thought: a small plan and finally summarize your next action (with its target element) in one sentence\n"
    "Action: ...\n"
    "```\n"
    "\n"
    "## Action Space\n"
    "\n"
    "click(point='<point>x1 y1</point>')\n"
    "left_double(point='<point>x1 y1</point>')\n"
    "right_single(point='<point>x1 y1</point>')\n"
    "drag(start_point='<point>x1 y1</point>', end_point='<point>x2 y2</point>')\n"
    "hotkey(key='ctrl c') # Split keys with a space and use lowercase. Also, do not use more than 3 keys "
    "in one hotkey action.\n"
    "type(content='xxx') # Use escape characters \\', \\\", and \\n in content part to ensure we can parse the "
    "content in normal python string format. If you want to submit your input, use \\n at the end of content. \n"
    "scroll(point='<point>x1 y1</point>', direction='down or up or right or left') # Show more information "
    "on the `direction` side.\n"
    "wait() #Sleep for 5s and take a screenshot to check for any changes.\n"
    "finished(content='successful|failure') # Use escape characters \\', \\\", and \\n in content part to "
    "ensure we can parse the content in normal python string format.\n"
    "\n"
    "## Output Example\n"
    "Thought: Let's click ...\n"
    "Action: click(point='<point>100 200</point>')\n"
    "\n"
    "## Note\n"
    "- Use English in `Thought` part.\n"
    "- Write a small plan and finally summarize your next action (with its target element) in one sentence "
    "in `Thought` part.\n"
    "- If you have executed several same actions (like repeatedly clicking the same point) but the screen "
    "keeps no change, please try to execute a modified action when necessary.\n"
    "- finished content should be either`successful` or `failure`.\n"
    "\n"
    "## User Instruction\n"
)
AGENTNETBENCH_UITARS_TAIL = "\n\nPlease generate the next move according to the screenshot and task instruction.\n"
AGENTNETBENCH_OPENCUA_HEAD = (
    "You are a GUI agent. You are given a task and a screenshot of the screen. "
    + _OPENCUA_ACTIONS.replace("{{", "{").replace("}}", "}")
    + "\n\n# Task Instruction:\n"
)
AGENTNETBENCH_OPENCUA_TAIL = AGENTNETBENCH_UITARS_TAIL
STARKV_OPENCUA_HEAD = "Task: "
STARKV_OPENCUA_TAIL = AGENTNETBENCH_UITARS_TAIL.rstrip("\n")
STARKV_OPENCUA_SYSTEM = (
    OPENCUA_GROUNDING + "\n"
    "\n"
    "## Action Space\n"
    "- pyautogui.click(x=<x>, y=<y>)\n"
    "- pyautogui.doubleClick(x=<x>, y=<y>)\n"
    "- pyautogui.rightClick(x=<x>, y=<y>)\n"
    "- pyautogui.write(message='<text>')\n"
    "- pyautogui.press(keys=['<key>'])\n"
    "- pyautogui.hotkey(keys=['<key1>', '<key2>'])\n"
    "- pyautogui.scroll(clicks=<n>)\n"
    "- computer.terminate(status='success')\n"
    "\n"
    "## Output Format\n"
    "Return only ONE line of pyautogui code or computer.terminate. No markdown. No explanation.\n"
)
