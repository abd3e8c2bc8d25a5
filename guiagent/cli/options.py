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
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar, get_type_hints

import typer

if TYPE_CHECKING:
    from guiagent.agent.run.runner import RunOptions

FLAG = ""  # the metavar of an on/off flag: nothing to type after it


def check_model(value: str) -> str:
    """A model spec that cannot name anything is refused while parsing, before any weights are read (the known
    errors raised here reach ``main`` as one sentence, exit 1, like every other refusal)."""
    import re
    from pathlib import Path

    from guiagent.agent.model.loading import known_models
    from guiagent.errors import ConfigError

    names = known_models()
    if value in names or value.startswith("scripted:") or Path(value).expanduser().exists():
        return value
    if re.fullmatch(r"[\w.-]+/[\w.-]+", value):  # a Hugging Face id: resolved (or refused) by the loader
        return value
    raise ConfigError(
        f"Unknown model spec '{value}'.",
        f"Use a name from 'guiagent models' ({', '.join(names)}), a Hugging Face id (owner/name) or a local folder.",
    )


def check_method(value: str) -> str:
    """An unknown method is refused while parsing (before a 7B loads for minutes)."""
    from guiagent.compression.presses import normalize_method

    normalize_method(value)
    return value


def check_budget(value: str) -> str:
    from guiagent.compression.budget import Budget

    Budget.parse(value)
    return value


def check_history(value: str) -> str:
    from guiagent.compression.context import RollingContext

    for item in value.split(","):
        RollingContext.parse(item.strip())
    return value


def method_settings(config_file: str | None, sets: list[str] | None, *, sweeps: bool = False) -> list[Any]:
    """The ``MethodSettings`` of ``--config`` then ``--set`` (several only where the command sweeps them)."""
    from guiagent.compression.settings import method_settings as resolve

    return resolve(config_file, sets or [], sweeps=sweeps)


def check_config(value: str | None) -> str | None:
    """A --config file that cannot be read or names an unknown method or setting: refused while parsing."""
    from guiagent.compression.settings import load_config

    if value is not None:
        load_config(value)
    return value


def check_sets(values: list[str] | None) -> list[str] | None:
    """Each --set METHOD.FIELD=VALUE typed by the press's own field, or one sentence naming what is valid."""
    from guiagent.compression.settings import parse_set

    for text in values or []:
        parse_set(text)
    return values


ModelOpt = Annotated[
    str,
    typer.Option(
        "--model",
        "-m",
        metavar="SPEC",
        callback=check_model,
        help="Model spec: a name from 'guiagent models', a Hugging Face id or a local folder.",
    ),
]
DeviceOpt = Annotated[str, typer.Option(metavar="DEVICE", help="auto, cpu, cuda or cuda:N.")]
DtypeOpt = Annotated[Literal["auto", "bf16", "fp16", "fp32"], typer.Option(help="Weights and cache dtype.")]
AttnOpt = Annotated[
    Literal["auto", "sdpa", "eager", "flash_attention_2"], typer.Option(help="Attention kernel of the model.")
]
FamilyOpt = Annotated[
    Literal["uitars", "opencua"] | None,
    typer.Option(help="Policy (prompt and answer grammar).", show_default="from the model"),
]
DeviceMapOpt = Annotated[
    Literal["auto", "balanced", "balanced_low_0", "sequential"] | None,
    typer.Option(help="Split the model over GPUs / CPU / disk with accelerate.", show_default="one device"),
]
MaxMemoryOpt = Annotated[
    str | None,
    typer.Option(metavar="MEMORY", help="With --device-map: memory per device, e.g. 0=20GiB,1=20GiB,cpu=64GiB."),
]
MethodOpt = Annotated[
    str,
    typer.Option(
        "--method",
        metavar="METHOD",
        callback=check_method,
        help="KV compression: starkv, guikv, snapkv, pyramidkv, vlcache, full, or a press of yours (GUIAGENT_PRESSES).",
    ),
]
BudgetOpt = Annotated[
    str,
    typer.Option(
        "--budget",
        metavar="BUDGET",
        callback=check_budget,
        help="KV budget: percent of the context (20), tokens per layer (4096t) or memory (512MiB).",
    ),
]
ConfigOpt = Annotated[
    str | None,
    typer.Option(
        "--config",
        metavar="FILE",
        callback=check_config,
        help="YAML file of method settings over the presses' defaults, e.g. 'methods: {starkv: {alpha: 1.0}}'.",
        show_default=False,
    ),
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        metavar="METHOD.FIELD=VALUE",
        callback=check_sets,
        help="One method setting, e.g. starkv.alpha=1.0 (repeatable; applied after --config, the later wins).",
        show_default=False,
    ),
]
TrustOpt = Annotated[
    bool,
    typer.Option(
        "--trust-remote-code", metavar=FLAG, help="OpenCUA: run the checkpoint's own code, not the native loader."
    ),
]
TuiOpt = Annotated[
    bool | None,
    typer.Option(
        "--tui/--no-tui",
        metavar=FLAG,
        help="Show the dashboard (needs the tui extra).",
        show_default="on in an interactive terminal",
    ),
]
ConfirmOpt = Annotated[
    Literal["always", "risky", "never"],
    typer.Option(help="Ask before: always (every action), risky (submits, system chords, Delete) or never."),
]
SafetyRulesOpt = Annotated[
    str | None,
    typer.Option(
        "--safety-rules",
        metavar="FILE",
        help="YAML file of extra deny / ask rules.",
        show_default="~/.config/guiagent/safety.yaml when it exists",
    ),
]
LayoutOpt = Annotated[
    Literal["rolling", "rebuild"], typer.Option(help="rolling (reuse the cache) or rebuild (published re-prefill).")
]
MetricOpt = Annotated[
    Literal[
        "agentnetbench",
        "agentnetbench-papers",
        "androidcontrol-strict",
        "androidcontrol-lenient",
        "grounding",
        "mind2web",
    ]
    | None,
    typer.Option(help="Scoring rule.", show_default="the benchmark's own (official AgentNetBench evaluator)"),
]
PROTOCOLS = ("native", "guikv", "starkv")
ProtocolOpt = Annotated[
    Literal["native", "guikv", "starkv"],
    typer.Option(
        help="native (ours: rolling cache, GQA-true budgets, the benchmark's own scorer), or a published harness "
        "reproduced: guikv or starkv (its prompts, history, pixel limits, answer cap, per-query-head cache, "
        "parser and scorer).",
    ),
]
HistoryImagesOpt = Annotated[
    str,
    typer.Option(
        "--history-images",
        metavar="N|all",
        callback=check_history,
        help="Rolling layout: screenshots the cache keeps; older ones are dropped before a new one arrives and "
        "percent budgets count only what is left. The papers show 5.",
    ),
]
ObserversOpt = Annotated[
    Literal["tail", "instruction", "both"],
    typer.Option(
        help="Which queries score the cache: tail (the prefill's last tokens, as published), instruction (the task "
        "instruction's, kept from the first turn) or both.",
    ),
]
ImagesOpt = Annotated[
    str | None,
    typer.Option(metavar="DIR", help="Screenshot folder, when not where the layout puts it.", show_default=False),
]
LimitOpt = Annotated[
    int | None, typer.Option(min=1, metavar="N", help="Only the first N trajectories.", show_default="all")
]
ANSWER_CAPS = "tiny and tiny-opencua 8; other models 1000 (the harnesses' AgentNetBench cap); --protocol: the harness's"
ReplayTokensOpt = Annotated[
    int | None,
    typer.Option(min=1, metavar="N", help="Answer length cap per step.", show_default=ANSWER_CAPS),
]
ReplayRetriesOpt = Annotated[
    int, typer.Option(min=0, metavar="N", help="Retries for unparsable answers (benchmarks: 0).")
]


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
    """--tui/--no-tui (the dashboard module is imported only when it is used). Without the tui extra the
    default is the console view, and an explicit --tui is one sentence naming the extra."""
    from guiagent.extras import available, require

    if flag:
        require("tui", "The dashboard (--tui)")
    elif flag is None and not available("tui"):
        return False
    from guiagent.ui.launch import use_tui as decide

    return decide(flag)
