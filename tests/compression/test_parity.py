"""Every published parity case, every head: reference_keep keeps exactly what the papers' code keeps."""

from __future__ import annotations

import pytest
import torch

from guiagent.compression.parity import reference_keep
from tests.helpers.data import TESTS_DATA

CASES = torch.load(TESTS_DATA / "parity_cases.pt")["cases"]


def case_id(case: dict) -> str:
    if case["method"] == "starkv":
        return f"starkv-trajectory-{len(case['trajectory'])}steps"
    return f"{case['method']}-b{case['budget']}-l{case['layer_idx']}-img{len(case['image_spans'])}-{case['params']}"


def widen(value):
    return value.float() if isinstance(value, torch.Tensor) and value.is_floating_point() else value


def assert_same_sets(keep: torch.Tensor, expected: torch.Tensor, where: str) -> None:
    assert keep.shape == expected.shape, f"{where}: kept {tuple(keep.shape)}, expected {tuple(expected.shape)}"
    for head in range(expected.shape[1]):
        got, want = set(keep[0, head].tolist()), set(expected[0, head].tolist())
        assert got == want, f"{where}, head {head}: extra {sorted(got - want)}, missing {sorted(want - got)}"


def keep_for(case: dict, record: dict, state: dict | None = None) -> torch.Tensor:
    """reference_keep on one recorded prefill (a case, or one step of the STaR-KV trajectory)."""
    return reference_keep(
        case["method"],
        queries=widen(record["queries"]),
        keys=widen(record["keys"]),
        hidden_states=widen(record["hidden_states"]),
        image_spans=record["image_spans"],
        budget=record["budget"],
        layer_idx=case["layer_idx"],
        num_layers=case["num_layers"],
        state=state,
        **case["params"],
    )


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_parity_case(case):
    if case["method"] == "starkv":
        state: dict = {}  # carried across the trajectory's steps, as the published code carries it
        for step, record in enumerate(case["trajectory"]):
            assert_same_sets(keep_for(case, record, state), record["expected"], f"step {step}")
    else:
        assert_same_sets(keep_for(case, case), case["expected"], case_id(case))


def test_cases_cover_every_method_and_several_images():
    methods = {case["method"] for case in CASES}
    assert methods == {"snapkv", "pyramidkv", "guikv", "starkv"}
    assert len(CASES) == 85
    assert max(len(case.get("image_spans", [])) for case in CASES) >= 3
