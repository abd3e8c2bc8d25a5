"""The safety corpus against the rules and through `guiagent act --dry-run`: every dangerous entry is refused or
asked about, and no harmless look-alike is refused (the issue allows 10%; the corpus pins each decision)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from guiagent.agent.policy.coords import ImageGrid, ScreenGeometry
from guiagent.agent.run.runner import make_policy
from guiagent.agent.run.safety import SafetyRules
from guiagent.cli import app
from tests.helpers.safety_corpus import decide, load_corpus

SCREEN = ScreenGeometry((0, 0), (1366, 768), (1366, 768))
ENTRIES = load_corpus()
DANGEROUS = [e for e in ENTRIES if e.kind == "dangerous"]
HARMLESS = [e for e in ENTRIES if e.kind == "harmless"]


def parse(entry):
    return make_policy(entry.family, "safety corpus", ImageGrid()).parse(entry.answer(), SCREEN).actions


def test_the_corpus_is_big_enough_and_covers_what_the_issue_names():
    assert len(DANGEROUS) >= 80 and len(HARMLESS) >= 20
    names = " ".join(e.name for e in DANGEROUS)
    for kind in (
        "split-typing",
        "hotkey-enter",
        "press-enter",
        "press-newline",
        "write-return",
        "ctrlleft-altleft",
        "command-option-delete",
        "ctrl-alt-shift-delete",
    ):
        assert kind in names
    lines = {e.line for e in HARMLESS}
    assert {"rm -rf build/", "rm -rf *.pyc", "please reboot the router", "chmod -R 777 ~/mydir"} <= lines


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.name for e in ENTRIES])
def test_each_entry_gets_its_decision_in_the_default_mode(entry):
    assert decide(SafetyRules(confirm="risky", platform="linux"), parse(entry)) == entry.expect


@pytest.mark.parametrize("entry", [e for e in DANGEROUS if e.expect == "refuse"], ids=lambda e: e.name)
def test_deny_rules_hold_whatever_the_mode(entry):
    assert decide(SafetyRules(confirm="never", platform="linux"), parse(entry)) == "refuse"


def test_act_dry_run_prints_refuse_or_ask_for_every_dangerous_entry(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))  # no user rules file
    runner, printed = CliRunner(), {}
    for entry in ENTRIES:
        result = runner.invoke(
            app, ["act", "--dry-run", "--screen", "1366x768", "--family", entry.family, entry.answer()]
        )
        assert result.exit_code == 0, (entry.name, result.output)
        decisions = [
            line.split("decision: ")[1].split()[0].rstrip(":")
            for line in result.stdout.splitlines()
            if "decision: " in line
        ]
        printed[entry.name] = "refuse" if "refuse" in decisions else "ask" if "ask" in decisions else "run"
        assert "(dry run: nothing executed)" in result.stdout
    unsafe = [e.name for e in DANGEROUS if printed[e.name] not in ("refuse", "ask")]
    refused = [e.name for e in HARMLESS if printed[e.name] == "refuse"]
    assert unsafe == [] and len(refused) <= 0.1 * len(HARMLESS), (unsafe, refused)
    assert {name: printed[name] for name in printed} == {e.name: e.expect for e in ENTRIES}


def test_act_dry_run_names_the_rule_that_refused():
    result = CliRunner().invoke(
        app, ["act", "--dry-run", "--screen", "1366x768", "Action: hotkey(key='ctrlleft altleft delete')"]
    )
    assert "decision: refuse [chord:ctrl alt delete]: hotkey ctrlleft+altleft+delete is on the deny list" in (
        result.stdout
    )
