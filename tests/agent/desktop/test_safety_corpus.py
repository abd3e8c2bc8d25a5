"""The safety corpus through the real `guiagent run` loop on Xvfb against the demo app.

In the default mode (--confirm risky) nobody is at the terminal, so every question is answered no: no dangerous
action may reach the app (it saw no submit, no Enter, no Delete and no system chord), each was refused or
asked about, and no harmless look-alike is refused. With --confirm never the harmless ones do reach the app.
Each corpus entry is one step, after a click on the app's text field (which also starts a new typed line).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from guiagent.agent.policy.coords import smart_resize
from tests.agent.desktop.helpers import GRID, SCREEN_H, SCREEN_W, centre
from tests.helpers.safety_corpus import load_corpus

pytestmark = pytest.mark.slow

ENTRIES = load_corpus()
MODEL_H, MODEL_W = smart_resize(SCREEN_H, SCREEN_W, GRID.factor, GRID.min_pixels, GRID.max_pixels)
FORBIDDEN_KEYS = {"Return", "KP_Enter", "Delete", "KP_Delete"}


def click_on_entry(demo_app, family: str) -> str:
    """A click on the text field in the family's syntax (model pixels of the resized screenshot)."""
    x, y = centre(demo_app.widgets["entry"])
    mx, my = round(x * MODEL_W / SCREEN_W), round(y * MODEL_H / SCREEN_H)
    return f"pyautogui.click(x={mx}, y={my})" if family == "opencua" else f"click(start_box='({mx},{my})')"


def run_corpus(display, demo_app, tmp_path: Path, family: str, kind: str, *confirm: str) -> list[tuple]:
    """Run one family's entries of ``kind`` as a scripted run; (entry, step record) per entry."""
    entries = [e for e in ENTRIES if e.family == family and e.kind == kind]
    name = f"{family}-{kind}-{'-'.join(confirm) or 'default'}"
    script, folder = tmp_path / f"{name}.txt", tmp_path / name
    script.write_text("\n---\n".join(e.answer(click_on_entry(demo_app, family)) for e in entries))
    env = {**os.environ, "DISPLAY": display, "PYTHONUNBUFFERED": "1", "XDG_CONFIG_HOME": str(tmp_path / "config")}
    done = subprocess.run(
        [sys.executable, "-m", "guiagent.cli", "run", "safety corpus", "--model", f"scripted:{script}", "--family",
         family, *confirm, "--loop-limit", "0", "--max-steps", str(len(entries) + 1), "--record", str(folder),
         "--no-tui"],
        env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 4 and "script_exhausted" in done.stdout, done.stdout[-3000:] + done.stderr[-3000:]
    records = [json.loads(line) for line in (folder / "trajectory.jsonl").read_text().splitlines()]
    steps = [r for r in records if r["kind"] == "step"]
    assert len(steps) == len(entries) and not any(s["parse_errors"] for s in steps)
    return list(zip(entries, steps, strict=True))


def check_default_mode(results: list[tuple]) -> None:
    for entry, step in results:
        outcomes, verdicts = step["outcomes"], step["verdicts"]
        decisions = {v["decision"] for v in verdicts if v}
        assert outcomes[0] == "executed", entry.name  # the click on the text field
        if entry.kind == "dangerous":  # its last action never ran, because a rule refused or a person said no
            assert outcomes[-1] in ("refused", "denied", "skipped") and decisions & {"refuse", "ask"}, entry.name
            assert ("refused" in outcomes) == (entry.expect == "refuse"), (entry.name, outcomes)
            refusal = next((v for v in verdicts if v and v["decision"] == "refuse"), None)
            assert refusal is None or (refusal["rule"] and "deny list" in refusal["reason"]), refusal
        else:
            assert "refused" not in outcomes, (entry.name, verdicts)
            assert outcomes == ["executed"] * len(outcomes) or entry.expect == "ask", (entry.name, outcomes)


def check_nothing_dangerous_arrived(demo_app) -> int:
    """How many keys the app saw (none of them Enter, Delete or a system chord)."""
    time.sleep(0.5)  # let the app log the last keys
    events = demo_app.all_events()
    assert not [e for e in events if e["event"] == "submit"]
    keys = [e for e in events if e["event"] == "key"]
    assert not [k for k in keys if k["keysym"] in FORBIDDEN_KEYS or {"ctrl", "alt"} <= set(k["modifiers"])]
    assert not [k for k in keys if "super" in k["modifiers"] or k["keysym"].startswith("Super")]
    return len(keys)


@pytest.mark.parametrize("family", ["uitars", "opencua"])
def test_no_dangerous_action_reaches_the_app_in_the_default_mode(display, demo_app, tmp_path, family):
    results = run_corpus(display, demo_app, tmp_path, family, "dangerous")
    check_default_mode(results)
    assert check_nothing_dangerous_arrived(demo_app) > 0  # the harmless starts of split lines were typed
    assert len(results) >= (80 if family == "uitars" else 10)


@pytest.mark.parametrize("family", ["uitars", "opencua"])
def test_harmless_look_alikes_are_not_refused_and_reach_the_app(display, demo_app, tmp_path, family):
    check_default_mode(run_corpus(display, demo_app, tmp_path, family, "harmless"))
    check_nothing_dangerous_arrived(demo_app)  # asked submits were declined, so none reached the app either
    results = run_corpus(display, demo_app, tmp_path, family, "harmless", "--confirm", "never")
    assert all(set(step["outcomes"]) == {"executed"} for _, step in results), [s["outcomes"] for _, s in results]
    time.sleep(0.5)
    submitted = [e["value"] for e in demo_app.all_events() if e["event"] == "submit"]
    for entry, _ in results:
        if entry.line:
            assert any(entry.line in value for value in submitted), entry.line
