"""Seeded generators of hostile model answers, one per grammar: well-formed actions with random arguments,
mutated ones, and resource bombs (huge numbers, deep nesting, long chains, huge strings, huge repeat counts,
1e300 floats, unicode, NULs, lone surrogates, text that makes a regex backtrack).

Deterministic for a seed, so a failure names the answer that caused it and reproduces.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator

# Pieces of text a model might emit inside or around an action: quotes, escapes, brackets, separators, markers.
ATOMS = [
    "hello", "it's", 'say "hi"', "a\\nb", "\\", "\\\\", "\\'", '\\"', "')", '")', "'", '"', "(", ")", "[", "]",
    "{", "}", ",", "=", "\n", "\n\n", "\n \n", "\t", "\r\n", "\r", " ", "\x00", "é", "日本",
    "🙂", "\u202e", "\u200b", "\ufeff", "content=", "Action:", "Thought:", "Reflection:", "Action_Summary:",
    "```", "```python\n", "## Thought:", "<|box_start|>", "<|box_end|>", "<point>", "</point>", "#", "...",
    "__import__('os')", "lambda: 0", "f'{x}'", "[i for i in x]", "pyautogui.", "computer.", "\\x00", "\\u1234",
]  # fmt: skip
NUMBERS = [
    "0", "1", "-1", "3", "966", "546", "1932", "0.5", "-0.25", "1e3", "1e300", "-1e300", "1e308",
    "1.7976931348623157e308", "9e999", "-9e999", "1_000", "0x10", "0o7", "0b1", "1j", "True", "None", "nan",
    "2**31", "10**9", "1000000000", "-1000000000", "99999999999999999999", "9" * 310, "1." + "0" * 100, "1e-300",
    "float('inf')",
]  # fmt: skip
SIZES = [2, 50, 199, 201, 300, 310, 1_000, 3_000, 10_000, 31_000, 40_000, 200_000]
UITARS_NAMES = [
    "click", "left_single", "left_double", "right_single", "left_triple", "triple_click", "hover", "drag", "select",
    "scroll", "hotkey", "press", "keydown", "release", "keyup", "type", "wait", "finished", "call_user",
    "long_press", "open_app", "press_home", "press_back", "teleport", "eval",
]  # fmt: skip
OPENCUA_CALLS = [
    "pyautogui.click", "pyautogui.doubleClick", "pyautogui.tripleClick", "pyautogui.rightClick", "pyautogui.moveTo",
    "pyautogui.dragTo", "pyautogui.scroll", "pyautogui.hscroll", "pyautogui.write", "pyautogui.typewrite",
    "pyautogui.press", "pyautogui.hotkey", "pyautogui.keyDown", "pyautogui.keyUp", "computer.wait",
    "computer.terminate", "computer.triple_click", "pyautogui.screenshot", "os.system", "eval", "pyautogui.os.system",
]  # fmt: skip
KEYS = ["enter", "ctrl", "c", "A", "shift", "alt", "f4", "delete", "\n", "", "ctrl+alt+delete", "🙂", "\x00"]


def _text(rng: random.Random) -> str:
    """Mostly plain words, sometimes the structural atoms, rarely a lone surrogate."""
    if rng.random() < 0.5:
        return " ".join(rng.choice(["open", "the", "menu", "it's", "日本", "🙂"]) for _ in range(rng.randrange(4)))
    return "".join(rng.choice(ATOMS) if rng.random() < 0.99 else "\ud800" for _ in range(rng.randrange(0, 8)))


def _number(rng: random.Random) -> str:
    return rng.choice(NUMBERS) if rng.random() < 0.4 else str(rng.randrange(-50, 2000))


def _mutate(rng: random.Random, text: str) -> str:
    """Delete, duplicate, insert or truncate at random places (1-3 times)."""
    for _ in range(rng.randrange(1, 4)):
        i, j = sorted(rng.randrange(len(text) + 1) for _ in range(2))
        match rng.randrange(4):
            case 0:
                text = text[:i] + text[j:]
            case 1:
                text = text[:j] + text[i:j] * rng.randrange(2, 60) + text[j:]
            case 2:
                text = text[:i] + rng.choice(ATOMS) + text[i:]
            case _:
                text = text[:j]
    return text


def _point(rng: random.Random) -> str:
    x, y = _number(rng), _number(rng)
    if rng.random() < 0.5:
        return f"<|box_start|>({rng.randrange(2000)},{rng.randrange(1100)})<|box_end|>"
    return rng.choice([f"({x},{y})", f"<|box_start|>({x},{y})<|box_end|>", f"<point>{x} {y}</point>", f"[{x}, {y}]",
                       f"({x},{y},{_number(rng)},{_number(rng)})", _text(rng)])  # fmt: skip


# The arguments each UI-TARS action takes (the generator mostly gives an action its own, sometimes others').
UITARS_ARGUMENTS = {
    "click": ["start_box"], "left_double": ["start_box"], "right_single": ["start_box"], "hover": ["start_box"],
    "drag": ["start_box", "end_box"], "scroll": ["start_box", "direction"], "hotkey": ["key"], "press": ["key"],
    "release": ["key"], "open_app": ["app_name"], "long_press": ["start_box"], "wait": [], "press_home": [],
}  # fmt: skip


def _uitars_action(rng: random.Random) -> str:
    name = rng.choice(UITARS_NAMES)
    quote = rng.choice("'\"")
    arguments = {
        "start_box": f"'{_point(rng)}'",
        "end_box": f"'{_point(rng)}'",
        "direction": f"'{rng.choice(['up', 'down', 'left', 'right', 'sideways', ''])}'",
        "key": f"'{' '.join(rng.choice(KEYS) for _ in range(rng.randrange(1, 4)))}'",
        "app_name": f"'{_text(rng)}'",
        "point": _number(rng),
    }
    if name in ("type", "finished", "call_user") and rng.random() < 0.8:
        return f"{name}(content={quote}{_text(rng)}{quote})"
    own = UITARS_ARGUMENTS.get(name)
    chosen = own if own is not None and rng.random() < 0.7 else rng.sample(sorted(arguments), rng.randrange(0, 3))
    return f"{name}({', '.join(f'{arg}={arguments[arg]}' for arg in chosen)})"


def uitars_answer(rng: random.Random) -> str:
    head = rng.choice(["", f"Thought: {_text(rng)}\n", f"Reflection: {_text(rng)}\nAction_Summary: {_text(rng)}\n"])
    separator = rng.choice(["\n\n", "\n\n", "\n\n", "\n", " ", "\n \n", ""])
    actions = separator.join(_uitars_action(rng) for _ in range(rng.randrange(1, 5)))
    answer = head + "Action: " + (_mutate(rng, actions) if rng.random() < 0.3 else actions)
    return _mutate(rng, answer) if rng.random() < 0.1 else answer


# The keywords each kind of OpenCUA call takes, by the end of its name.
OPENCUA_KEYWORDS = {
    "lick": ["clicks", "button", "duration", "interval", "tween"], "moveTo": ["duration", "tween"],
    "scroll": ["x", "y", "_pause"], "press": ["presses", "interval"], "write": ["interval", "logScreenshot"],
    "terminate": ["status", "answer"],
}  # fmt: skip


def _opencua_statement(rng: random.Random) -> str:
    call = rng.choice(OPENCUA_CALLS)
    if rng.random() < 0.5 and call.endswith(("lick", "moveTo", "dragTo")):
        positional = [str(rng.randrange(2000)), str(rng.randrange(1100))]
    elif rng.random() < 0.5 and call.endswith(("scroll", "press", "write", "typewrite", "keyDown", "keyUp")):
        positional = [rng.choice([str(rng.randrange(-20, 20)), repr(_text(rng)), repr(rng.choice(KEYS))])]
    else:
        positional = [rng.choice([_number(rng), repr(_text(rng)), repr(rng.choice(KEYS)), f"[{rng.choice(KEYS)!r}]"])
                      for _ in range(rng.randrange(0, 3))]  # fmt: skip
    keywords = {
        "x": _number(rng), "y": _number(rng), "clicks": _number(rng), "presses": _number(rng),
        "button": repr(rng.choice(["left", "right", "middle", "primary"])), "duration": _number(rng),
        "interval": rng.choice([_number(rng), "__import__('time').sleep(9)", "1+1"]), "tween": "pyautogui.easeInQuad",
        "message": repr(_text(rng)), "status": repr(rng.choice(["success", "failure", "maybe"])),
        "answer": repr(_text(rng)), "logScreenshot": rng.choice(["True", "None", "'no'"]), "_pause": _number(rng),
    }  # fmt: skip
    own = [key for key in OPENCUA_KEYWORDS if call.endswith(key)]
    names = OPENCUA_KEYWORDS[own[0]] if own and rng.random() < 0.6 else sorted(keywords)
    chosen = [f"{key}={keywords[key]}" for key in rng.sample(names, min(len(names), rng.randrange(0, 3)))]
    return f"{call}({', '.join(positional + chosen)})"


FORBIDDEN = ["import os", "x = 1", "for i in range(3):\n    pyautogui.click(1, 2)", "lambda: 0", "[i for i in x]",
             "f'{x}'", "del x", "with open('f') as f:\n    pass", "pyautogui.click(**{'x': 1})", "while True: pass",
             "try:\n    pass\nexcept: pass", "class A: pass", "global x", "async def f(): pass", "yield 1"]  # fmt: skip


def opencua_answer(rng: random.Random) -> str:
    statements = [_opencua_statement(rng) if rng.random() < 0.9 else rng.choice(FORBIDDEN)
                  for _ in range(rng.randrange(1, 6))]  # fmt: skip
    code = "\n".join(statements)
    code = _mutate(rng, code) if rng.random() < 0.3 else code
    fence = rng.choices(["```python\n", "```\n", "```code\n", "```python ", "``"], [70, 10, 10, 5, 5])[0]
    answer = f"## Thought:\n{_text(rng)}\n## Code:\n{fence}{code}\n```"
    return _mutate(rng, answer) if rng.random() < 0.1 else answer


def _bomb_payloads(size: int) -> Iterator[str]:
    """Expressions and texts that are each a resource bomb at ``size``."""
    yield "9" * size  # huge int
    yield "1" + "0" * size + ".5"  # huge float literal
    yield "(" * size + "1" + ")" * size  # deep nesting
    yield "[" * size + "1" + "]" * size
    yield "{" * size
    yield "+".join(["1"] * size)  # long chains: each level is one parser recursion
    yield "-" * size + "1"
    yield "not " * size + "1"
    yield "a" + ".b" * size
    yield "a" + "()" * size
    yield "x" + "[0]" * size
    yield "1 if 1 else " * size + "1"
    yield "lambda: " * size + "0"
    yield "'" + "a" * size + "'"  # huge string
    yield "'" + "\\'" * size + "'"
    yield "'" + "\\" * size + "'"
    yield "'" + "\x00" * size + "'"
    yield "'" + "\ud800" * size + "'"
    yield "'" + "🙂" * size + "'"
    yield "[" + "'a'," * size + "]"  # a huge list of keys


def uitars_bombs() -> Iterator[str]:
    for size in SIZES:
        for payload in _bomb_payloads(size):
            yield f"Action: click(start_box={payload})"
            yield f"Action: hotkey(key={payload})"
        yield "Action: type(content='" + "a" * size + "')"
        yield "Action: type(content='" + "')x" * size + "')"
        yield "Action: type(content='" + "\\" * size + "')"
        yield "Action: type(content='" + "\n\n" * size  # unclosed across blank lines
        yield "Action: " + "type(content='x\n\n" * size
        yield "Action: " + "click(start_box='(1,2)')\n\n" * size  # many actions
        yield "Action: " + "type(content='x')\n" * size
        yield "Action: click(start_box='(" + "9" * size + ",1)')"
        yield "Action: click(start_box='<point>" + "1 " * size + "</point>')"
        yield "Reflection:" * size + "Action: wait()"  # a lazy regex scanning to the end from every start
        yield "Thought:" * size + "Action: wait()"
        yield "Action:" * size
        yield "Action: " + "\n \n" * size + "wait()"
        yield "\x00" * size + "Action: wait()"
        yield "Action: wait()" + "\ud800" * size
        yield "Action: hotkey(key='" + "ctrl " * size + "')"


def opencua_bombs() -> Iterator[str]:
    def block(code: str) -> str:
        return f"## Thought:\nbomb\n## Code:\n```python\n{code}\n```"

    for size in SIZES:
        for payload in _bomb_payloads(size):
            yield block(f"pyautogui.click({payload}, 1)")
            yield block(f"pyautogui.write({payload})")
            yield block(f"pyautogui.click(1, 2, duration={payload})")
            yield block(payload)
        yield block("pyautogui.click(1, 2)\n" * size)  # many actions
        yield block("pyautogui.press('a', presses=50)\n" * size)
        yield block("computer.wait()\n" * size)
        yield block("    " * size + "pyautogui.click(1, 2)")
        yield block("#" + "x" * size)
        yield "```python\n" * size  # fences that never close
        yield "```\n" + "`" * size
        yield "## Thought:" * size + block("computer.wait()")
        yield block("pyautogui.hotkey(" + "'ctrl', " * size + ")")
    for count in ["1000000000", "10**9", "9" * 30, "1_000_000_000"]:
        yield block(f"pyautogui.press('a', presses={count})")
        yield block(f"pyautogui.click(1, 2, clicks={count})")
        yield block(f"pyautogui.scroll({count})")
    for amount in ["1e300", "-1e300", "1e308", "-1.7976931348623157e308", "1e999", "60000"]:
        yield block(f"pyautogui.scroll({amount})")
        yield block(f"pyautogui.hscroll({amount}, x=1, y=2)")
        yield block(f"pyautogui.click({amount}, {amount})")


def answers(generate: Callable[[random.Random], str], bombs: Callable[[], Iterator[str]], count: int, seed: int):
    """``count`` answers: every bomb, then generated answers to make up the number."""
    planted = list(bombs())
    rng = random.Random(seed)
    return planted + [generate(rng) for _ in range(max(0, count - len(planted)))]
