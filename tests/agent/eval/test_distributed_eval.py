"""The eval grid under torchrun on CPU (gloo), with real processes: 2 ranks give the single-process table; a rank
killed mid-grid loses only its unit in flight and a restart computes only what is missing.

Every process runs with OMP_NUM_THREADS=1, so the single-process reference and the ranks do the same float
arithmetic and greedy decoding picks the same tokens; only the wall times differ between runs.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from guiagent.agent.eval.report import TIMING_COLUMNS
from guiagent.agent.eval.sources import bundled_folder
from tests.agent.eval.helpers import computed_units
from tests.helpers.data import TESTS_DATA

TESTS_DATA = TESTS_DATA
GRID = ["--model", "tiny", "--methods", "full,starkv,snapkv", "--budgets", "20", "--max-new-tokens", "4"]
UNITS = 6  # 3 cells x 2 trajectories
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    """Both real AgentNetBench trajectories (the bundled one and the test one) as one benchmark folder."""
    folder = tmp_path_factory.mktemp("anb")
    for origin in (bundled_folder(), TESTS_DATA / "agentnetbench"):
        for task in origin.glob("s_*.json"):
            shutil.copy(task, folder / task.name)
        shutil.copytree(origin / "images", folder / "images", dirs_exist_ok=True)
    return folder


def guiagent(*args: str) -> list[str]:
    return [sys.executable, "-m", "guiagent", *args]


def torchrun(*args: str) -> list[str]:
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", *args]


def check(command: list[str]) -> subprocess.CompletedProcess:
    done = subprocess.run(command, env=ENV, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]
    return done


@pytest.fixture(scope="module")
def reference(source, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("single")
    check(guiagent("eval", str(source), *GRID, "--out", str(out)))
    return out


def comparable(out: Path) -> dict:
    """Everything the run wrote except wall times: table, CSV columns and rows, JSON rows, per-step records."""
    data = json.loads((out / "results.json").read_text())
    rows = [
        {**r, **dict.fromkeys(TIMING_COLUMNS), "summary": {k: v for k, v in r["summary"].items() if k != "timing"}}
        for r in data["rows"]
    ]
    csv_lines = (out / "results.csv").read_text().splitlines()
    steps = {}
    for cell in sorted((out / "cells").iterdir()):
        records = [json.loads(line) for line in (cell / "steps.jsonl").read_text().splitlines()]
        steps[cell.name] = [{k: v for k, v in r.items() if k != "timings"} for r in records]
    return {
        "title": data["title"],
        "rows": rows,
        "csv_header": csv_lines[0],
        "csv_keys": [line.split(",")[:2] for line in csv_lines[1:]],
        "md_rows": [line.split("|")[1:3] for line in (out / "results.md").read_text().splitlines()[2:]],
        "steps": steps,
    }


def test_two_ranks_on_cpu_give_the_single_process_results(source, reference, tmp_path):
    assert len(computed_units(reference)) == UNITS and {u["rank"] for u in computed_units(reference)} == {0}
    out = tmp_path / "ranks"
    done = check(
        guiagent("eval", str(source), *GRID, "--out", str(out), "--launcher", "torchrun", "--nproc-per-node", "2")
    )
    assert "| starkv | 20% |" in done.stdout  # rank 0 printed the table
    by_rank = {rank: [u for u in computed_units(out) if u["rank"] == rank] for rank in (0, 1)}
    assert len(by_rank[0]) + len(by_rank[1]) == UNITS and by_rank[0] and by_rank[1]
    assert comparable(out) == comparable(reference)
    # the merge on its own rewrites the same report
    for name in ("results.md", "results.csv", "results.json", "results.png"):
        (out / name).unlink()
    check(guiagent("eval", "--merge", str(out)))
    assert comparable(out) == comparable(reference)


def worker_of_rank(rank: int, out: Path) -> int | None:
    """The pid of the torchrun worker with RANK=rank that writes to ``out``."""
    for proc in Path("/proc").iterdir():
        try:
            if str(out) not in (proc / "cmdline").read_bytes().decode(errors="replace"):
                continue
            env = dict(
                item.split("=", 1)
                for item in (proc / "environ").read_bytes().decode(errors="replace").split("\0")
                if "=" in item
            )
        except (OSError, ValueError):
            continue
        if env.get("RANK") == str(rank) and "TORCHELASTIC_RUN_ID" in env:
            return int(proc.name)
    return None


def test_a_rank_killed_mid_grid_loses_only_its_unit_and_the_restart_computes_the_rest(source, reference, tmp_path):
    out = tmp_path / "killed"
    command = torchrun("-m", "guiagent", "eval", str(source), *GRID, "--out", str(out))
    job = subprocess.Popen(command, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 300
    while not list(out.glob("parts/*/*.json")):
        assert job.poll() is None and time.monotonic() < deadline, job.stdout.read()[-4000:] if job.stdout else ""
        time.sleep(0.05)
    victim = worker_of_rank(1, out)
    assert victim is not None
    os.kill(victim, signal.SIGKILL)
    log = job.communicate(timeout=120)[0]
    assert job.returncode != 0, log[-4000:]

    finished = {p: p.stat().st_mtime_ns for p in out.glob("parts/*/*.json")}
    assert 0 < len(finished) < UNITS, "the kill should land mid-grid"
    assert len(computed_units(out)) == len(finished)  # every logged unit has its file, nothing half-written
    before = {line["launch"] for line in computed_units(out)}

    check(command)
    [restart] = {line["launch"] for line in computed_units(out)} - before
    recomputed = [line["unit"] for line in computed_units(out, restart)]
    assert len(recomputed) == UNITS - len(finished)
    assert not {f"{p.parent.name}/{p.stem}" for p in finished} & set(recomputed)
    assert all(p.stat().st_mtime_ns == mtime for p, mtime in finished.items())  # not rewritten
    assert comparable(out) == comparable(reference)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_two_nodes_meeting_at_a_rendezvous_point_give_the_same_results(source, reference, tmp_path):
    """Two torchrun agents ("nodes", one rank each) on this machine, joined by c10d rendezvous, as on a cluster."""
    out = tmp_path / "nodes"
    endpoint = f"127.0.0.1:{free_port()}"
    node = guiagent(
        "eval", str(source), *GRID, "--out", str(out), "--launcher", "torchrun", "--nproc-per-node", "1",
        "--nnodes", "2", "--rdzv-endpoint", endpoint, "--rdzv-id", "test-grid",
    )  # fmt: skip
    nodes = [subprocess.Popen(node, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for _ in "ab"]
    logs = [n.communicate(timeout=600)[0] for n in nodes]
    assert [n.returncode for n in nodes] == [0, 0], "\n".join(log[-3000:] for log in logs)
    assert {u["rank"] for u in computed_units(out)} == {0, 1}
    assert comparable(out) == comparable(reference)
