"""The agent end to end on Xvfb through the real CLI: `guiagent act` (parse, map, execute one answer) and
`guiagent run` (scripted answers and the tiny model), checked against what the demo app recorded."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from guiagent.agent.policy.coords import smart_resize
from tests.agent.desktop.helpers import GRID, SCREEN_H, SCREEN_W, centre, pointer

MODEL_H, MODEL_W = smart_resize(SCREEN_H, SCREEN_W, GRID.factor, GRID.min_pixels, GRID.max_pixels)  # 756 x 1372


def box_point(box: list[int], dx: float = 0.0, dy: float = 0.0) -> str:
    """A widget's centre (moved by dx, dy screen pixels) as UI-TARS writes it: model pixels in box tokens."""
    x, y = centre(box)
    return f"<|box_start|>({round((x + dx) * MODEL_W / SCREEN_W)},{round((y + dy) * MODEL_H / SCREEN_H)})<|box_end|>"


def guiagent(display: str, *args: str, timeout: float = 120.0) -> subprocess.CompletedProcess:
    env = {**os.environ, "DISPLAY": display, "PYTHONUNBUFFERED": "1"}
    return subprocess.run(
        [sys.executable, "-m", "guiagent.cli", *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def act(display: str, response: str, *flags: str) -> str:
    done = guiagent(display, "act", *flags, response)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_act_lands_every_action_form_on_the_intended_widget(display, demo_app):
    w = demo_app.widgets
    out = act(display, f"Thought: open the settings.\nAction: click(start_box='{box_point(w['settings_button'])}')")
    assert "model (" in out and "-> screen (" in out  # the mapping is shown
    demo_app.wait_for("click", widget="settings_button")
    dialog = demo_app.wait_for("dialog_opened")["widgets"]
    act(display, f"Action: click(start_box='{box_point(dialog['dark_mode'])}')")
    demo_app.wait_for("dark_mode", value=True)
    act(display, f"Action: click(start_box='{box_point(dialog['ok'])}')")
    demo_app.wait_for("dialog_closed")

    entry = box_point(w["entry"])
    submit = f"Action: click(start_box='{entry}')\n\ntype(content='it\\'s \"quoted\"\\n')"
    act(display, submit, "--confirm", "never")  # a submit asks by default, and nobody is there to say yes
    demo_app.wait_for("submit", value='it\'s "quoted"')
    act(display, "Action: hotkey(key='ctrl a')")
    assert "ctrl" in demo_app.wait_for("key", keysym="a")["modifiers"]
    act(display, "Action: press(key='escape')")
    demo_app.wait_for("key", keysym="Escape")

    drag = w["drag_area"]
    act(display, f"Action: drag(start_box='{box_point(drag, -60, -30)}', end_box='{box_point(drag, 70, 40)}')")
    event = demo_app.wait_for("drag")
    x, y = centre(drag)
    assert abs(event["start"][0] - (x - 60)) <= 3 and abs(event["end"][1] - (y + 40)) <= 3

    for direction in ("up", "down", "left", "right"):
        act(display, f"Action: scroll(start_box='{box_point(w['scroll_area'])}', direction='{direction}')")
        demo_app.wait_for("scroll", direction=direction)


def test_act_dry_run_and_bad_answers_touch_nothing(display, demo_app):
    before = pointer()
    out = act(display, f"Action: click(start_box='{box_point(demo_app.widgets['settings_button'])}')")
    demo_app.wait_for("click", widget="settings_button")
    before = pointer()
    done = guiagent(display, "act", "--dry-run", "Action: click(start_box='(10,10)')")
    assert done.returncode == 0 and "(dry run: nothing executed)" in done.stdout and pointer() == before
    done = guiagent(display, "act", "Action: click(start_box='=')")
    assert (
        done.returncode == 1 and "The answer cannot be parsed" in done.stderr and "nothing was executed" in done.stderr
    )
    done = guiagent(display, "act", "Action: type(content='rm -rf ~/\\n')")
    assert done.returncode == 0 and "refused" in done.stdout
    assert pointer() == before and out


def write_dark_mode_script(demo_app, path: Path) -> Path:
    """The answers a competent model would give, aimed at the app's real widgets."""
    w = demo_app.widgets
    dialog = _dialog_widgets(demo_app)  # fixed relative to the main window: learn it once, close it again
    path.write_text(
        "\n---\n".join(
            [
                f"Thought: Settings opens the settings.\nAction: click(start_box='{box_point(w['settings_button'])}')",
                f"Thought: Dark mode is off; tick it.\nAction: click(start_box='{box_point(dialog['dark_mode'])}')",
                f"Thought: Confirm with OK.\nAction: click(start_box='{box_point(dialog['ok'])}')",
                "Thought: Dark mode is on.\nAction: finished(content='Dark mode is enabled.')",
            ]
        )
    )
    return path


def _dialog_widgets(demo_app) -> dict:
    from guiagent.agent.actions import Click
    from guiagent.agent.desktop.capture import capture
    from guiagent.agent.desktop.executor import PyAutoGuiExecutor
    from tests.agent.desktop.helpers import aim

    executor, geometry = PyAutoGuiExecutor(settle_s=0.05), capture().geometry
    executor.execute(Click(aim(geometry, *centre(demo_app.widgets["settings_button"]))))
    dialog = demo_app.wait_for("dialog_opened")["widgets"]
    executor.execute(Click(aim(geometry, *centre(dialog["ok"]))))
    demo_app.wait_for("dialog_closed")
    return dialog


def test_scripted_run_enables_dark_mode_through_the_real_loop(display, demo_app, tmp_path):
    script = write_dark_mode_script(demo_app, tmp_path / "dark_mode.txt")
    done = guiagent(
        display,
        "run",
        "open settings and enable dark mode",
        "--model",
        f"scripted:{script}",
        "--confirm",
        "never",
        "--max-steps",
        "6",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "finished: Dark mode is enabled. after 4 step(s)" in done.stdout
    demo_app.wait_for("dark_mode", value=True)
    demo_app.wait_for("dialog_closed")
    assert done.stdout.count("     ran: click at") == 3


def test_dry_run_sends_no_input(display, demo_app, tmp_path):
    script = write_dark_mode_script(demo_app, tmp_path / "dark_mode.txt")
    seen, before = len(demo_app.all_events()), pointer()
    done = guiagent(display, "run", "open settings", "--model", f"scripted:{script}", "--dry-run", "--confirm", "never")
    assert done.returncode == 0 and "dry run: no input is sent" in done.stderr
    time.sleep(0.3)
    assert len(demo_app.all_events()) == seen and pointer() == before


@pytest.mark.parametrize("model", ["tiny", "tiny-opencua"])
def test_tiny_model_runs_end_to_end_and_executes_nothing_it_cannot_parse(display, demo_app, model):
    done = guiagent(
        display,
        "run",
        "open settings and enable dark mode",
        "--model",
        model,
        "--max-steps",
        "2",
        "--max-new-tokens",
        "6",
        "--retries",
        "1",
        "--confirm",
        "never",
        "--budget",
        "50",
        timeout=300,
    )
    assert done.returncode == 4, done.stdout + done.stderr  # not finished: the step limit
    assert "step_limit: reached the step limit (2 steps)" in done.stdout
    assert done.stdout.count("nothing executed") == 2 and "unparsable:" in done.stdout
    assert "cache:" in done.stdout and "(starkv 50%)" in done.stdout
    events = [e["event"] for e in demo_app.all_events()]
    assert events == ["ready"]  # no input reached the app


def test_emergency_hotkey_stops_a_run_at_once(display, demo_app, tmp_path):
    script = tmp_path / "waits.txt"
    script.write_text("\n---\n".join(["Action: wait()"] * 10))
    env = {**os.environ, "DISPLAY": display, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "guiagent.cli", "run", "wait", "--model", f"scripted:{script}", "--max-steps", "10"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and "Running 'wait'" not in (process.stderr.readline() or ""):
            pass
        time.sleep(0.5)
        started = time.monotonic()
        subprocess.run(["xdotool", "key", "ctrl+alt+q"], check=True)
        out, err = process.communicate(timeout=20)
        assert time.monotonic() - started < 3  # inside a 5 s wait(): the stop does not wait for it
        assert process.returncode == 4 and "stopped (hotkey ctrl+alt+q)" in out, out + err
    finally:
        if process.poll() is None:
            process.kill()


@pytest.mark.parametrize("monitor", ["7"])
def test_run_on_a_missing_monitor_says_so(display, monitor):
    done = guiagent(display, "run", "x", "--model", "tiny", "--monitor", monitor)
    assert done.returncode == 1 and "Monitor 7 does not exist" in done.stderr
