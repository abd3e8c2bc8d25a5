"""Dashboard fixtures: the bundled example's screenshots, the tiny model's replay deciders, a frozen cursor."""

from __future__ import annotations

import pytest
from PIL import Image
from textual.widgets import Input

from guiagent.agent.eval.sources import load_source


@pytest.fixture(autouse=True)
def frozen_cursor(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Input cursor never blinks, so a snapshot with a text field is the same every time."""
    monkeypatch.setattr(Input, "_toggle_cursor", lambda self: None)


@pytest.fixture(scope="session")
def bundled():
    return load_source("bundled")


@pytest.fixture(scope="session")
def bundled_images(bundled) -> list[Image.Image]:
    return [Image.open(step.image).convert("RGB") for step in bundled[0].steps]


@pytest.fixture(scope="session")
def tiny_replay():
    """(make_decider, set_cell) for the tiny model with small screenshots and short answers (fast, deterministic).

    Every trajectory starts from an emptied cache and a fresh press, so each replay gives the same steps.
    """
    from guiagent.agent.run.runner import RunOptions, replay_deciders

    options = RunOptions(task="replay", model="tiny", max_new_tokens=4, max_pixels=200_704)
    make_decider, set_cell = replay_deciders(options)
    set_cell("starkv", "20")
    return make_decider, set_cell


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def wait_for_workers():
    """Await the app's workers (the agent loop) instead of sleeping."""

    async def wait(app) -> None:
        await app.workers.wait_for_complete()

    return wait
