"""The option types several commands share, and the one object for the model/device flags.

Each flag is declared once, here, so ``--budget`` or ``--device`` reads the same in every command's help. The
model/device flags (``ModelFlags``) are added to a command by ``@model_flags`` where its ``flags`` parameter
stands, and reach it as one value: commands pass it on whole instead of copying six names around.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Annotated, Any, TypeVar, get_type_hints

import typer

if TYPE_CHECKING:
    from guiagent.agent.run.runner import RunOptions

ModelOpt = Annotated[
    str,
    typer.Option(
        "--model", "-m", help="Model spec: a name from 'guiagent models', a Hugging Face id or a local folder."
    ),
]
DeviceOpt = Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N.")]
DtypeOpt = Annotated[str, typer.Option(help="auto, bf16, fp16 or fp32.")]
AttnOpt = Annotated[str, typer.Option(help="auto, sdpa, eager or flash_attention_2.")]
FamilyOpt = Annotated[str | None, typer.Option(help="Policy: uitars or opencua (default: from the model).")]
DeviceMapOpt = Annotated[
    str | None,
    typer.Option(help="Split the model over GPUs / CPU / disk with accelerate: auto, balanced, sequential."),
]
MaxMemoryOpt = Annotated[
    str | None, typer.Option(help="With --device-map: memory per device, e.g. 0=20GiB,1=20GiB,cpu=64GiB.")
]
MethodOpt = Annotated[
    str,
    typer.Option(
        "--method",
        help="KV compression: starkv, guikv, snapkv, pyramidkv, vlcache, full, or a press of yours (GUIAGENT_PRESSES).",
    ),
]
BudgetOpt = Annotated[
    str, typer.Option("--budget", help="KV budget: percent (20), tokens per layer (4096t) or memory (512MiB).")
]
TrustOpt = Annotated[
    bool, typer.Option("--trust-remote-code", help="OpenCUA: run the checkpoint's own code, not the native loader.")
]
TuiOpt = Annotated[
    bool | None,
    typer.Option(
        "--tui/--no-tui",
        help="Show the dashboard (default: on in an interactive terminal; never when stdout is not one).",
        show_default=False,
    ),
]
ConfirmOpt = Annotated[
    str,
    typer.Option(help="Ask before: always (every action), risky (submits, system chords, Delete) or never."),
]
SafetyRulesOpt = Annotated[
    str | None,
    typer.Option(
        "--safety-rules",
        help="YAML file of extra deny / ask rules (default: ~/.config/guiagent/safety.yaml when it exists).",
    ),
]
LayoutOpt = Annotated[str, typer.Option(help="rolling (reuse the cache) or rebuild (published re-prefill).")]
MetricOpt = Annotated[
    str | None,
    typer.Option(
        help="Scoring rule: agentnetbench (official, default), "
        "agentnetbench-papers, androidcontrol-strict, androidcontrol-lenient, "
        "grounding, mind2web."
    ),
]
ImagesOpt = Annotated[str | None, typer.Option(help="Screenshot folder, when not where the layout puts it.")]
LimitOpt = Annotated[int | None, typer.Option(min=1, help="Only the first N trajectories.")]
ReplayTokensOpt = Annotated[int | None, typer.Option(min=1, help="Answer length cap per step.")]
ReplayRetriesOpt = Annotated[int, typer.Option(min=0, help="Retries for unparsable answers (benchmarks: 0).")]


@dataclass(frozen=True)
class ModelFlags:
    """How to load the model: the flags run, replay, eval, demo and bench share (a command may take a subset)."""

    device: DeviceOpt = "auto"
    dtype: DtypeOpt = "auto"
    attn: AttnOpt = "auto"
    device_map: DeviceMapOpt = None
    max_memory: MaxMemoryOpt = None
    trust_remote_code: TrustOpt = False

    def run_options(self, task: str, **values: Any) -> RunOptions:
        """The ``RunOptions`` of a command: its own ``values`` and these flags."""
        from guiagent.agent.run.runner import RunOptions

        return RunOptions(task=task, **{**asdict(self), **values})


DEFAULT_FLAGS = ModelFlags()
Command = TypeVar("Command", bound=Callable[..., Any])


def model_flags(*names: str) -> Callable[[Command], Command]:
    """Give a command the ``ModelFlags`` options (all, or those in ``names``) where its ``flags`` parameter is.

    typer reads the command's signature; this one lists the flags in place of ``flags``, and the wrapper folds
    their values back into one ``ModelFlags`` before calling the command.
    """
    chosen = names or tuple(f.name for f in fields(ModelFlags))
    hints = get_type_hints(ModelFlags, include_extras=True)
    keyword = inspect.Parameter.KEYWORD_ONLY
    flag_params = [
        inspect.Parameter(n, keyword, default=getattr(DEFAULT_FLAGS, n), annotation=hints[n]) for n in chosen
    ]

    def decorate(command: Command) -> Command:
        signature = inspect.signature(command, eval_str=True)
        params: list[inspect.Parameter] = []
        for param in signature.parameters.values():
            params += flag_params if param.name == "flags" else [param.replace(kind=keyword)]

        @functools.wraps(command)
        def wrapper(**values: Any) -> Any:
            flags = ModelFlags(**{name: values.pop(name) for name in chosen})
            return command(**values, flags=flags)

        wrapper.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in params}
        return wrapper  # type: ignore[return-value]

    return decorate


def use_tui(flag: bool | None) -> bool:
    """--tui/--no-tui (the dashboard module is imported only when it is used)."""
    from guiagent.ui.launch import use_tui as decide

    return decide(flag)
