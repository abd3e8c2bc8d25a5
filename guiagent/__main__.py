"""``python -m guiagent``: the CLI (what torchrun starts on every rank: ``torchrun -m guiagent eval ...``)."""

from guiagent.cli import main

main()
