"""The plain console view of a run: one block per step, and y/n questions on the terminal.

Results go to stdout; prompts and warnings to stderr. Without a terminal (CI, pipes) the questions cannot be
answered, so the console human says no: risky actions are then skipped, never run unasked.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from guiagent.agent.actions import Action, describe
from guiagent.agent.run.loop import StepEvent

MARKS = {"executed": "ran", "refused": "REFUSED", "denied": "declined", "skipped": "skipped", "failed": "FAILED"}


class ConsoleHuman:
    """Asks on the terminal; answers no when nobody can answer (stdin is not a terminal)."""

    def __init__(self, echo: Callable[[str], None] | None = None, read: Callable[[str], str] | None = None) -> None:
        self.echo = echo or (lambda text: print(text, file=sys.stderr))
        self.read = read or (input if sys.stdin.isatty() else None)

    def confirm(self, action: Action, reason: str) -> bool:
        return self.ask(f"Run '{describe(action)}' ({reason})?")

    def ask(self, question: str) -> bool:
        if self.read is None:
            self.echo(f"{question} -> no (no terminal to answer on)")
            return False
        try:
            return self.read(f"{question} [y/N] ").strip().lower() in ("y", "yes")
        except EOFError:
            return False


def format_event(event: StepEvent) -> str:
    """A few lines per step: thought, actions with their outcome and screen point, cache and timings."""
    lines = [f"step {event.step}"]
    if event.parsed is not None and event.parsed.thought:
        thought = " ".join(event.parsed.thought.split())
        lines.append(f"  thought: {thought[:200]}{'...' if len(thought) > 200 else ''}")
    for error in event.parse_errors:
        lines.append(f"  unparsable: {error[:200]}")
    for note in event.parsed.notes if event.parsed is not None else ():
        lines.append(f"  note: {note}")
    for outcome in event.outcomes:
        note = f" ({outcome.reason})" if outcome.reason else ""
        clamp = " [clamped to the screen]" if getattr(getattr(outcome.action, "target", None), "clamped", False) else ""
        lines.append(f"  {MARKS[outcome.outcome]:>8}: {describe(outcome.action)}{clamp}{note}")
    if event.parsed is None:
        lines.append("  nothing executed")
    if event.stats is not None:
        stats = event.stats
        lines.append(
            f"  cache: {stats.logical_tokens} tokens, {stats.bytes_held / 2**20:.1f} MiB held of "
            f"{stats.bytes_full / 2**20:.1f} MiB full ({stats.method} {stats.budget})"
        )
    timing = ", ".join(f"{name.removesuffix('_s')} {value:.2f}s" for name, value in event.timings.items())
    lines.append(f"  time: {timing}")
    if event.status != "continue":
        lines.append(f"  -> {event.status}")
    return "\n".join(lines)
