"""`make gpu-check`: the checks that need a GPU, as one prepared command for an offline CUDA box.

The box already has a CUDA torch (possibly older than the lock's, with an older transformers beside it). This
tool never touches that torch: it installs only the requirements that are missing or outside pyproject.toml's
ranges, from wheels handed to it in a folder (``make wheelhouse`` on a connected machine), then

1. runs the compat contracts and the session exactness tests on the GPU in bf16, once per attention kernel
   (sdpa; flash_attention_2 where flash-attn is installed);
2. runs the full-depth UI-TARS-1.5-7B-shaped bench (28 layers, 1-10 screenshots at 1080p, rolling vs.
   re-prefill per method: step latency, peak memory, decode tokens/s);
3. writes ``report.json`` and ``report.md`` into ``--out``.

It imports only the standard library until its requirements are in place. ``--reduced`` runs the same three
stages on the CPU in fp32 with a small bench, which is how CI keeps this command from rotting.

    python -m guiagent.tools.gpu_check --wheels ~/wheelhouse --out gpu-check-report
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
EXACTNESS_TESTS = ["tests/test_compat.py", "tests/compression/test_session.py"]
TEST_REQUIREMENTS = ["pytest>=8"]  # what the exactness stage needs beyond the package's own dependencies
TIME_LIMIT_S = 8 * 60


# -- stage 0: install what is missing -------------------------------------------------------------------------
def declared_requirements(pyproject: Path) -> list[str]:
    """The ``[project] dependencies`` of pyproject.toml (read without tomllib: the box may run Python 3.10)."""
    text = pyproject.read_text()
    block = re.search(r"^dependencies\s*=\s*\[(.*?)^\]", text, re.S | re.M)
    if block is None:
        raise SystemExit(f"gpu-check: no dependencies list in {pyproject}.")
    return re.findall(r'^\s*"([^"]+)"', block.group(1), re.M)


def _packaging() -> Any:
    try:
        import packaging.requirements as requirements
    except ImportError:  # pip vendors it, and pip is always there
        from pip._vendor.packaging import requirements  # type: ignore[no-redef]
    return requirements


def missing_requirements(requirements: list[str], installed: dict[str, str]) -> list[str]:
    """Requirements not satisfied by ``installed`` (name -> version), torch excluded: torch is the box's own."""
    parse = _packaging().Requirement
    missing = []
    for line in requirements:
        requirement = parse(line)
        if requirement.name.lower() == "torch":
            continue
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        version = installed.get(requirement.name.lower().replace("_", "-"))
        if version is None or not requirement.specifier.contains(version, prereleases=True):
            missing.append(line)
    return missing


def installed_versions() -> dict[str, str]:
    return {
        dist.metadata["Name"].lower().replace("_", "-"): dist.version
        for dist in importlib.metadata.distributions()
        if dist.metadata["Name"]
    }


def install_missing(wheels: Path | None) -> dict[str, Any]:
    """Install from ``wheels`` what is missing; torch is pinned to the installed one so pip never replaces it."""
    installed = installed_versions()
    if "torch" not in installed:
        raise SystemExit("gpu-check: no torch is installed; it expects the box's own CUDA build of torch.")
    needed = missing_requirements(declared_requirements(ROOT / "pyproject.toml") + TEST_REQUIREMENTS, installed)
    result = {"torch_kept": installed["torch"], "installed": needed}
    if not needed:
        return result
    if wheels is None:
        raise SystemExit(
            f"gpu-check: missing {', '.join(needed)}; pass WHEELS=DIR with their wheels ('make wheelhouse' on a "
            "connected machine writes them)."
        )
    constraint = ROOT / ".venv-gpu-torch-constraint.txt"
    constraint.write_text(f"torch=={installed['torch']}\n")
    command = [sys.executable, "-m", "pip", "install", "--no-index", "--find-links", str(wheels), "-c", str(constraint)]
    subprocess.run([*command, *needed], check=True)
    return result


# -- stage 1: exactness on the device ---------------------------------------------------------------------------
def kernels(device: str) -> list[str]:
    found = ["sdpa"]
    if device.startswith("cuda") and importlib.util.find_spec("flash_attn") is not None:
        found.append("flash_attention_2")
    return found


def run_exactness(device: str, dtype: str, attn: str, report_dir: Path, timeout_s: float) -> dict[str, Any]:
    """The exactness tests on ``device``/``dtype``/``attn`` in a subprocess; counts read from its JUnit XML."""
    junit = report_dir / f"exactness-{attn}.xml"
    env = {
        **os.environ,
        "GUIAGENT_TEST_DEVICE": device,
        "GUIAGENT_TEST_DTYPE": dtype,
        "GUIAGENT_TEST_ATTN": attn,
    }
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={junit}", *EXACTNESS_TESTS]
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout_s)
    counts = junit_counts(junit.read_text()) if junit.exists() else {}
    return {
        "attn": attn,
        "device": device,
        "dtype": dtype,
        "ok": done.returncode == 0,
        "seconds": round(time.perf_counter() - start, 1),
        **counts,
        "tail": done.stdout.strip().splitlines()[-3:],
    }


def junit_counts(xml: str) -> dict[str, int]:
    suite = re.search(r"<testsuite\b[^>]*>", xml)
    if suite is None:
        return {}
    fields = dict(re.findall(r'(\w+)="([^"]*)"', suite.group(0)))
    tests, failures, errors, skipped = (int(fields.get(k, 0)) for k in ("tests", "failures", "errors", "skipped"))
    return {"passed": tests - failures - errors - skipped, "failed": failures + errors, "skipped": skipped}


# -- stage 2: the 7B-shaped bench ---------------------------------------------------------------------------------
def run_full_depth_bench(device: str, dtype: str, reduced: bool) -> dict[str, Any]:
    from guiagent.tools.bench import GPU_7B, PRESETS, run_bench

    preset = PRESETS["7b-shaped"]
    settings = (
        {"steps": 2, "decode_tokens": 2, "layers": 1, "methods": ("starkv",)}
        if reduced
        else {key: GPU_7B[key] for key in ("steps", "decode_tokens", "layers", "methods")}
    )
    report = run_bench(preset, budgets=("20",), device=device, dtype=dtype, progress=print, **settings)
    return {"settings": {**settings, "methods": list(settings["methods"])}, "report": report}


def bench_summary(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Per configuration at the last step: latency, peak memory, cache, decode tokens/s, ratio to re-prefill."""
    decode_tokens = report["config"]["decode_tokens"]
    rows = []
    for run, ratio in zip(report["runs"], report["ratios"], strict=True):
        last = run["steps"][-1]
        rows.append(
            {
                "config": f"{run['mode']} {run['method']}" + ("" if run["method"] == "full" else f" {run['budget']}%"),
                "screenshots": last["step"],
                "latency_s": round(last["latency_s"], 3),
                "peak_mib": round(last["peak_bytes"] / 2**20),
                "cache_mib": round(last["cache_bytes"] / 2**20, 1),
                "decode_tokens_per_s": round(decode_tokens / last["decode_s"], 1) if last["decode_s"] else None,
                "latency_vs_rebuild_full": round(ratio["latency_vs_rebuild_full"], 3),
            }
        )
    return rows


# -- the report ----------------------------------------------------------------------------------------------------
def environment(device: str) -> dict[str, Any]:
    import torch
    import transformers

    cuda = torch.cuda.is_available() and device.startswith("cuda")
    return {
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "transformers": transformers.__version__,
        "flash_attn": importlib.util.find_spec("flash_attn") is not None,
        "device": torch.cuda.get_device_name(torch.device(device)) if cuda else "cpu",
    }


def markdown(report: dict[str, Any]) -> str:
    env = report["env"]
    lines = [
        f"# gpu-check on {env['device']}",
        "",
        f"torch {env['torch']} (CUDA {env['cuda']}), transformers {env['transformers']}, "
        f"flash-attn {'yes' if env['flash_attn'] else 'no'}; kept torch {report['install']['torch_kept']}, "
        f"installed: {', '.join(report['install']['installed']) or 'nothing'}; {report['seconds']:.0f} s in all.",
        "",
        "| exactness | device | dtype | passed | failed | skipped | s |",
        "|---|---|---|---|---|---|---|",
    ]
    for run in report["exactness"]:
        lines.append(
            f"| {run['attn']} | {run['device']} | {run['dtype']} | {run.get('passed', '?')} | {run.get('failed', '?')} "
            f"| {run.get('skipped', '?')} | {run['seconds']} |"
        )
    lines += [
        "",
        "| bench config | screenshots | step latency s | peak MiB | cache MiB | decode tok/s | latency vs re-prefill |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in report["bench"]:
        lines.append(
            f"| {row['config']} | {row['screenshots']} | {row['latency_s']} | {row['peak_mib']} | {row['cache_mib']} "
            f"| {row['decode_tokens_per_s']} | {row['latency_vs_rebuild_full']}x |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gpu-check", description=__doc__.split("\n\n")[0])
    parser.add_argument("--wheels", type=Path, help="folder of wheels for whatever is missing (make wheelhouse)")
    parser.add_argument("--out", type=Path, default=ROOT / "gpu-check-report", help="where report.json/.md go")
    parser.add_argument("--device", default="cuda", help="the GPU to check (default cuda)")
    parser.add_argument("--reduced", action="store_true", help="CPU, fp32, a small bench: the CI form")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    install = install_missing(args.wheels)
    device, dtype = ("cpu", "fp32") if args.reduced else (args.device, "bf16")

    import torch

    if device.startswith("cuda") and not torch.cuda.is_available():
        print(f"gpu-check: torch {torch.__version__} sees no CUDA device; run it on the GPU box (or --reduced).")
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    exactness = [run_exactness(device, dtype, attn, args.out, TIME_LIMIT_S / 4) for attn in kernels(device)]
    bench = run_full_depth_bench(device, dtype, args.reduced)
    report = {
        "env": environment(device),
        "install": install,
        "exactness": exactness,
        "bench": bench_summary(bench["report"]),
        "bench_settings": bench["settings"],
        "bench_report": bench["report"],
        "seconds": time.perf_counter() - start,
    }
    (args.out / "report.json").write_text(json.dumps(report, indent=2))
    (args.out / "report.md").write_text(markdown(report))
    print(markdown(report))
    print(f"Wrote {args.out / 'report.json'} and report.md.")
    ok = all(run["ok"] for run in exactness)
    if report["seconds"] > TIME_LIMIT_S:
        print(f"gpu-check took {report['seconds']:.0f} s, over its {TIME_LIMIT_S} s budget.")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
