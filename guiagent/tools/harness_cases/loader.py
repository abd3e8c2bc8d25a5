"""Import a published harness module from the user's clone, on today's transformers, without its GPU stack.

The harnesses were written for transformers 4.54 with flash-attn, qwen-vl-utils, seaborn and friends. Only a
few pure functions and cluster classes are needed to generate cases, so a module is imported with:

- its folder (and the repo's other source folders) on ``sys.path`` for the duration of the import;
- every top-level package in ``STUBBED`` replaced by an inert stub (attribute access returns a stub);
- every ``from transformers... import Name`` that the installed transformers lacks satisfied by a stub
  attribute on that module (added only while importing, removed afterwards).

>>> utils = load_harness_module("/path/to/GUI-KV", "eval/process_utils.py")  # doctest: +SKIP
>>> utils.evaluate_action(...)  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import re
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from guiagent.errors import ConfigError

STUBBED = (
    "qwen_vl_utils",
    "seaborn",
    "pandas",
    "matplotlib",
    "flash_attn",
    "nvtx",
    "tiny_api_cuda",
    "scipy",
    "accelerate",
    "deepspeed",
    "wandb",
)
_MISSING_NAME = re.compile(r"cannot import name '(\w+)' from '([\w.]+)'")


class Stub(types.ModuleType):
    """An inert stand-in: any attribute is another stub, calling it returns a stub."""

    __path__: list[str] = []

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return Stub(f"{self.__name__}.{name}")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if len(args) == 1 and callable(args[0]) and not kwargs:
            return args[0]  # used as a decorator
        return Stub(f"{self.__name__}()")

    def __mro_entries__(self, bases: tuple) -> tuple:
        return (object,)


class _StubFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname: str, path: Any, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if fullname.split(".")[0] in STUBBED:
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        return None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        return Stub(spec.name)

    def exec_module(self, module: types.ModuleType) -> None:
        return None


@contextmanager
def _harness_imports(root: Path) -> Iterator[list[tuple[Any, str]]]:
    folders = [str(p) for p in (root / "eval", root / "gui_kv", root / "starkv", root) if p.is_dir()]
    finder, added = _StubFinder(), []
    saved_path, saved_modules = list(sys.path), set(sys.modules)
    sys.path[:0] = folders
    sys.meta_path.insert(0, finder)
    try:
        yield added
    finally:
        sys.meta_path.remove(finder)
        sys.path[:] = saved_path
        for module, name in added:
            delattr(module, name)
        for name in set(sys.modules) - saved_modules:  # harness modules and stubs do not outlive the import
            source = getattr(sys.modules[name], "__file__", None) or ""
            if name.split(".")[0] in STUBBED or source.startswith(str(root)):
                del sys.modules[name]  # two harnesses' same-named modules (ui_tars_utils) never mix


def load_harness_module(root: str | Path, relative: str) -> types.ModuleType:
    """Import ``root/relative`` (e.g. ``eval/process_utils.py``) from a published harness clone."""
    root = Path(root).expanduser().resolve()
    source = root / relative
    if not source.is_file():
        raise ConfigError(
            f"'{source}' does not exist.", "Point the option at a clone of the published harness (its top folder)."
        )
    name = f"_harness_{root.name}_{source.stem}".replace("-", "_")
    with _harness_imports(root) as added:
        for _ in range(200):  # each round satisfies one name today's transformers no longer has
            spec = importlib.util.spec_from_file_location(name, source)
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            try:
                spec.loader.exec_module(module)
                return module
            except ImportError as error:
                del sys.modules[name]
                match = _MISSING_NAME.search(str(error))
                if match is None:
                    raise ConfigError(
                        f"The harness module {relative} cannot be imported ({error}).",
                        "Install what it imports, or report the missing name.",
                    ) from error
                target = importlib.import_module(match.group(2))
                setattr(target, match.group(1), Stub(f"{match.group(2)}.{match.group(1)}"))
                added.append((target, match.group(1)))
    raise ConfigError(f"The harness module {relative} keeps failing to import.", "Check the harness folder.")
