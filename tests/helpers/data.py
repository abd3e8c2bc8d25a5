"""Where the test data lives, wherever a test module sits in the tree."""

from pathlib import Path

TESTS_DATA = Path(__file__).resolve().parents[1] / "data"
