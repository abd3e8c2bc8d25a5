"""Desktop fixtures: a private Xvfb screen and the demo app on it, watched through its JSON-lines events."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from guiagent.agent.policy.coords import ScreenGeometry
from tests.agent.desktop.helpers import SCREEN_H, SCREEN_W, require_tools

EVENT_TIMEOUT_S = 10.0


@pytest.fixture(scope="package")
def display(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh Xvfb on a free display number (Xvfb picks it: -displayfd), set as DISPLAY for these tests."""
    require_tools("Xvfb", "xdotool")
    log = tmp_path_factory.mktemp("xvfb") / "xvfb.log"
    read_fd, write_fd = os.pipe()
    with log.open("w") as stderr:
        server = subprocess.Popen(
            ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", f"{SCREEN_W}x{SCREEN_H}x24", "-nolisten", "tcp"],
            pass_fds=(write_fd,),
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    os.close(write_fd)
    try:
        number = _read_display_number(read_fd, timeout=10.0)
        if not number:
            pytest.fail(f"Xvfb did not report a display within 10 s; its log:\n{log.read_text()}")
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("DISPLAY", f":{number}")
            yield f":{number}"
    finally:
        os.close(read_fd)
        server.terminate()
        server.wait(timeout=10)


def _read_display_number(fd: int, timeout: float) -> str:
    """What Xvfb writes to -displayfd once it accepts connections: the display number and a newline."""
    deadline, data = time.monotonic() + timeout, b""
    while not data.endswith(b"\n"):
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        chunk = os.read(fd, 16) if ready else b""
        if not chunk:
            break
        data += chunk
    return data.decode().strip()


@pytest.fixture(scope="package")
def geometry(display: str) -> ScreenGeometry:
    """The screen as the agent sees it (from a real capture)."""
    from guiagent.agent.desktop.capture import capture

    return capture().geometry


@pytest.fixture(scope="package")
def executor(display: str):
    from guiagent.agent.desktop.executor import PyAutoGuiExecutor

    return PyAutoGuiExecutor(settle_s=0.05)


class DemoApp:
    """The demo app process and its events file; ``wait_for`` consumes events in order."""

    def __init__(self, process: subprocess.Popen, events: Path, stderr: Path) -> None:
        self.process, self.events, self.stderr = process, events, stderr
        self.seen = 0  # events before this index were consumed by wait_for
        self.widgets: dict[str, list[int]] = {}

    def all_events(self) -> list[dict[str, Any]]:
        if not self.events.exists():
            return []
        lines = self.events.read_text(encoding="utf-8").split("\n")[:-1]  # a partial last line is not an event
        return [json.loads(line) for line in lines]

    def wait_for(self, event: str, timeout: float = EVENT_TIMEOUT_S, **fields: Any) -> dict[str, Any]:
        """The next event named ``event`` whose fields equal ``fields``; fails with the log after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            events = self.all_events()
            for index in range(self.seen, len(events)):
                found = events[index]
                if found["event"] == event and all(found.get(k) == v for k, v in fields.items()):
                    self.seen = index + 1
                    return found
            if self.process.poll() is not None:
                pytest.fail(f"The demo app exited ({self.process.returncode}): {self.stderr.read_text()}")
            if time.monotonic() > deadline:
                pytest.fail(
                    f"No {event!r} event with {fields} within {timeout:g} s. Events so far:\n"
                    + "\n".join(map(json.dumps, events))
                )
            time.sleep(0.02)


@pytest.fixture
def demo_app(display: str, tmp_path: Path) -> Iterator[DemoApp]:
    """A fresh demo app at the screen's top-left corner, ready (its widgets are mapped) when this returns."""
    events, stderr = tmp_path / "events.jsonl", tmp_path / "demo_app.stderr"
    with stderr.open("w") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "guiagent.agent.desktop.demo_app", "--events", str(events)], stderr=err
        )
    app = DemoApp(process, events, stderr)
    try:
        app.widgets = app.wait_for("ready", timeout=20.0)["widgets"]
        yield app
    finally:
        process.terminate()
        process.wait(timeout=10)
    errors = stderr.read_text()
    assert not errors, f"The demo app reported errors (Tk prints callback exceptions and carries on):\n{errors}"
