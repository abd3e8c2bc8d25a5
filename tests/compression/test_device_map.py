"""A model split by accelerate drives the same KVSession, with the same results, as the model on one device.

What accelerate allows on a machine without GPUs: its main device is then the CPU, so every module computes
there, and a split can only be between CPU RAM and disk offload. A "disk" layer's weights stay in the
checkpoint's safetensors (or the offload folder) and read as ``meta`` between forwards; accelerate's hooks copy
them in for each call. On CPU this therefore checks the placement plumbing (``hf_device_map``, execution devices
that are never ``meta``, presses recomputing queries through an offloaded ``q_proj``) and that the results do not
change. Layers that compute on different devices need a GPU: ``test_session_across_gpu_and_cpu`` covers that
where CUDA is present.

The tiny model's CPU budget: its weights are 81,254,336 bytes, 77.9 MB of them the tied embedding / LM head,
which ``infer_auto_device_map`` places first. ``cpu=81MB`` leaves the vision tower, the embedding and layers 0-1
in RAM and puts layers 2-3 and the final norm on disk; from about 80 MB down every decoder layer goes to disk,
and a budget above the model's size splits nothing (and sets no ``hf_device_map``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

from guiagent import KVSession, compat
from guiagent.agent.model.loading import LoadedModel, load_model, parse_max_memory
from guiagent.agent.model.placement import placement_kwargs
from guiagent.errors import ModelLoadError
from tests.conftest import noise_image

IMAGE = "<|vision_start|><|image_pad|><|vision_end|>"
METHODS = ["starkv", "snapkv", "guikv", "pyramidkv", "vlcache"]
TURNS = [
    "<|im_start|>system\nYou are a GUI agent.<|im_end|>\n<|im_start|>user\nOpen the File menu.<|im_end|>\n",
    f"<|im_start|>user\n{IMAGE}Step 1: what next?<|im_end|>\n<|im_start|>assistant\n",
    f"<|im_end|>\n<|im_start|>user\n{IMAGE}Step 2: what next?<|im_end|>\n<|im_start|>assistant\n",
]


CPU = {"dtype": "fp32", "attn": "sdpa"}  # what auto picks without a GPU; pinned so a GPU machine compares alike


@pytest.fixture(scope="module")
def one() -> LoadedModel:
    return load_model("tiny", device="cpu", **CPU)


@pytest.fixture(scope="module")
def split(tmp_path_factory) -> LoadedModel:
    folder = tmp_path_factory.mktemp("offload")
    return load_model("tiny", device_map="auto", max_memory={"cpu": "81MB"}, offload_folder=folder, **CPU)


def run(loaded: LoadedModel, method: str) -> tuple[list[torch.Tensor], KVSession]:
    """A text turn, a screenshot turn compressed to 20%, an answer, a second screenshot turn, an answer."""
    session = KVSession(loaded, method=method, budget=20)
    logits = [session.append(TURNS[0]).clone()]
    logits.append(session.append(TURNS[1], [noise_image(224, 112, 1)]).clone())
    session.generate(max_new_tokens=4)
    logits.append(session.append(TURNS[2], [noise_image(168, 168, 2)]).clone())
    session.generate(max_new_tokens=4)
    return [*logits, session.logits.clone()], session


def test_cpu_budget_splits_the_tiny_model_between_ram_and_disk(split):
    placement = split.device_map
    layers = [placement.get(f"model.language_model.layers.{i}") for i in range(split.num_layers)]
    assert layers == ["cpu", "cpu", "disk", "disk"], placement
    assert placement["model.language_model.embed_tokens"] == "cpu"
    assert split.device == torch.device("cpu")
    assert split.language_model.layers[3].self_attn.q_proj.weight.device.type == "meta"  # really offloaded
    assert [split.layer_device(i) for i in range(split.num_layers)] == [torch.device("cpu")] * split.num_layers


@pytest.mark.parametrize("method", METHODS)
def test_split_model_gives_the_same_session_as_one_device(one, split, method):
    one_logits, single = run(one, method)
    split_logits, other = run(split, method)
    try:
        for a, b in zip(one_logits, split_logits, strict=True):
            torch.testing.assert_close(b, a, atol=1e-5, rtol=0)
        assert torch.equal(single.token_ids, other.token_ids)  # the same greedy answers
        assert single.stats == other.stats  # the same kept entries per layer and image
        for index in range(split.num_layers):
            keys, values = compat.layer_keys_values(other.cache, index)
            device = split.layer_device(index)
            assert keys.device == values.device == other.slots(index).device == device
    finally:
        single.close()
        other.close()


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="layers on two execution devices need a CUDA device")
def test_session_across_gpu_and_cpu(one):
    """Layers alternate between cuda:0 and the CPU (accelerate's main device set to the CPU), so every layer's
    cache and bookkeeping must follow that layer; GPU kernels round differently, hence the tolerance."""
    from accelerate import dispatch_model

    mixed = load_model("tiny", device="cpu", **CPU)  # a fresh copy: dispatching moves its weights
    layers = {f"model.language_model.layers.{i}": 0 if i % 2 == 0 else "cpu" for i in range(mixed.num_layers)}
    device_map = {
        "model.visual": "cpu",
        "model.language_model.embed_tokens": "cpu",
        "lm_head": "cpu",
        **layers,
        "model.language_model.norm": 0,
        "model.language_model.rotary_emb": 0,
    }
    dispatch_model(mixed.model, device_map=device_map, main_device="cpu")
    expected = [torch.device("cuda", 0) if i % 2 == 0 else torch.device("cpu") for i in range(mixed.num_layers)]
    assert [mixed.layer_device(i) for i in range(mixed.num_layers)] == expected
    for method in ("guikv", "vlcache"):
        one_logits, single = run(one, method)
        mixed_logits, other = run(mixed, method)
        try:
            for a, b in zip(one_logits, mixed_logits, strict=True):
                torch.testing.assert_close(b.cpu(), a, atol=1e-4, rtol=1e-4)
            assert single.stats.physical_tokens_per_layer == other.stats.physical_tokens_per_layer
            for index in range(other.loaded.num_layers):
                keys, _ = compat.layer_keys_values(other.cache, index)
                assert keys.device == other.slots(index).device == other.slot_images(index).device
                assert keys.device == expected[index]
        finally:
            single.close()
            other.close()


@pytest.mark.parametrize(
    ("text", "memory"),
    [
        ("0=20GiB,1=20GiB,cpu=64GiB", {0: "20GiB", 1: "20GiB", "cpu": "64GiB"}),
        (" CPU = 500MB , disk=1.5GB ", {"cpu": "500MB", "disk": "1.5GB"}),
    ],
)
def test_max_memory_cli_form(text, memory):
    assert parse_max_memory(text) == memory


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0:20GiB", "Max-memory entry '0:20GiB' in '0:20GiB' has no '='."),
        ("gpu0=20GiB", "Max-memory device 'gpu0' is not a GPU index, cpu, mps or disk."),
        ("0=20 gigs", "Max-memory size '20 gigs' for device '0' is not a size like 20GiB or 500MB."),
        ("cpu=", "Max-memory size '' for device 'cpu' is not a size like 20GiB or 500MB."),
        ("0=20Gb", "Max-memory size '20Gb' for device '0' is not a size like 20GiB or 500MB."),  # b = bits
        (" , ", "Max-memory ' , ' names no device."),
    ],
)
def test_malformed_max_memory_gets_one_sentence(text, message):
    with pytest.raises(ModelLoadError) as error:
        parse_max_memory(text)
    assert error.value.message == message
    assert "0=20GiB,1=20GiB,cpu=64GiB" in error.value.hint


@pytest.mark.parametrize(
    ("kwargs", "message", "hint"),
    [
        ({"device_map": "atuo"}, "Unknown device map 'atuo'.", "auto, balanced, balanced_low_0, sequential"),
        ({"device_map": "auto", "device": "cpu"}, "Device 'cpu' and device map 'auto' both say", "--max-memory"),
        ({"max_memory": {"cpu": "1GiB"}}, "only apply when the model is split", "--device-map auto"),
        ({"device_map": "auto", "max_memory": {"cuda": "1GiB"}}, "device 'cuda' is not a GPU index", "0=20GiB"),
    ],
)
def test_bad_placement_gets_one_sentence_before_loading(kwargs, message, hint):
    with pytest.raises(ModelLoadError) as error:
        load_model("tiny", **kwargs)
    assert message in error.value.message
    assert hint in error.value.hint


def test_device_map_without_accelerate_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "accelerate", None)  # makes `import accelerate` fail
    with pytest.raises(ModelLoadError, match="needs the accelerate package") as error:
        load_model("tiny", device_map="auto")
    assert error.value.hint == "pip install accelerate"


def test_disk_offload_defaults_to_a_folder_per_model_in_the_cache(monkeypatch, tmp_path: Path):
    monkeypatch.setenv("GUIAGENT_CACHE", str(tmp_path))
    place = placement_kwargs(torch.device("cpu"), "auto", {0: "20GiB"}, None, "ByteDance-Seed/UI-TARS-1.5-7B")
    assert place == {
        "device_map": "auto",
        "max_memory": {0: "20GiB"},
        "offload_folder": str(tmp_path / "offload" / "ByteDance-Seed--UI-TARS-1.5-7B"),
    }
    assert placement_kwargs(torch.device("cpu"), None, None, None, "tiny") == {"device_map": {"": "cpu"}}
