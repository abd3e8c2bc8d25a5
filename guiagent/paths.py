"""Where guiagent reads and writes: its cache and data roots, and output folders checked before any work.

Roots: ``cache_root()`` holds built artefacts (the tiny checkpoints, offloaded weights): ``$GUIAGENT_CACHE``,
else the XDG cache folder; ``data_home()`` holds user data (recorded runs): ``$GUIAGENT_HOME``, else the XDG
data folder.

Output folders (``eval --out``, ``replay --report``, ``run --record``): a report that cannot be written is found
out at the end of a run, after the model was loaded and every step
computed, unless it is checked first. The check creates nothing: it finds the nearest existing folder on the
way to the output and creates (and at once removes) a nameless temporary file there, which fails where a
write would fail, for root too (a read-only file system, /proc, a path through a regular file).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from guiagent.errors import ConfigError

HINT = "Choose a folder you can write to."


def cache_root() -> Path:
    """Built artefacts: ``$GUIAGENT_CACHE``, else ``$XDG_CACHE_HOME/guiagent`` (``~/.cache/guiagent``)."""
    if env := os.environ.get("GUIAGENT_CACHE"):
        return Path(env).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")).expanduser() / "guiagent"


def data_home() -> Path:
    """User data (recorded runs): ``$GUIAGENT_HOME``, else ``$XDG_DATA_HOME/guiagent`` (``~/.local/share/guiagent``)."""
    if env := os.environ.get("GUIAGENT_HOME"):
        return Path(env).expanduser()
    return Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")).expanduser() / "guiagent"


def check_writable(folder: str | Path, what: str) -> Path:
    """``folder`` as a Path, once it is known that it is (or can be created as) a folder that can be written."""
    folder = Path(folder).expanduser()
    existing = folder
    while not (existing.exists() or existing.is_symlink()) and existing.parent != existing:
        existing = existing.parent
    if not existing.is_dir():
        where = "is a file" if existing == folder else f"lies under '{existing}', which is a file"
        raise ConfigError(f"{what} '{folder}' {where}, not a folder.", HINT)
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as error:
        raise ConfigError(f"{what} '{folder}' cannot be written ({error.strerror or error}).", HINT) from error
    return folder
