"""The safety corpus (tests/data/safety_corpus.yaml) as answers in each family's syntax, and how the rules judge
one: shared by the rule-level tests and the desktop run, so both see exactly the same actions."""

from __future__ import annotations

from dataclasses import dataclass

import yaml

from guiagent.agent.actions import Action
from guiagent.agent.run.safety import SafetyRules
from tests.helpers.data import TESTS_DATA

CORPUS = TESTS_DATA / "safety_corpus.yaml"


@dataclass(frozen=True)
class Entry:
    name: str
    kind: str  # dangerous | harmless
    expect: str  # refuse | ask | run
    family: str  # uitars | opencua
    body: str  # the actions, in the family's syntax
    line: str = ""  # for typed lines: the line itself

    def answer(self, click: str = "") -> str:
        """The whole model answer, after ``click`` (an action in the same syntax) when given."""
        if self.family == "opencua":
            code = "\n".join(part for part in (click, self.body) if part)
            return f"## Thought:\ncorpus entry {self.name}\n## Code:\n```python\n{code}\n```"
        actions = "\n\n".join(part for part in (click, self.body) if part)
        return f"Thought: corpus entry {self.name}\nAction: {actions}"


def uitars_text(text: str) -> str:
    """``text`` as a UI-TARS content argument (its escapes: backslash, quote, newline)."""
    return text.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n")


def load_corpus() -> list[Entry]:
    data = yaml.safe_load(CORPUS.read_text(encoding="utf-8"))
    entries = [
        Entry(
            f"line {line}",
            kind,
            "refuse" if kind == "dangerous" else "ask",
            "uitars",
            f"type(content='{uitars_text(line)}\\n')",
            line,
        )
        for kind in ("dangerous", "harmless")
        for line in data["lines"][kind]
    ]
    entries += [
        Entry(a["name"], a["kind"], a["expect"], a.get("family", "uitars"), a["answer"]) for a in data["answers"]
    ]
    return entries


def decide(rules: SafetyRules, actions: tuple[Action, ...]) -> str:
    """An answer's decision as the loop meets it (a yes to every question): refuse, ask or run."""
    line, asked = "", False
    for action in actions:
        verdict = rules.check(action, line)
        if verdict.decision == "refuse":
            return "refuse"
        asked |= verdict.decision == "ask"
        line = rules.line_after(line, action)
    return "ask" if asked else "run"
