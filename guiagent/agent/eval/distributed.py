"""Ranks for a sharded eval: who this process is under torchrun, the few collectives it needs, the launcher.

Nothing here is hand-rolled beyond what the grid needs: torchrun (``torch.distributed.run``) starts the
workers, handles multi-node rendezvous and restarts; a gloo process group carries the two collectives the
grid uses (rank 0 shares the list of units still to compute; everyone waits before rank 0 merges). gloo works
on CPU and next to CUDA, and the collectives move a few kilobytes, so it is used on every machine.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from guiagent.errors import ConfigError, GuiAgentError

# Ranks wait for the slowest one before the merge: a grid shard can run for days, so the group's timeout is
# long. A rank that dies does not leave the others waiting: torchrun stops the whole group.
WAIT_FOR_SLOWEST = timedelta(days=7)


@dataclass(frozen=True)
class Ranks:
    """This process's place in the job (torchrun's RANK / WORLD_SIZE / LOCAL_RANK / LOCAL_WORLD_SIZE)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    local_world: int = 1
    launched: bool = False  # started by torchrun (any world size)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Ranks:
        env = os.environ if environ is None else environ
        world = int(env.get("WORLD_SIZE", "1"))
        return cls(
            rank=int(env.get("RANK", "0")),
            world=world,
            local_rank=int(env.get("LOCAL_RANK", env.get("RANK", "0"))),
            local_world=int(env.get("LOCAL_WORLD_SIZE", str(world))),
            launched="TORCHELASTIC_RUN_ID" in env or "WORLD_SIZE" in env,
        )

    @property
    def label(self) -> str:
        return f"rank {self.rank}/{self.world}" if self.world > 1 else ""

    def join(self) -> None:
        """Join the job's gloo group (torchrun has set MASTER_ADDR / MASTER_PORT); no-op for one process."""
        if self.world > 1:
            import torch.distributed as dist

            if not dist.is_initialized():
                dist.init_process_group("gloo", rank=self.rank, world_size=self.world, timeout=WAIT_FOR_SLOWEST)

    def leave(self) -> None:
        if self.world > 1:
            import torch.distributed as dist

            if dist.is_initialized():
                dist.destroy_process_group()

    def share(self, value: Any) -> Any:
        """Rank 0's ``value`` on every rank (a picklable object)."""
        if self.world == 1:
            return value
        import torch.distributed as dist

        box = [value]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def wait(self) -> None:
        """Every rank reaches this point before any goes on."""
        if self.world > 1:
            import torch.distributed as dist

            dist.barrier()

    def device(self, device: str) -> str:
        """Each local rank its own GPU when ``device`` is auto or cuda; anything explicit stays as given."""
        if self.local_world > 1 and device in ("auto", "cuda"):
            import torch

            if torch.cuda.is_available():
                return f"cuda:{self.local_rank % torch.cuda.device_count()}"
        return device


@dataclass(frozen=True)
class Launch:
    """torchrun's settings for ``--launcher torchrun`` (everything else: run torchrun yourself)."""

    nproc_per_node: int | None = None
    nnodes: str = "1"
    rdzv_endpoint: str | None = None
    rdzv_id: str = "guiagent-eval"
    max_restarts: int = 0

    def processes(self) -> int:
        """As asked, else one per GPU, else one (a CPU rank holds a whole model: more is a choice, not a default)."""
        if self.nproc_per_node is not None:
            return self.nproc_per_node
        import torch

        return torch.cuda.device_count() or 1

    def torchrun_args(self, command: list[str]) -> list[str]:
        args = ["--nproc-per-node", str(self.processes()), "--nnodes", self.nnodes]
        args += ["--max-restarts", str(self.max_restarts)]
        if self.rdzv_endpoint:
            args += ["--rdzv-backend", "c10d", "--rdzv-endpoint", self.rdzv_endpoint, "--rdzv-id", self.rdzv_id]
        elif self.nnodes not in ("1", "1:1"):
            raise ConfigError(
                f"--nnodes {self.nnodes} needs a rendezvous point every node can reach.",
                "Pass --rdzv-endpoint HOST:PORT (the same on every node).",
            )
        else:
            args += ["--standalone"]
        return [*args, "--module", "guiagent", *command]


def launch_torchrun(launch: Launch, command: list[str]) -> None:
    """Run ``guiagent <command>`` under torchrun, in this process as torchrun's agent (no shell, no re-parsing).

    Each worker gets ``OMP_NUM_THREADS`` = cores / local ranks unless it is set (torchrun would set 1).
    """
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import get_args_parser, run

    processes = launch.processes()
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // processes)))
    try:
        run(get_args_parser().parse_args(launch.torchrun_args(command)))
    except ChildFailedError as error:
        ranks = ", ".join(f"rank {rank} (exit {failure.exitcode})" for rank, failure in sorted(error.failures.items()))
        raise GuiAgentError(
            f"The torchrun job stopped: {ranks} failed; every unit finished before that is kept.",
            "Fix what the failing rank printed above, then run the same command again: finished units are skipped.",
        ) from error


def rebuilt_command(context: Any, skip: set[str]) -> list[str]:
    """The invoked command line rebuilt from its parsed values, minus ``skip`` (so workers run exactly it)."""
    args = [context.info_name]
    for param in context.command.params:
        value = context.params.get(param.name)
        if param.name in skip or value is None:
            continue
        if param.param_type_name == "argument":
            args.append(str(value))
        elif getattr(param, "is_flag", False):
            flag = param.opts[0] if value else (param.secondary_opts or [None])[0]
            args += [flag] if flag else []
        else:
            args += [param.opts[0], str(value)]
    return args


def check_launch(launcher: str, device_map: str | None, ranks: Ranks) -> None:
    """Refuse, before any work, a launcher that does not exist or a split model shared by several local ranks."""
    if launcher not in ("none", "torchrun"):
        raise ConfigError(f"Unknown launcher '{launcher}'.", "Use none or torchrun.")
    if device_map is not None and ranks.local_world > 1:
        raise ConfigError(
            f"--device-map splits one model over this node's GPUs, but {ranks.local_world} ranks run on this node.",
            "Use one rank per node (--nproc-per-node 1) with --device-map.",
        )


def relaunch(launch: Launch, context: Any, skip: set[str], model: str, echo: Callable[[str], None]) -> None:
    """Run the invoked command again under torchrun (minus the ``skip`` launcher flags) and wait for its ranks."""
    from guiagent.agent.model.loading import resolve_folder
    from guiagent.agent.run.runner import SCRIPTED

    if not model.startswith(SCRIPTED):
        resolve_folder(model)  # a bad spec fails here once; a Hub id downloads once, not once per rank
    echo(f"torchrun: {launch.processes()} rank(s) per node, {launch.nnodes} node(s).")
    launch_torchrun(launch, rebuilt_command(context, skip))
