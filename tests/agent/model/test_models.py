"""load_model: the tiny model, real-checkpoint code paths offline, and one clear sentence per bad input."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch

from guiagent.agent.model.loading import LoadedModel, detect_family, load_model
from guiagent.agent.model.processor import GuiProcessor, assemble_processor
from guiagent.agent.model.tiny import SPECIAL_TOKENS, build_tokenizer, ensure_tiny_checkpoint
from guiagent.errors import ModelLoadError

# What the Hub's UI-TARS-1.5-7B / Qwen2.5-VL-7B-Instruct checkpoints carry (config.json in the 4.x layout).
UI_TARS_CONFIG = {
    "architectures": ["Qwen2_5_VLForConditionalGeneration"],
    "model_type": "qwen2_5_vl",
    "hidden_size": 3584,
    "intermediate_size": 18944,
    "num_hidden_layers": 28,
    "num_attention_heads": 28,
    "num_key_value_heads": 4,
    "max_position_embeddings": 128000,
    "rms_norm_eps": 1e-06,
    "rope_theta": 1000000.0,
    "rope_scaling": {"type": "mrope", "mrope_section": [16, 24, 24]},
    "vocab_size": 152064,
    "bos_token_id": 151643,
    "eos_token_id": 151645,
    "image_token_id": 151655,
    "video_token_id": 151656,
    "vision_start_token_id": 151652,
    "vision_end_token_id": 151653,
    "torch_dtype": "bfloat16",
    "vision_config": {
        "depth": 32,
        "hidden_size": 1280,
        "intermediate_size": 3420,
        "num_heads": 16,
        "out_hidden_size": 3584,
        "patch_size": 14,
        "spatial_merge_size": 2,
        "temporal_patch_size": 2,
        "window_size": 112,
        "fullatt_block_indexes": [7, 15, 23, 31],
        "tokens_per_second": 2,
    },
}
UI_TARS_PREPROCESSOR = {
    "min_pixels": 3136,
    "max_pixels": 12845056,
    "patch_size": 14,
    "temporal_patch_size": 2,
    "merge_size": 2,
    "image_mean": [0.48145466, 0.4578275, 0.40821073],
    "image_std": [0.26862954, 0.26130258, 0.27577711],
    "image_processor_type": "Qwen2VLImageProcessor",
    "processor_class": "Qwen2_5_VLProcessor",
}


def checkpoint_folder(root: Path, config: dict, preprocessor: dict | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "config.json").write_text(json.dumps(config))
    if preprocessor is not None:
        (root / "preprocessor_config.json").write_text(json.dumps(preprocessor))
        build_tokenizer().save_pretrained(root)
    return root


def test_tiny_model_has_the_real_architecture(tiny: LoadedModel):
    config = tiny.model.config
    assert tiny.family == "qwen2_5_vl" and type(tiny.model).__name__ == "Qwen2_5_VLForConditionalGeneration"
    assert tiny.num_kv_heads >= 2 and tiny.num_heads > tiny.num_kv_heads  # GQA
    assert sum(config.text_config.rope_parameters["mrope_section"]) == tiny.head_dim // 2
    vision = config.vision_config
    assert 0 < len(vision.fullatt_block_indexes) < vision.depth  # windowed AND full-attention blocks
    assert tiny.tokens.image_pad == SPECIAL_TOKENS["<|image_pad|>"] == 151655
    assert tiny.tokens.eos == (151645,)
    assert tiny.device.type == "cpu" and tiny.dtype == torch.float32 and tiny.attn == "sdpa"


def test_tiny_processor_needs_no_torchvision(tiny: LoadedModel):
    from PIL import Image

    assert isinstance(tiny.processor, GuiProcessor)
    assert type(tiny.processor.image_processor).__name__ == "Qwen2VLImageProcessorPil"
    assert "torchvision" not in sys.modules
    text = tiny.processor.apply_chat_template(
        [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "hi"}]}], add_generation_prompt=True
    )
    assert text == (
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n"
        "<|vision_start|><|image_pad|><|vision_end|>hi<|im_end|>\n<|im_start|>assistant\n"
    )
    out = tiny.processor(text=[text], images=[Image.new("RGB", (1280, 720))], return_tensors="pt")
    assert out["image_grid_thw"].tolist() == [[1, 24, 42]]  # max_pixels 256*28*28 -> 336x588
    assert int((out["input_ids"] == 151655).sum()) == 24 * 42 // 4


def test_tiny_checkpoint_is_cached_and_loads_as_a_folder(tiny: LoadedModel):
    folder = ensure_tiny_checkpoint()
    assert folder == tiny.folder and ensure_tiny_checkpoint() == folder
    for name in (
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "preprocessor_config.json",
        "chat_template.json",
    ):
        assert (folder / name).exists(), name
    again = load_model(str(folder))  # the generic local-folder path, as for a real checkpoint
    assert again.family == "qwen2_5_vl" and again.spec == str(folder)
    for (name, a), b in zip(tiny.model.state_dict().items(), again.model.state_dict().values(), strict=True):
        assert torch.equal(a, b), name


def test_real_ui_tars_checkpoint_layout_parses_offline(tmp_path: Path):
    """Config and processor of a UI-TARS-1.5-7B-style folder, without its 16 GB of weights."""
    from transformers import AutoConfig, Qwen2_5_VLForConditionalGeneration

    folder = checkpoint_folder(tmp_path / "ui-tars", UI_TARS_CONFIG, UI_TARS_PREPROCESSOR)
    assert detect_family(json.loads((folder / "config.json").read_text()), "ui-tars") == "qwen2_5_vl"
    config = AutoConfig.from_pretrained(folder)
    with torch.device("meta"):
        model = Qwen2_5_VLForConditionalGeneration(config)
    loaded = LoadedModel(
        model=model,
        processor=None,
        family="qwen2_5_vl",
        spec="ui-tars",
        folder=folder,
        tokens=None,
        image=None,
        device=torch.device("meta"),
        dtype=torch.bfloat16,
        attn="sdpa",
    )
    assert (loaded.num_layers, loaded.num_heads, loaded.num_kv_heads, loaded.head_dim) == (28, 28, 4, 128)
    assert config.text_config.rope_parameters["mrope_section"] == [16, 24, 24]
    processor = assemble_processor(folder)
    assert processor.image_processor.size["shortest_edge"] == 3136
    assert processor.image_processor.size["longest_edge"] == 12845056
    # a 1080p screenshot is 78 x 138 merged patches = 2,691 visual tokens on UI-TARS' grid
    assert processor._get_num_multimodal_tokens(image_sizes=[(1080, 1920)]).num_image_tokens == [2691]
    smaller = assemble_processor(folder, max_pixels=1024 * 28 * 28)
    assert smaller._get_num_multimodal_tokens(image_sizes=[(1080, 1920)]).num_image_tokens == [48 * 84 // 4]  # 672x1176


@pytest.mark.parametrize(
    ("make", "spec", "message"),
    [
        (None, "definitely-not-a-model", "Unknown model spec 'definitely-not-a-model'."),
        (None, "./no/such/folder", "Model folder './no/such/folder' does not exist."),
        ("empty", "{folder}", "has no config.json, so it is not a model checkpoint."),
        ("broken", "{folder}", "is not valid JSON"),
        ("llava", "{folder}", "is a 'llava' checkpoint (LlavaForConditionalGeneration), which guiagent cannot drive."),
        ("opencua", "{folder}", "says it is OpenCUA, but its config.json is not the Qwen2 + Qwen2.5-VL layout"),
    ],
)
def test_bad_specs_get_one_clear_sentence(tmp_path: Path, make, spec, message):
    folder = tmp_path / "ckpt"
    if make:
        folder.mkdir()
    if make == "broken":
        (folder / "config.json").write_text("{not json")
    elif make == "llava":
        checkpoint_folder(folder, {"model_type": "llava", "architectures": ["LlavaForConditionalGeneration"]})
    elif make == "opencua":
        checkpoint_folder(folder, {"model_type": "opencua", "architectures": ["OpenCUAForConditionalGeneration"]})
    with pytest.raises(ModelLoadError) as error:
        load_model(spec.format(folder=folder))
    assert message in error.value.message
    assert error.value.hint


def test_opencua_opt_in_reaches_its_remote_code_and_explains_failure(tmp_path: Path):
    folder = checkpoint_folder(
        tmp_path / "opencua", {"model_type": "opencua", "architectures": ["OpenCUAForConditionalGeneration"]}
    )
    with pytest.raises(ModelLoadError, match="Could not load OpenCUA checkpoint") as error:
        load_model(str(folder), trust_remote_code=True)
    assert "remote code" in error.value.hint


def test_hub_id_offline_and_not_cached(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    import huggingface_hub.constants as constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(ModelLoadError, match="is not in the local Hugging Face cache and the Hub cannot be reached"):
        load_model("ui-tars-1.5-7b")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message for a machine without CUDA")
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"device": "cuda"}, "CUDA was asked for (device 'cuda') but torch sees no CUDA device"),
        ({"device": "tpu9"}, "Device 'tpu9' is not a torch device."),
        ({"dtype": "int3"}, "Unknown dtype 'int3'."),
        ({"attn": "magic"}, "Unknown attention implementation 'magic'."),
        ({"attn": "flash_attention_2"}, "flash_attention_2 needs a CUDA device and the flash-attn package."),
    ],
)
def test_bad_runtime_choices(kwargs, message):
    with pytest.raises(ModelLoadError) as error:
        load_model("tiny", **kwargs)
    assert message in error.value.message


def test_explicit_dtype_and_pixels(tiny):
    half = load_model("tiny", dtype="bf16", min_pixels=56 * 56, max_pixels=64 * 28 * 28)
    assert half.dtype == torch.bfloat16 and next(half.model.parameters()).dtype == torch.bfloat16
    assert (half.image.min_pixels, half.image.max_pixels, half.image.factor) == (3136, 64 * 28 * 28, 28)
