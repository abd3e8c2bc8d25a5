"""Helpers for desktop tests: aiming like a model does, and reading the X pointer independently.

The screen is 1366x768 on purpose: neither side is a multiple of 28, so the model image (smart_resize) differs
from the screen and every click exercises the model -> screen mapping.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from guiagent.agent.actions import Target
from guiagent.agent.policy.coords import ImageGrid, ScreenGeometry, smart_resize

SCREEN_W, SCREEN_H = 1366, 768
GRID = ImageGrid()


def require_tools(*names: str) -> None:
    """Skip when a system tool is missing; under CI fail instead, because `make setup` must have installed it."""
    missing = [name for name in names if shutil.which(name) is None]
    if not missing:
        return
    message = f"{', '.join(missing)} not installed: run `make setup` as root (or apt-get install xvfb xdotool xclip)"
    if os.environ.get("CI"):
        pytest.fail(f"{message}; CI is set, so the Makefile should have installed it.")
    pytest.skip(message)


def aim(geometry: ScreenGeometry, x: float, y: float) -> Target:
    """The Target a model would produce for screen point (x, y): it names the point in its resized image."""
    height, width = smart_resize(SCREEN_H, SCREEN_W, GRID.factor, GRID.min_pixels, GRID.max_pixels)
    return geometry.to_screen(round(x * width / SCREEN_W), round(y * height / SCREEN_H), GRID)


def centre(box: list[int]) -> tuple[float, float]:
    x, y, w, h = box
    return x + w / 2, y + h / 2


def pointer() -> tuple[int, int]:
    """The X pointer position, read with xdotool (independent of pyautogui and of the code under test)."""
    out = subprocess.run(["xdotool", "getmouselocation", "--shell"], capture_output=True, text=True, check=True)
    values = dict(line.split("=", 1) for line in out.stdout.split())
    return int(values["X"]), int(values["Y"])


def move_pointer(x: int, y: int) -> None:
    subprocess.run(["xdotool", "mousemove", str(x), str(y)], check=True)
