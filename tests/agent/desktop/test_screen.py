"""Screen capture on a real X server: sizes, geometry, regions, the cursor overlay and the errors."""

from __future__ import annotations

import pytest
from PIL import ImageChops

from guiagent.agent.desktop.capture import ScreenError, capture, pointer_position, require_display
from guiagent.agent.policy.coords import ScreenGeometry
from tests.agent.desktop.helpers import SCREEN_H, SCREEN_W, move_pointer, pointer


def test_capture_returns_the_whole_screen_and_its_geometry(display: str) -> None:
    shot = capture()
    assert shot.image.mode == "RGB" and shot.image.size == (SCREEN_W, SCREEN_H)
    assert shot.geometry == ScreenGeometry((0, 0), (SCREEN_W, SCREEN_H), (SCREEN_W, SCREEN_H))
    assert shot.geometry.scale == 1.0
    assert 0 < shot.seconds < 1


def test_capture_shows_what_is_on_screen(demo_app) -> None:
    x, y, _, h = demo_app.widgets["settings_button"]
    # The Settings button's blue (its hover shade if the pointer happens to rest on it).
    assert capture().image.getpixel((x + 12, y + h // 2)) in {(0x1A, 0x73, 0xE8), (0x15, 0x58, 0xB0)}


def test_capture_of_a_region_is_that_part_of_the_screen(demo_app) -> None:
    region = (30, 30, 300, 150)
    shot = capture(region=region)
    assert shot.image.size == (300, 150)
    assert shot.geometry == ScreenGeometry((30, 30), (300, 150), (300, 150))
    whole = capture().image.crop((30, 30, 330, 180))
    assert ImageChops.difference(shot.image, whole).getbbox() is None


def test_cursor_overlay_is_drawn_at_the_pointer_only(display: str) -> None:
    move_pointer(1100, 650)
    assert pointer_position() == pointer() == (1100, 650)
    plain, marked = capture().image, capture(cursor=True).image
    changed = ImageChops.difference(plain, marked).getbbox()
    assert changed is not None
    left, top, right, bottom = changed
    assert 1080 <= left < 1100 < right <= 1120 and 630 <= top < 650 < bottom <= 670


def test_monitor_out_of_range_says_how_many_exist(display: str) -> None:
    with pytest.raises(ScreenError, match="Monitor 2 does not exist: this display has 1 monitor"):
        capture(monitor=2)


def test_region_outside_the_monitor_is_refused(display: str) -> None:
    with pytest.raises(ScreenError, match="does not fit the 1366x768 monitor"):
        capture(region=(1000, 0, 400, 100))


def test_no_display_is_a_clear_error(display: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY")
    with pytest.raises(ScreenError, match="No display found. Set DISPLAY"):
        capture()
    with pytest.raises(ScreenError, match="No display found"):
        require_display()


def test_unreachable_display_is_a_clear_error(display: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISPLAY", ":4242")
    with pytest.raises(ScreenError, match="Cannot open display ':4242'"):
        capture()
    with pytest.raises(ScreenError, match="Cannot open display ':4242'"):
        require_display()
