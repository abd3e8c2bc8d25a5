"""Shared fixtures: a private data home, the tiny model (loaded once per test session), deterministic screenshots."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from guiagent.agent.model.loading import LoadedModel, load_model
from tests.helpers.options import model_options_under_test

# Whole modules of subprocess-heavy tests (real X servers, tmux, torchrun ranks): `make test-quick` skips them.
SLOW_PATHS = ("tests/agent/desktop/", "tests/ui/test_tmux.py", "tests/agent/eval/test_distributed_eval.py")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if any(part in item.nodeid for part in SLOW_PATHS):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session", autouse=True)
def private_data_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Runs that tests record (and their subprocesses: the variables are inherited) land in a temporary home,
    never in the user's ``~/.local/share/guiagent``. The tiny model's build cache stays shared (it is an artefact,
    not user data, and rebuilding it per test would be slow)."""
    home = tmp_path_factory.mktemp("guiagent-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GUIAGENT_HOME", str(home / "guiagent"))
        patch.setenv("XDG_DATA_HOME", str(home / "xdg-data"))
        yield home


@pytest.fixture(scope="session")
def tiny() -> LoadedModel:
    return load_model("tiny", **model_options_under_test())


@pytest.fixture(scope="session")
def tiny_eager() -> LoadedModel:
    return load_model("tiny", **model_options_under_test(attn="eager"))


def noise_image(width: int, height: int, seed: int) -> Image.Image:
    """A screenshot-sized image of seeded noise: different images give different visual features."""
    pixels = np.random.default_rng(seed).integers(0, 256, size=(height, width, 3), dtype=np.uint8)
    return Image.fromarray(pixels, "RGB")


@pytest.fixture
def screenshots() -> list[Image.Image]:
    """Five small screenshots of different shapes (M-RoPE height != width on purpose)."""
    sizes = [(224, 112), (168, 168), (280, 140), (112, 196), (252, 126)]
    return [noise_image(w, h, seed) for seed, (w, h) in enumerate(sizes)]
