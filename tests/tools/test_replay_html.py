"""The replay's HTML report: both actions drawn on every step's screenshot, the kept-patch heatmaps, no network."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser

import pytest
import torch
from PIL import Image

from guiagent.compression.kept_map import encode
from guiagent.tools.replay_html import write_html
from tests.helpers.cli import guiagent, one_error

CHROMIUM = next(
    (shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome") if shutil.which(name)), None
)
# Without the background-networking flags Chromium dials out at start (refused on a closed network, and noise).
HEADLESS = (
    "--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking "
    "--disable-component-update --disable-sync"
).split()
URL = re.compile(r"https?://")


class Drawn(HTMLParser):
    """Per step (``data-step``): the marks each overlay draws, its heatmaps' ages, and whether it is hidden."""

    def __init__(self) -> None:
        super().__init__()
        self.steps: dict[str, dict] = {}
        self._stack: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "section" and "data-step" in found:
            self.steps[found["data-step"]] = {
                "hidden": "hidden" in found,
                "heatmaps": [],
                "predicted": [],
                "expected": [],
            }
        step = next((a["data-step"] for t, a in reversed(self._stack) if t == "section" and "data-step" in a), None)
        overlay = next((a["data-overlay"] for _, a in reversed(self._stack) if "data-overlay" in a), None)
        if step is not None and "data-heatmap" in found:
            self.steps[step]["heatmaps"].append(int(found["data-heatmap"]))
        if step is not None and overlay is not None and "data-mark" in found:
            self.steps[step][overlay].append(found["data-mark"])
        if tag not in ("input", "meta", "br", "img"):  # HTML's void elements never close
            self._stack.append((tag, found))

    def handle_endtag(self, tag: str) -> None:
        if any(open_tag == tag for open_tag, _ in self._stack):
            while self._stack.pop()[0] != tag:
                pass


def drawn(page: str) -> dict[str, dict]:
    parser = Drawn()
    parser.feed(page)
    return parser.steps


def test_every_action_kind_is_drawn_and_the_heatmap_overlays_its_screen(tmp_path):
    Image.new("RGB", (1280, 720), "white").save(tmp_path / "shot.png")  # relative: found next to the report
    record = {
        "trajectory": "t",
        "step": 1,
        "image": "shot.png",
        "schema": "agentnetbench",
        "predicted": [
            {"type": "click", "params": {"position": {"x": 0.2, "y": 0.3}}},
            {"type": "moveTo", "params": {"position": {"x": 0.1, "y": 0.1}}},
            {"type": "dragTo", "params": {"position": {"x": 0.6, "y": 0.5}}},
            {"type": "write", "params": {"text": "george orwell"}},
            {"type": "scroll", "params": {"amount": -5}},
            {"type": "moveTo", "params": {"position": {"x": 0.9, "y": 0.9}}},
        ],
        "expected": [
            {
                "type": "click",
                "params": {"position": {"x": 0.3, "y": 0.3}},
                "metadata": {"bboxes": [{"rel_bbox": [0.25, 0.25, 0.1, 0.05]}]},
            }
        ],
        "score": 0.0,
        "raw": "Thought: the search box.\nAction: click(start_box='(1,2)')",
        "parse_errors": [],
        "cache": {"bytes_held": 2048, "bytes_full": 8192, "ratio": 0.25, "logical_tokens": 40},
        "kept": [{"image": "shot.png", "age": 0, "rows": 2, "cols": 3, "share": encode(torch.rand(2, 3))}],
    }
    (tmp_path / "steps.jsonl").write_text(json.dumps(record) + "\n")
    (tmp_path / "summary.json").write_text(json.dumps({"method": "starkv", "budget": "20", "source": "test"}))
    page = write_html(tmp_path).read_text()
    step = drawn(page)["1"]
    assert step["predicted"] == ["point", "drag", "scroll", "move", "text"]  # a moveTo then dragTo: one arrow
    assert step["expected"] == ["point", "box"]
    assert step["heatmaps"] == [0]
    assert ">2-3 drag<" in page and ">5 scroll down<" in page and "4 type &#x27;george orwell&#x27;" in page
    assert "recorded: " not in page and "the search box." in page  # the recorded click needs no label
    assert "2 KiB held of 8 KiB (25%)" in page
    assert not URL.search(page)


def test_report_refuses_a_folder_that_is_not_a_replay_report(tmp_path, capsys, monkeypatch):
    code, lines = guiagent(capsys, monkeypatch, "report", str(tmp_path))
    one_error(code, lines, str(tmp_path), "is not a replay report")


@pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium (apt-get install chromium) to render the page")
def test_the_bundled_replay_report_shows_both_actions_and_the_heatmaps_in_chromium(tmp_path, capsys, monkeypatch):
    report = tmp_path / "report"
    args = ["--model", "tiny", "--method", "starkv", "--budget", "20", "--max-new-tokens", "2", "--no-tui"]
    code, lines = guiagent(capsys, monkeypatch, "replay", "bundled", *args, "--report", str(report), "--html")
    assert code == 0 and f"HTML report: {report / 'report.html'}" in lines, lines
    page = (report / "report.html").read_text()
    assert not URL.search(page)  # every screenshot and heatmap is inline: the page fetches nothing
    rendered = subprocess.run(
        [
            CHROMIUM,
            *HEADLESS,
            f"--user-data-dir={tmp_path / 'profile'}",
            "--dump-dom",
            (report / "report.html").as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    steps = drawn(rendered)
    records = [json.loads(line) for line in (report / "steps.jsonl").read_text().splitlines()]
    assert list(steps) == [str(r["step"]) for r in records] and len(steps) == 7
    for record, step in zip(records, steps.values(), strict=True):
        assert step["predicted"], record["step"]  # the tiny model's noise: labelled "unparsable answer"
        pointed = any("position" in action["params"] for action in record["expected"])
        assert set(step["expected"]) & ({"point", "move", "drag", "scroll"} if pointed else {"text"}), step
        assert sorted(step["heatmaps"]) == sorted(kept["age"] for kept in record["kept"]) and 0 in step["heatmaps"]
    assert any(1 in step["heatmaps"] for step in steps.values())  # an older screen, partly evicted
    assert [step["hidden"] for step in steps.values()] == [False] + [True] * 6  # the script ran: one step shown
