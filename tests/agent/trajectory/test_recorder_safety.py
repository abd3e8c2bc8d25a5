"""The recorder never loses or overwrites what was recorded: each screenshot (and its folder entry) reaches the
disk before the line naming it, and nothing existing is written over."""

from __future__ import annotations

import os

import pytest
from PIL import Image

from guiagent.agent.trajectory.format import FILE, TrajectoryError, load_trajectory
from guiagent.agent.trajectory.recorder import Recorder
from guiagent.errors import ConfigError


def test_each_screenshot_is_fsynced_before_its_step_line(tmp_path, monkeypatch):
    synced: list[str] = []
    real_fsync = os.fsync

    def logged(descriptor: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{descriptor}"))
        real_fsync(descriptor)

    monkeypatch.setattr(os, "fsync", logged)
    folder = (tmp_path / "run").resolve()
    with Recorder(folder, task="t") as recorder:
        start = len(synced)
        for step in (1, 2):
            recorder.record(step, Image.new("RGB", (64, 48), "white"), raw=f"answer {step}")
    assert synced[:start] == [str(folder), str(folder / FILE)]  # the new entries, then the header line
    images, trajectory = str(folder / "images"), str(folder / FILE)
    assert synced[start:] == [
        str(folder / "images" / "0001.png"),
        images,
        trajectory,
        str(folder / "images" / "0002.png"),
        images,
        trajectory,
    ]


def test_a_folder_with_images_but_no_trajectory_is_refused_and_left_alone(tmp_path):
    folder = tmp_path / "run"
    (folder / "images").mkdir(parents=True)
    (folder / "images" / "0001.png").write_bytes(b"someone else's screenshot")
    with pytest.raises(TrajectoryError, match="never overwritten"):
        Recorder(folder, task="t")
    assert (folder / "images" / "0001.png").read_bytes() == b"someone else's screenshot"
    assert not (folder / FILE).exists()


def test_a_step_number_recorded_twice_never_overwrites_its_screenshot(tmp_path):
    folder = tmp_path / "run"
    with Recorder(folder, task="t") as recorder:
        recorder.record(1, Image.new("RGB", (64, 48), "white"))
        first = (folder / "images" / "0001.png").read_bytes()
        with pytest.raises(TrajectoryError, match="never overwritten"):
            recorder.record(1, Image.new("RGB", (64, 48), "black"))
    assert (folder / "images" / "0001.png").read_bytes() == first
    assert [s.step for s in load_trajectory(folder).steps] == [1]  # no line for the refused step


def test_recording_into_an_existing_trajectory_is_refused(tmp_path):
    folder = tmp_path / "run"
    with Recorder(folder, task="t") as recorder:
        recorder.record(1, Image.new("RGB", (64, 48), "white"))
    before = (folder / FILE).read_bytes()
    with pytest.raises(TrajectoryError, match="never overwritten"):
        Recorder(folder, task="t")
    assert (folder / FILE).read_bytes() == before


def test_a_record_folder_that_cannot_be_created_is_one_sentence(tmp_path):
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(ConfigError, match="which is a file, not a folder") as error:
        Recorder(tmp_path / "a-file" / "run", task="t")
    assert error.value.hint and not (tmp_path / "a-file" / "run").exists()
