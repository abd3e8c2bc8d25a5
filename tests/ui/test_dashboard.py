"""Pilot tests: the keys steer the run (asserted on the session and the loop, not on labels), the loop runs in
a worker, pause holds it between steps, stop and quit end it cleanly, and the confirmation dialog's answer
reaches the executor."""

from __future__ import annotations

import json

import pytest

from guiagent.agent.actions import Type
from guiagent.agent.desktop.executor import DryRunExecutor
from guiagent.agent.run.safety import SafetyRules
from guiagent.agent.trajectory.format import load_trajectory
from guiagent.agent.trajectory.recorder import Recorder
from guiagent.compression.presses import method_defaults, method_names
from guiagent.ui.control import RunControl
from guiagent.ui.dashboard import Dashboard
from guiagent.ui.launch import live_job
from guiagent.ui.messages import StepCompleted, StepStarted
from guiagent.ui.screens import BudgetScreen, ConfirmScreen, MethodScreen
from tests.agent.helpers import RecordingExecutor
from tests.ui.helpers import CLICK, SUBMIT, BlockingDecider, FixedMetrics, SessionDecider, frames, wait_until

pytestmark = pytest.mark.anyio
SIZE = (100, 30)


def dashboard(decider, images, *, executor=None, confirm="never", max_steps=7, recorder=None, paused=False):
    session = getattr(decider, "session", None)
    control = RunControl(session, methods=method_names() if session else (), recorder=recorder, total_steps=max_steps)
    if paused:
        control.pause()
    job = live_job(
        decider,
        frames(images),
        executor or RecordingExecutor(),
        rules=SafetyRules(confirm=confirm),
        max_steps=max_steps,
        loop_limit=0,
    )
    return Dashboard(job, control, title="test run", metrics=FixedMetrics(), poll_s=0.05)


async def test_budget_keys_change_the_budget_of_the_next_step(bundled_images, wait_for_workers):
    decider = SessionDecider([CLICK] * 3)
    app = dashboard(decider, bundled_images, max_steps=3, paused=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("plus", "plus")
        assert str(app.control.budget) == "30%" and str(decider.session.budget) == "20%"  # queued, not applied
        await pilot.press("n")
        await wait_until(pilot, lambda: len(decider.seen) == 1, what="one step")
        assert decider.seen[0][0] == "30%"
        await pilot.press("minus")
        assert str(decider.session.budget) == "30%"  # the step in flight keeps its budget
        await pilot.press("n")
        await wait_until(pilot, lambda: len(decider.seen) == 2, what="a second step")
        assert decider.seen[1][0] == "25%" and str(decider.session.budget) == "25%"
        await pilot.press("space")
        await wait_for_workers(app)
        assert app.result.status == "step_limit" and [b for b, _ in decider.seen] == ["30%", "25%", "25%"]


async def test_budget_input_explains_bad_text_and_takes_caps(bundled_images):
    decider = SessionDecider([CLICK])
    app = dashboard(decider, bundled_images, max_steps=1, paused=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("b")
        assert isinstance(app.screen, BudgetScreen)
        await pilot.press(*"abc", "enter")
        assert isinstance(app.screen, BudgetScreen)  # still open, with the parser's sentence
        error = str(app.screen.query_one("#budget-error").render())
        assert "Budget 'abc' is not understood." in error and "512MiB" in error
        app.screen.query_one("#budget-input").value = ""
        await pilot.press(*"512MiB", "enter")
        assert not isinstance(app.screen, BudgetScreen)
        assert app.control.pending == {"budget": "512MiB"}
        await pilot.press("minus")  # 10% of a cap
        await pilot.press("n")
        await wait_until(pilot, lambda: app.finished, what="the run to end")
        assert decider.seen == [("461MiB", "full")]


async def test_method_and_budget_changes_are_written_into_the_trajectory(bundled_images, tmp_path):
    decider = SessionDecider([CLICK] * 2)
    with Recorder(tmp_path / "run", task="t") as recorder:
        app = dashboard(decider, bundled_images, max_steps=2, paused=True, recorder=recorder)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("n")
            await wait_until(pilot, lambda: len(decider.seen) == 1)
            await pilot.press("m")
            assert isinstance(app.screen, MethodScreen)
            await pilot.press("down", "down", "enter")  # starts on the current method (full): full -> starkv -> guikv
            await pilot.press("plus")
            await pilot.press("space")
            await wait_until(pilot, lambda: app.finished, what="the run to end")
    assert decider.seen == [("20%", "full"), ("25%", "guikv")]
    lines = [json.loads(line) for line in (tmp_path / "run" / "trajectory.jsonl").read_text().splitlines()]
    assert [line["kind"] for line in lines] == ["header", "step", "note", "step"]
    assert lines[2] == {
        "kind": "note",
        "after_step": 1,
        "step": 2,
        "settings": {"method": "guikv", "budget": "25%"},
        "by": "dashboard",
        "method_settings": method_defaults("guikv"),
    }
    assert lines[3]["cache"]["budget"] == "25%"
    assert app.control.report() == {
        "started": {"method": "full", "budget": "20%"},
        "changes": [{"step": 2, "method": "guikv", "budget": "25%", "method_settings": method_defaults("guikv")}],
    }


def test_a_replay_summary_keeps_its_start_and_every_live_change_with_its_step(monkeypatch, tmp_path):
    """What replay --tui writes (tiny model): the method and budget it started with, then each dashboard change
    and its step, the method's settings resolved with the user's (--set) overrides."""
    from guiagent.agent.eval.replay import write_report
    from guiagent.agent.eval.sources import load_source
    from guiagent.agent.run.runner import RunOptions, replay_deciders
    from guiagent.compression.settings import method_settings
    from guiagent.ui import launch

    def dashboard_user(job, control, *, title):  # a user who, after step 1, picks snapkv and a larger budget
        recorded = control.on_event

        def on_event(event):
            recorded(event)
            if event.step == 1:
                control.set_method("snapkv")
                control.bump_budget(+1)

        control.on_event = on_event
        return job(control)

    monkeypatch.setattr(launch, "open_dashboard", dashboard_user)
    [settings] = method_settings(None, ["snapkv.kernel_size=3"])
    options = RunOptions("replay", model="tiny", method="full", budget="20", max_new_tokens=2, settings=settings)
    make_decider, _ = replay_deciders(options)
    deciders = []
    config = {"method": "full", "budget": "20"}
    summary = launch.replay_in_dashboard(
        load_source("bundled")[:1],
        lambda t: deciders.append(make_decider(t)) or deciders[-1],
        budget="20",
        method="full",
        config=config,
        context=options.context,
    )
    written = json.loads((write_report(summary, tmp_path) / "summary.json").read_text())
    assert (written["method"], written["budget"]) == ("full", "20")
    assert written["started"] == {"method": "full", "budget": "20%"}
    snapkv = {**method_defaults("snapkv"), "kernel_size": 3}
    assert written["changes"] == [{"step": 2, "method": "snapkv", "budget": "25%", "method_settings": snapkv}]
    assert [step.cache["budget"] for step in summary.steps[:2]] == ["20%", "25%"]
    assert deciders[0].session.press.kernel_size == 3


async def test_pause_holds_the_loop_between_steps(bundled_images):
    decider = BlockingDecider([CLICK] * 3)
    app = dashboard(decider, bundled_images, max_steps=3)
    messages = []
    async with app.run_test(size=SIZE, message_hook=messages.append) as pilot:
        await wait_until(pilot, lambda: decider.calls == 1, what="step 1 to start")
        await pilot.press("space")  # pause while step 1 is in flight
        decider.release()
        await wait_until(pilot, lambda: any(isinstance(m, StepCompleted) for m in messages), what="step 1 to end")
        await pilot.pause(0.3)
        assert decider.calls == 1 and app.control.gate.paused  # step 2 did not begin
        assert "paused after step 1/3" in str(app.budget_panel.render())
        await pilot.press("space")
        await wait_until(pilot, lambda: decider.calls == 2, what="step 2 to start")
        decider.release()
        decider.release()
        await wait_until(pilot, lambda: app.finished)
    assert [m.step for m in messages if isinstance(m, StepStarted)] == [1, 2, 3]
    assert app.result.status == "step_limit"


@pytest.mark.parametrize("key", ["q", "ctrl+c"])
async def test_quit_stops_the_loop_and_leaves_a_consistent_trajectory(bundled_images, tmp_path, key):
    decider = BlockingDecider([CLICK] * 5)
    executor = RecordingExecutor()
    with Recorder(tmp_path / "run", task="t") as recorder:
        app = dashboard(decider, bundled_images, executor=executor, max_steps=5, recorder=recorder)
        async with app.run_test(size=SIZE) as pilot:
            decider.release()
            await wait_until(pilot, lambda: decider.calls == 2, what="step 2 to start")
            await pilot.press(key)  # step 2 is in the model's hands
            assert app.is_running  # it waits for the step in flight
            decider.release()
            await wait_until(pilot, lambda: not app.is_running, what="the app to exit")
    assert app.result.status == "stopped" and app.result.steps == 2
    assert len(executor.executed) == 1  # step 2's click never ran
    trajectory = load_trajectory(tmp_path / "run")
    assert [step.step for step in trajectory.steps] == [1, 2]
    assert [step.outcomes for step in trajectory.steps] == [["executed"], ["skipped"]]


async def test_stop_key_ends_the_run_and_keeps_the_dashboard_open(bundled_images):
    decider = BlockingDecider([CLICK] * 5)
    app = dashboard(decider, bundled_images, max_steps=5)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: decider.calls == 1)
        await pilot.press("s")
        decider.release()
        await wait_until(pilot, lambda: app.finished)
        assert app.is_running and app.result.status == "stopped" and decider.calls == 1
        assert "stopped after 1 steps" in str(app.budget_panel.render())
        await pilot.press("q")
        await wait_until(pilot, lambda: not app.is_running)


@pytest.mark.parametrize("answer", [True, False])
async def test_confirmation_answer_reaches_the_executor(bundled_images, answer):
    decider = SessionDecider([SUBMIT])
    executor = RecordingExecutor()
    app = dashboard(decider, bundled_images, executor=executor, confirm="risky", max_steps=1)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the dialog")
        assert "awaiting confirmation" in app.step_log.text(1)
        assert executor.executed == []  # nothing runs while the person decides
        await pilot.press("y" if answer else "n")
        await wait_until(pilot, lambda: app.finished)
    [outcome] = app.result.events[0].outcomes
    if answer:
        assert executor.executed == [Type("george orwell\n")] and outcome.outcome == "executed"
    else:
        assert executor.executed == [] and outcome.outcome == "denied"


async def test_ctrl_c_while_asked_answers_no(bundled_images):
    executor = RecordingExecutor()
    app = dashboard(SessionDecider([SUBMIT]), bundled_images, executor=executor, confirm="risky", max_steps=1)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("ctrl+c")  # a priority key: it works over the dialog
        await wait_until(pilot, lambda: not app.is_running)
    assert executor.executed == [] and app.result.events[0].outcomes[0].outcome == "denied"


async def test_scripted_runs_have_no_cache_to_tune(bundled_images):
    from guiagent.agent.run.decide import ScriptedDecider
    from tests.ui.helpers import policy

    app = dashboard(ScriptedDecider([CLICK], policy()), bundled_images, executor=DryRunExecutor(), max_steps=1)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.finished)
        await pilot.press("plus")
        assert str(app.control.budget) == "20%" and app.control.pending == {}
        assert "no KV cache" in str(app.cache_panel.render())


async def test_worker_errors_close_the_dashboard_and_keep_the_error(bundled_images):
    class Broken(SessionDecider):
        def decide(self, image, geometry):
            raise RuntimeError("the model fell over")

    app = dashboard(Broken([CLICK]), bundled_images, max_steps=1)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: not app.is_running)
    assert isinstance(app.error, RuntimeError) and app.return_code == 1


async def test_graphics_terminals_get_a_textual_image(bundled_images):
    from textual_image.widget import Image as GraphicsImage

    session = SessionDecider([CLICK])
    control = RunControl(session.session, methods=method_names(), total_steps=1)
    job = live_job(session, frames(bundled_images), RecordingExecutor(), rules=SafetyRules(), max_steps=1, loop_limit=0)
    app = Dashboard(job, control, metrics=FixedMetrics(), graphics=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.finished)
        await pilot.pause()
        image = app.query_one("#screenshot-image", GraphicsImage)
        assert image.image is not None and image.image.width == 960  # resized once, the marker drawn on it
    assert app.error is None


async def test_a_replay_shows_each_screenshot_while_the_model_decides(bundled_images):
    from guiagent.agent.eval.sources import load_source
    from guiagent.ui.launch import replay_job
    from guiagent.ui.widgets.screenshot import ScreenshotView

    trajectories = load_source("bundled")
    decider = BlockingDecider(["Action: wait()"] * len(trajectories[0].steps))
    control = RunControl(decider.session, methods=method_names(), total_steps=len(trajectories[0].steps))
    app = Dashboard(replay_job(trajectories, lambda t: decider), control, title="replay", metrics=FixedMetrics())
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: decider.calls == 1, what="the first step's decision")
        view = app.query_one("#screenshot", ScreenshotView)
        await wait_until(pilot, lambda: view.frame is not None, what="the first screenshot, before any answer")
        assert "the model is deciding" in str(app.query_one("#screenshot-caption").render())
        for _ in range(len(trajectories[0].steps)):
            decider.release()
        await pilot.press("q")
