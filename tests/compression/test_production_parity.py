"""Production-path parity: the production presses, in the papers' layout, keep what the published code keeps.

The cases (``tests/data/parity_production``, README there) were written by running the published GUI-KV and
STaR-KV code (``python -m guiagent.tools.harness_cases.parity``) on a multi-step trajectory of the tiny model and
on UI-TARS-shaped layers. Here the same inputs go through the production path: a real ``KVSession`` in the
query-head layout re-prefilling every step (tiny), or the presses' ``observe``/``select`` through a real
``LayerView`` (UI-TARS shape). Every method, step, layer and cache head must keep the same set of positions.
"""

from __future__ import annotations

import pytest
import torch

from guiagent.agent.model.loading import load_model
from guiagent.compression.budget import Budget
from guiagent.compression.presses import get_press
from guiagent.compression.presses.base import ImageSpan
from guiagent.compression.presses.snapkv_press import SnapKVPress
from guiagent.compression.scoring import group_mean, pool_past
from guiagent.compression.session import KVSession
from guiagent.tools.harness_cases.parity import synthetic_inputs, trajectory_messages, unpack_kept
from tests.helpers.data import TESTS_DATA
from tests.helpers.press_view import FreshPrefill, drive, module_double

CASES = TESTS_DATA / "parity_production"
TINY = torch.load(CASES / "tiny.pt")
UITARS = torch.load(CASES / "uitars.pt")


def assert_same_sets(kept: torch.Tensor, expected: torch.Tensor, where: str) -> None:
    assert kept.shape[0] == expected.shape[0], f"{where}: {kept.shape[0]} cache heads, expected {expected.shape[0]}"
    for head in range(expected.shape[0]):
        got, want = set(kept[head].tolist()), set(expected[head].tolist())
        assert got == want, f"{where}, head {head}: extra {sorted(got - want)}, missing {sorted(want - got)}"


def expected_sets(case: dict, lengths: list[int]) -> list[list[torch.Tensor] | None]:
    """Per step and layer, the (heads, K) positions the published code kept (None: it could not compress)."""
    return [
        None if step is None else [unpack_kept(packed, length) for packed in step]
        for step, length in zip(case["expected"], lengths, strict=True)
    ]


def mismatches(kept: list[torch.Tensor], expected: list[torch.Tensor]) -> int:
    """Heads (over all layers) whose kept set differs."""
    return sum(
        k.shape != e.shape or set(k[h].tolist()) != set(e[h].tolist())
        for k, e in zip(kept, expected, strict=True)
        for h in range(e.shape[0])
    )


# -- the tiny model, a real session ----------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def one_thread():
    """One CPU thread, as the cases were generated: LAPACK's QR (GUI-KV's redundancy) and the BLAS blocking of
    the tiny model's forward round differently with other thread counts, which flips near-tied selections."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def tiny_model():
    return load_model("tiny", **TINY["load"])


def replay(loaded, trajectory: str, press, budget: float, heads: str = "query", steps: int | None = None):
    """Every step a fresh prefill of the whole prompt (the press's cross-step state carries); kept logical
    positions per step and layer."""
    layout = TINY["trajectories"][trajectory]
    messages = trajectory_messages(TESTS_DATA, tuple(layout["screen"]), TINY["steps"])[:steps]
    kept = []
    with KVSession(loaded, method=press, budget=budget, heads=heads) as session:
        for step, prompt in enumerate(messages):
            session.prefill_messages(prompt)
            assert session.logical_tokens == layout["prompt_lengths"][step]
            assert [(s.start, s.end) for s in session.spans] == [tuple(s) for s in layout["spans"][step]]
            kept.append([session.slots(layer).cpu() for layer in range(loaded.num_layers)])
    return kept


def tiny_expected(case: dict) -> list[list[torch.Tensor] | None]:
    return expected_sets(case, TINY["trajectories"][case["trajectory"]]["prompt_lengths"])


@pytest.mark.parametrize("name", sorted(TINY["methods"]))
def test_tiny_session_keeps_what_the_published_code_keeps(tiny_model, name):
    case = TINY["methods"][name]
    press = get_press(case["method"], **case["params"])
    kept = replay(tiny_model, case["trajectory"], press, case["budget"])
    compared = 0
    for step, (ours, expected) in enumerate(zip(kept, tiny_expected(case), strict=True)):
        if expected is None:  # the published code cannot compress this step (README: VL-Cache on flat attention)
            continue
        for layer, (k, e) in enumerate(zip(ours, expected, strict=True)):
            assert_same_sets(k, e, f"{name}, step {step + 1}, layer {layer}")
        compared += 1
    assert compared >= 1


def test_tiny_kv_head_selection_does_not_pass(tiny_model):
    """The cases tell per-query-head selection from the production GQA one (group-mean, one set per KV head)."""
    case = TINY["methods"]["guikv-b10"]
    kept = replay(tiny_model, case["trajectory"], get_press("guikv"), case["budget"], heads="kv", steps=2)
    groups = tiny_model.num_heads // tiny_model.num_kv_heads
    repeated = [[k.repeat_interleave(groups, dim=0) for k in step] for step in kept]
    assert sum(mismatches(r, e) for r, e in zip(repeated, tiny_expected(case), strict=False)) > 0


# -- UI-TARS-shaped layers, the presses through a real LayerView -------------------------------------------------
UITARS_INPUTS = synthetic_inputs(UITARS)


def uitars_replay(press, budget: float) -> list[list[torch.Tensor]]:
    shape = UITARS["shape"]
    q_weight, k_weight, hidden_states, embedding_inputs = UITARS_INPUTS
    modules = [module_double(q_weight, k_weight, shape["head_dim"], layer) for layer in range(shape["layers"])]
    kept = []
    for step, all_hidden, all_embedded in zip(UITARS["steps"], hidden_states, embedding_inputs, strict=True):
        spans = [
            ImageSpan(index=i, turn=i, start=s, end=e, grid_thw=tuple(UITARS["grid_thw"]))
            for i, (s, e) in enumerate(zip(step["starts"], step["ends"], strict=True))
        ]
        cache = FreshPrefill(Budget.parse(budget), spans, step["length"], shape["layers"], shape["heads"])
        hidden = [all_hidden[i : i + 1] for i in range(shape["layers"])]
        embedded = [all_embedded[i : i + 1] for i in range(shape["layers"])]
        kept.append(drive(press, cache, modules, hidden, embedded))
    return kept


@pytest.mark.parametrize("name", sorted(UITARS["methods"]))
def test_uitars_shaped_presses_keep_what_the_published_code_keeps(name):
    case = UITARS["methods"][name]
    kept = uitars_replay(get_press(case["method"], **case["params"]), case["budget"])
    for step, (ours, expected) in enumerate(zip(kept, uitars_expected(case), strict=True)):
        assert expected is not None
        for layer, (k, e) in enumerate(zip(ours, expected, strict=True)):
            assert_same_sets(k, e, f"{name}, step {step + 1}, layer {layer}")


def uitars_expected(case: dict) -> list[list[torch.Tensor] | None]:
    return expected_sets(case, [step["length"] for step in UITARS["steps"]])


class GroupMeanSnapKV(SnapKVPress):
    """SnapKV averaging each GQA group's scores (the production selection in the KV-head layout)."""

    def score(self, cache, layer, probs, budget):
        groups = layer.module.num_key_value_groups
        mean = group_mean(pool_past(probs, self.kernel_size, self.pooling), probs.shape[1] // groups)
        return mean.repeat_interleave(groups, dim=1)[0]


def test_uitars_shaped_group_mean_selection_does_not_pass():
    case = UITARS["methods"]["snapkv-b25"]
    kept = uitars_replay(GroupMeanSnapKV(), case["budget"])
    assert sum(mismatches(k, e) for k, e in zip(kept, uitars_expected(case), strict=True)) > 0


def test_cases_cover_every_method_step_and_shape():
    for cases in (TINY, UITARS):
        assert {c["method"] for c in cases["methods"].values()} == {"snapkv", "pyramidkv", "guikv", "vlcache", "starkv"}
    assert TINY["steps"] >= 6 and len(UITARS["steps"]) >= 6  # past STaR-KV's 5 MI warm-up steps
    shape = UITARS["shape"]
    assert (shape["heads"], shape["kv_heads"], shape["head_dim"]) == (28, 4, 128)
    assert max(len(s["starts"]) for s in UITARS["steps"]) >= 3
    assert max(len(s) for s in TINY["trajectories"]["large"]["spans"]) == 5


@pytest.mark.parametrize(("real_grid", "grid"), [(True, (6, 8)), (False, (6, 7))])
def test_starkv_mi_grid_when_the_window_clips_the_current_screenshot(monkeypatch, real_grid, grid):
    """Production takes the screenshot's real token grid even when the observation window clips its last tokens;
    ``real_grid=False`` (the papers' protocol) takes the published square guess of the clipped count."""
    from guiagent.compression.presses import starkv_press

    seen = []
    real_mi = starkv_press.mutual_information
    monkeypatch.setattr(starkv_press, "mutual_information", lambda values, g: seen.append(g) or real_mi(values, g))
    generator = torch.Generator().manual_seed(0)
    module = module_double(torch.randn(4 * 8, 8, generator=generator), torch.randn(2 * 8, 8, generator=generator), 8, 0)
    span = ImageSpan(index=0, turn=0, start=10, end=58, grid_thw=(1, 12, 16))  # 6 x 8 tokens
    cache = FreshPrefill(Budget.parse(50), [span], logical_tokens=60, num_layers=1, heads=4)  # window 8: 42 left
    hidden = torch.randn(1, 60, 8, generator=generator)
    drive(get_press("starkv", real_grid=real_grid), cache, [module], [hidden], [hidden])
    assert seen == [grid]
