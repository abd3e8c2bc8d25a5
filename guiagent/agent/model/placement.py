"""Where a model's weights go: one device, or split by accelerate over GPUs, CPU and disk.

A 32B model (OpenCUA-32B) or a 7B one at fp32 does not fit on one GPU. ``device_map="auto"`` (or another
accelerate strategy) spreads its decoder layers over the GPUs, then CPU RAM, then an offload folder on disk,
within the ``max_memory`` budget of each device. Offloaded layers compute on the main device: accelerate
copies their weights in for each forward and drops them again, so their parameters read as ``meta`` between
calls. ``execution_device`` therefore asks accelerate's hooks where a module computes, never the weights;
asked of the whole model, it names accelerate's main device, where the model's outer hook moves every input.

>>> parse_max_memory("0=20GiB,1=20GiB,cpu=64GiB")
{0: '20GiB', 1: '20GiB', 'cpu': '64GiB'}
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from guiagent.errors import ModelLoadError
from guiagent.paths import cache_root

STRATEGIES = ("auto", "balanced", "balanced_low_0", "sequential")  # what transformers hands to accelerate
MEMORY_DEVICES = ("cpu", "mps", "disk")  # besides GPU indices, the keys accelerate's max_memory accepts
# accelerate's units (20GiB, 500MB, 1.5GB); it reads a lowercase final "b" as bits, so that is refused
SIZE = re.compile(r"^\d+(\.\d+)?[KMGkmg][iI]?B$")
MAX_MEMORY_HINT = "Write it as device=size pairs, e.g. 0=20GiB,1=20GiB,cpu=64GiB (GPU index, cpu, mps or disk)."


def parse_max_memory(text: str) -> dict[int | str, str]:
    """The CLI form ``"0=20GiB,cpu=64GiB"`` as accelerate's ``max_memory`` dict (GPU indices as ints)."""
    memory: dict[int | str, str] = {}
    for pair in filter(None, (part.strip() for part in text.split(","))):
        key, sep, size = (part.strip() for part in pair.partition("="))
        if not sep:
            raise ModelLoadError(f"Max-memory entry '{pair}' in '{text}' has no '='.", MAX_MEMORY_HINT)
        device: int | str = int(key) if key.isdigit() else key.lower()
        memory[device] = size
    if not memory:
        raise ModelLoadError(f"Max-memory '{text}' names no device.", MAX_MEMORY_HINT)
    check_max_memory(memory)
    return memory


def check_max_memory(memory: dict[int | str, int | str]) -> None:
    """Refuse a device or size accelerate would not understand, with the entry at fault."""
    for device, size in memory.items():
        if not (isinstance(device, int) and device >= 0) and device not in MEMORY_DEVICES:
            raise ModelLoadError(f"Max-memory device '{device}' is not a GPU index, cpu, mps or disk.", MAX_MEMORY_HINT)
        if not (isinstance(size, int) and size >= 0) and not (isinstance(size, str) and SIZE.match(size)):
            raise ModelLoadError(
                f"Max-memory size '{size}' for device '{device}' is not a size like 20GiB or 500MB.", MAX_MEMORY_HINT
            )


def check_placement(
    device: str, device_map: str | None, max_memory: dict[int | str, int | str] | None, offload_folder: Any
) -> None:
    """Refuse placement arguments that contradict each other, before any weight is read."""
    if device_map is None:
        if max_memory is not None or offload_folder is not None:
            raise ModelLoadError(
                "max_memory and offload_folder only apply when the model is split with a device_map.",
                "Add --device-map auto (device_map='auto').",
            )
        return
    if device_map not in STRATEGIES:
        raise ModelLoadError(f"Unknown device map '{device_map}'.", f"Use one of {', '.join(STRATEGIES)}.")
    if device != "auto":
        raise ModelLoadError(
            f"Device '{device}' and device map '{device_map}' both say where the model goes.",
            "Leave --device at auto with --device-map, and use --max-memory to keep a device out.",
        )
    try:
        import accelerate  # noqa: F401  (transformers needs it to split the model)
    except ImportError as error:
        raise ModelLoadError(
            f"Device map '{device_map}' needs the accelerate package, which is not installed.",
            "pip install accelerate",
        ) from error
    if max_memory is not None:
        check_max_memory(max_memory)


def split_device(max_memory: dict[int | str, Any] | None) -> Any:
    """The device whose kind picks dtype and attention for a split: where accelerate's main device will be.

    That is a GPU when torch sees one and ``max_memory`` (if given) grants a GPU index some room, else the CPU.
    """
    import torch

    gpus = max_memory is None or any(isinstance(key, int) for key in max_memory)
    return torch.device("cuda" if torch.cuda.is_available() and gpus else "cpu")


def default_offload_folder(spec: str) -> Path:
    """Where disk-offloaded weights go when no folder is given: one folder per model in guiagent's cache."""
    return cache_root() / "offload" / (re.sub(r"[^\w.-]+", "--", spec.strip("/~.")) or "model")


def placement_kwargs(
    device: Any,
    device_map: str | None,
    max_memory: dict[int | str, int | str] | None,
    offload_folder: str | Path | None,
    spec: str,
) -> dict[str, Any]:
    """``from_pretrained``'s placement arguments: the whole model on ``device``, or accelerate's split.

    accelerate writes to the folder only if it offloads to disk weights it cannot read from the checkpoint's
    own safetensors (renamed or converted ones), so the default folder costs nothing otherwise.
    """
    if device_map is None:
        return {"device_map": {"": str(device)}}
    return {
        "device_map": device_map,
        "max_memory": dict(max_memory) if max_memory is not None else None,  # accelerate edits it in place
        "offload_folder": str(offload_folder or default_offload_folder(spec)),
    }


def execution_device(module: Any) -> Any:
    """Where ``module`` computes: accelerate's execution device if it was dispatched, else its weights' device.

    Offloaded weights sit on ``meta`` between forwards, so they are asked only when no hook says more.
    """
    import torch

    for part in module.modules():
        device = getattr(getattr(part, "_hf_hook", None), "execution_device", None)
        if device is not None:
            return torch.device(device)
    return next(module.parameters()).device
