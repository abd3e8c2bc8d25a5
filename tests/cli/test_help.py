"""Help that reads like a well-kept CLI, and names checked while parsing, before anything loads."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from guiagent.cli import app
from tests.helpers.cli import guiagent

COMMANDS = ["run", "act", "replay", "eval", "bench", "demo", "compress-check", "models", "demo-app"]
PLACEHOLDER = re.compile(r"<(str|int|float|bool|int range|float range|path)>")


@pytest.mark.parametrize("command", COMMANDS)
def test_help_shows_no_type_placeholders(command):
    result = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    options = [line for line in result.output.splitlines() if "--" in line and "--help" not in line]
    rows = [line for line in options if PLACEHOLDER.search(line)]  # (typer shows positional arguments' types)
    assert rows == [], "\n".join(rows)


def test_choices_and_defaults_are_shown():
    text = CliRunner().invoke(app, ["replay", "--help"], env={"COLUMNS": "200"}).output
    for shown in ("<native|guikv|starkv>", "<rolling|rebuild>", "<tail|instruction|both>", "[default: starkv]"):
        assert shown in text
    assert "tiny and tiny-opencua 8" in text  # the answer caps, where --max-new-tokens is described


def test_the_answer_caps_in_help_are_the_models_own():
    from guiagent.agent.model.loading import known_models
    from guiagent.agent.policy.opencua import OpenCUAPolicy
    from guiagent.agent.policy.uitars import UITarsPolicy
    from guiagent.cli.options import ANSWER_CAPS

    models = known_models()
    assert models["tiny"].answer_tokens == models["tiny-opencua"].answer_tokens == 8
    assert "8;" in ANSWER_CAPS and f"{UITarsPolicy.max_new_tokens}" in ANSWER_CAPS
    assert UITarsPolicy.max_new_tokens == OpenCUAPolicy.max_new_tokens == 1000


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["replay", "bundled", "--model", "tiny", "--method", "foo"], "Unknown compression method 'foo'"),
        (["eval", "bundled", "--model", "tiny", "--methods", "full,foo"], "Unknown compression method 'foo'"),
        (["replay", "bundled", "--model", "nonsense", "--method", "snapkv"], "Unknown model spec 'nonsense'"),
        (["replay", "bundled", "--model", "tiny", "--budget", "lots"], "lots"),
        (["replay", "bundled", "--model", "tiny", "--layout", "sideways"], "'sideways' is not one of"),
        (["replay", "bundled", "--model", "tiny", "--protocol", "papers"], "'papers' is not one of"),
        (["eval", "bundled", "--model", "tiny", "--metric", "accuracy"], "'accuracy' is not one of"),
        (["run", "open the settings", "--model", "tiny", "--method", "foo"], "Unknown compression method 'foo'"),
    ],
)
def test_bad_names_fail_before_any_weights_are_read(capsys, monkeypatch, args, says):
    def no_weights(*args, **kwargs):
        raise AssertionError("weights were read")

    monkeypatch.setattr("guiagent.agent.model.loaded.read_weights", no_weights)
    monkeypatch.setattr("guiagent.agent.model.loading.load_model", no_weights)
    code, lines = guiagent(capsys, monkeypatch, *args)
    text = "\n".join(lines)
    assert code in (1, 2) and says in text, text
    assert "weights were read" not in text and "Traceback" not in text
