"""The architecture is a contract: layers import one way only, and no module imports itself in a circle.

``errors <- paths <- compat <- compression <- agent <- ui | tools <- cli`` (pyproject's ``[tool.importlinter]``),
checked by import-linter in ``make test`` and here; a wrong-way import fails (shown on a copy of the package).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(folder: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(folder)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=folder, env=env, capture_output=True, text=True, timeout=120
    )


def test_the_package_keeps_its_layers():
    done = lint_imports(ROOT)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "1 kept, 0 broken" in done.stdout


def test_a_wrong_way_import_breaks_the_contract(tmp_path):
    shutil.copytree(ROOT / "guiagent", tmp_path / "guiagent", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    budget = tmp_path / "guiagent" / "compression" / "budget.py"
    budget.write_text(budget.read_text() + "\nimport guiagent.ui.dashboard  # the wrong way: compression -> ui\n")
    done = lint_imports(tmp_path)
    assert done.returncode != 0
    assert "guiagent.compression is not allowed to import guiagent.ui" in done.stdout
    assert "guiagent.compression.budget -> guiagent.ui.dashboard" in done.stdout


def import_cycles(package: str) -> list[list[str]]:
    """Strongly connected groups of modules (Tarjan, iterative), counting imports inside functions too."""
    graph = grimp.build_graph(package)
    modules = sorted(graph.modules)
    edges = {m: sorted(graph.find_modules_directly_imported_by(m) & set(modules)) for m in modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    for root in modules:
        if root in index:
            continue
        work = [(root, iter(edges[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    group = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.append(member)
                        if member == node:
                            break
                    if len(group) > 1:
                        cycles.append(sorted(group))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(edges[child])))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return cycles


def test_the_cycle_finder_sees_a_cycle(tmp_path, monkeypatch):
    package = tmp_path / "circle"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from circle import b\n")
    (package / "b.py").write_text("def f():\n    from circle import a\n")  # inside a function counts too
    (package / "c.py").write_text("from circle import a\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert import_cycles("circle") == [["circle.a", "circle.b"]]


def test_no_import_cycles():
    assert import_cycles("guiagent") == []


# Modules over 400 lines, each with the one concern that justifies its length.
ONE_CONCERN = {
    "guiagent/compression/session.py": "the rolling KV session's bookkeeping",
    "guiagent/agent/run/shell_rules.py": "the shell-command classifier's rules",
}


def test_modules_stay_small_unless_they_are_one_concern():
    long = {
        path.relative_to(ROOT).as_posix(): len(path.read_text().splitlines())
        for path in (ROOT / "guiagent").rglob("*.py")
        if len(path.read_text().splitlines()) > 400
    }
    assert set(long) <= set(ONE_CONCERN), {path: lines for path, lines in long.items() if path not in ONE_CONCERN}


def test_cli_functions_are_thin():
    import ast

    long = []
    for path in (ROOT / "guiagent" / "cli").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > 60:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({length} lines)")
    assert (ROOT / "guiagent" / "cli" / "__init__.py").exists()
    assert not long, long
