"""Safety gates between a parsed action and the real desktop.

Every action gets a verdict before it runs: ``run``, ``ask`` (a human confirms first) or ``refuse`` (never runs).
Keys are judged by the names the executor will send (``executor.normalize_key``: aliases, left/right variants,
the platform's Command/Ctrl mapping), and a rule's chord matches when all its keys are pressed, whatever else is
(``ctrl alt shift delete`` is ``ctrl alt delete``). The line being typed is followed across actions (it starts
again after Enter, a click or a change of focus), and a line is judged as a whole by ``shell_rules`` whenever
typing would leave it dangerous or Enter would submit it, so ``rm -rf `` then ``/`` then Enter is refused.

Deny rules refuse whatever the confirmation mode; the mode decides what needs a human: ``always`` (every
action), ``risky`` (anything that submits, system chords, Delete) or ``never``. Plain editing chords (ctrl+a, c,
v, x, z, s...) are not risky. Users add rules in a YAML file (``load_rules``). The loop detector pauses a run
that repeats the same action on an unchanged screen. Pure logic, no I/O: the loop asks the human through a
callback.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
from collections import deque
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from PIL import Image

from guiagent.agent.actions import Action, Click, Drag, Hotkey, Move, Press, Scroll, Type, describe
from guiagent.agent.desktop.executor import normalize_key
from guiagent.agent.run.shell_rules import classify
from guiagent.errors import ConfigError

ConfirmMode = Literal["always", "risky", "never"]
Decision = Literal["run", "ask", "refuse"]

DENIED_CHORDS = (
    "ctrl alt delete",
    "ctrl alt backspace",  # kills the X server
    "alt sysrq",
    "command option escape",  # macOS force quit
)
RISKY_CHORDS = {  # chord -> why it asks; the most specific match wins
    "ctrl alt": "a system chord (Ctrl+Alt)",
    "win": "a system key (Super/Windows)",
    "alt tab": "switches windows",
    "alt f4": "closes the window",
    "alt f2": "opens the run dialog",
    "ctrl escape": "opens the system menu",
    "ctrl shift escape": "opens the task manager",
    "ctrl w": "closes the tab or window",
    "ctrl q": "quits the application",
    "ctrl f4": "closes the tab or window",
    "sleep": "puts the computer to sleep",
    "delete": "deletes (Delete)",
    "shift delete": "deletes permanently (Shift+Delete)",
}
SUBMIT_KEYS = {"enter"}
FOCUS_KEYS = {"tab", "escape"}  # the caret leaves the line


@dataclass(frozen=True)
class Verdict:
    """A decision, why (for the person asked and the trajectory), and the rule that made it."""

    decision: Decision
    reason: str = ""
    rule: str = ""

    def to_dict(self) -> dict[str, str]:
        """For the trajectory: the decision, and its reason and rule when it has them."""
        return {key: value for key, value in asdict(self).items() if value}


@dataclass(frozen=True)
class TextRule:
    """A user's rule over typed lines: a Python regular expression, searched case-insensitively."""

    name: str
    pattern: str


@dataclass
class SafetyRules:
    """The confirmation mode, the built-in rules and a user's extra ones, for one platform's key names."""

    confirm: ConfirmMode = "risky"
    deny_text: tuple[TextRule, ...] = ()
    ask_text: tuple[TextRule, ...] = ()
    deny_chords: tuple[str, ...] = ()
    ask_chords: tuple[str, ...] = ()
    platform: str = sys.platform
    _denied: list[tuple[frozenset[str], str]] = field(init=False, repr=False)
    _risky: list[tuple[frozenset[str], str, str]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.confirm not in ("always", "risky", "never"):
            raise ValueError(f"confirm must be always, risky or never, not {self.confirm!r}")
        self._denied = [(self.chord(c.split()), c) for c in DENIED_CHORDS + self.deny_chords]
        darwin = self.platform == "darwin"  # there Super is Command, the editing modifier: not a system key
        risky = {c: why for c, why in RISKY_CHORDS.items() if not (darwin and "win" in c.split())}
        risky |= {c: f"on your list of risky chords ({c})" for c in self.ask_chords}
        self._risky = [(self.chord(c.split()), c, why) for c, why in risky.items()]
        self._risky.sort(key=lambda rule: -len(rule[0]))
        self._deny_text = [(rule, re.compile(rule.pattern, re.IGNORECASE)) for rule in self.deny_text]
        self._ask_text = [(rule, re.compile(rule.pattern, re.IGNORECASE)) for rule in self.ask_text]

    def chord(self, keys: tuple[str, ...] | list[str]) -> frozenset[str]:
        """The keys as the executor sends them together (letters folded: a chord ignores case)."""
        return frozenset(normalize_key(key, self.platform, in_hotkey=True).lower() for key in keys)

    def check(self, action: Action, line: str = "") -> Verdict:
        """The verdict for one action; ``line`` is what has been typed since the last submit, click or focus change."""
        risk = Verdict("run")
        if isinstance(action, Type):
            if any(char in "\r\n" for char in action.text):
                risk = Verdict("ask", "typing and submitting (Enter)", "submit")
            risk = self._typing(action.text, line) or risk
        elif isinstance(action, (Hotkey, Press)):
            keys = action.keys if isinstance(action, Hotkey) else (action.key,)
            pressed = self.chord(keys)
            for rule, name in self._denied:
                if rule <= pressed:
                    return Verdict("refuse", f"hotkey {'+'.join(keys)} is on the deny list ({name})", f"chord:{name}")
            if pressed & SUBMIT_KEYS:
                why = f"pressing Enter submits {line!r}" if line else f"pressing {'+'.join(keys)} (Enter submits)"
                risk = self.judge(line, f"Enter would submit {line!r}, which") or Verdict("ask", why, "submit")
            else:
                risk = next(
                    (Verdict("ask", why, f"risky:{c}") for rule, c, why in self._risky if rule <= pressed), risk
                )
        if risk.decision == "refuse":
            return risk
        if self.confirm == "always":
            return Verdict("ask", risk.reason or describe(action), risk.rule or "confirm:always")
        return risk if self.confirm == "risky" else Verdict("run")

    def judge(self, line: str, what: str) -> Verdict | None:
        """A refusal (or a question) when ``line`` matches a deny (or ask) rule; ``what`` starts the sentence."""
        if not line.strip():
            return None
        for rule, pattern in self._deny_text:
            if pattern.search(line):
                return Verdict("refuse", f"{what} is on the deny list (your rule {rule.name})", f"user:{rule.name}")
        if finding := classify(line):
            return Verdict("refuse", f"{what} is on the deny list: {finding.reason}", f"shell:{finding.rule}")
        for rule, pattern in self._ask_text:
            if pattern.search(line):
                return Verdict("ask", f"{what} matches your rule {rule.name}", f"user:{rule.name}")
        return None

    def _typing(self, text: str, line: str) -> Verdict | None:
        """Judge each line this text submits, tabs away from or leaves behind (what was typed before included)."""
        question = None
        pieces = re.split(r"([\r\n\t])", text)  # text, separator, text, ..., text
        for index in range(0, len(pieces), 2):
            line += pieces[index]
            end = pieces[index + 1] if index + 1 < len(pieces) else ""
            what = f"typing would submit {line!r}, which" if end in ("\r", "\n") else f"the typed line {line!r}"
            verdict = self.judge(line, what)
            if verdict and verdict.decision == "refuse":
                return verdict
            question = question or verdict
            line = "" if end else line
        return question

    def line_after(self, line: str, action: Action) -> str:
        """The line being typed once ``action`` has run: typing extends it; Enter, a click or a focus change end it."""
        if isinstance(action, Type):
            return re.split(r"[\r\n\t]", line + action.text)[-1]
        if isinstance(action, (Click, Drag)):
            return ""
        if isinstance(action, (Hotkey, Press)):
            pressed = self.chord(action.keys if isinstance(action, Hotkey) else (action.key,))
            if pressed == {"backspace"}:
                return line[:-1]
            if pressed == {"ctrl", "backspace"}:
                return re.sub(r"\S*\s*$", "", line)
            if pressed & (SUBMIT_KEYS | FOCUS_KEYS) or any(
                rule <= pressed and "delete" not in rule for rule, _, _ in self._risky
            ):
                return ""
        return line


def default_rules_path() -> Path:
    """Where a user's safety rules live unless --safety-rules says otherwise: $XDG_CONFIG_HOME/guiagent/safety.yaml."""
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base).expanduser() / "guiagent" / "safety.yaml"


def load_rules(confirm: str, path: str | Path | None = None) -> SafetyRules:
    """The rules for ``confirm`` plus a user's: from ``path``, else from the default file when there is one."""
    if confirm not in ("always", "risky", "never"):
        raise ConfigError(f"--confirm {confirm} is not a mode.", "Use always, risky or never.")
    file = Path(path).expanduser() if path else default_rules_path()
    if not file.is_file():
        if path:
            raise ConfigError(f"Safety rules file '{file}' does not exist.", "Pass an existing YAML file.")
        return SafetyRules(confirm=confirm)  # type: ignore[arg-type]
    return SafetyRules(confirm=confirm, **_read_rules(file))  # type: ignore[arg-type]


RULE_KEYS = ("deny", "ask", "deny_chords", "ask_chords")


def _read_rules(file: Path) -> dict[str, Any]:
    """The user's rules file as SafetyRules fields; every mistake is one sentence naming the file."""
    hint = f"Use {', '.join(RULE_KEYS)}, as the Safety section of the README shows."
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise ConfigError(f"Safety rules file '{file}' cannot be read: {str(error).splitlines()[0]}.", hint) from error
    if not isinstance(data, dict):
        raise ConfigError(f"Safety rules file '{file}' is not a mapping of rule lists.", hint)
    if unknown := sorted(map(str, set(data) - set(RULE_KEYS))):
        raise ConfigError(f"Safety rules file '{file}' has unknown entries ({', '.join(unknown)}).", hint)
    fields: dict[str, Any] = {}
    for key in RULE_KEYS:
        entries = data.get(key) or []
        if not isinstance(entries, list):
            raise ConfigError(f"Safety rules file '{file}': '{key}' must be a list.", hint)
        if key.endswith("chords"):
            if not all(isinstance(e, str) and e.split() for e in entries):
                raise ConfigError(f"Safety rules file '{file}': '{key}' must list chords like 'ctrl alt f1'.", hint)
            fields[key] = tuple(entries)
        else:
            fields[f"{key}_text"] = tuple(_text_rule(file, key, index, entry) for index, entry in enumerate(entries, 1))
    return fields


def _text_rule(file: Path, key: str, index: int, entry: object) -> TextRule:
    pattern = entry.get("pattern") if isinstance(entry, dict) else entry
    name = str(entry.get("name", f"{key}-{index}")) if isinstance(entry, dict) else f"{key}-{index}"
    if not isinstance(pattern, str) or not pattern:
        raise ConfigError(
            f"Safety rules file '{file}': {key} rule {index} has no pattern.", "Give a regular expression."
        )
    try:
        re.compile(pattern)
    except re.error as error:
        raise ConfigError(
            f"Safety rules file '{file}': {key} rule {index} is not a regular expression ({error}).",
            "Python regular expression syntax applies.",
        ) from error
    return TextRule(name, pattern)


def signature(action: Action) -> str:
    """What makes two actions 'the same' for loop detection (targets rounded to 8 px)."""
    match action:
        case Click(target=t) | Move(target=t):
            return f"{type(action).__name__}:{t.screen[0] // 8},{t.screen[1] // 8}"
        case Drag(start=s, end=e):
            return f"drag:{s.screen[0] // 8},{s.screen[1] // 8}>{e.screen[0] // 8},{e.screen[1] // 8}"
        case Scroll(direction=d, target=t):
            return f"scroll:{d}:{t.screen if t else ''}"
    return describe(action)


def screen_hash(image: Image.Image) -> str:
    """A fingerprint of what is on screen, blind to a blinking caret (a coarse grey thumbnail)."""
    thumbnail = image.convert("L").resize((64, 36), Image.Resampling.BOX)
    coarse = bytes(value // 16 for value in thumbnail.tobytes())
    return hashlib.sha1(coarse).hexdigest()


@dataclass
class LoopDetector:
    """Flags the same action repeated ``limit`` times in a row on an unchanged screen."""

    limit: int = 3
    _recent: deque[tuple[str, str]] = field(default_factory=deque)

    def observe(self, screen: str, actions: tuple[Action, ...]) -> bool:
        """Record one step; True when the last ``limit`` steps were identical on an identical screen."""
        key = (screen, "|".join(signature(a) for a in actions))
        self._recent.append(key)
        while len(self._recent) > self.limit:
            self._recent.popleft()
        return self.limit > 0 and len(self._recent) == self.limit and len(set(self._recent)) == 1

    def reset(self) -> None:
        self._recent.clear()
