"""The eval grid's units: sharding, keys, resuming, merging, and the torchrun command line (in process)."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from guiagent.agent.eval.distributed import Launch, Ranks, rebuilt_command
from guiagent.agent.eval.grid import (
    GridPlan,
    Unit,
    load_unit,
    merge,
    prepare,
    run_grid,
    save_unit,
    shard,
    trajectory_keys,
)
from guiagent.agent.eval.replay import StepResult
from guiagent.agent.eval.report import TIMING_COLUMNS, Cell
from guiagent.agent.eval.sources import load_source
from guiagent.agent.run.runner import RunOptions, replay_deciders
from guiagent.agent.trajectory.format import Trajectory
from guiagent.cli import app
from guiagent.errors import ConfigError, GuiAgentError
from tests.agent.eval.helpers import computed_units


def units(steps: list[int]) -> list[Unit]:
    return [Unit(Cell("snapkv", "20"), f"t{i}", n) for i, n in enumerate(steps)]


def test_shard_is_balanced_by_steps_deterministic_and_covers_every_unit_once():
    grid = units([10, 7, 3, 3, 9, 1, 12, 5])
    parts = shard(grid, 3)
    assert parts == shard(list(grid), 3)
    assert sorted(u.trajectory for part in parts for u in part) == sorted(u.trajectory for u in grid)
    loads = [sum(u.steps for u in part) for part in parts]
    assert max(loads) - min(loads) <= max(u.steps for u in grid)
    for part in parts:  # each rank works in grid order
        assert part == sorted(part, key=grid.index)
    assert shard(grid, 1) == [grid]
    assert shard(units([4]), 3) == [units([4]), [], []]


def test_trajectory_keys_are_file_safe_and_unique():
    names = ["s_1", "a/b c", "s_1", "", "s_1"]
    keys = trajectory_keys([Trajectory(task="", steps=[], name=n) for n in names])
    assert keys == ["s_1", "a_b_c", "s_1-2", "trajectory", "s_1-3"]


def plan_of(cells: list[Cell], identity: dict | None = None) -> GridPlan:
    return GridPlan(cells, [("a", 2), ("b", 3)], identity or {"model": "tiny", "metric": None}, {"model": "tiny"}, "t")


def step(trajectory: str, number: int, score: float) -> StepResult:
    return StepResult(
        trajectory=trajectory,
        step=number,
        image=f"{number}.png",
        predicted=[{"type": "click"}],
        expected={"x": 1},
        score=score,
        raw="click",
        parse_errors=[],
        cache={"bytes_held": 10, "bytes_full": 40},
        timings={"prefill_s": 0.5},
        schema="agentnetbench",
        extra={"per_type": {"click": score}},
    )


def test_units_round_trip_exactly_and_merge_in_grid_order(tmp_path):
    plan = plan_of([Cell("full", "100"), Cell("snapkv", "20")])
    assert prepare(plan, tmp_path) == plan.units
    score = 1 / 3  # rounded in steps.jsonl, exact in the unit file
    for unit in reversed(plan.units):  # any order of completion
        save_unit(unit, [step(unit.trajectory, i, score) for i in range(unit.steps)], tmp_path)
    assert load_unit(plan.units[0], tmp_path)[0] == step("a", 0, score)
    assert prepare(plan, tmp_path) == []
    rows = merge(tmp_path)
    assert [(r["method"], r["budget"]) for r in rows] == [("full", "100%"), ("snapkv", "20%")]
    assert rows[0]["summary"]["steps"] == 5 and rows[0]["summary"]["step_accuracy"] == pytest.approx(score, abs=0)
    assert rows[0]["kv_held_over_full"] == 0.25
    lines = (tmp_path / "cells" / "snapkv-20" / "steps.jsonl").read_text().splitlines()
    assert [json.loads(line)["trajectory"] for line in lines] == ["a", "a", "b", "b", "b"]


def test_merge_with_missing_units_says_how_many_and_what_to_do(tmp_path):
    plan = plan_of([Cell("full", "100")])
    prepare(plan, tmp_path)
    save_unit(plan.units[0], [step("a", 0, 1.0), step("a", 1, 1.0)], tmp_path)
    with pytest.raises(ConfigError, match=r"1 of 2 grid units have no result") as error:
        merge(tmp_path)
    assert "finished units are skipped" in error.value.hint


def test_a_grid_with_another_configuration_is_refused_not_mixed(tmp_path):
    prepare(plan_of([Cell("full", "100")]), tmp_path)
    other = plan_of([Cell("full", "100")], {"model": "ui-tars-1.5-7b", "metric": None})
    with pytest.raises(ConfigError, match=r"model='tiny'.*model='ui-tars-1.5-7b'") as error:
        prepare(other, tmp_path)
    assert "--fresh" in error.value.hint
    assert prepare(other, tmp_path, fresh=True) == other.units
    # more cells on the same configuration: only the new units are pending
    save_unit(other.units[0], [step("a", 0, 1.0)], tmp_path)
    bigger = plan_of([Cell("full", "100"), Cell("starkv", "20")], other.identity)
    assert [u.name for u in prepare(bigger, tmp_path)] == ["full-100/b", "starkv-20/a", "starkv-20/b"]


def test_unreadable_unit_or_grid_files_get_one_sentence(tmp_path):
    with pytest.raises(ConfigError, match="no grid.json"):
        GridPlan.load(tmp_path)
    plan = plan_of([Cell("full", "100")])
    prepare(plan, tmp_path)
    plan.units[0].path(tmp_path).parent.mkdir(parents=True)
    plan.units[0].path(tmp_path).write_text('{"steps": [')
    with pytest.raises(ConfigError, match="unreadable"):
        load_unit(plan.units[0], tmp_path)
    (tmp_path / "grid.json").write_text("{")
    with pytest.raises(ConfigError, match="not a readable grid file"):
        GridPlan.load(tmp_path)


def test_ranks_come_from_torchrun_environment():
    assert Ranks.from_env({}) == Ranks()
    env = {"RANK": "3", "WORLD_SIZE": "4", "LOCAL_RANK": "1", "LOCAL_WORLD_SIZE": "2", "TORCHELASTIC_RUN_ID": "x"}
    ranks = Ranks.from_env(env)
    assert (ranks.rank, ranks.world, ranks.local_rank, ranks.local_world, ranks.launched) == (3, 4, 1, 2, True)
    assert ranks.device("cpu") == "cpu" and ranks.device("cuda:0") == "cuda:0"
    assert ranks.device("auto") == "auto"  # no CUDA here: unchanged


def test_torchrun_arguments_single_and_multi_node():
    single = Launch(nproc_per_node=2).torchrun_args(["eval", "bundled"])
    assert single[:2] == ["--nproc-per-node", "2"] and "--standalone" in single
    assert single[-4:] == ["--module", "guiagent", "eval", "bundled"]
    multi = Launch(nproc_per_node=8, nnodes="2", rdzv_endpoint="node0:29400", rdzv_id="exp").torchrun_args(["eval"])
    assert "--standalone" not in multi
    assert multi[multi.index("--rdzv-endpoint") + 1] == "node0:29400" and multi[multi.index("--rdzv-id") + 1] == "exp"
    with pytest.raises(ConfigError, match="rendezvous"):
        Launch(nproc_per_node=1, nnodes="2").torchrun_args(["eval"])


def test_the_command_line_is_rebuilt_from_parsed_values():
    seen = {}
    probe = typer.Typer()

    @probe.command("eval")
    def evaluate(
        context: typer.Context,
        source: str,
        budgets: str = "10",
        limit: int | None = None,
        fresh: bool = typer.Option(False, "--fresh"),
        trust: bool = typer.Option(False, "--trust/--no-trust"),
        launcher: str = "none",
    ) -> None:
        seen["args"] = rebuilt_command(context, {"launcher"})

    @probe.command("other")
    def other() -> None: ...

    result = CliRunner().invoke(probe, ["eval", "my src", "--budgets", "20,40", "--launcher", "torchrun", "--fresh"])
    assert result.exit_code == 0, result.output
    assert seen["args"] == ["eval", "my src", "--budgets", "20,40", "--fresh", "--no-trust"]


def test_merge_alone_and_its_errors_from_the_cli(tmp_path):
    plan = plan_of([Cell("full", "100")])
    prepare(plan, tmp_path)
    for unit in plan.units:
        save_unit(unit, [step(unit.trajectory, i, 1.0) for i in range(unit.steps)], tmp_path)
    result = CliRunner().invoke(app, ["eval", "--merge", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "results.csv").read_text().splitlines()[1].startswith("full,100%,5,-,1.0,5,")
    assert "| full | 100% | 5 | - | 1.0 | 5 |" in (tmp_path / "results.md").read_text()
    result = CliRunner().invoke(app, ["eval", "--merge", str(tmp_path / "nothing")])
    assert result.exit_code == 1 and "no grid.json" in str(result.exception)
    result = CliRunner().invoke(app, ["eval", "bundled", "--merge", str(tmp_path)])
    assert result.exit_code == 1 and "no SOURCE" in str(result.exception)
    result = CliRunner().invoke(app, ["eval"])
    assert result.exit_code == 1 and "needs a SOURCE" in str(result.exception)


def test_a_resumed_grid_computes_only_the_missing_units_and_merges_the_same_table(tmp_path):
    """In process, with the tiny model: delete one finished unit, run again, only that unit is computed."""
    trajectories = load_source("bundled")
    cells = [Cell("full", "100"), Cell("starkv", "20")]
    plan = GridPlan.build(cells, trajectories, identity={"model": "tiny"}, config={"model": "tiny"}, title="t")
    options = RunOptions(task="replay", model="tiny", max_new_tokens=4, retries=0)
    loads = []

    def deciders():
        loads.append(1)
        return replay_deciders(options)

    first = run_grid(plan, trajectories, deciders, out=tmp_path)
    assert len(computed_units(tmp_path)) == 2
    plan.units[1].path(tmp_path).unlink()
    second = run_grid(plan, trajectories, deciders, out=tmp_path)
    [launch] = {line["launch"] for line in computed_units(tmp_path)} - {computed_units(tmp_path)[0]["launch"]}
    assert [line["unit"] for line in computed_units(tmp_path, launch)] == [plan.units[1].name]

    def without_timing(rows: list[dict]) -> list[dict]:
        return [{**r, **dict.fromkeys(TIMING_COLUMNS), "summary": {**r["summary"], "timing": None}} for r in rows]

    assert without_timing(first) == without_timing(second)
    third = run_grid(plan, trajectories, deciders, out=tmp_path)  # nothing to do: the model is not loaded
    assert len(loads) == 2 and without_timing(third) == without_timing(first)


def test_a_killed_writer_leaves_no_unit_and_its_temporary_file_is_cleared(tmp_path):
    plan = plan_of([Cell("full", "100")])
    prepare(plan, tmp_path)
    save_unit(plan.units[0], [step("a", 0, 0.5)], tmp_path)
    folder = plan.units[0].path(tmp_path).parent
    assert [p.name for p in folder.iterdir()] == ["a.json"]
    (folder / ".b.json.4242.tmp").write_text('{"steps": [')  # what a rank killed mid-write leaves
    assert [u.trajectory for u in prepare(plan, tmp_path)] == ["b"]
    assert [p.name for p in folder.iterdir()] == ["a.json"]


def test_ctrl_c_keeps_the_finished_units_and_says_how_to_resume(tmp_path):
    trajectories = load_source("bundled")
    plan = GridPlan.build([Cell("full", "100"), Cell("snapkv", "20")], trajectories, identity={"model": "tiny"})
    options = RunOptions(task="replay", model="tiny", max_new_tokens=2, retries=0)

    def progress(text: str) -> None:
        if text.startswith("[2/2]"):
            raise KeyboardInterrupt  # what Ctrl-C raises in the main thread, here during the second unit

    with pytest.raises(GuiAgentError, match=r"Interrupted: 1 of 2 grid units are finished") as error:
        run_grid(plan, trajectories, lambda: replay_deciders(options), out=tmp_path, progress=progress)
    assert "Run the same command again" in error.value.hint
    assert plan.units[0].path(tmp_path).exists() and not plan.units[1].path(tmp_path).exists()


def test_launcher_checks_the_grid_source_and_model_before_starting_any_rank(tmp_path):
    base = ["eval", "bundled", "--out", str(tmp_path), "--launcher"]
    result = CliRunner().invoke(app, [*base, "torchrun", "--nproc-per-node", "2", "--model", "nonexistent"])
    assert result.exit_code == 1 and "Unknown model spec 'nonexistent'" in str(result.exception)  # while parsing
    assert "torchrun:" not in result.output and not (tmp_path / "grid.json").exists()
    result = CliRunner().invoke(app, [*base, "torchrun", "--model", "tiny", "--budgets", "150"])
    assert result.exit_code == 1 and "outside" in str(result.exception)
    result = CliRunner().invoke(app, [*base, "slurm", "--model", "tiny"])
    assert result.exit_code == 2 and "'slurm' is not one of" in " ".join(result.output.split())
