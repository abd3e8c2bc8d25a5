"""Where trajectories come from: our own folders, or benchmark layouts recognised on the fly.

``load_source(path)`` accepts a trajectory folder (or its ``trajectory.jsonl``), a folder of trajectory folders
(e.g. the runs folder), an AgentNetBench folder, an AndroidControl JSON file, a ScreenSpot-v2 folder, a
ScreenSpot-Pro folder, a Multimodal-Mind2Web jsonl (or a folder of them), and the name ``bundled`` (the real
AgentNetBench trajectory shipped with guiagent).
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from guiagent.agent.trajectory.format import FILE, Trajectory, TrajectoryError, load_trajectory

BUNDLED = "bundled"


def bundled_folder() -> Path:
    """The bundled AgentNetBench folder (task JSON + images/), shipped as package data."""
    return Path(str(resources.files("guiagent").joinpath("data/agentnetbench")))


EXAMPLE_TASK = "s_df0fd37049f470c2"


def example_steps() -> tuple[str, list[Path]]:
    """The bundled task's instruction and its screenshots in step order."""
    folder = bundled_folder()
    task = json.loads((folder / f"{EXAMPLE_TASK}.json").read_text())
    return task["user_task_description"], [folder / "images" / step["image"] for step in task["steps"]]


def load_source(source: str | Path, *, images: str | Path | None = None, limit: int | None = None) -> list[Trajectory]:
    """Trajectories from ``source`` (see the module doc); one clear error when it is none of those."""
    from guiagent.agent.eval.benchmarks.agentnetbench.importer import is_agentnetbench, load_agentnetbench

    path = bundled_folder() if str(source) == BUNDLED else Path(source).expanduser()
    if not path.exists():
        raise TrajectoryError(
            f"'{source}' does not exist.", f"Pass a trajectory folder, a benchmark folder or '{BUNDLED}'."
        )
    if path.name == FILE or (path / FILE).exists():
        return [load_trajectory(path)]
    if path.is_dir() and (runs := sorted(p for p in path.iterdir() if (p / FILE).exists())):
        return [load_trajectory(p) for p in runs[:limit]]
    if is_agentnetbench(path):
        return load_agentnetbench(path, images, limit)
    if path.is_file() and path.suffix == ".json" and _looks_like_androidcontrol(path):
        from guiagent.agent.eval.benchmarks.androidcontrol.importer import load_androidcontrol

        return load_androidcontrol(path, Path(images) if images else None, limit)
    if path.is_dir() and any(path.glob("screenspot_*_v2.json")):
        from guiagent.agent.eval.benchmarks.screenspot import load_screenspot_v2

        return load_screenspot_v2(path, Path(images) if images else None, limit=limit)
    annotations = path / "annotations" if (path / "annotations").is_dir() else path
    if path.is_dir() and any(_looks_like_screenspot_pro(p) for p in sorted(annotations.glob("*.json"))[:3]):
        from guiagent.agent.eval.benchmarks.screenspot import load_screenspot_pro

        return load_screenspot_pro(annotations, Path(images) if images else None, limit=limit)
    from guiagent.agent.eval.benchmarks.mind2web.importer import is_mind2web, load_mind2web

    if is_mind2web(path):
        return load_mind2web(path, images, limit)
    raise TrajectoryError(
        f"'{source}' is neither a guiagent trajectory nor a benchmark layout guiagent knows.",
        "Supported: guiagent trajectory folders, AgentNetBench (task JSONs + images/), "
        "AndroidControl JSON, ScreenSpot-v2 and ScreenSpot-Pro folders, Multimodal-Mind2Web jsonl.",
    )


def _first_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):  # unreadable, not UTF-8, not JSON: not this layout
        return None


def _looks_like_androidcontrol(path: Path) -> bool:
    data = _first_json(path)
    return isinstance(data, list) and bool(data) and isinstance(data[0], dict) and "goal" in data[0]


def _looks_like_screenspot_pro(path: Path) -> bool:
    data = _first_json(path)
    return isinstance(data, list) and bool(data) and isinstance(data[0], dict) and "img_size" in data[0]
