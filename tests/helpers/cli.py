"""``guiagent ARGS`` through the real entry point, in process: what a user sees, exit code and printed lines."""

from __future__ import annotations

import sys

import pytest

from guiagent.cli import main


def guiagent(capsys, monkeypatch, *args: str) -> tuple[int, list[str]]:
    """(exit code, output lines) of ``guiagent ARGS`` through the real entry point."""
    monkeypatch.delenv("GUIAGENT_DEBUG", raising=False)
    monkeypatch.setattr(sys, "argv", ["guiagent", *args])
    capsys.readouterr()
    with pytest.raises(SystemExit) as done:
        main()
    captured = capsys.readouterr()
    return done.value.code or 0, (captured.out + captured.err).splitlines()


def one_error(code: int, lines: list[str], *needles: str) -> str:
    """The one ``Error:`` line of a known error (exit 1, no traceback), checked to name every needle."""
    errors = [line for line in lines if line.startswith("Error: ")]
    assert code == 1 and len(errors) == 1, lines
    assert not any("Traceback" in line for line in lines)
    for needle in needles:
        assert needle in errors[0], (needle, errors[0])
    return errors[0]
