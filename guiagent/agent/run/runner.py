"""Builds what a run needs from plain options: the policy, the decider (model or script) and the image grid.

Shared by ``guiagent run`` and, later, the replay and the dashboard, so a model spec means the same thing
everywhere. ``scripted:FILE`` is a model spec too: the answers come from FILE (one per step, separated by
lines of ``---``) and everything after the model is the real path.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from guiagent.agent.policy.base import Policy
from guiagent.agent.policy.coords import ImageGrid
from guiagent.agent.policy.opencua import OpenCUAPolicy
from guiagent.agent.policy.uitars import UITarsPolicy
from guiagent.agent.run.decide import ModelDecider, ScriptedDecider
from guiagent.compression.budget import Budget
from guiagent.compression.context import DEFAULT_HISTORY_IMAGES, RollingContext
from guiagent.compression.settings import MethodSettings
from guiagent.errors import ConfigError

POLICIES: dict[str, type[Policy]] = {"uitars": UITarsPolicy, "opencua": OpenCUAPolicy}
FAMILY_POLICY = {"qwen2_5_vl": "uitars", "opencua": "opencua"}
SCRIPTED = "scripted:"
# The first step a budget must fit: one 1080p screenshot is ~2,700 visual tokens, before any prompt or history.
FIRST_STEP_TOKENS = 2_700
# A model's K+V bytes per token over all layers, for memory budgets before a model is loaded: Qwen2.5-VL-3B in
# bf16 (36 layers x 2 KV heads x 128 dims x 2 x 2 bytes), the smallest real checkpoint guiagent runs.
SMALLEST_BYTES_PER_TOKEN = 36_864


@dataclass
class RunOptions:
    """Everything a run is configured by (the CLI's flags)."""

    task: str
    model: str = "ui-tars-1.5-7b"
    method: str = "starkv"
    budget: str = "20"
    layout: str = "rolling"
    protocol: str = "native"  # replays: native, or a published harness's protocol (guikv, starkv)
    history_images: int | None = DEFAULT_HISTORY_IMAGES  # rolling layout: screenshots kept (None: all)
    observers: str = "tail"  # which queries score the cache: tail, instruction or both
    family: str | None = None  # policy: uitars | opencua (default: from the model)
    variant: str = "computer"  # UI-TARS prompt: computer | mobile | grounding
    max_new_tokens: int | None = None
    retries: int = 2
    device: str = "auto"
    dtype: str = "auto"
    attn: str = "auto"
    trust_remote_code: bool = False
    min_pixels: int | None = None
    max_pixels: int | None = None
    device_map: str | None = None  # split the model with accelerate (auto, balanced, sequential)
    max_memory: str | None = None  # with device_map: "0=20GiB,cpu=64GiB"
    settings: MethodSettings = field(default_factory=MethodSettings)  # --config / --set: over the presses' defaults

    @property
    def context(self) -> RollingContext:
        return RollingContext(self.history_images, self.observers, self.settings)


def check_task(task: str) -> None:
    if not task.strip():
        raise ConfigError("The task is empty.", "Say what the agent should do, e.g. guiagent run 'open the settings'.")


def check_cache(method: str, budget: str, settings: MethodSettings | None = None) -> None:
    """Refuse a method or budget that cannot be read, or a budget that holds less than the method's observation
    window on the first step (the published ``min(window, budget - 2)`` keeps the whole window from window + 2).

    Refused rather than warned about: with fewer tokens a layer holds little beyond the window, so every answer is
    noise, and a warning scrolls away while a long run spends GPU time on nothing.
    """
    from guiagent.compression.presses import normalize_method  # imports torch

    name, parsed = normalize_method(method), Budget.parse(budget)
    if name == "full":
        return
    floor = int((settings or MethodSettings()).resolved(name).get("window", 8)) + 2
    held = parsed.tokens_per_layer(FIRST_STEP_TOKENS, SMALLEST_BYTES_PER_TOKEN)
    if held < floor:
        raise ConfigError(
            f"Budget {parsed} holds about {held} tokens per layer of a first step (one 1080p screenshot, "
            f"~{FIRST_STEP_TOKENS:,} tokens), fewer than the {floor} that {name}'s observation window needs.",
            "Use a larger budget, e.g. 20 (percent) or 4096t.",
        )


def check_options(options: RunOptions) -> None:
    """What a run would fail on later, or a scripted run (no model, no cache) would silently ignore: refused
    before any work, so a script rehearses exactly the command line a model run accepts."""
    check_task(options.task)
    check_cache(options.method, options.budget, options.settings)


def make_policy(
    family: str, task: str, grid: ImageGrid, *, layout: str = "rolling", variant: str = "computer"
) -> Policy:
    if family not in POLICIES:
        raise ConfigError(f"Unknown policy family '{family}'.", f"Use one of {', '.join(POLICIES)}.")
    check_task(task)
    if family == "uitars":
        return UITarsPolicy(task, grid, variant=variant, layout=layout)
    return OpenCUAPolicy(task, grid, layout=layout)


def scripted_grid(options: RunOptions) -> ImageGrid:
    """A script has no processor: UI-TARS' limits unless the options name others."""
    return ImageGrid(min_pixels=options.min_pixels or 3136, max_pixels=options.max_pixels or 12845056)


def answer_cap(options: RunOptions) -> int | None:
    """The answer length cap: --max-new-tokens, else the named model's own (tiny: 8), else None (the policy's,
    or a harness protocol's)."""
    from guiagent.agent.model.loading import answer_tokens

    return options.max_new_tokens or answer_tokens(options.model)


def load_for(options: RunOptions) -> tuple[Any, ImageGrid]:
    """The model of ``options`` and the image grid its processor resizes to (what the policy maps through)."""
    from guiagent.agent.model.loading import load_model, parse_max_memory

    loaded = load_model(
        options.model,
        device=options.device,
        dtype=options.dtype,
        attn=options.attn,
        trust_remote_code=options.trust_remote_code,
        min_pixels=options.min_pixels,
        max_pixels=options.max_pixels,
        device_map=options.device_map,
        max_memory=parse_max_memory(options.max_memory) if options.max_memory else None,
    )
    return loaded, ImageGrid(loaded.image.min_pixels, loaded.image.max_pixels, loaded.image.factor)


def build_decider(options: RunOptions, cancel: threading.Event | None = None) -> tuple[Any, Policy]:
    """The decider and its policy for ``options`` (loads the model unless the spec is ``scripted:FILE``)."""
    if options.model.startswith(SCRIPTED):
        grid = scripted_grid(options)
        policy = make_policy(
            options.family or "uitars", options.task, grid, layout=options.layout, variant=options.variant
        )
        return ScriptedDecider.from_file(options.model[len(SCRIPTED) :], policy), policy

    from guiagent.compression.session import KVSession

    loaded, grid = load_for(options)
    policy = make_policy(
        options.family or FAMILY_POLICY[loaded.family],
        options.task,
        grid,
        layout=options.layout,
        variant=options.variant,
    )
    session = KVSession(loaded)
    options.context.apply(session, options.method, options.budget)
    decider = ModelDecider(session, policy, retries=options.retries, max_new_tokens=answer_cap(options), cancel=cancel)
    return decider, policy


def replay_deciders(options: RunOptions) -> tuple[Any, Any]:
    """For replays: (make_decider(trajectory) -> decider, set_cell(method, budget[, context])). One model load.

    Each trajectory gets a fresh policy (its own instruction and history) and an emptied cache; a scripted
    backend hands out its answers in order across trajectories.
    """
    if options.model.startswith(SCRIPTED):
        grid = scripted_grid(options)
        script = ScriptedDecider.from_file(
            options.model[len(SCRIPTED) :], make_policy(options.family or "uitars", "replay", grid)
        )

        def scripted(trajectory) -> ScriptedDecider:
            script.policy = make_policy(
                options.family or "uitars",
                trajectory.task or "replay",
                grid,
                layout=options.layout,
                variant=options.variant,
            )
            return script

        return scripted, lambda method, budget, context=None: None

    from guiagent.compression.session import KVSession

    loaded, grid = load_for(options)
    family = options.family or FAMILY_POLICY[loaded.family]
    if options.protocol != "native":
        return harness_deciders(options, loaded, family)
    session = KVSession(loaded)
    options.context.apply(session, options.method, options.budget)

    def modelled(trajectory) -> ModelDecider:
        session.reset()
        policy = make_policy(
            family, trajectory.task or "Complete the task shown.", grid, layout=options.layout, variant=options.variant
        )
        return ModelDecider(session, policy, retries=options.retries, max_new_tokens=answer_cap(options))

    def set_cell(method: str, budget: str, context: RollingContext | None = None) -> None:
        (context or options.context).apply(session, method, budget)

    return modelled, set_cell


def harness_deciders(options: RunOptions, loaded: Any, family: str) -> tuple[Any, Any]:
    """``replay_deciders`` under a published harness's protocol: one session per cache layout the harness uses,
    the harness's pixel limits (except on the offline tiny models, whose own limits keep CPU runs short)."""
    from guiagent.agent.eval.harness_replay import HarnessDecider, configured_press, protocol_for
    from guiagent.agent.model.loading import known_models
    from guiagent.compression.session import KVSession

    sessions: dict[str, KVSession] = {}
    cell = {"method": options.method, "budget": options.budget, "settings": options.settings}
    named = known_models().get(loaded.spec)
    builtin = named is not None and named.source.startswith("builtin:")

    def modelled(trajectory) -> HarnessDecider:
        protocol = protocol_for(options.protocol, trajectory, family)
        if not (builtin or options.min_pixels or options.max_pixels):
            loaded.set_pixel_limits(protocol.min_pixels, protocol.max_pixels)
        session = sessions.get(protocol.cache.heads)
        if session is None:
            session = sessions[protocol.cache.heads] = KVSession(loaded, heads=protocol.cache.heads)
        session.set_method(configured_press(cell["method"], protocol, cell["settings"]))
        session.set_budget(cell["budget"])
        session.reset()
        grid = ImageGrid(loaded.image.min_pixels, loaded.image.max_pixels, loaded.image.factor)
        policy = make_policy(family, trajectory.task or "Complete the task shown.", grid, layout="rebuild")
        return HarnessDecider(session, protocol, trajectory, policy, answer_cap(options))

    def set_cell(method: str, budget: str, context: RollingContext | None = None) -> None:
        # a harness's context is its own (its prompt, its observers); the user's method settings still apply
        cell.update(method=method, budget=budget, settings=(context or options.context).settings)

    return modelled, set_cell
