"""What the dashboard costs a run: the bundled example replayed with the tiny model, with and without it.

Three modes run the same replay (same model load, same trajectory, greedy decoding) in the same process, several
times, interleaved (the order flips every repeat) so machine noise hits all alike:

- ``plain``: the console path, the replay on the main thread;
- ``thread``: the same replay on a worker thread, no UI (what moving the loop off the main thread costs alone);
- ``dashboard``: the replay in the dashboard's worker while the app runs headless (``App.run(headless=True)``)
  at a fixed terminal size, drawing every panel each step as it would on screen.

A step's time is the replay's wall time over its steps, taken inside the worker for the dashboard (the app's
start and exit are not counted; they are reported apart).

    .venv/bin/python benchmarks/dashboard_overhead.py            # 7 steps, 8 new tokens, 5 repeats each
    .venv/bin/python benchmarks/dashboard_overhead.py --repeats 9 --max-new-tokens 16 --size 160x45
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import threading
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="runs per mode (interleaved)")
    parser.add_argument("--steps", type=int, default=7, help="steps of the bundled example to replay (max 7)")
    parser.add_argument("--max-new-tokens", type=int, default=8)
    parser.add_argument("--method", default="starkv")
    parser.add_argument("--budget", default="20")
    parser.add_argument("--size", default="100x30", help="the headless terminal, WxH")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()

    from guiagent.agent.eval.replay import replay
    from guiagent.agent.eval.sources import load_source
    from guiagent.agent.run.runner import RunOptions, replay_deciders
    from guiagent.compression.presses import method_names
    from guiagent.ui.control import RunControl
    from guiagent.ui.dashboard import Dashboard
    from guiagent.ui.launch import replay_job

    size = tuple(int(v) for v in args.size.lower().split("x"))
    [trajectory] = load_source("bundled")
    trajectories = [dataclasses.replace(trajectory, steps=trajectory.steps[: args.steps])]
    steps = len(trajectories[0].steps)
    options = RunOptions(task="replay", model="tiny", max_new_tokens=args.max_new_tokens, device=args.device)
    make_decider, set_cell = replay_deciders(options)
    set_cell(args.method, args.budget)

    def plain() -> tuple[float, float]:
        start = time.perf_counter()
        replay(trajectories, make_decider)
        return time.perf_counter() - start, 0.0

    def thread() -> tuple[float, float]:
        out: list[tuple[float, float]] = []
        worker = threading.Thread(target=lambda: out.append(plain()))
        worker.start()
        worker.join()
        return out[0]

    def dashboard() -> tuple[float, float]:
        inside: list[float] = []

        def job(control: RunControl):
            start = time.perf_counter()
            summary = replay_job(trajectories, make_decider)(control)
            inside.append(time.perf_counter() - start)
            return summary

        control = RunControl(budget=args.budget, method=args.method, methods=method_names(), total_steps=steps)
        app = Dashboard(job, control, title="benchmark", exit_when_done=True)
        start = time.perf_counter()
        app.run(headless=True, size=size)
        total = time.perf_counter() - start
        if app.error is not None:
            raise app.error
        return inside[0], total - inside[0]

    plain()  # warm-up: first-call costs (allocator, kernels) land in neither mode
    modes = (plain, thread, dashboard)
    runs: dict[str, list[tuple[float, float]]] = {mode.__name__: [] for mode in modes}
    for repeat in range(args.repeats):
        for mode in modes if repeat % 2 == 0 else modes[::-1]:
            runs[mode.__name__].append(mode())

    per_step = {mode: [wall / steps * 1000 for wall, _ in values] for mode, values in runs.items()}
    mean = {mode: statistics.fmean(values) for mode, values in per_step.items()}
    spread = {mode: statistics.stdev(values) if len(values) > 1 else 0.0 for mode, values in per_step.items()}
    app_ms = statistics.fmean(extra for _, extra in runs["dashboard"]) * 1000
    print(
        f"bundled example, {steps} steps, tiny model, max_new_tokens {args.max_new_tokens}, {args.method} "
        f"{args.budget}, {args.repeats} runs per mode (interleaved), headless dashboard {size[0]}x{size[1]}\n"
    )
    print(f"{'mode':<10} {'mean step ms':>13} {'sd ms':>8} {'runs':>5}")
    for mode in runs:
        print(f"{mode:<10} {mean[mode]:>13.1f} {spread[mode]:>8.1f} {len(per_step[mode]):>5}")
    difference = mean["dashboard"] - mean["plain"]
    print(f"\nper step: {difference:+.1f} ms with the dashboard (x{mean['dashboard'] / mean['plain']:.3f})")
    print(
        f"  of which {mean['thread'] - mean['plain']:+.1f} ms is the worker thread alone, "
        f"{mean['dashboard'] - mean['thread']:+.1f} ms the UI"
    )
    print(f"once per run: {app_ms:.0f} ms to start and close the dashboard (not in the step times)")


if __name__ == "__main__":
    main()
