"""One error hierarchy: every message says what was wrong, then what to do.

The CLI prints a known error as one sentence (plus its hint) on stderr and exits 1; anything else keeps its
traceback, because it is a bug.
"""

from __future__ import annotations


class GuiAgentError(Exception):
    """Base class for errors a user can act on."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message} {self.hint}"


class ConfigError(GuiAgentError):
    """A setting, spec or budget that cannot be used as given."""


class ModelLoadError(GuiAgentError):
    """A model spec that cannot be resolved or loaded."""


class SessionError(GuiAgentError):
    """A KV-session call whose inputs do not fit the session's state."""


class CompatError(GuiAgentError):
    """An installed dependency (transformers) no longer behaves as guiagent relies on."""
