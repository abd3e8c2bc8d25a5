"""A press of one's own: registered in a few lines, it runs by name through the session and ``guiagent replay``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest
import torch

from guiagent import KVSession
from guiagent.cli import main
from guiagent.compression.presses import (
    CacheView,
    Press,
    SnapKVPress,
    get_press,
    method_names,
    register_press,
    registry,
)
from guiagent.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
SELECTS: list[int] = []  # the layers RecentPress pruned, call after call


@dataclass
class RecentPress(Press):
    """The README's example (StreamingLLM's rule), noting the layers it pruned."""

    sink: int = 4

    def select(self, cache: CacheView) -> list[torch.Tensor | None]:
        keep, selection = cache.budget_tokens(), []
        for layer in range(cache.num_layers):
            length, sink = cache.physical_length(layer), min(self.sink, keep)
            recent = torch.arange(length - keep + sink, length)
            selection.append(None if length <= keep else torch.cat([torch.arange(sink), recent]))
        SELECTS.extend(i for i, kept in enumerate(selection) if kept is not None)
        return selection


@pytest.fixture
def recent():
    """``recent`` registered for one test, and the registry as it was afterwards."""
    before = dict(registry._PRESSES)
    SELECTS.clear()
    register_press("recent", RecentPress)
    yield RecentPress
    registry._PRESSES.clear()
    registry._PRESSES.update(before)
    registry.load_plugins.cache_clear()


def test_a_registered_press_is_a_method_by_name(recent, tiny):
    assert method_names()[-1] == "recent" and get_press("Recent", sink=2) == RecentPress(sink=2)
    assert register_press("recent", RecentPress) is RecentPress  # again: nothing changes
    with KVSession(tiny, method="recent", budget="40t") as session:
        session.append("<|im_start|>user\n" + "hello " * 60 + "<|im_end|>\n")
        assert session.stats.method == "recent" and session.stats.physical_tokens_per_layer == (40,) * tiny.num_layers
        assert session.slots(0)[0, :4].tolist() == [0, 1, 2, 3]  # the sink, then the newest tokens
        assert session.slots(0)[0, -1] == session.logical_tokens - 1
        session.set_method("full")
        assert session.press is None and session.stats.method == "full"


def test_the_session_offers_every_member_of_the_cache_view(tiny):
    members = [name for name in vars(CacheView) if not name.startswith("_")]
    assert len(members) == 11
    with KVSession(tiny) as session:
        assert [name for name in members if not hasattr(session, name)] == []


def test_registering_refuses_what_could_not_be_looked_up(recent):
    with pytest.raises(ConfigError, match="not a Press class"):
        register_press("mine", dict)
    for bad in ("My-Press", "my_press", "full", "none", ""):
        with pytest.raises(ConfigError, match="cannot name a method"):
            register_press(bad, RecentPress)
    with pytest.raises(ConfigError, match="Method 'snapkv' is SnapKVPress already"):
        register_press("snapkv", RecentPress)
    with pytest.raises(ConfigError, match="SnapKVPress is method 'snapkv' already"):
        register_press("snap", SnapKVPress)
    assert "snap" not in method_names() and "mine" not in method_names()


def test_get_press_names_the_settings_a_method_takes(recent):
    with pytest.raises(ConfigError, match="do not fit method 'recent'") as error:
        get_press("recent", window=8)
    assert error.value.hint == "Its settings: sink."


def test_replay_runs_a_registered_press_by_name(recent, tmp_path, capsys, monkeypatch):
    report = tmp_path / "report"
    argv = ["guiagent", "replay", "bundled", "--model", "tiny", "--method", "recent", "--max-new-tokens", "2"]
    monkeypatch.setattr(sys, "argv", [*argv, "--no-tui", "--report", str(report)])
    with pytest.raises(SystemExit) as done:
        main()
    out, err = capsys.readouterr()
    assert done.value.code in (0, None), err[-3000:]
    assert json.loads(out)["method"] == "recent"
    steps = [json.loads(line) for line in (report / "steps.jsonl").read_text().splitlines()]
    assert steps and all(step["cache"]["method"] == "recent" for step in steps)
    assert SELECTS and steps[-1]["cache"]["ratio"] < 0.5  # it pruned: budget 20% of the history


def test_plugin_modules_are_imported_on_the_first_lookup(recent, tmp_path, monkeypatch):
    (tmp_path / "my_presses.py").write_text(
        "from guiagent.compression.presses import SnapKVPress, register_press\n\n\n"
        "class WideSnapKVPress(SnapKVPress):\n    pass\n\n\nregister_press('widesnapkv', WideSnapKVPress)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    entry = EntryPoint(name="wide", value="my_presses", group=registry.ENTRY_POINT_GROUP)
    monkeypatch.setattr(registry, "entry_points", lambda group: [entry] if group == entry.group else [])
    registry.load_plugins.cache_clear()
    assert "widesnapkv" in method_names()
    registry.load_plugins.cache_clear()
    monkeypatch.setenv(registry.PLUGINS_ENV, "no_such_presses")
    with pytest.raises(ConfigError, match="GUIAGENT_PRESSES module 'no_such_presses' cannot be imported"):
        get_press("snapkv")


@pytest.mark.slow
def test_guiagent_presses_names_the_module_of_a_press_for_the_command_line(tmp_path):
    (tmp_path / "my_presses.py").write_text(
        textwrap.dedent(
            """
            from dataclasses import dataclass

            from guiagent.compression.presses import SnapKVPress, register_press


            @dataclass
            class WideSnapKVPress(SnapKVPress):
                '''SnapKV with a wider observation window.'''

                window: int = 16


            register_press("widesnapkv", WideSnapKVPress)
            """
        )
    )
    env = {**os.environ, "GUIAGENT_PRESSES": "my_presses", "PYTHONPATH": str(tmp_path)}
    report = tmp_path / "report"
    args = ["replay", "bundled", "--model", "tiny", "--method", "widesnapkv", "--max-new-tokens", "2", "--no-tui"]
    done = subprocess.run(
        [sys.executable, "-m", "guiagent", *args, "--report", str(report)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout)["method"] == "widesnapkv"
    steps = [json.loads(line) for line in (report / "steps.jsonl").read_text().splitlines()]
    assert steps and all(step["cache"]["method"] == "widesnapkv" for step in steps)
