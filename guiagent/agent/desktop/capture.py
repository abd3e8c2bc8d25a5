"""Screen capture with mss: the screenshot the model sees and the geometry that maps its pixels back.

mss is used everywhere (``pyautogui.screenshot`` needs scrot or gnome-screenshot on Linux) and a monitor is
described in mss's numbering: 1 is the first monitor, 0 all monitors together. Monitor positions and sizes are
logical (pyautogui's space); the captured image is physical, so on HiDPI screens it is larger and
``ScreenGeometry.scale`` says by how much.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageDraw

from guiagent.agent.policy.coords import ScreenGeometry
from guiagent.errors import GuiAgentError


class ScreenError(GuiAgentError):
    """The screen could not be read (no display, a monitor or region that does not exist)."""


def no_display() -> ScreenError:
    return ScreenError("No display found.", "Set DISPLAY (e.g. start Xvfb) or run on a desktop session.")


@dataclass(frozen=True)
class Capture:
    """A screenshot (RGB, physical pixels), where it sits on screen, and how long taking it took."""

    image: Image.Image
    geometry: ScreenGeometry
    seconds: float


def capture(monitor: int = 1, region: tuple[int, int, int, int] | None = None, cursor: bool = False) -> Capture:
    """Grab ``monitor`` (or ``region`` = (left, top, width, height) in logical pixels relative to it).

    ``cursor`` draws a crosshair where the pointer is: screenshots never contain the real pointer, and a model
    asked to hover or drag needs to see it.
    """
    start = time.perf_counter()
    with _open() as sct:
        monitors = sct.monitors
        if not 0 <= monitor < len(monitors):
            raise ScreenError(
                f"Monitor {monitor} does not exist: this display has {len(monitors) - 1} monitor(s).",
                f"Pick 1 to {len(monitors) - 1}, or 0 for all of them together.",
            )
        box = _box(monitors[monitor], region)
        shot = sct.grab(box)
    image = Image.frombytes("RGB", shot.size, shot.bgra, "raw", "BGRX")
    geometry = ScreenGeometry((box["left"], box["top"]), (box["width"], box["height"]), image.size)
    if cursor:
        _draw_cursor(image, geometry, pointer_position())
    return Capture(image, geometry, time.perf_counter() - start)


def pointer_position() -> tuple[int, int]:
    """Where the pointer is, in logical screen pixels."""
    if sys.platform.startswith("linux"):
        from Xlib import display

        connection = display.Display()
        try:
            pointer = connection.screen().root.query_pointer()
            return pointer.root_x, pointer.root_y
        finally:
            connection.close()
    import pyautogui

    x, y = pyautogui.position()
    return int(x), int(y)


def require_display() -> None:
    """Fail early, with advice, when Linux has no X display to talk to (macOS and Windows always have one)."""
    if not sys.platform.startswith("linux"):
        return
    if not os.environ.get("DISPLAY"):
        raise no_display()
    from Xlib import display, error

    try:
        display.Display().close()
    except error.DisplayError as problem:
        raise _cannot_open(problem) from problem


def _open() -> Any:
    """An mss handle, with its X11 connection errors turned into advice (mss is the desktop extra's: imported
    here, so a headless evaluation node imports this module without it)."""
    import mss

    if sys.platform.startswith("linux") and not os.environ.get("DISPLAY"):
        raise no_display()
    try:
        return mss.MSS()
    except mss.ScreenShotError as error:
        raise _cannot_open(error) from error


def _cannot_open(error: Exception) -> ScreenError:
    return ScreenError(
        f"Cannot open display {os.environ.get('DISPLAY')!r} ({error}).",
        "Start the X server (e.g. Xvfb) or set DISPLAY to a running one.",
    )


def _box(area: dict, region: tuple[int, int, int, int] | None) -> dict[str, int]:
    """The part of a monitor to grab, checked to lie inside it."""
    if region is None:
        return {key: area[key] for key in ("left", "top", "width", "height")}
    left, top, width, height = region
    if not (0 <= left and 0 <= top and 0 < width <= area["width"] - left and 0 < height <= area["height"] - top):
        raise ScreenError(
            f"Region {region} (left, top, width, height) does not fit the {area['width']}x{area['height']} monitor.",
            "Give a positive size that lies inside the monitor, relative to its top-left corner.",
        )
    return {"left": area["left"] + left, "top": area["top"] + top, "width": width, "height": height}


def _draw_cursor(image: Image.Image, geometry: ScreenGeometry, pointer: tuple[int, int]) -> None:
    """A black-and-white crosshair (visible on light and dark screens) at the pointer, if it is in the image."""
    x, y = geometry.to_physical(pointer)
    if not (0 <= x < image.width and 0 <= y < image.height):
        return
    arm, draw = max(6, round(8 * geometry.scale)), ImageDraw.Draw(image)
    for fill, width in (("white", 3), ("black", 1)):
        draw.line([(x - arm, y), (x + arm, y)], fill=fill, width=width)
        draw.line([(x, y - arm), (x, y + arm)], fill=fill, width=width)
