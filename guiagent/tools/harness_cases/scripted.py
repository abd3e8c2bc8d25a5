"""Run a published harness's ``__main__`` loop with the model replaced by scripted answers.

The per-benchmark generators need what the harness really sends and really scores, so instead of calling its
helpers one by one they execute the body of its ``if __name__ == '__main__':`` block (argument parsing, data
loading, prompt building, parsing, conversion, metric) in the module's namespace, with:

- the model classes, processors and tokenizers replaced by fakes that record every message list the harness
  renders (``apply_chat_template``) and decode to the scripted answer for that message list;
- ``process_vision_info``, the vision-token span analysis and every KV-cache hook imported from
  ``attention_helpers`` made inert (argument helpers ``add_*`` / ``finalize_*`` / ``is_*`` stay real: the
  harness reads the options they add).

The loop's own variables (``step_correctness``, ``tasks_result``, ``results``, ...) and what it printed are
returned for the generator to read the scores and converted predictions from. Nothing of the harness is copied;
it runs from the user's clone.
"""

from __future__ import annotations

import ast
import contextlib
import copy
import io
import json
import sys
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from guiagent.agent.eval.protocols.harness_parsing import PROCESSOR_PIXELS
from guiagent.errors import ConfigError
from guiagent.tools.harness_cases.loader import Stub, load_harness_module

UITARS_PATH = "ByteDance-Seed/UI-TARS-1.5-7B"  # the exact ids GUI-KV compares against
OPENCUA_PATH = "xlangai/OpenCUA-7B"
MODEL_PATHS = {"uitars": UITARS_PATH, "opencua": OPENCUA_PATH}
_KEEP_REAL = ("add_", "finalize_", "is_")


@dataclass
class Recorder:
    """The message lists the harness rendered, in order, and the answer each one got."""

    answer: Callable[[list[dict[str, Any]]], str]
    calls: list[list[dict[str, Any]]] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)

    def render(self, messages: list[dict[str, Any]]) -> None:
        self.calls.append(copy.deepcopy(messages))
        self.answers.append(self.answer(messages))

    def decoded(self) -> list[str]:
        return [self.answers[-1]]


class _Inputs(dict):
    """What a processor call returns: a mapping for ``**inputs`` that also answers attribute access."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError as error:
            raise AttributeError(name) from error

    def to(self, *args: Any, **kwargs: Any) -> _Inputs:
        return self


def _inputs() -> _Inputs:
    return _Inputs(
        input_ids=torch.zeros((1, 1), dtype=torch.long),
        pixel_values=torch.zeros((4, 1)),
        image_grid_thw=torch.tensor([[1, 2, 2]]),
    )


class _Tokenizer:
    eos_token_id = 0

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    def apply_chat_template(self, messages: list[dict[str, Any]], tokenize: bool = False, **kwargs: Any) -> Any:
        self.recorder.render(messages)
        return [0] if tokenize else "<rendered>"

    def batch_decode(self, *args: Any, **kwargs: Any) -> list[str]:
        return self.recorder.decoded()


class _Processor(_Tokenizer):
    """Stands in for AutoProcessor (chat template, call, decode) and AutoImageProcessor (``preprocess``)."""

    def __init__(self, recorder: Recorder) -> None:
        super().__init__(recorder)
        self.tokenizer = _Tokenizer(recorder)
        self.image_processor = Stub("image_processor")
        self.image_processor.min_pixels, self.image_processor.max_pixels = PROCESSOR_PIXELS  # read by STaR-KV's AC

    def __call__(self, *args: Any, **kwargs: Any) -> _Inputs:
        return _inputs()

    def preprocess(self, images: list[Any], **kwargs: Any) -> dict[str, Any]:
        return {"pixel_values": [[0.0]] * 4 * len(images), "image_grid_thw": [[1, 2, 2]] * len(images)}


class _Model(Stub):
    device = "cpu"

    def generate(self, *args: Any, **kwargs: Any) -> torch.Tensor:
        """Prompt ids plus one new id, readable as a tensor and as ``return_dict_in_generate``'s ``.sequences``."""
        ids = args[0] if args else kwargs["input_ids"]
        generated = torch.zeros((1, ids.shape[1] + 1), dtype=torch.long)
        generated.sequences = generated
        return generated


class _Loader:
    def __init__(self, make: Callable[[], Any]) -> None:
        self.make = make

    def from_pretrained(self, *args: Any, **kwargs: Any) -> Any:
        return self.make()


def _main_body(source: Path) -> ast.Module:
    tree = ast.parse(source.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.If) and "__main__" in ast.unparse(node.test):
            return ast.Module(body=node.body, type_ignores=[])
    raise ConfigError(f"{source} has no `if __name__ == '__main__':` block.", "Point at the harness clone.")


@contextlib.contextmanager
def _helper_modules(module: types.ModuleType, root: Path) -> Iterator[None]:
    """Make the harness's own helper modules importable while its loop runs (e.g. STaR-KV's in-loop
    ``from opencua_utils import ...``): the loader drops them after the import, so each one is rebuilt from the
    globals of the functions the script imported from it, and dropped again afterwards."""
    helpers = {}
    for value in vars(module).values():
        found = getattr(value, "__globals__", {})
        name = found.get("__name__")
        if name and name != module.__name__ and str(found.get("__file__") or "").startswith(str(root)):
            helpers.setdefault(name, found)
    added = [name for name in helpers if name not in sys.modules]
    for name in added:
        sys.modules[name] = types.ModuleType(name)
        vars(sys.modules[name]).update(helpers[name])
    try:
        yield
    finally:
        for name in added:
            del sys.modules[name]


def write_rows(folder: Path, files: dict[str, list[dict[str, Any]]]) -> list[Path]:
    """Write each list as a JSON array with one row a line (diffable, compact); the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, rows in files.items():
        lines = ",\n".join(json.dumps(row, ensure_ascii=False) for row in rows)
        (folder / name).write_text(f"[\n{lines}\n]\n", encoding="utf-8")
        written.append(folder / name)
    return written


@dataclass
class Run:
    """One execution: what was rendered and answered, the loop's variables, and what it printed."""

    recorder: Recorder
    namespace: dict[str, Any]
    log: str

    def printed(self, label: str) -> list[Any]:
        """The Python literals the harness printed after ``label`` (e.g. its ``prediction_response:`` lines)."""
        values = []
        for line in self.log.splitlines():
            if line.startswith(label):
                values.append(ast.literal_eval(line[len(label) :].strip()))
        return values


def run_main(
    root: Path,
    relative: str,
    argv: list[str],
    answer: Callable[[list[dict[str, Any]]], str],
    seed: dict[str, Any] | None = None,
) -> Run:
    """Execute the harness script's main block with ``argv``; ``seed``: globals set before it runs."""
    root = Path(root).expanduser().resolve()
    recorder = Recorder(answer)
    module = load_harness_module(root, relative)
    with _helper_modules(module, root):
        namespace = dict(vars(module))
        for name, value in vars(module).items():
            helper = callable(value) and getattr(value, "__module__", "") == "attention_helpers"
            if helper and not name.startswith(_KEEP_REAL):
                namespace[name] = lambda *args, **kwargs: {}
        processor = _Processor(recorder)
        spans = {"vision_start_idx": [0], "vision_end_idx": [1]}  # vision-token analysis, only for the KV hooks
        fakes = {
            "analyze_vision_tokens_multi_images": lambda *args, **kwargs: dict(spans),
            "analyze_vision_tokens_opencua_multi_images": lambda *args, **kwargs: dict(spans),
            "process_vision_info": lambda messages, *args, **kwargs: (None, None),
            "Qwen2_5_VLForConditionalGeneration": _Loader(lambda: _Model("model")),
            "AutoModel": _Loader(lambda: _Model("model")),
            "AutoProcessor": _Loader(lambda: processor),
            "AutoImageProcessor": _Loader(lambda: processor),
            "AutoTokenizer": _Loader(lambda: processor.tokenizer),
            "__name__": "__main__",
        }
        namespace.update(fakes | (seed or {}))
        code = compile(_main_body(root / relative), str(root / relative), "exec")
        saved_argv, log = sys.argv, io.StringIO()
        sys.argv = [str(root / relative), *argv]
        try:
            with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
                exec(code, namespace)  # noqa: S102 - the user's own harness clone, run on purpose
        except (Exception, SystemExit) as error:  # argparse exits; the harness raises anything
            raise RuntimeError(f"{relative} failed: {error!r}\n{log.getvalue()[-3000:]}") from error
        finally:
            sys.argv = saved_argv
    return Run(recorder, namespace, log.getvalue())
