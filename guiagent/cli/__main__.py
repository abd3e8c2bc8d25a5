"""``python -m guiagent.cli``: the same command as ``guiagent`` (tests and scripts start it this way)."""

from guiagent.cli import main

main()
