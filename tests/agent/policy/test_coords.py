"""smart_resize parity with the processor, and the model -> screen mapping (HiDPI, monitors, clamping)."""

from __future__ import annotations

import pytest
from PIL import Image
from transformers import Qwen2VLImageProcessorPil

from guiagent.agent.policy.coords import ImageGrid, ScreenGeometry, smart_resize

SIZES = [(1080, 1920), (768, 1366), (956, 1468), (2160, 3840), (1440, 2560), (720, 1280), (100, 2000), (37, 61)]
GRIDS = [(3136, 12845056), (78400, 12845056), (3136, 200704), (4 * 28 * 28, 1280 * 28 * 28)]


@pytest.mark.parametrize(("min_pixels", "max_pixels"), GRIDS)
def test_smart_resize_matches_what_the_processor_does(min_pixels, max_pixels):
    processor = Qwen2VLImageProcessorPil(min_pixels=min_pixels, max_pixels=max_pixels)
    for height, width in SIZES:
        grid = processor(images=[Image.new("RGB", (width, height))], return_tensors="pt")["image_grid_thw"][0]
        assert smart_resize(height, width, 28, min_pixels, max_pixels) == (int(grid[1]) * 14, int(grid[2]) * 14)


def test_known_values():
    assert smart_resize(1080, 1920, max_pixels=12845056, min_pixels=3136) == (1092, 1932)
    assert smart_resize(2160, 3840, max_pixels=1280 * 28 * 28, min_pixels=3136) == (728, 1316)
    with pytest.raises(ValueError, match="aspect ratio"):
        smart_resize(10, 2500)


def test_model_pixels_to_screen_on_a_plain_monitor():
    geometry = ScreenGeometry((0, 0), (1920, 1080), (1920, 1080))
    target = geometry.to_screen(952, 532, ImageGrid())
    # 952 / 1932 * 1920 = 946.09 ; 532 / 1092 * 1080 = 526.15
    assert target.screen == (946, 526) and not target.clamped and target.model == (952, 532)


def test_hidpi_capture_maps_to_logical_points():
    # a Retina-like screen: 1440x900 points captured as 2880x1800 pixels; the model saw smart_resize(1800, 2880)
    geometry = ScreenGeometry((0, 0), (1440, 900), (2880, 1800))
    assert geometry.scale == 2.0
    height, width = smart_resize(1800, 2880, 28, 3136, 12845056)  # 1792 x 2884
    target = geometry.to_screen(width / 2, height / 4, ImageGrid())
    assert target.screen == (720, 225)  # half the width and a quarter of the height, in points
    assert geometry.to_physical(target.screen) == (1440, 450)


def test_second_monitor_origin_is_added():
    geometry = ScreenGeometry((1920, -200), (1280, 1024), (1280, 1024))
    height, width = smart_resize(1024, 1280, 28, 3136, 12845056)
    target = geometry.to_screen(width, 0, ImageGrid())
    assert target.screen == (1920 + 1279, -200) and target.clamped  # x at the right edge clamps to the last pixel


def test_out_of_screen_points_are_clamped_and_flagged():
    geometry = ScreenGeometry((0, 0), (1366, 768), (1366, 768))
    target = geometry.to_screen(-50, 5000, ImageGrid())
    assert target.screen == (0, 767) and target.clamped
    assert geometry.from_relative(0.5, 0.5).screen == (683, 384)
