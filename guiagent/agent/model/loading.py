"""Model loading: a spec (known name, Hugging Face id or local folder) -> a ready ``LoadedModel``.

Every spec is first resolved to a local checkpoint folder (the built-in ``tiny`` model is written to the
cache as one; Hub ids go through the Hugging Face cache), so one code path loads every model. The processor
is assembled from its parts so that nothing needs torchvision.

>>> from guiagent import load_model
>>> loaded = load_model("tiny")
>>> loaded.family, loaded.num_layers, loaded.num_kv_heads
('qwen2_5_vl', 4, 2)

A model too big for one GPU is split by accelerate (``device_map="auto"``, see ``placement.py``);
``LoadedModel.device`` is then where inputs go and ``layer_device(i)`` where layer ``i`` and its cache live.
"""

from __future__ import annotations

import importlib.util
import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from guiagent.agent.model.loaded import ImageSettings, LoadedModel, SpecialTokens, read_special_tokens, read_weights
from guiagent.agent.model.opencua import load_opencua_native
from guiagent.agent.model.placement import check_placement, execution_device, placement_kwargs, split_device
from guiagent.agent.model.placement import parse_max_memory as parse_max_memory  # the CLI form of max_memory
from guiagent.compression.positions import layout_for
from guiagent.errors import ModelLoadError

# model_type in config.json -> the family guiagent drives it as
FAMILIES = {"qwen2_5_vl": "qwen2_5_vl", "opencua": "opencua"}
HF_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
WEIGHT_PATTERNS = ["*.json", "*.safetensors", "*.jinja", "*.txt", "*.model", "*.tiktoken", "*.py", "*.md"]


@dataclass(frozen=True)
class ModelSpec:
    """A named model: where it comes from and what it needs."""

    name: str
    source: str
    family: str
    about: str = ""
    needs: str = ""
    loads: str = ""  # how guiagent loads it (natively / opt-in) and what of that was verified without its weights
    answer_tokens: int | None = None  # the answer cap per step when none is asked for (None: the policy's)


@cache
def known_models() -> dict[str, ModelSpec]:
    """The named specs of ``configs/models.yaml``, by name."""
    data = yaml.safe_load(resources.files("guiagent").joinpath("configs/models.yaml").read_text())
    return {name: ModelSpec(name=name, **fields) for name, fields in data["models"].items()}


def answer_tokens(spec: str) -> int | None:
    """A named model's own answer cap (the offline tiny models need a few tokens), or None."""
    named = known_models().get(spec)
    return named.answer_tokens if named is not None else None


def default_model() -> str:
    data = yaml.safe_load(resources.files("guiagent").joinpath("configs/models.yaml").read_text())
    return data["default"]


def resolve_folder(spec: str) -> tuple[Path, ModelSpec | None]:
    """Turn a spec into a local checkpoint folder (downloading a Hub id into the HF cache if allowed)."""
    named = known_models().get(spec.lower())
    source = named.source if named else spec
    if source == "builtin:tiny":
        from guiagent.agent.model.tiny import ensure_tiny_checkpoint

        return ensure_tiny_checkpoint(), named
    if source == "builtin:tiny-opencua":
        from guiagent.agent.model.tiny_opencua import ensure_tiny_opencua_checkpoint

        return ensure_tiny_opencua_checkpoint(), named
    path = Path(source).expanduser()
    if path.exists():
        if not path.is_dir():
            raise ModelLoadError(
                f"Model path '{source}' is a file, not a checkpoint folder.", "Pass the folder that holds config.json."
            )
        return path, named
    looks_like_path = source.startswith((".", "/", "~")) or source.count("/") > 1 or "\\" in source
    if looks_like_path:
        raise ModelLoadError(f"Model folder '{source}' does not exist.", "Check the path, or pass a Hugging Face id.")
    if not HF_ID.match(source):
        choices = ", ".join(known_models())
        raise ModelLoadError(
            f"Unknown model spec '{spec}'.",
            f"Use one of {choices}, a Hugging Face id (owner/name) or a local checkpoint folder; "
            "'guiagent models' lists them.",
        )
    return _download(source), named


def _download(repo_id: str) -> Path:
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError, RepositoryNotFoundError

    try:
        return Path(snapshot_download(repo_id, allow_patterns=WEIGHT_PATTERNS))
    except RepositoryNotFoundError as error:
        raise ModelLoadError(
            f"Model '{repo_id}' was not found on the Hugging Face Hub.",
            "Check the id, or log in with 'hf auth login' if it is gated.",
        ) from error
    except LocalEntryNotFoundError as error:
        raise ModelLoadError(
            f"Model '{repo_id}' is not in the local Hugging Face cache and the Hub cannot be reached.",
            "Download it on a connected machine ('hf download " + repo_id + "') or pass a local folder.",
        ) from error


def read_config(folder: Path) -> dict[str, Any]:
    config_file = folder / "config.json"
    if not config_file.exists():
        raise ModelLoadError(
            f"Folder '{folder}' has no config.json, so it is not a model checkpoint.",
            "Pass the folder that holds config.json and the weights.",
        )
    try:
        return json.loads(config_file.read_text())
    except json.JSONDecodeError as error:
        raise ModelLoadError(
            f"config.json in '{folder}' is not valid JSON ({error.msg}, line {error.lineno}).",
            "Re-download the checkpoint.",
        ) from error


def detect_family(config: dict[str, Any], spec: str) -> str:
    """The family guiagent drives a checkpoint as, from its config.json, or a clear refusal."""
    model_type = str(config.get("model_type", "")).lower()
    if model_type in FAMILIES:
        return FAMILIES[model_type]
    architectures = ", ".join(config.get("architectures") or []) or "unknown"
    raise ModelLoadError(
        f"Model '{spec}' is a '{model_type or 'unknown'}' checkpoint ({architectures}), which guiagent cannot drive.",
        "Supported: Qwen2.5-VL checkpoints (UI-TARS-1.5, Qwen2.5-VL-*-Instruct) and OpenCUA.",
    )


def choose_device(device: str) -> Any:
    import torch

    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        chosen = torch.device(device)
    except RuntimeError as error:
        raise ModelLoadError(f"Device '{device}' is not a torch device.", "Use auto, cpu, cuda or cuda:N.") from error
    if chosen.type == "cuda" and not torch.cuda.is_available():
        build = f"torch {torch.__version__}" + ("" if torch.version.cuda else ", a CPU-only build")
        raise ModelLoadError(
            f"CUDA was asked for (device '{device}') but torch sees no CUDA device ({build}).",
            "Use --device cpu, or install a CUDA build of torch on a machine with a GPU.",
        )
    return chosen


DTYPES = {
    "bf16": "bfloat16",
    "bfloat16": "bfloat16",
    "fp16": "float16",
    "float16": "float16",
    "half": "float16",
    "fp32": "float32",
    "float32": "float32",
    "float": "float32",
}


def choose_dtype(dtype: str, device: Any) -> Any:
    import torch

    if dtype == "auto":
        if device.type == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float32
    if dtype.lower() not in DTYPES:
        raise ModelLoadError(f"Unknown dtype '{dtype}'.", "Use auto, bf16, fp16 or fp32.")
    return getattr(torch, DTYPES[dtype.lower()])


def choose_attention(attn: str, device: Any) -> str:
    flash_installed = importlib.util.find_spec("flash_attn") is not None
    if attn == "auto":
        return "flash_attention_2" if device.type == "cuda" and flash_installed else "sdpa"
    if attn not in ("sdpa", "eager", "flash_attention_2"):
        raise ModelLoadError(
            f"Unknown attention implementation '{attn}'.", "Use auto, sdpa, eager or flash_attention_2."
        )
    if attn == "flash_attention_2" and (device.type != "cuda" or not flash_installed):
        raise ModelLoadError(
            "flash_attention_2 needs a CUDA device and the flash-attn package.",
            "Install guiagent[gpu] on a GPU machine, or use --attn sdpa.",
        )
    return attn


def load_model(
    spec: str = "tiny",
    *,
    device: str = "auto",
    dtype: str = "auto",
    attn: str = "auto",
    trust_remote_code: bool = False,
    min_pixels: int | None = None,
    max_pixels: int | None = None,
    device_map: str | None = None,
    max_memory: dict[int | str, int | str] | None = None,
    offload_folder: str | Path | None = None,
) -> LoadedModel:
    """Load a GUI model and its processor.

    Parameters
    ----------
    spec
        A name from ``guiagent models`` (``tiny``, ``ui-tars-1.5-7b``, ...), a Hugging Face id or a local folder.
    device, dtype, attn
        ``auto`` picks CUDA + bf16 + flash_attention_2 (sdpa without flash-attn) when a GPU is present, and
        CPU + fp32 + sdpa otherwise.
    trust_remote_code
        OpenCUA only: run the checkpoint's own Python code (``auto_map``) instead of guiagent's native OpenCUA
        loader, which runs none of it. An explicit opt-in, the fallback where the native path falls short.
    min_pixels, max_pixels
        Override the checkpoint's screenshot resize limits (visual tokens per screenshot).
    device_map
        Split a model too big for one device with accelerate: ``auto``, ``balanced``, ``balanced_low_0`` or
        ``sequential`` (GPUs first, then CPU, then disk). None (default) puts the whole model on ``device``,
        which must stay ``auto`` with a device map.
    max_memory
        With ``device_map``: the budget per device, ``{0: "20GiB", 1: "20GiB", "cpu": "64GiB"}`` (GPU indices,
        ``cpu``, ``mps``, ``disk``); ``parse_max_memory`` reads the CLI form ``0=20GiB,cpu=64GiB``.
    offload_folder
        With ``device_map``: where disk-offloaded weights go (default: ``offload/<model>`` in guiagent's cache).
    """
    folder, named = resolve_folder(spec)
    config = read_config(folder)
    family = named.family if named else detect_family(config, spec)
    if named is not None:
        detect_family(config, spec)  # a renamed or broken download still gets a clear refusal
    layout_for(family, spec)  # a family KVSession cannot position is refused before any weights load
    check_placement(device, device_map, max_memory, offload_folder)
    torch_device = choose_device(device) if device_map is None else split_device(max_memory)
    torch_dtype = choose_dtype(dtype, torch_device)
    attention = choose_attention(attn, torch_device)
    place = placement_kwargs(torch_device, device_map, max_memory, offload_folder, spec)
    load = _load_qwen2_5_vl
    if family == "opencua":  # native (no checkpoint code) unless the user opted into the remote code
        load = _load_opencua if trust_remote_code else load_opencua_native
    loaded = load(spec, folder, place, torch_dtype, attention, min_pixels, max_pixels)
    loaded.device = torch_device if device_map is None else execution_device(loaded.model)
    return loaded


def _image_settings(image_processor: Any) -> ImageSettings:
    size = getattr(image_processor, "size", None) or {}
    return ImageSettings(
        min_pixels=int(size.get("shortest_edge") or image_processor.min_pixels),
        max_pixels=int(size.get("longest_edge") or image_processor.max_pixels),
        patch_size=int(image_processor.patch_size),
        merge_size=int(image_processor.merge_size),
    )


def _load_qwen2_5_vl(spec, folder, place, dtype, attn, min_pixels, max_pixels) -> LoadedModel:
    from transformers import Qwen2_5_VLForConditionalGeneration

    from guiagent.agent.model.processor import assemble_processor

    model = read_weights(
        Qwen2_5_VLForConditionalGeneration, spec, folder, dtype=dtype, attn_implementation=attn, **place
    )
    processor = assemble_processor(folder, min_pixels=min_pixels, max_pixels=max_pixels)
    return LoadedModel(
        model=model,
        processor=processor,
        family="qwen2_5_vl",
        spec=spec,
        folder=folder,
        tokens=read_special_tokens(processor.tokenizer, model.config.get_text_config(decoder=True)),
        image=_image_settings(processor.image_processor),
        device=None,  # set by load_model: the chosen device, or where a split model takes its inputs
        dtype=dtype,
        attn=attn,
    )


def _load_opencua(spec, folder, place, dtype, attn, min_pixels, max_pixels) -> LoadedModel:
    """OpenCUA through its own remote code (the user opted in with trust_remote_code): the fallback path.

    The default is ``opencua.load_opencua_native``, which runs no checkpoint code."""
    from transformers import AutoImageProcessor, AutoModel, AutoTokenizer

    overrides = {k: v for k, v in (("min_pixels", min_pixels), ("max_pixels", max_pixels)) if v is not None}
    try:
        model = AutoModel.from_pretrained(
            folder, dtype=dtype, attn_implementation=attn, trust_remote_code=True, **place
        ).eval()
        tokenizer = AutoTokenizer.from_pretrained(folder, trust_remote_code=True)
        image_processor = AutoImageProcessor.from_pretrained(folder, trust_remote_code=True, **overrides)
    except (OSError, ValueError, ImportError) as error:
        raise ModelLoadError(
            f"Could not load OpenCUA checkpoint '{spec}' from '{folder}': {error}",
            "OpenCUA needs its remote code files (*.py) and tiktoken; re-download the checkpoint.",
        ) from error
    eos = tokenizer.eos_token_id
    tokens = SpecialTokens(image_pad=int(getattr(model.config, "media_placeholder_token_id", -1)), eos=(int(eos),))
    return LoadedModel(
        model=model,
        processor=(tokenizer, image_processor),
        family="opencua",
        spec=spec,
        folder=folder,
        tokens=tokens,
        image=_image_settings(image_processor),
        device=None,  # set by load_model: the chosen device, or where a split model takes its inputs
        dtype=dtype,
        attn=attn,
    )
