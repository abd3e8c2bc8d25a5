"""The emergency stop on a real `guiagent run` on Xvfb: Ctrl-C (SIGINT) while the tiny model decodes, in the middle
of a long action, and twice right after an action ran; the hotkey in the middle of a long action; and hotkeys
that could not stop the run (a bad name, a key another X client holds) refused before anything loads."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.agent.desktop.helpers import SCREEN_H, SCREEN_W, pointer
from tests.agent.desktop.test_agent_e2e import MODEL_H, MODEL_W, box_point

# A point on the bare root window, outside the demo app (900x600 at +0+0) and away from the fail-safe corners.
IDLE_X, IDLE_Y = 1200, 700
TEXT = ("the quick brown fox jumps over the lazy dog " * 100)[:4000]  # lower case: no Shift held over the hotkey
EXIT_BOUND_S = 5.0  # from the stop to the process's exit, on a loaded CI machine


@pytest.fixture(scope="module", autouse=True)
def keep_x_up(display: str) -> Iterator[None]:
    """One X client for the whole module: Xvfb resets (and drops new connections) whenever its last client leaves."""
    from Xlib import display as xdisplay

    connection = xdisplay.Display(display)
    yield
    connection.close()


class Run:
    """A `guiagent run` subprocess whose stderr is read in the background (so it never blocks on a full pipe)."""

    def __init__(self, display: str, tmp_path: Path, *args: str) -> None:
        self.record = tmp_path / "run"
        env = {
            **os.environ,
            "DISPLAY": display,
            "PYTHONUNBUFFERED": "1",
            "OMP_NUM_THREADS": "1",
            "XDG_DATA_HOME": str(tmp_path / "data"),
        }
        command = [sys.executable, "-m", "guiagent.cli", "run", "stop test", *args, "--record", str(self.record)]
        self.process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.out: list[str] = []
        self.err: list[str] = []
        self.running = threading.Event()
        self._readers = [
            threading.Thread(target=self._read, args=(self.process.stdout, self.out), daemon=True),
            threading.Thread(target=self._read, args=(self.process.stderr, self.err), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read(self, stream, lines: list[str]) -> None:
        for line in stream:
            lines.append(line)
            if line.startswith("Running 'stop test'"):
                self.running.set()

    def wait_running(self, timeout: float = 120.0) -> None:
        if not self.running.wait(timeout):
            self.process.kill()
            pytest.fail(f"The run did not start within {timeout:g} s:\n{''.join(self.err)}")

    def finish(self, timeout: float = 60.0) -> tuple[float, str]:
        """Seconds until the process exits (from now), and its stdout."""
        started = time.monotonic()
        self.process.wait(timeout)
        elapsed = time.monotonic() - started
        for reader in self._readers:
            reader.join(timeout=5)
        return elapsed, "".join(self.out)

    def output(self, out: str) -> str:
        return out + "".join(self.err)

    def steps(self) -> list[dict]:
        lines = (self.record / "trajectory.jsonl").read_text(encoding="utf-8").splitlines()
        return [record for record in map(json.loads, lines) if record["kind"] == "step"]

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture
def start(display: str, tmp_path: Path) -> Iterator:
    runs: list[Run] = []

    def started(*args: str) -> Run:
        runs.append(Run(display, tmp_path, *args))
        return runs[-1]

    yield started
    for run in runs:
        run.kill()


def script(tmp_path: Path, *answers: str) -> str:
    path = tmp_path / "answers.txt"
    path.write_text("\n---\n".join(answers))
    return f"scripted:{path}"


def long_typing(tmp_path: Path) -> str:
    """An OpenCUA answer that clicks the bare root window, then types 4,000 characters there (seconds of typing:
    the parsers cap every other count, so this is the longest one action can be)."""
    x, y = round(IDLE_X * MODEL_W / SCREEN_W), round(IDLE_Y * MODEL_H / SCREEN_H)
    code = f"pyautogui.click(x={x}, y={y})\npyautogui.write('{TEXT}')"
    return script(tmp_path, f"## Thought:\ntype a lot\n## Code:\n```python\n{code}\n```")


def wait_for_pointer(x: int, y: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while max(abs(a - b) for a, b in zip(pointer(), (x, y), strict=True)) > 2:
        if time.monotonic() > deadline:
            pytest.fail(f"The pointer never reached ({x}, {y}); it is at {pointer()}")
        time.sleep(0.05)


@pytest.mark.slow
def test_ctrl_c_while_the_tiny_model_decodes_stops_at_once(start, demo_app):
    run = start("--model", "tiny", "--max-new-tokens", "100000", "--retries", "0", "--confirm", "never")
    run.wait_running()
    time.sleep(4.0)  # the tiny model prefills one screenshot in well under a second, then decodes for minutes
    run.process.send_signal(signal.SIGINT)
    elapsed, out = run.finish()
    assert run.process.returncode == 4, run.output(out)
    assert "stopped (Ctrl-C): stopped while the model was answering after 1 step(s)" in out, run.output(out)
    assert elapsed < EXIT_BOUND_S, f"exit took {elapsed:.1f} s after Ctrl-C while decoding"
    (step,) = run.steps()
    assert step["status"] == "stopped" and step["raw"] and step["timings"]["decode_s"] > 1.0
    assert [e["event"] for e in demo_app.all_events()] == ["ready"]  # nothing reached the app


@pytest.mark.slow
@pytest.mark.parametrize("how", ["ctrl-c", "hotkey"])
def test_a_stop_in_the_middle_of_a_long_action_ends_it_between_pieces(start, display, tmp_path, how):
    run = start("--model", long_typing(tmp_path), "--family", "opencua", "--confirm", "never", "--max-steps", "3")
    run.wait_running()
    wait_for_pointer(IDLE_X, IDLE_Y)  # the click ran; the typing starts now and takes seconds
    time.sleep(0.3)
    if how == "ctrl-c":
        run.process.send_signal(signal.SIGINT)
    else:
        subprocess.run(["xdotool", "key", "ctrl+alt+q"], check=True)
    elapsed, out = run.finish()
    reason = "Ctrl-C" if how == "ctrl-c" else "hotkey ctrl+alt+q"
    assert run.process.returncode == 4, run.output(out)
    assert f"stopped ({reason}): stopped in the middle of an action after 1 step(s)" in out, run.output(out)
    assert elapsed < EXIT_BOUND_S, f"exit took {elapsed:.1f} s after the {how} stop in a long action"
    (step,) = run.steps()
    assert [a["type"] for a in step["actions"]] == ["click", "type"] and step["status"] == "stopped"
    assert step["outcomes"] == ["executed", "failed"] and "of 4000 characters)" in out, run.output(out)


@pytest.mark.slow
def test_ctrl_c_in_a_wait_stops_at_once(start, display, tmp_path):
    run = start("--model", script(tmp_path, *["Action: wait()"] * 3), "--confirm", "never")
    run.wait_running()
    time.sleep(1.0)  # inside the first 5 s wait
    run.process.send_signal(signal.SIGINT)
    elapsed, out = run.finish()
    assert run.process.returncode == 4 and "stopped (Ctrl-C)" in out, run.output(out)
    assert elapsed < EXIT_BOUND_S, f"exit took {elapsed:.1f} s after Ctrl-C in a wait"


@pytest.mark.slow
def test_two_ctrl_c_right_after_an_action_keep_it_in_the_trajectory(start, demo_app, tmp_path):
    click = f"Thought: open the settings.\nAction: click(start_box='{box_point(demo_app.widgets['settings_button'])}')"
    run = start("--model", script(tmp_path, click, "Action: wait()", "Action: wait()"), "--confirm", "never")
    run.wait_running()
    demo_app.wait_for("click", widget="settings_button", timeout=60)
    run.process.send_signal(signal.SIGINT)  # while the executor still pauses after the click, or records it
    time.sleep(0.03)  # two signals sent at once would merge into one: let the first be handled
    run.process.send_signal(signal.SIGINT)
    elapsed, out = run.finish()
    assert run.process.returncode == 4, run.output(out)
    assert "Traceback" not in run.output(out) and elapsed < EXIT_BOUND_S
    steps = run.steps()  # the click's step; at most the next one too, stopped before it did anything
    assert steps, f"the executed click is not in the trajectory:\n{run.output(out)}"
    assert steps[0]["actions"][0]["type"] == "click" and steps[0]["outcomes"] == ["executed"], steps
    assert len(steps) <= 2 and all("executed" not in step["outcomes"] for step in steps[1:]), steps
    assert f"after {len(steps)} step(s)" in out, run.output(out)


def refused(done: subprocess.CompletedProcess, record: Path) -> str:
    """The one sentence a refused run printed; nothing was loaded or recorded before it."""
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and "Loading" not in done.stderr and "Running" not in done.stderr
    assert not record.exists()
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("Error: ") and lines[1].startswith("Hint: "), done.stderr
    return lines[0]


def guiagent_run(display: str | None, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key != "DISPLAY"}
    env.update(XDG_DATA_HOME=str(tmp_path / "data"), OMP_NUM_THREADS="1", **({"DISPLAY": display} if display else {}))
    command = [sys.executable, "-m", "guiagent.cli", "run", "x", "--record", str(tmp_path / "run"), *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    ("hotkey", "sentence"),
    [
        ("ctrl+alt+foo", "Error: The stop hotkey 'ctrl+alt+foo' names 'foo', which is not a key."),
        ("hyper+q", "Error: The stop hotkey 'hyper+q' names 'hyper', which is not a modifier."),
    ],
)
def test_a_bad_hotkey_name_is_refused_before_anything_else(tmp_path, hotkey, sentence):
    pytest.importorskip("Xlib")
    done = guiagent_run(None, tmp_path, "--model", "tiny", "--stop-hotkey", hotkey)  # no display: checked first
    assert refused(done, tmp_path / "run") == sentence


@pytest.fixture
def held_hotkey(display: str) -> Iterator[None]:
    """ctrl+alt+q grabbed by another X client, the way a desktop environment's shortcut would hold it."""
    from Xlib import XK, X
    from Xlib import display as xdisplay

    other = xdisplay.Display(display)
    keycode = other.keysym_to_keycode(XK.string_to_keysym("q"))
    other.screen().root.grab_key(keycode, X.ControlMask | X.Mod1Mask, True, X.GrabModeAsync, X.GrabModeAsync)
    other.sync()
    try:
        yield
    finally:
        other.close()


@pytest.mark.slow
def test_a_hotkey_another_client_holds_is_refused_before_the_model_loads(display, tmp_path, held_hotkey):
    done = guiagent_run(display, tmp_path, "--model", "tiny")
    assert refused(done, tmp_path / "run") == (
        "Error: The stop hotkey ctrl+alt+q is already grabbed by another X client, so it could not stop this run."
    )
    assert "--no-stop-hotkey" in done.stderr


@pytest.mark.slow
def test_no_stop_hotkey_runs_without_it_and_says_so(display, tmp_path, held_hotkey):
    answers = script(tmp_path, "Action: finished(content='done')")
    done = guiagent_run(display, tmp_path, "--model", answers, "--no-stop-hotkey", "--confirm", "never")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "stop: Ctrl-C (no stop hotkey: --no-stop-hotkey), or throw the mouse" in done.stderr
    assert "ctrl+alt+q" not in done.stderr
