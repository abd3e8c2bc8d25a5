"""Broken trajectories through the real ``guiagent replay``: one sentence (or a warning, where the damage is
tolerated) and never a traceback; nothing outside the trajectory folder is opened and no file is changed.

Every case starts from a valid recorded trajectory (header, step 1, a note, steps 2 and 3, on lines 1-5) and
breaks one thing. The CLI runs in-process through its real entry point (``main``, which turns known errors into
"Error: ..." lines) with a scripted model, so load errors, which come before any model, cost nothing; an
audit hook sees every file the process opens.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import struct
import sys
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from guiagent.agent.actions import Click, Target
from guiagent.agent.policy.coords import ScreenGeometry
from guiagent.agent.trajectory.format import FILE, MAX_LINE, action_to_dict, geometry_to_dict
from guiagent.agent.trajectory.recorder import Recorder
from guiagent.cli import main
from tests.conftest import noise_image

SCREEN = ScreenGeometry((0, 0), (320, 200), (320, 200))
CLICK = action_to_dict(Click(Target((10.0, 20.0), (10, 20))))
ANSWER = "Thought: open it.\nAction: click(start_box='(10,20)')"
DROP = object()  # a field value that removes the field

_opened: list[str] | None = None  # paths opened while watched (None: not watching)


def _watch(event: str, args: tuple) -> None:
    if event == "open" and _opened is not None and isinstance(args[0], (str, bytes, os.PathLike)):
        _opened.append(os.fsdecode(args[0]))


sys.addaudithook(_watch)  # hooks cannot be removed; this one only records while a test watches


@contextlib.contextmanager
def watching_opens() -> Iterator[list[str]]:
    """The paths of every file opened in the block (by Python, PIL, anything that goes through ``open``)."""
    global _opened
    _opened = opened = []
    try:
        yield opened
    finally:
        _opened = None


# -- the valid trajectory and ways to break it -----------------------------------------------------------------
def record_run(folder: Path) -> Path:
    with Recorder(folder, task="open settings", screen=geometry_to_dict(SCREEN), model="tiny") as recorder:
        for step in (1, 2, 3):
            recorder.record(
                step,
                noise_image(320, 200, step),
                raw=ANSWER,
                thought="open it.",
                actions=[CLICK],
                outcomes=["executed"],
                status="continue",
                timings={"decode_s": 0.1},
            )
            if step == 1:
                recorder.note(settings={"budget": "25%"}, by="dashboard")
    return folder


def read(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / FILE).read_text(encoding="utf-8").splitlines()]


def write(folder: Path, records: list) -> None:
    """Records (dicts, dumped) or raw lines (str), one per line."""
    lines = [r if isinstance(r, str) else json.dumps(r) for r in records]
    (folder / FILE).write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def header(**fields) -> Callable[[Path, Path], None]:
    return record(0, **fields)


def step(number: int = 2, **fields) -> Callable[[Path, Path], None]:
    return record(number + (1 if number > 1 else 0), **fields)  # steps are lines 2, 4, 5 (line 3 is the note)


def record(index: int, **fields) -> Callable[[Path, Path], None]:
    def breaks(folder: Path, outside: Path) -> None:
        records = read(folder)
        for name, value in fields.items():
            if value is DROP:
                records[index].pop(name)
            else:
                records[index][name] = value(outside) if callable(value) else value
        write(folder, records)

    return breaks


def lines(edit: Callable[[list], list]) -> Callable[[Path, Path], None]:
    return lambda folder, outside: write(folder, edit(read(folder)))


def raw_file(content: bytes) -> Callable[[Path, Path], None]:
    return lambda folder, outside: (folder / FILE).write_bytes(content)


def screenshot(content: Callable[[bytes], bytes]) -> Callable[[Path, Path], None]:
    def breaks(folder: Path, outside: Path) -> None:
        path = folder / "images" / "0002.png"
        path.write_bytes(content(path.read_bytes()))

    return breaks


def png(size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, "white").save(buffer, format="PNG")
    return buffer.getvalue()


def scrambled_pixels(data: bytes) -> bytes:
    """The PNG with its compressed pixels replaced by garbage, every chunk checksum still right (verify passes)."""
    start = data.index(b"IDAT") - 4
    (length,) = struct.unpack(">I", data[start : start + 4])
    payload = bytes((b * 7 + 3) % 256 for b in data[start + 8 : start + 8 + length])
    chunk = struct.pack(">I", length) + b"IDAT" + payload + struct.pack(">I", zlib.crc32(b"IDAT" + payload))
    return data[:start] + chunk + data[start + 12 + length :]


def link_screenshot(target: Callable[[Path, Path], Path]) -> Callable[[Path, Path], None]:
    def breaks(folder: Path, outside: Path) -> None:
        path = folder / "images" / "0002.png"
        path.unlink()
        path.symlink_to(target(folder, outside))

    return breaks


def images_folder_outside(folder: Path, outside: Path) -> None:
    (folder / "images").rename(outside / "images")
    (folder / "images").symlink_to(outside / "images")


def trajectory_file_outside(folder: Path, outside: Path) -> None:
    (folder / FILE).rename(outside / FILE)
    (folder / FILE).symlink_to(outside / FILE)


def trajectory_file_is_a_folder(folder: Path, outside: Path) -> None:
    (folder / FILE).unlink()
    (folder / FILE).mkdir()


def symlink_loop(folder: Path, outside: Path) -> None:
    (folder / "images" / "0002.png").unlink()
    (folder / "images" / "a").symlink_to(folder / "images" / "b")
    (folder / "images" / "b").symlink_to(folder / "images" / "a")
    step(2, image="images/a")(folder, outside)


def fifo_screenshot(folder: Path, outside: Path) -> None:
    (folder / "images" / "0002.png").unlink()
    os.mkfifo(folder / "images" / "0002.png")  # opening it to read would block forever


def every_screenshot_gone(folder: Path, outside: Path) -> None:
    for path in (folder / "images").iterdir():
        path.unlink()


def huge_line(folder: Path, outside: Path) -> None:
    records = read(folder)
    records[3]["raw"] = "x" * (MAX_LINE + 1)
    write(folder, records)


def cut_off(folder: Path, outside: Path) -> None:
    with (folder / FILE).open("a", encoding="utf-8") as handle:
        handle.write('{"kind": "step", "step": 4, "image": "ima')  # the process died mid-write


def with_bytes(prefix: bytes = b"", newline: bytes = b"\n") -> Callable[[Path, Path], None]:
    def breaks(folder: Path, outside: Path) -> None:
        text = (folder / FILE).read_bytes()
        (folder / FILE).write_bytes(prefix + text.replace(b"\n", newline))

    return breaks


@dataclass(frozen=True)
class Case:
    name: str
    breaks: Callable[[Path, Path], None]
    needles: tuple[str, ...] = ()  # in the one Error line, or in a Warning line when tolerated
    tolerated: bool = False  # the replay runs (exit 0), with a warning naming what was skipped


OUTSIDE_PNG = "../outside/secret.png"  # relative to the trajectory folder
DEEP = "[" * 100_000 + "]" * 100_000
CASES = [
    # the file as a whole
    Case("empty file", raw_file(b""), ("does not start with a guiagent trajectory header",)),
    Case("binary garbage", raw_file(b"\x89\xff\xfe" + bytes(range(256)) * 16 + b"\n"), ("line 1", "not UTF-8")),
    Case("BOM before the header", with_bytes(prefix=b"\xef\xbb\xbf"), tolerated=True),
    Case("CRLF line endings", with_bytes(newline=b"\r\n"), tolerated=True),
    Case("trajectory file is a folder", trajectory_file_is_a_folder, ("is not a file",)),
    Case("trajectory file links outside", trajectory_file_outside, ("is a link to a file outside its folder",)),
    Case("huge line", huge_line, ("line 4", "longer than 16 MiB")),
    # lines that are not one JSON object
    Case("invalid JSON in the middle", lines(lambda r: [*r[:2], "{not json", *r[2:]]), ("line 3, is not valid JSON",)),
    Case("a line that is a list", lines(lambda r: [*r[:2], "[1, 2]", *r[2:]]), ("line 3, is a list",)),
    Case("a line that is a number", lines(lambda r: [*r[:2], "42", *r[2:]]), ("line 3, is a number",)),
    Case("a line that is null", lines(lambda r: [*r[:2], "null", *r[2:]]), ("line 3, is null",)),
    Case("a line that is a string", lines(lambda r: [*r[:2], '"step"', *r[2:]]), ("line 3, is a string",)),
    Case("nesting deeper than the parser", lines(lambda r: [*r, '{"kind": "note", "x": ' + DEEP + "}"]), ("line 6",)),
    Case("a 5000-digit number", lines(lambda r: [*r, '{"kind": "note", "x": ' + "9" * 5000 + "}"]), ("line 6",)),
    Case("truncated last line", cut_off, ("cut off mid-write",), tolerated=True),
    Case(
        "lone surrogate", lines(lambda r: [*r, '{"kind": "note", "text": "\\ud800"}']), ("line 6", "'text'", "Unicode")
    ),
    Case(
        "valid unicode garbage", step(2, raw="\u202e\u200b\x00\x07\U0001f600\ufdfa", thought="\x1b[31m"), tolerated=True
    ),
    # the header
    Case("missing header", lines(lambda r: r[1:]), ("does not start with a guiagent trajectory header",)),
    Case(
        "header not first", lines(lambda r: [r[1], r[0], *r[2:]]), ("does not start with a guiagent trajectory header",)
    ),
    Case("header of another format", header(format="other"), ("does not start with a guiagent trajectory header",)),
    Case("header version as text", header(version="1"), ("line 1", "'version'")),
    Case("header without version", header(version=DROP), ("line 1", "'version' is missing")),
    Case("header from a newer guiagent", header(version=99), ("has format version 99",)),
    Case("a second header", lines(lambda r: [*r, r[0]]), ("line 6, is a second header",)),
    Case("header task not text", header(task=42), ("line 1", "'task'")),
    Case("header meta a list", header(meta=[]), ("line 1", "'meta'")),
    Case(
        "header screen half a size",
        header(screen={"origin": [0, 0], "logical_size": [320], "image_size": [320, 200]}),
        ("line 1", "'screen.logical_size'"),
    ),
    Case(
        "header screen of no pixels",
        header(screen={"origin": [0, 0], "logical_size": [0, 200], "image_size": [320, 200]}),
        ("line 1", "'screen.logical_size[0]'"),
    ),
    # records
    Case("record without kind", step(2, kind=DROP), ("line 4", "'kind' is missing")),
    Case("unknown record kind", lines(lambda r: [*r, {"kind": "telemetry"}]), ("'telemetry' is unknown",), True),
    Case("step number as a word", step(2, step="one"), ("line 4", "'step'", "not a whole number")),
    Case("negative step number", step(2, step=-1), ("line 4", "'step'")),
    Case("step number true", step(2, step=True), ("line 4", "'step'")),
    Case("duplicate step numbers", step(3, step=2), ("line 5", "'step' 2 repeats line 4")),
    Case("outcomes not a list", step(2, outcomes="executed"), ("line 4", "'outcomes'")),
    Case("timings as text", step(2, timings={"decode_s": "fast"}), ("line 4", "'timings.decode_s'")),
    Case("instruction a number", step(2, instruction=7), ("line 4", "'instruction'")),
    # the image field
    Case("step without image", step(2, image=DROP), ("line 4", "'image' is missing")),
    Case("image not text", step(2, image=5), ("line 4", "'image'")),
    Case("image with a NUL byte", step(2, image="images/\x000002.png"), ("line 4", "'image'")),
    Case("image path escaping", step(2, image=OUTSIDE_PNG), ("line 4", "leads outside the trajectory folder")),
    Case("image /etc/hostname", step(2, image="../../../../../../etc/hostname"), ("line 4", "leads outside")),
    Case("absolute image path", step(2, image=lambda outside: str(outside / "secret.png")), ("line 4", "absolute")),
    Case("symlink escaping", link_screenshot(lambda f, o: o / "secret.png"), ("line 4", "leads outside")),
    Case("relative symlink escaping", link_screenshot(lambda f, o: Path("../../outside/secret.png")), ("leads",)),
    Case("images folder linked outside", images_folder_outside, ("line 2", "leads outside")),
    Case("symlink loop", symlink_loop, ("line 4", "cannot be resolved")),
    Case("image name too long", step(2, image="images/" + "a" * 5000), ("line 4", "is skipped"), True),
    # the screenshot file
    Case("missing image file", lambda f, o: (f / "images" / "0002.png").unlink(), ("line 4", "is missing"), True),
    Case("image is a folder", step(2, image="images"), ("line 4", "is not a file"), True),
    Case("image is a FIFO", fifo_screenshot, ("line 4", "is not a file"), True),
    Case("garbage PNG", screenshot(lambda data: b"not a png at all"), ("line 4", "cannot be read as an image"), True),
    Case("truncated PNG", screenshot(lambda data: data[: len(data) // 2]), ("line 4", "cannot be read as an"), True),
    Case("zero-byte PNG", screenshot(lambda data: b""), ("line 4", "the file is empty"), True),
    Case("PNG header only", screenshot(lambda data: data[:33]), ("line 4", "cannot be read as an image"), True),
    Case("screenshot too narrow", screenshot(lambda data: png((1000, 2))), ("line 4", "200 times apart"), True),
    Case("PNG damaged behind valid checksums", screenshot(scrambled_pixels), ("line 4", "cannot be decoded")),
    Case("every screenshot gone", every_screenshot_gone, ("none of its 3 step(s) has a usable screenshot",)),
    Case("header only (interrupted before step 1)", lines(lambda r: r[:1]), tolerated=True),
    # actions
    Case("unknown action type", step(2, actions=[{"type": "teleport"}]), ("line 4", "'actions[0].type'")),
    Case("action type missing", step(2, actions=[{"target": CLICK["target"]}]), ("line 4", "'actions[0].type'")),
    Case("click without coordinates", step(2, actions=[{"type": "click"}]), ("line 4", "'actions[0].target'")),
    Case(
        "coordinates as strings",
        step(2, actions=[{"type": "click", "target": {"screen": ["10", "20"], "model": [10, 20]}}]),
        ("line 4", "'actions[0].target.screen[0]'"),
    ),
    Case(
        "NaN coordinates",
        step(2, actions=[{"type": "click", "target": {"screen": [10, 20], "model": [float("nan"), 20]}}]),
        ("line 4", "'actions[0].target.model[0]'", "not a finite number"),
    ),
    Case(
        "coordinates beyond any float",
        step(2, actions=[{"type": "click", "target": {"screen": [10**30, 20], "model": [10, 20]}}]),
        ("line 4", "'actions[0].target.screen[0]'"),
    ),
    Case("a 30-digit step number", step(2, step=10**30), ("line 4", "'step'", "31 digits")),
    Case("infinite wait", step(2, actions=[{"type": "wait", "seconds": float("inf")}]), ("'actions[0].seconds'",)),
    Case("unknown button", step(2, actions=[{**CLICK, "button": "fourth"}]), ("'actions[0].button'",)),
    Case("hotkey keys not text", step(2, actions=[{"type": "hotkey", "keys": [1]}]), ("'actions[0].keys[0]'",)),
    Case("actions an object", step(2, actions=CLICK), ("line 4", "'actions' is an object")),
    Case("action a string", step(2, actions=["click(10, 20)"]), ("line 4", "'actions[0]' is a string")),
    # geometry
    Case(
        "step geometry missing a field",
        step(2, screen={"origin": [0, 0], "logical_size": [320, 200]}),
        ("line 4", "'screen.image_size' is missing"),
    ),
    Case(
        "step geometry as strings",
        step(2, screen={"origin": ["0", "0"], "logical_size": [320, 200], "image_size": [320, 200]}),
        ("line 4", "'screen.origin[0]'"),
    ),
    Case(
        "step geometry beyond the processor",
        step(2, screen={"origin": [0, 0], "logical_size": [320, 200], "image_size": [20000, 10]}),
        ("line 4", "200 times apart"),
    ),
    # ground truth
    Case("unknown ground-truth schema", step(2, expected={"schema": "mystery"}), ("line 4", "'expected.schema'")),
    Case(
        "AgentNetBench truth without a position",
        step(2, expected={"schema": "agentnetbench", "ground_truth_actions": [{"type": "click", "params": {}}]}),
        ("line 4", "'expected.ground_truth_actions[0].params.position'"),
    ),
    Case(
        "ScreenSpot box with text",
        step(2, expected={"schema": "screenspot", "bbox": [0, 0, "1", 1]}),
        ("line 4", "'expected.bbox[2]'"),
    ),
    Case(
        "AndroidControl truth without an action",
        step(2, expected={"schema": "androidcontrol", "image_size": [320, 200]}),
        ("line 4", "'expected.action'"),
    ),
]


# -- running the CLI -------------------------------------------------------------------------------------------
@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "answers.txt"
    path.write_text("\n---\n".join([ANSWER] * 5), encoding="utf-8")
    return path


def guiagent(capsys, monkeypatch, *args: str) -> tuple[int, str, list[str]]:
    """(exit code, stdout + stderr, files opened) of ``guiagent ARGS`` through the real entry point."""
    monkeypatch.delenv("GUIAGENT_DEBUG", raising=False)
    monkeypatch.setattr(sys, "argv", ["guiagent", *args])
    capsys.readouterr()
    with watching_opens() as opened, pytest.raises(SystemExit) as done:
        main()
    captured = capsys.readouterr()
    return done.value.code or 0, captured.out + captured.err, opened


def snapshot(folder: Path) -> dict[str, object]:
    """Every entry under ``folder`` (links not followed, FIFOs not opened): what a loader must never change."""
    entries: dict[str, object] = {}
    for path in sorted(folder.rglob("*")):
        if path.is_symlink():
            entries[str(path)] = ("link", os.readlink(path))
        elif path.is_fifo():
            entries[str(path)] = "fifo"
        elif path.is_file():
            entries[str(path)] = path.read_bytes()
        else:
            entries[str(path)] = "dir"
    return entries


def trespasses(opened: list[str], allowed: list[Path], watched: list[Path]) -> list[str]:
    """Opened files inside ``watched`` but outside every ``allowed`` folder (links followed; folders, which the
    output check probes for writing, and files gone since, such as its temporary file, are not reads)."""
    found = []
    for name in opened:
        path = Path(name).resolve()
        if (
            path.is_file()
            and any(path.is_relative_to(w.resolve()) for w in watched)
            and not any(path.is_relative_to(a.resolve()) for a in allowed)
        ):
            found.append(name)
    return found


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_a_broken_trajectory_is_one_sentence_and_reads_nothing_outside(case, tmp_path, script, capsys, monkeypatch):
    folder, outside, report = record_run(tmp_path / "run"), tmp_path / "outside", tmp_path / "report"
    outside.mkdir()
    (outside / "secret.png").write_bytes(png((320, 200)))  # readable, valid: reading it would go unnoticed
    case.breaks(folder, outside)
    before = snapshot(folder)

    code, output, opened = guiagent(
        capsys, monkeypatch, "replay", str(folder), "--model", f"scripted:{script}", "--report", str(report), "--no-tui"
    )

    assert "Traceback" not in output, output
    assert trespasses(opened, [folder, report, script], [tmp_path]) == []
    assert not any(Path(name).resolve() == Path("/etc/hostname").resolve() for name in opened)
    assert snapshot(folder) == before  # the loader never changes what was recorded
    errors = [line for line in output.splitlines() if line.startswith("Error: ")]
    if case.tolerated:
        assert code == 0 and errors == [], output
        assert (report / "summary.json").exists()
        warnings = [line for line in output.splitlines() if line.startswith("Warning: ")]
        for needle in case.needles:
            assert any(needle in warning for warning in warnings), (needle, output)
    else:
        assert code == 1 and len(errors) == 1, output
        [error] = errors
        assert str(folder / FILE) in error, error
        assert error.endswith(".") and ". " not in error.removeprefix("Error: "), error
        assert "Hint: " in output
        for needle in case.needles:
            assert needle in error, (needle, error)


def test_the_corpus_covers_at_least_25_kinds_of_damage():
    assert len(CASES) >= 25 and len({case.name for case in CASES}) == len(CASES)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "code"),
    [("image path escaping", 1), ("garbage PNG", 0), ("PNG damaged behind valid checksums", 1)],
)
def test_the_real_command_on_the_tiny_model(tmp_path, name, code):
    import subprocess

    [case] = [c for c in CASES if c.name == name]
    folder, outside = record_run(tmp_path / "run"), tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.png").write_bytes(png((320, 200)))
    case.breaks(folder, outside)
    done = subprocess.run(
        [sys.executable, "-m", "guiagent.cli", "replay", str(folder), "--model", "tiny", "--max-new-tokens", "2"]
        + ["--report", str(tmp_path / "report"), "--no-tui"],
        capture_output=True,
        text=True,
        env={**{k: v for k, v in os.environ.items() if k != "GUIAGENT_DEBUG"}, "OMP_NUM_THREADS": "1"},
        timeout=300,
    )
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    for needle in case.needles:
        assert needle in done.stderr
