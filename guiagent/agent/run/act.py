"""``guiagent act``: one model answer, mapped onto the screen and held to the same safety rules as a run.

A debugging aid for prompts and grammars, so it must not be a softer path than the loop: every action gets the
verdict ``guiagent run`` would give (with the same typed line), and nothing runs after a refused or declined one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from guiagent.agent.actions import Action, ParsedResponse, ParseError, UnsupportedAction, describe
from guiagent.agent.run.console import ConsoleHuman
from guiagent.errors import ConfigError


def parse_answer(policy: Any, response: str, geometry: Any) -> ParsedResponse:
    """The parsed answer, or one sentence saying where the grammar stopped (nothing is executed)."""
    try:
        return policy.parse(response, geometry)
    except ParseError as error:
        raise ConfigError(
            f"The answer cannot be parsed: {error.message} (at {error.text!r}); nothing was executed.",
            "Check the action grammar with --family.",
        ) from error


def mapping(action: Action) -> str:
    """Where each point of ``action`` lands: model coordinates -> screen pixels (and whether it was clamped)."""
    targets = [t for t in (getattr(action, name, None) for name in ("target", "start", "end")) if t is not None]
    return "; ".join(
        f"model ({t.model[0]:g}, {t.model[1]:g}) -> screen {t.screen}" + (" [clamped]" if t.clamped else "")
        for t in targets
    )


def act_on(actions: list[Action], rules: Any, executor: Any, *, live: bool, echo: Callable[[str], None]) -> None:
    """Print each action and its verdict; when ``live``, run it as a run would (refuse, ask, or execute)."""
    line, stopped = "", ""
    for number, action in enumerate(actions, start=1):
        points = mapping(action)
        echo(f"{number}. {describe(action)}" + (f"    [{points}]" if points else ""))
        if stopped:  # as in a run: nothing after a refused or declined action
            echo(f"   skipped: {stopped}")
            continue
        verdict = rules.check(action, line)  # the same rules, and the same typed line, as `guiagent run`
        if not live:
            rule = f" [{verdict.rule}]" if verdict.decision == "refuse" else ""
            echo(f"   decision: {verdict.decision}{rule}" + (f": {verdict.reason}" if verdict.reason else ""))
            stopped = "an earlier action was refused" if verdict.decision == "refuse" else ""
        elif verdict.decision == "refuse":
            echo(f"   refused [{verdict.rule}]: {verdict.reason}")
            stopped = "an earlier action was refused"
        elif verdict.decision == "ask" and not ConsoleHuman().confirm(action, verdict.reason):
            echo(f"   declined: {verdict.reason}")
            stopped = "an earlier action was declined"
        elif not execute_or_explain(executor, action, echo):
            continue
        line = rules.line_after(line, action) if not stopped else line
    if not live:
        echo("(dry run: nothing executed)")


def execute_or_explain(executor: Any, action: Action, echo: Callable[[str], None]) -> bool:
    """Run ``action``; an action the executor refuses is reported, and the next one still gets its turn."""
    try:
        executor.execute(action)
    except UnsupportedAction as error:
        echo(f"   not executed: {error}")
        return False
    return True
