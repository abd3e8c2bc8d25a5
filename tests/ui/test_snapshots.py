"""Snapshots of stable screens. The main screen is the real thing: the bundled example replayed through the tiny
model (deterministic on CPU); memory and timings come from ``FixedMetrics``; the cursor does not blink."""

from __future__ import annotations

from guiagent.agent.run.safety import SafetyRules
from guiagent.compression.presses import method_names
from guiagent.ui.control import RunControl
from guiagent.ui.dashboard import Dashboard
from guiagent.ui.launch import live_job, replay_job
from guiagent.ui.screens import ConfirmScreen
from tests.agent.helpers import RecordingExecutor
from tests.ui.helpers import CLICK, FixedMetrics, SessionDecider, frames, wait_until


def replay_dashboard(bundled, tiny_replay) -> Dashboard:
    make_decider, _ = tiny_replay
    control = RunControl(budget="20", method="starkv", methods=method_names(), total_steps=len(bundled[0].steps))
    job = replay_job(bundled, make_decider)
    return Dashboard(job, control, title="replay · bundled · tiny", metrics=FixedMetrics(), poll_s=3600)


def live_dashboard(answers, images, confirm="never", paused=False) -> Dashboard:
    decider = SessionDecider(answers)
    control = RunControl(decider.session, methods=method_names(), total_steps=len(answers))
    if paused:
        control.pause()
    job = live_job(
        decider, frames(images), RecordingExecutor(), rules=SafetyRules(confirm=confirm), max_steps=len(answers),
        loop_limit=0,
    )  # fmt: skip
    return Dashboard(job, control, title="run · scripted", metrics=FixedMetrics(), poll_s=3600)


async def replay_done(pilot) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def test_replay_of_the_bundled_example_at_100x30(snap_compare, bundled, tiny_replay):
    assert snap_compare(replay_dashboard(bundled, tiny_replay), terminal_size=(100, 30), run_before=replay_done)


def test_replay_of_the_bundled_example_scales_up_to_160x45(snap_compare, bundled, tiny_replay):
    assert snap_compare(replay_dashboard(bundled, tiny_replay), terminal_size=(160, 45), run_before=replay_done)


def test_budget_dialog_explains_text_it_cannot_read(snap_compare, bundled_images):
    app = live_dashboard([CLICK], bundled_images, paused=True)
    assert snap_compare(app, terminal_size=(100, 30), press=["b", *"20 percent", "enter"])


def test_confirmation_dialog_marks_the_click_it_asks_about(snap_compare, bundled_images):
    async def asked(pilot) -> None:
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, ConfirmScreen), what="the dialog")

    app = live_dashboard([CLICK], bundled_images, confirm="always")
    assert snap_compare(app, terminal_size=(100, 30), run_before=asked)
