"""Screenshot files from trajectories and benchmarks: checked when loaded, decoded when used, never trusted.

A screenshot may be missing, empty, cut off by a crash, or not an image at all; PIL reports each of these with
its own exception type (OSError, SyntaxError, struct.error, zlib.error, DecompressionBombError ...). Here they
all become ``ImageProblem``, whose message completes "screenshot FILE ..." so callers can name the file and
the step (and skip it, or stop) in one sentence.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from guiagent.agent.trajectory.records import MAX_ASPECT, brief


class ImageProblem(ValueError):
    """Why a screenshot cannot be used; the message completes "screenshot FILE ..."."""


def inspect(path: Path, *, verify: bool = True) -> tuple[int, int]:
    """The (width, height) of a screenshot, after PIL's structural check unless ``verify`` is off.

    ``verify`` reads the whole file (for PNG: every chunk's checksum and the end marker), so a garbage or
    truncated file is refused here, without decoding pixels; damage that keeps the checksums intact shows up in
    ``decode``. Without it only the header is read: what benchmark importers use, since they load thousands of
    screenshots up front (on every rank), and ``decode`` still refuses a damaged one when its step runs.
    """
    try:
        if not path.exists():
            raise ImageProblem("is missing")
        if not path.is_file():
            raise ImageProblem("is not a file")
        empty = path.stat().st_size == 0
    except OSError as error:
        raise ImageProblem(f"cannot be read ({error.strerror})") from error
    if empty:
        raise ImageProblem("cannot be read as an image (the file is empty)")
    try:
        with Image.open(path) as image:
            size = image.size
            if verify:
                image.verify()
    except Exception as error:  # PIL raises many types for bad data (see the module doc)
        raise ImageProblem(f"cannot be read as an image ({brief(error)})") from error
    if min(size) < 1 or max(size) / min(size) > MAX_ASPECT:
        raise ImageProblem(f"is {size[0]}x{size[1]} pixels, sides more than {MAX_ASPECT} times apart")
    return size


def decode(path: Path) -> Image.Image:
    """The screenshot's pixels as RGB (what the model sees)."""
    try:
        with Image.open(path) as image:
            return image.convert("RGB")
    except Exception as error:  # PIL raises many types for bad data (see the module doc)
        raise ImageProblem(f"cannot be decoded ({brief(error)})") from error
