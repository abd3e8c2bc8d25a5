"""The eval grid as units of work on disk, so it can be split across ranks, interrupted and resumed.

A unit is one trajectory replayed under one cell (method x budget). Units are independent: the decider empties
the KV session and the press state per trajectory, so a unit's result does not depend on which rank ran it or
what ran before. Each finished unit is written atomically (temporary file, then rename): a rank that dies
loses only the unit in flight, and a restart computes only the units that have no file. The merge reads the
files in grid order (cells as asked, trajectories as loaded), so the table, CSV, JSON and plot are the ones a
single process writes.

With ``fidelity`` on, a unit of a compressing cell also runs the label-free fidelity pass on its trajectory
(``fidelity.py``: agreement and KL against the full cache) and its file holds those records too; a unit file
without them counts as unfinished, and only the pass is computed for it. Turning fidelity on or off is not a
change of configuration: a grid resumed with ``--fidelity`` completes the pass where it is missing.

``OUT`` holds::

    grid.json                        the grid: cells, trajectories, what the results depend on, the title
    parts/<cell>/<trajectory>.json   one finished unit: its step results (and its fidelity records), and the
                                     method settings it was computed with (other settings: recomputed)
    launches.jsonl                   one line per computed unit (launch, rank, unit): who computed what
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from guiagent.agent.eval.distributed import Ranks
from guiagent.agent.eval.fidelity import FULL_FIDELITY, FidelityRunner, FidelityStep, summarize
from guiagent.agent.eval.replay import ReplaySummary, StepResult, replay, write_report
from guiagent.agent.eval.report import Cell, row
from guiagent.agent.trajectory.format import Trajectory
from guiagent.errors import ConfigError, GuiAgentError

GRID_FILE = "grid.json"
LAUNCHES_FILE = "launches.jsonl"


@dataclass(frozen=True)
class Unit:
    """One trajectory under one cell; ``trajectory`` is the trajectory's key in the grid (unique, file-safe)."""

    cell: Cell
    trajectory: str
    steps: int

    @property
    def name(self) -> str:
        return f"{self.cell.name}/{self.trajectory}"

    def path(self, out: Path) -> Path:
        return out / "parts" / self.cell.name / f"{self.trajectory}.json"


@dataclass
class GridPlan:
    """What a grid is: its cells, its trajectories (key, steps) and what its results depend on.

    ``identity`` (model, layout, metric, decoding...) must match when a grid is resumed: results computed under
    another configuration are never mixed in. ``config`` goes into every cell's summary, as before sharding.
    """

    cells: list[Cell]
    trajectories: list[tuple[str, int]]
    identity: dict[str, Any]
    config: dict[str, Any] = field(default_factory=dict)
    title: str = ""
    fidelity: bool = False  # run the fidelity pass in every compressing cell's units

    @classmethod
    def build(cls, cells: list[Cell], trajectories: list[Trajectory], **fields: Any) -> GridPlan:
        return cls(
            cells, list(zip(trajectory_keys(trajectories), (len(t.steps) for t in trajectories), strict=True)), **fields
        )

    @property
    def units(self) -> list[Unit]:
        return [Unit(cell, key, steps) for cell in self.cells for key, steps in self.trajectories]

    @property
    def metric(self) -> str | None:
        return self.identity.get("metric")

    def wants_fidelity(self, unit: Unit) -> bool:
        return self.fidelity and unit.cell.method != "full"

    def as_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "cells": [c.as_list() for c in self.cells],
            "trajectories": [list(t) for t in self.trajectories],
            "identity": self.identity,
            "config": self.config,
            "fidelity": self.fidelity,
            "settings": {c.name: c.resolved for c in self.cells},  # every cell's method settings, resolved
        }

    @classmethod
    def load(cls, out: Path) -> GridPlan:
        path = out / GRID_FILE
        if not path.exists():
            raise ConfigError(
                f"'{out}' has no {GRID_FILE}, so no eval grid was started there.",
                "Pass the --out folder of an eval run (guiagent eval SOURCE --out OUT).",
            )
        try:
            data = json.loads(path.read_text())
            return cls(
                cells=[Cell.from_list(c) for c in data["cells"]],
                trajectories=[(str(k), int(n)) for k, n in data["trajectories"]],
                identity=data["identity"],
                config=data.get("config", {}),
                title=data.get("title", ""),
                fidelity=bool(data.get("fidelity", False)),
            )
        except (ValueError, KeyError, TypeError) as error:
            raise ConfigError(
                f"'{path}' is not a readable grid file ({error}).", "Restore it, or start the grid in a new --out."
            ) from error

    def save(self, out: Path) -> None:
        _write_atomically(out / GRID_FILE, json.dumps(self.as_dict(), indent=2) + "\n")


def trajectory_keys(trajectories: Iterable[Trajectory]) -> list[str]:
    """File-safe, unique keys in load order: the name, with ``-2``, ``-3``... when a name repeats."""
    keys: list[str] = []
    for trajectory in trajectories:
        base = re.sub(r"[^A-Za-z0-9._-]+", "_", trajectory.name).strip("._") or "trajectory"
        key, copy = base, 1
        while key in keys:
            copy += 1
            key = f"{base}-{copy}"
        keys.append(key)
    return keys


def prepare(plan: GridPlan, out: Path, *, fresh: bool = False) -> list[Unit]:
    """Record the grid in ``out`` and return the units still to compute (all of them when ``fresh``).

    A grid started with another configuration is refused rather than mixed; cells or trajectories may be
    added (their units are simply missing).
    """
    if (out / GRID_FILE).exists() and not fresh:
        previous = GridPlan.load(out)
        keys = set(previous.identity) | set(plan.identity)
        changed = {k for k in keys if previous.identity.get(k) != plan.identity.get(k)}
        if changed:
            was = ", ".join(f"{k}={previous.identity.get(k)!r}" for k in sorted(changed))
            now = ", ".join(f"{k}={plan.identity.get(k)!r}" for k in sorted(changed))
            raise ConfigError(
                f"'{out}' holds a grid computed with {was}, and this run asks for {now}.",
                "Use another --out, or pass --fresh to recompute everything there.",
            )
    out.mkdir(parents=True, exist_ok=True)
    plan.save(out)
    for stale in (out / "parts").glob("*/.*.tmp"):  # a rank killed while writing (no rank runs now)
        stale.unlink()
    return plan.units if fresh else missing_units(plan, out)


def shard(units: list[Unit], world: int) -> list[list[Unit]]:
    """Split ``units`` over ``world`` ranks, balanced by steps; every rank computes the same split.

    Longest unit first to the least-loaded rank (ties: the lowest rank); each rank then works in grid order.
    """
    order = {unit: index for index, unit in enumerate(units)}
    loads, parts = [0] * world, [[] for _ in range(world)]
    for unit in sorted(units, key=lambda u: -u.steps):
        rank = min(range(world), key=lambda r: (loads[r], r))
        parts[rank].append(unit)
        loads[rank] += unit.steps
    return [sorted(part, key=order.__getitem__) for part in parts]


def run_units(
    units: list[Unit],
    trajectories: dict[str, Trajectory],
    make_decider: Callable,
    set_cell: Callable,
    *,
    out: Path,
    plan: GridPlan,
    launch: str = "",
    rank: int = 0,
    fresh: bool = False,
    progress: Callable[[str], None] = lambda text: None,
) -> int:
    """Replay each unit (and run its fidelity pass) and write it as soon as it finishes; returns how many were
    computed. Unless ``fresh``, a unit whose replay is on disk but whose fidelity pass is not only runs the pass."""
    fidelity = FidelityRunner(make_decider) if any(plan.wants_fidelity(u) for u in units) else None
    for number, unit in enumerate(units, start=1):
        set_cell(unit.cell.method, unit.cell.budget, unit.cell.context)
        done = {"step": 0, "fidelity step": 0}

        def tick(result: Any, unit: Unit = unit, number: int = number, done: dict[str, int] = done) -> None:
            what = "fidelity step" if isinstance(result, FidelityStep) else "step"
            done[what] += 1
            where = f"{unit.cell.method} {unit.cell.budget} {unit.trajectory}"
            progress(f"[{number}/{len(units)}] {where}: {what} {done[what]}/{unit.steps}")

        trajectory = trajectories[unit.trajectory]
        steps = load_unit(unit, out) if not fresh and is_current(unit, out) else None
        if steps is None:
            steps = replay([trajectory], make_decider, metric=plan.metric, on_step=tick).steps
        records = None
        if fidelity is not None and plan.wants_fidelity(unit):
            records = fidelity(trajectory, unit.cell, on_step=tick)
        save_unit(unit, steps, out, fidelity=records)
        _append_line(out / LAUNCHES_FILE, {"launch": launch, "rank": rank, "unit": unit.name, "time": time.time()})
    return len(units)


def save_unit(unit: Unit, steps: list[StepResult], out: Path, fidelity: list[FidelityStep] | None = None) -> Path:
    """The unit's step results (and fidelity records), exactly (no rounding), written so that a file exists only
    when complete."""
    path = unit.path(out)
    record: dict[str, Any] = {
        "cell": unit.cell.as_list(),
        "trajectory": unit.trajectory,
        "settings": unit.cell.resolved,
        "steps": [dataclasses.asdict(step) for step in steps],
    }
    if fidelity is not None:
        record["fidelity"] = [dataclasses.asdict(step) for step in fidelity]
    _write_atomically(path, json.dumps(record, ensure_ascii=False, default=str) + "\n")
    return path


def load_unit(unit: Unit, out: Path) -> list[StepResult]:
    return _read_unit(unit, out, lambda record: [StepResult(**step) for step in record["steps"]])


def load_fidelity(unit: Unit, out: Path) -> list[FidelityStep] | None:
    """The unit's fidelity records, or None when its file has none (computed without the pass)."""

    def records(record: dict[str, Any]) -> list[FidelityStep] | None:
        return None if record.get("fidelity") is None else [FidelityStep(**step) for step in record["fidelity"]]

    return _read_unit(unit, out, records)


def _read_unit(unit: Unit, out: Path, build: Callable[[dict[str, Any]], Any]) -> Any:
    path = unit.path(out)
    try:
        return build(json.loads(path.read_text()))
    except (ValueError, KeyError, TypeError) as error:
        raise ConfigError(
            f"The result file '{path}' is unreadable ({error}).", "Delete it and run the eval again to recompute it."
        ) from error


def is_current(unit: Unit, out: Path) -> bool:
    """Whether the unit's file exists and was computed with the method settings its cell resolves to now."""
    return unit.path(out).exists() and _read_unit(unit, out, lambda r: r.get("settings")) == unit.cell.resolved


def missing_units(plan: GridPlan, out: Path) -> list[Unit]:
    """Units with no file or one computed with other method settings, or (fidelity on) a compressing cell's unit
    whose file has no fidelity records."""
    return [
        u for u in plan.units if not is_current(u, out) or (plan.wants_fidelity(u) and load_fidelity(u, out) is None)
    ]


def merge(out: Path, plan: GridPlan | None = None) -> list[dict[str, Any]]:
    """Every cell's summary and report from the unit files, in grid order; refuses while units are missing."""
    plan = plan or GridPlan.load(out)
    if missing := missing_units(plan, out):
        raise ConfigError(
            f"{len(missing)} of {len(plan.units)} grid units have no result in '{out}' yet "
            f"(first: {missing[0].cell.method} {missing[0].cell.budget} on {missing[0].trajectory}).",
            "Run the same eval command again to compute them (finished units are skipped), then merge.",
        )
    rows = []
    for cell in plan.cells:
        steps = [step for key, n in plan.trajectories for step in load_unit(Unit(cell, key, n), out)]
        config = {"method": cell.method, "budget": cell.budget, "settings": cell.resolved}
        summary = ReplaySummary(steps, {**plan.config, **config, "metric": plan.metric or "default"})
        write_report(summary, out / "cells" / cell.name)
        fidelity = _cell_fidelity(plan, cell, out)
        rows.append({**row(cell, summary.as_dict(), fidelity), "summary": summary.as_dict(), "fidelity": fidelity})
    return rows


def _cell_fidelity(plan: GridPlan, cell: Cell, out: Path) -> dict[str, Any] | None:
    """The cell's fidelity summary (``OUT/cells/<cell>/fidelity.jsonl`` its records); None unless every unit of
    the cell has them; the full cell's by definition when the grid measures fidelity."""
    if cell.method == "full":
        return dict(FULL_FIDELITY) if plan.fidelity else None
    records = [load_fidelity(Unit(cell, key, n), out) for key, n in plan.trajectories]
    if any(r is None for r in records):
        return None
    steps = [step for part in records for step in part]
    lines = [json.dumps(dataclasses.asdict(step), ensure_ascii=False) + "\n" for step in steps]
    _write_atomically(out / "cells" / cell.name / "fidelity.jsonl", "".join(lines))
    return summarize(steps)


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with temporary.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def _append_line(path: Path, record: dict[str, Any]) -> None:
    """One short line per ``write``: appends from several ranks do not interleave."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(descriptor, (json.dumps(record) + "\n").encode())
    finally:
        os.close(descriptor)


def run_grid(
    plan: GridPlan,
    trajectories: list[Trajectory],
    deciders: Callable[[], tuple[Callable, Callable]],
    *,
    out: Path,
    ranks: Ranks | None = None,
    fresh: bool = False,
    progress: Callable[[str], None] = lambda text: None,
) -> list[dict[str, Any]] | None:
    """Compute this rank's share of the grid's unfinished units; rank 0 then merges and returns the rows.

    ``deciders()`` loads the model and returns ``(make_decider, set_cell)``; a rank with nothing to compute
    never loads it. One process is the one-rank case of the same path, so its results are the same.
    """
    ranks = ranks or Ranks()
    ranks.join()
    try:
        verdict = _prepare_or_refuse(plan, out, fresh) if ranks.rank == 0 else None
        status, *payload = ranks.share(verdict)
        if status == "refused":
            raise ConfigError(*payload)
        pending, launch = payload
        if ranks.rank == 0 and len(pending) < len(plan.units):
            progress(f"{len(plan.units) - len(pending)} of {len(plan.units)} units already finished in '{out}'.")
        mine = shard(pending, ranks.world)[ranks.rank]
        if mine:
            make_decider, set_cell = deciders()
            keyed = dict(zip(trajectory_keys(trajectories), trajectories, strict=True))
            try:
                run_units(
                    mine,
                    keyed,
                    make_decider,
                    set_cell,
                    out=out,
                    plan=plan,
                    launch=launch,
                    rank=ranks.rank,
                    fresh=fresh,
                    progress=progress,
                )
            except KeyboardInterrupt:
                finished = len(plan.units) - len(missing_units(plan, out))
                raise GuiAgentError(
                    f"Interrupted: {finished} of {len(plan.units)} grid units are finished in '{out}'.",
                    "Run the same command again to compute the rest (finished units are skipped).",
                ) from None
        progress(f"computed {len(mine)} unit(s).")
        ranks.wait()
        return merge(out, plan) if ranks.rank == 0 else None
    finally:
        ranks.leave()


def _prepare_or_refuse(plan: GridPlan, out: Path, fresh: bool) -> tuple:
    """What rank 0 shares: ("ready", pending units, launch id) or ("refused", message, hint) for every rank."""
    try:
        pending = prepare(plan, out, fresh=fresh)
    except ConfigError as error:
        return ("refused", error.message, error.hint)
    return ("ready", pending, f"{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}")
