"""The scripted answers fed to the AgentNetBench drivers: our inputs, whose outputs become the fixtures.

Points are in model pixels of the smart-resized screenshot (1468x956 -> 1456x952 for the real trajectory), so
``x = round(rel_x * 1456)``. Each scoring case names its ground truth: an index into the real trajectory
``s_a96285eb665bef92`` (steps 0-6 and 8 are clicks, 7 writes "CardPhotoForm", 9 terminates with success; step 1
has a click alternative) or a ``SYNTHETIC`` step for action types the trajectory lacks.
"""

from __future__ import annotations

from typing import Any

from guiagent.tools.harness_cases.scripted import MODEL_PATHS as MODELS

TRAJECTORY = "s_a96285eb665bef92"
__all__ = ["ANSWERS", "CASES", "MODELS", "SYNTHETIC", "TRAJECTORY"]


def _box(x: float, y: float, w: float, h: float) -> dict[str, Any]:
    return {"bboxes": [{"category_id": 1, "rel_bbox": [x, y, w, h]}]}


# name -> (step, image size): the recorded forms of a drag (moveTo + dragTo), a scroll at a point (moveTo +
# scroll, as s_df0fd37049f470c2 step 6 of the sample data records it), a bare scroll, a Ctrl+C, and a Ctrl+V
# with alternatives of the same and of another type.
SYNTHETIC: dict[str, tuple[dict[str, Any], tuple[int, int]]] = {
    "drag": (
        {
            "ground_truth_actions": [
                {
                    "type": "moveTo",
                    "params": {"position": {"x": 0.3, "y": 0.4}},
                    "metadata": _box(0.28, 0.38, 0.04, 0.04),
                },
                {
                    "type": "dragTo",
                    "params": {"position": {"x": 0.6, "y": 0.4}},
                    "metadata": _box(0.58, 0.38, 0.04, 0.04),
                },
            ]
        },
        (1468, 956),
    ),
    "scroll": (
        {
            "ground_truth_actions": [
                {
                    "type": "moveTo",
                    "params": {"position": {"x": 0.7792, "y": 0.4648}},
                    "metadata": _box(0.0, 0.19925, 1.0, 0.7562083333333334),
                },
                {
                    "type": "scroll",
                    "params": {"position": {"x": 0.7792, "y": 0.4648}, "amount": -3},
                    "metadata": {"bboxes": []},
                },
            ]
        },
        (1280, 720),
    ),
    "scroll-only": (
        {
            "ground_truth_actions": [
                {"type": "scroll", "params": {"position": {"x": 0.5, "y": 0.5}, "amount": -5}, "metadata": {}},
            ]
        },
        (1468, 956),
    ),
    "hotkey": (
        {"ground_truth_actions": [{"type": "hotkey", "params": {"keys": ["ctrl", "c"]}, "metadata": {}}]},
        (1468, 956),
    ),
    "paste": (
        {
            "ground_truth_actions": [{"type": "hotkey", "params": {"keys": ["ctrl", "v"]}, "metadata": {}}],
            "alternative_options": [
                [{"type": "hotkey", "params": {"keys": ["ctrl", "shift", "v"]}, "metadata": {}}],
                [{"type": "write", "params": {"text": "hello"}, "metadata": {}}],
            ],
        },
        (1468, 956),
    ),
}


def _tars(action: str, think: str = "I look at the screen.") -> str:
    return f"<think>{think}</think>\nThought: I do the next step.\nAction: {action}"


def _cua(code: str) -> str:
    return f"Thought:\n  - I look at the screen.\n\nAction:\n  Do the next step.\n\n```python\n{code}\n```"


ANSWERS: dict[str, list[str]] = {
    "uitars": [
        _tars("click(point='<point>1197 867</point>')", "Sway is in the list. Action: open it."),
        _tars("click(point='<point>242 414</point>')"),
        _tars("left_double(point='<point>438 467</point>')"),
        _tars("drag(start_point='<point>1100 600</point>', end_point='<point>1196 682</point>')"),
        _tars("scroll(point='<point>700 500</point>', direction='down')"),
        _tars("hotkey(key='ctrl c')"),
        _tars("click(point='<point>1176 734</point>')"),
        _tars("type(content='CardPhotoForm\\n')"),
        _tars("wait()"),
        _tars("finished(content='The task is completed successfully.')"),
    ],
    "opencua": [
        _cua("pyautogui.click(x=1197, y=867)"),
        _cua("pyautogui.click(x=242, y=414)"),
        _cua("pyautogui.doubleClick(x=438, y=467)"),
        _cua("pyautogui.moveTo(x=1100, y=600)\npyautogui.dragTo(x=1196, y=682)"),
        _cua("pyautogui.scroll(-5)"),
        _cua("pyautogui.hotkey(keys=['ctrl', 'c'])"),
        _cua("pyautogui.click(x=1176, y=734)"),
        _cua("pyautogui.write(message='CardPhotoForm')\npyautogui.press(keys=['enter'])"),
        "I will wait for the page to load.",
        _cua("computer.terminate(status='success')"),
    ],
}

# (ground truth, what the case shows, raw answer)
CASES: dict[str, list[tuple[int | str, str, str]]] = {
    "uitars": [
        (0, "click inside the bbox", _tars("click(point='<point>1200 870</point>')")),
        (2, "click outside the bbox, within 0.01*sqrt(2)", _tars("click(point='<point>438 479</point>')")),
        (2, "click outside the bbox: partial credit", _tars("click(point='<point>438 484</point>')")),
        (0, "click far away", _tars("click(point='<point>100 100</point>')")),
        (1, "click on the alternative: same type, so no fallback", _tars("click(point='<point>242 414</point>')")),
        (1, "double click on a click step", _tars("left_double(point='<point>1246 447</point>')")),
        (1, "right click on a click step", _tars("right_single(point='<point>1246 447</point>')")),
        (
            0,
            "drag ending in the click bbox",
            _tars("drag(start_point='<point>100 100</point>', end_point='<point>1197 867</point>')"),
        ),
        (
            "drag",
            "drag against a recorded moveTo + dragTo",
            _tars("drag(start_point='<point>437 381</point>', end_point='<point>874 381</point>')"),
        ),
        (
            "scroll",
            "scroll against a recorded moveTo + scroll",
            _tars("scroll(point='<point>1003 338</point>', direction='down')"),
        ),
        (
            "scroll-only",
            "scroll up against a scroll down",
            _tars("scroll(point='<point>728 476</point>', direction='up')"),
        ),
        ("hotkey", "hotkey ctrl c against ctrl c", _tars("hotkey(key='ctrl c')")),
        ("paste", "hotkey matching a same-typed alternative", _tars("hotkey(key='ctrl shift v')")),
        ("paste", "type matching an alternative of its type", _tars("type(content='hello')")),
        (9, "finished without 'success'", _tars("finished(content='The file is saved.')")),
        (9, "finished successful", _tars("finished(content='successful')")),
        (9, "finished failure", _tars("finished(content='failure')")),
        (7, "type with a trailing newline", _tars("type(content='CardPhotoForm\\n')")),
        (7, "type without a newline", _tars("type(content='CardPhotoForm')")),
        (7, "type a near text: partial credit", _tars("type(content='CardPhoto')")),
        (7, "type nothing", _tars("type(content='')")),
        (3, "wait", _tars("wait()")),
        (0, "no Action at all", "I should click the Sway tile."),
        (0, "a call without 'Action:'", "<think>Open Sway.</think>\nclick(point='<point>1197 867</point>')"),
        (
            0,
            "two 'Action:' lines",
            "Thought: Open Sway.\nAction: click(point='<point>1197 867</point>')\n\nAction: wait()",
        ),
        (0, "float point", _tars("click(point='<point>1197.5 867.2</point>')")),
        (0, "unparsable action", _tars("click the Sway tile")),
        (0, "two actions: the first is scored", _tars("click(point='<point>1197 867</point>')\n\ntype(content='x')")),
        (0, "positional click", _tars("click(1197, 867)")),
    ],
    "opencua": [
        (0, "click inside the bbox", _cua("pyautogui.click(x=1200, y=870)")),
        (2, "click outside the bbox: partial credit", _cua("pyautogui.click(x=438, y=484)")),
        (1, "click on the alternative: same type, so no fallback", _cua("pyautogui.click(x=242, y=414)")),
        (1, "double click on a click step", _cua("pyautogui.doubleClick(x=1246, y=447)")),
        (1, "right click on a click step", _cua("pyautogui.rightClick(x=1246, y=447)")),
        (
            "drag",
            "moveTo + dragTo against a recorded drag",
            _cua("pyautogui.moveTo(x=437, y=381)\npyautogui.dragTo(x=874, y=381)"),
        ),
        (0, "dragTo alone on a click step", _cua("pyautogui.dragTo(x=1197, y=867)")),
        ("scroll", "scroll alone against a recorded moveTo + scroll", _cua("pyautogui.scroll(-5)")),
        (
            "scroll",
            "moveTo + scroll against a recorded moveTo + scroll",
            _cua("pyautogui.moveTo(x=1003, y=338)\npyautogui.scroll(-5)"),
        ),
        ("scroll-only", "scroll against a scroll", _cua("pyautogui.scroll(-5)")),
        ("scroll-only", "scroll with a keyword argument", _cua("pyautogui.scroll(clicks=-5)")),
        ("hotkey", "hotkey keys=[ctrl, c]", _cua("pyautogui.hotkey(keys=['ctrl', 'c'])")),
        ("hotkey", "positional hotkey with command", _cua("pyautogui.hotkey('command', 'c')")),
        ("paste", "hotkey matching a same-typed alternative", _cua("pyautogui.hotkey(keys=['ctrl', 'shift', 'v'])")),
        ("paste", "write matching an alternative of its type", _cua("pyautogui.write(message='hello')")),
        (9, "terminate success", _cua("computer.terminate(status='success')")),
        (9, "terminate failure", _cua("computer.terminate(status='failure')")),
        (7, "write message=", _cua("pyautogui.write(message='CardPhotoForm')")),
        (7, "positional write, lower case", _cua("pyautogui.write('cardphotoform')")),
        (7, "write a near text: partial credit", _cua("pyautogui.write(message='CardPhoto')")),
        (3, "sleep", _cua("pyautogui.sleep(1)")),
        (0, "natural language with a point", "I will click the Sway tile at (1207, 871)."),
        (0, "two lines: the first is scored", _cua("pyautogui.click(x=1197, y=867)\npyautogui.write(message='x')")),
        (0, "computer.triple_click on a click step", _cua("computer.triple_click(x=1197, y=867)")),
        (0, "pyautogui.tripleClick", _cua("pyautogui.tripleClick(x=1197, y=867)")),
        (0, "positional click", _cua("pyautogui.click(1197, 867)")),
    ],
}
