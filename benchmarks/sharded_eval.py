"""What sharding an eval grid over torchrun ranks buys, and what resuming costs, measured side by side.

The grid: the two real AgentNetBench trajectories (bundled + tests/data) x ``--methods`` x ``--budgets`` with
the tiny model. Each configuration is a fresh ``guiagent eval`` process (model load and imports included, as a
user sees it), interleaved over the repeats (the order flips each repeat) so machine noise hits all alike:

- ``1 rank``: one process, ``OMP_NUM_THREADS`` = all cores (what ``guiagent eval`` does without a launcher);
- ``N ranks``: ``--launcher torchrun --nproc-per-node N``, each rank ``OMP_NUM_THREADS`` = cores / N;
- ``resume``: the same command again on a finished ``--out`` (nothing to compute: the merge alone).

Every run's table is checked against the first one's (all but wall times), so a speed-up never hides a change.

    .venv/bin/python benchmarks/sharded_eval.py                     # 2 ranks, 3 cells, 2 repeats
    .venv/bin/python benchmarks/sharded_eval.py --ranks 4 --methods full,starkv,guikv,snapkv --budgets 10,20
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def source_folder(into: Path) -> Path:
    """Both real AgentNetBench trajectories as one benchmark folder."""
    from guiagent.agent.eval.sources import bundled_folder

    for origin in (bundled_folder(), ROOT / "tests" / "data" / "agentnetbench"):
        for task in origin.glob("s_*.json"):
            shutil.copy(task, into / task.name)
        shutil.copytree(origin / "images", into / "images", dirs_exist_ok=True)
    return into


def timed(command: list[str], threads: int) -> float:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"failed: {' '.join(command)}\n{done.stderr[-3000:]}")
    return time.perf_counter() - start


def table(out: Path) -> list[dict]:
    rows = json.loads((out / "results.json").read_text())["rows"]
    return [{k: v for k, v in r.items() if k not in ("mean_step_s", "summary")} for r in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ranks", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--methods", default="full,starkv,snapkv")
    parser.add_argument("--budgets", default="20")
    parser.add_argument("--max-new-tokens", default="4")
    args = parser.parse_args()

    cores = os.cpu_count() or 1
    work = Path(tempfile.mkdtemp(prefix="sharded-eval-"))
    (work / "anb").mkdir()
    source = source_folder(work / "anb")
    grid = ["--model", "tiny", "--methods", args.methods, "--budgets", args.budgets]
    grid += ["--max-new-tokens", args.max_new_tokens]
    base = [sys.executable, "-m", "guiagent", "eval", str(source), *grid]
    ranks = ["--launcher", "torchrun", "--nproc-per-node", str(args.ranks)]
    modes = {
        "1 rank": (lambda out: [*base, "--out", str(out), "--fresh"], cores),
        f"{args.ranks} ranks": (lambda out: [*base, "--out", str(out), "--fresh", *ranks], max(1, cores // args.ranks)),
    }
    times: dict[str, list[float]] = {name: [] for name in [*modes, "resume"]}
    reference = None
    for repeat in range(args.repeats):
        for name in modes if repeat % 2 == 0 else reversed(list(modes)):
            make, threads = modes[name]
            out = work / f"{name.replace(' ', '-')}-{repeat}"
            times[name].append(timed(make(out), threads))
            reference = reference or table(out)
            assert table(out) == reference, f"{name} changed the results"
            if name == "1 rank":
                times["resume"].append(timed([*base, "--out", str(out)], cores))
                assert table(out) == reference
    shutil.rmtree(work)

    from guiagent.agent.eval.report import grid_cells

    units = len(grid_cells(args.methods.split(","), args.budgets.split(","))) * 2
    print(f"grid: {args.methods} x {args.budgets} on 2 trajectories (17 steps) = {units} units, tiny model,")
    print(f"max {args.max_new_tokens} new tokens per step, {cores} cores")
    print(f"{'mode':<12} {'median s':>9} {'vs 1 rank':>10}")
    single = statistics.median(times["1 rank"])
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:<12} {median:>9.2f} {median / single:>9.2f}x")
    print("(each run is a fresh process: imports and the model load, once per rank, are included)")


if __name__ == "__main__":
    main()
