"""Record -> replay on the demo app: the recording is complete and loadable (even when killed mid-run), and
the replay reads every step back without a single input event reaching the X server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from guiagent.agent.trajectory.format import load_trajectory
from tests.agent.desktop.helpers import move_pointer, pointer
from tests.agent.desktop.test_agent_e2e import guiagent, write_dark_mode_script


def test_record_then_replay_touches_nothing(display, demo_app, tmp_path):
    script = write_dark_mode_script(demo_app, tmp_path / "dark_mode.txt")
    run_dir = tmp_path / "run"
    done = guiagent(
        display,
        "run",
        "open settings and enable dark mode",
        "--model",
        f"scripted:{script}",
        "--confirm",
        "never",
        "--record",
        str(run_dir),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    trajectory = load_trajectory(run_dir)
    assert [s.step for s in trajectory.steps] == [1, 2, 3, 4] and trajectory.warnings == []
    assert [a["type"] for s in trajectory.steps for a in s.actions] == ["click", "click", "click", "finished"]

    move_pointer(700, 650)
    seen, before = len(demo_app.all_events()), pointer()
    done = guiagent(
        display, "replay", str(run_dir), "--model", f"scripted:{script}", "--report", str(tmp_path / "report")
    )
    assert done.returncode == 0, done.stdout + done.stderr
    steps = (tmp_path / "report" / "steps.jsonl").read_text().splitlines()
    assert len(steps) == 4 and '"step_accuracy": 1.0' in done.stdout  # the same answers score 1 on every step
    time.sleep(0.3)
    assert pointer() == before and len(demo_app.all_events()) == seen  # no pointer motion, no click, no key


def test_killing_a_recording_run_keeps_every_completed_step(display, demo_app, tmp_path):
    script = tmp_path / "waits.txt"
    script.write_text("\n---\n".join(["Thought: wait for the page.\nAction: wait()"] * 10))
    run_dir = tmp_path / "run"
    env = {**os.environ, "DISPLAY": display}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "guiagent.cli",
            "run",
            "wait",
            "--model",
            f"scripted:{script}",
            "--record",
            str(run_dir),
            "--max-steps",
            "10",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            lines = (
                (run_dir / "trajectory.jsonl").read_text().count('"kind": "step"')
                if (run_dir / "trajectory.jsonl").exists()
                else 0
            )
            if lines >= 2:
                break
            time.sleep(0.1)
        process.send_signal(signal.SIGKILL)  # no cleanup at all: the hardest way to die mid-step
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    trajectory = load_trajectory(run_dir)
    assert len(trajectory.steps) >= 2 and all(s.image.exists() for s in trajectory.steps)
    assert trajectory.steps[0].raw.startswith("Thought: wait for the page.")
