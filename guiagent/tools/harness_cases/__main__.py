"""``python -m guiagent.tools.harness_cases --guikv DIR --starkv DIR --out tests/data/harness [BENCHMARK...]``

Runs each benchmark's generator (``guiagent.tools.harness_cases.<benchmark>.generate``) against the two harness
clones and writes its fixtures under ``--out``. A benchmark whose generator module is not there yet is
reported and skipped when it was not asked for by name.
"""

from __future__ import annotations

import argparse
import importlib
import sys

BENCHMARKS = ("agentnetbench", "androidcontrol", "screenspot", "mind2web")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m guiagent.tools.harness_cases", description=__doc__)
    parser.add_argument("--guikv", required=True, help="clone of SalesforceAIResearch/GUI-KV")
    parser.add_argument("--starkv", required=True, help="clone of kawhiiiileo/STaR-KV")
    parser.add_argument("--out", required=True, help="fixture folder, e.g. tests/data/harness")
    parser.add_argument("benchmarks", nargs="*", metavar="BENCHMARK", help=f"of {', '.join(BENCHMARKS)}; default: all")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.benchmarks) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    for benchmark in args.benchmarks or BENCHMARKS:
        name = f"guiagent.tools.harness_cases.{benchmark}"
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name != name or args.benchmarks:
                raise
            print(f"{benchmark}: no generator module yet; skipped", file=sys.stderr)
            continue
        for path in module.generate(args.guikv, args.starkv, args.out):
            print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
