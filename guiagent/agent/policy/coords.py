"""Coordinates: model pixels -> logical screen pixels (pyautogui space) -> physical capture pixels.

UI-TARS-1.5, Qwen2.5-VL and OpenCUA name points in absolute pixels of the image the model saw, which is the
captured screenshot after the processor's ``smart_resize`` (sides rounded to multiples of 28, area between
min and max pixels). Wrong mapping is the most common complaint about UI-TARS runners, so the rules here are
few and explicit:

- model -> screen: ``x_screen = origin_x + x_model / resized_w * logical_w`` (same for y);
- the capture may be larger than the logical screen (HiDPI: ``scale = physical / logical``);
- points outside the monitor are clamped to it, and flagged so the caller can warn.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from guiagent.agent.actions import Target


def smart_resize(
    height: int, width: int, factor: int = 28, min_pixels: int = 56 * 56, max_pixels: int = 14 * 14 * 4 * 1280
) -> tuple[int, int]:
    """The Qwen2-VL / Qwen2.5-VL processor's resize rule, reproduced exactly (Python's round-half-even).

    Returns (height, width) of the image the model sees; both multiples of ``factor``.
    """
    if min(height, width) <= 0:
        raise ValueError(f"image size must be positive, got {width}x{height}")
    if max(height, width) / min(height, width) > 200:
        raise ValueError(f"aspect ratio must be below 200, got {width}x{height}")
    h_bar = round(height / factor) * factor
    w_bar = round(width / factor) * factor
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


@dataclass(frozen=True)
class ImageGrid:
    """The resize limits the processor applies (must be the processor's own, or clicks drift)."""

    min_pixels: int = 3136
    max_pixels: int = 12845056
    factor: int = 28


@dataclass(frozen=True)
class ScreenGeometry:
    """Where a captured monitor sits and how its pixels relate to the image the model saw.

    origin, logical_size : the monitor in pyautogui's (logical) coordinates
    image_size : the captured image in physical pixels (larger than logical on HiDPI screens)
    """

    origin: tuple[int, int]
    logical_size: tuple[int, int]
    image_size: tuple[int, int]

    @property
    def scale(self) -> float:
        """Physical pixels per logical pixel (1.0 on ordinary screens, 2.0 on most Retina ones)."""
        return self.image_size[0] / self.logical_size[0]

    def model_size(self, grid: ImageGrid) -> tuple[int, int]:
        """(width, height) of the image the model saw."""
        height, width = smart_resize(
            self.image_size[1], self.image_size[0], grid.factor, grid.min_pixels, grid.max_pixels
        )
        return width, height

    def to_screen(self, x: float, y: float, grid: ImageGrid) -> Target:
        """Map a point in model pixels to logical screen pixels, clamped to this monitor."""
        width, height = self.model_size(grid)
        return self._target((x, y), x / width, y / height)

    def from_relative(self, x: float, y: float) -> Target:
        """Map a point given as a 0-1 fraction of the screen (OpenCUA's relative mode, benchmark data)."""
        return self._target((x, y), x, y)

    def to_physical(self, screen: tuple[int, int]) -> tuple[int, int]:
        """A logical screen point -> pixel in the captured image (for drawing markers on screenshots)."""
        return (
            round((screen[0] - self.origin[0]) * self.scale),
            round((screen[1] - self.origin[1]) * self.image_size[1] / self.logical_size[1]),
        )

    def _target(self, model: tuple[float, float], fx: float, fy: float) -> Target:
        (ox, oy), (lw, lh) = self.origin, self.logical_size
        sx, sy = ox + fx * lw, oy + fy * lh
        cx, cy = min(max(sx, ox), ox + lw - 1), min(max(sy, oy), oy + lh - 1)
        return Target(model=model, screen=(int(round(cx)), int(round(cy))), clamped=(cx, cy) != (sx, sy))
