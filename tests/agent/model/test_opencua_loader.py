"""The native OpenCUA loader on ``tiny-opencua``: no checkpoint code runs, every tensor maps, the tokenizer and the
processor behave as the published ones are documented to, and the model honours the session's interface."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image
from safetensors import safe_open

from guiagent import compat
from guiagent.agent.model.loaded import LoadedModel
from guiagent.agent.model.loading import known_models, load_model
from guiagent.agent.model.opencua.modeling import KEY_MAPPING, checkpoint_name, module_name
from guiagent.agent.model.opencua.tokenizer import KIMI_PATTERN, OpenCUATokenizer
from guiagent.agent.model.tiny_opencua import REMOTE_FILES, SPECIAL_TOKENS, ensure_tiny_opencua_checkpoint
from guiagent.errors import ModelLoadError, SessionError
from tests.helpers.options import model_options_under_test

PUBLISHED_PREFIXES = ("vision_tower.", "language_model.model.", "language_model.lm_head.")


@pytest.fixture(scope="module")
def opencua() -> LoadedModel:
    return load_model("tiny-opencua", **model_options_under_test())


def checkpoint_tensors(folder: Path) -> dict[str, torch.Tensor]:
    tensors = {}
    for path in sorted(folder.glob("*.safetensors")):
        with safe_open(str(path), framework="pt") as handle:
            tensors.update({key: handle.get_tensor(key) for key in handle.keys()})  # noqa: SIM118
    return tensors


def test_tiny_opencua_is_a_known_spec_laid_out_like_the_published_checkpoint():
    specs = known_models()
    assert specs["tiny-opencua"].family == "opencua"
    assert all(specs[name].loads.startswith("natively") for name in ("opencua-7b", "opencua-32b", "tiny-opencua"))
    folder = ensure_tiny_opencua_checkpoint()
    for name in ("config.json", "generation_config.json", "tokenizer_config.json", "preprocessor_config.json",
                 "tiktoken.model", "model.safetensors.index.json", *REMOTE_FILES):  # fmt: skip
        assert (folder / name).exists(), name
    config = json.loads((folder / "config.json").read_text())
    assert config["model_type"] == "opencua" and config["architectures"] == ["OpenCUAForConditionalGeneration"]
    assert config["media_placeholder_token_id"] == 151664 and set(config["auto_map"]) >= {"AutoConfig", "AutoModel"}
    assert config["text_config"]["model_type"] == "qwen2" and "depth" in config["vision_config"]
    assert json.loads((folder / "generation_config.json").read_text())["eos_token_id"] == 151644
    index = json.loads((folder / "model.safetensors.index.json").read_text())["weight_map"]
    assert all(name.startswith(PUBLISHED_PREFIXES) for name in index)
    assert any(name.startswith("language_model.lm_head.") for name in index)  # untied, as OpenCUA-7B


def test_tiny_opencua_loads_natively(opencua: LoadedModel):
    assert opencua.family == "opencua" and opencua.spec == "tiny-opencua"
    assert type(opencua.model).__module__ == "guiagent.agent.model.opencua.modeling"
    assert type(opencua.language_model).__name__ == "Qwen2Model"
    assert all(type(layer.self_attn).__name__ == "Qwen2Attention" for layer in opencua.language_model.layers)
    assert type(opencua.model.config.get_text_config(decoder=True)).__name__ == "Qwen2Config"
    assert type(opencua.model.model.visual).__name__ == "Qwen2_5_VisionTransformerPretrainedModel"
    assert opencua.tokens.image_pad == 151664 and {151644, SPECIAL_TOKENS["<|im_end|>"]} <= set(opencua.tokens.eos)
    assert (opencua.num_layers, opencua.num_heads, opencua.num_kv_heads, opencua.head_dim) == (4, 4, 2, 32)
    assert opencua.image.factor == 28


def test_weight_mapping_covers_every_tensor(opencua: LoadedModel):
    tensors = checkpoint_tensors(opencua.folder)
    mapped = {module_name(name): tensor for name, tensor in tensors.items()}
    state = opencua.model.state_dict()
    assert set(mapped) == set(state), (sorted(set(mapped) - set(state))[:5], sorted(set(state) - set(mapped))[:5])
    for name, tensor in mapped.items():
        assert torch.equal(state[name].cpu(), tensor.to(state[name].dtype)), name
    assert all(checkpoint_name(module_name(name)) == name for name in tensors)
    assert len(KEY_MAPPING) == len(PUBLISHED_PREFIXES)


def write_marker_module(path: Path, marker: Path, extra: str = "") -> None:
    path.write_text(f"from pathlib import Path\nPath({str(marker)!r}).write_text('imported')\n{extra}")


def test_native_path_never_imports_the_checkpoints_code(tmp_path: Path):
    source = ensure_tiny_opencua_checkpoint()
    copy = tmp_path / "opencua-copy"
    copy.mkdir()
    for item in source.iterdir():
        target = copy / item.name
        if item.suffix == ".safetensors":
            target.symlink_to(item)
        else:
            shutil.copy(item, target)
    markers = {name: tmp_path / f"{name}.imported" for name in REMOTE_FILES}
    for name, marker in markers.items():
        extra = f"pat_str = {KIMI_PATTERN!r}\n" if name == "tokenization_opencua.py" else ""
        write_marker_module(copy / name, marker, extra)
    config = json.loads((copy / "config.json").read_text())
    assert config["auto_map"]["AutoModel"] == "modeling_opencua.OpenCUAForConditionalGeneration"

    loaded = load_model(str(copy), **model_options_under_test())
    assert loaded.family == "opencua" and loaded.processor.tokenizer.pattern == KIMI_PATTERN
    assert [marker for marker in markers.values() if marker.exists()] == []
    planted = [name for name, module in list(sys.modules.items()) if str(copy) in str(getattr(module, "__file__", ""))]
    assert planted == [] and not [name for name in sys.modules if "opencua_hyphen_copy" in name]

    # the markers do work: importing one (as trust_remote_code would) writes its file
    spec = importlib.util.spec_from_file_location("planted_modeling_opencua", copy / "modeling_opencua.py")
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
    assert markers["modeling_opencua.py"].read_text() == "imported"


def test_remote_code_only_behind_the_explicit_opt_in(monkeypatch: pytest.MonkeyPatch):
    from guiagent.agent.model import loading

    class RemoteCodeReached(Exception):
        pass

    def remote(*args, **kwargs):
        raise RemoteCodeReached

    monkeypatch.setattr(loading, "_load_opencua", remote)
    with pytest.raises(RemoteCodeReached):
        load_model("tiny-opencua", trust_remote_code=True, **model_options_under_test())
    assert load_model("tiny-opencua", **model_options_under_test()).family == "opencua"  # default: native


def test_pattern_falls_back_to_kimis_without_the_tokenizer_source(tmp_path: Path):
    source = ensure_tiny_opencua_checkpoint()
    for name in ("tiktoken.model", "tokenizer_config.json"):
        shutil.copy(source / name, tmp_path / name)
    tokenizer = OpenCUATokenizer(tmp_path)
    assert tokenizer.pattern == KIMI_PATTERN and tokenizer.pattern_source == "Kimi-VL's published pattern"


@pytest.mark.parametrize(
    "text",
    ["Click the 'Save' button, then type hello.", "你好，世界 ünïcödé  émoji 🎉", "x = 3\n\n\tif x:\n    pass  ", ""],
)
def test_tokenizer_round_trips_text(opencua: LoadedModel, text: str):
    tokenizer = opencua.processor.tokenizer
    ids = tokenizer.encode(text)
    assert tokenizer.decode(ids) == text
    assert all(i < 151643 for i in ids)  # plain text never lands on a special token


def test_tokenizer_applies_the_bpe_merges(opencua: LoadedModel):
    tokenizer = opencua.processor.tokenizer
    assert len(tokenizer.encode(" the")) == 1 and len(tokenizer.encode("Click")) == 2  # "Cl" + "ick"


def test_tokenizer_special_tokens_come_from_the_checkpoint(opencua: LoadedModel):
    tokenizer = opencua.processor.tokenizer
    declared = json.loads((opencua.folder / "tokenizer_config.json").read_text())["added_tokens_decoder"]
    assert {entry["content"]: int(i) for i, entry in declared.items()} == tokenizer.special_tokens
    for token, token_id in SPECIAL_TOKENS.items():
        assert tokenizer.convert_tokens_to_ids(token) == token_id
        assert tokenizer.encode(token) == [token_id] and tokenizer.decode([token_id]) == token
    assert tokenizer.eos_token_id == 151644 and tokenizer.pad_token_id == SPECIAL_TOKENS["[PAD]"]
    text = "<|im_user|>user<|im_middle|>hi<|im_end|>"
    ids = tokenizer.encode(text)
    assert tokenizer.decode(ids) == text and tokenizer.decode(ids, skip_special_tokens=True) == "userhi"


def test_processor_expands_one_placeholder_to_the_merged_patch_count(opencua: LoadedModel):
    processor = opencua.processor
    text = f"<|im_user|>user<|im_middle|>{processor.image_placeholder}look<|im_end|>"
    image = Image.new("RGB", (280, 140), (20, 120, 220))
    inputs = processor(text=[text], images=[image], return_tensors="pt")
    grid = inputs["image_grid_thw"]
    expected = int(grid.prod()) // opencua.image.merge_size**2
    assert grid.tolist() == [[1, 10, 20]] and expected == 50
    ids = inputs["input_ids"][0].tolist()
    tokenizer = processor.tokenizer
    begin = ids.index(tokenizer.convert_tokens_to_ids("<|media_content|>"))
    end = ids.index(tokenizer.convert_tokens_to_ids("<|media_end|>"))
    assert ids[begin + 1 : end] == [opencua.tokens.image_pad] * expected
    assert ids.count(opencua.tokens.image_pad) == expected
    assert inputs["pixel_values"].shape == (200, 3 * 2 * 14 * 14)
    with pytest.raises(SessionError):
        processor(text=[text], images=None)
    with pytest.raises(SessionError):
        processor(text=["no image here"], images=[image])


def test_chat_template_renders_kimi_turns_with_media_tokens(opencua: LoadedModel):
    image = Image.new("RGB", (56, 56))
    messages = [
        {"role": "system", "content": "You are a GUI agent."},
        {"role": "user", "content": [{"type": "image", "image": image}, {"type": "text", "text": "Open it."}]},
    ]
    text = opencua.processor.apply_chat_template(messages, add_generation_prompt=True)
    assert text == (
        "<|im_system|>system<|im_middle|>You are a GUI agent.<|im_end|><|im_user|>user<|im_middle|>"
        f"{opencua.processor.image_placeholder}Open it.<|im_end|><|im_assistant|>assistant<|im_middle|>"
    )


def test_model_follows_the_session_interface(opencua: LoadedModel):
    processor = opencua.processor
    text = f"<|im_user|>user<|im_middle|>{processor.image_placeholder}go<|im_end|><|im_assistant|>assistant"
    inputs = processor(text=[text], images=[Image.new("RGB", (112, 84), (200, 10, 10))], return_tensors="pt")
    inputs = inputs.to(opencua.device)
    ids, split = inputs["input_ids"], inputs["input_ids"].shape[1] - 3
    with torch.inference_mode():
        pixels, grid = inputs["pixel_values"], inputs["image_grid_thw"]
        full = opencua.model(input_ids=ids, pixel_values=pixels, image_grid_thw=grid)
        cache = compat.new_cache(opencua.text_config)
        opencua.model(
            input_ids=ids[:, :split],
            pixel_values=inputs["pixel_values"],
            image_grid_thw=inputs["image_grid_thw"],
            position_ids=torch.arange(split, device=ids.device).view(1, -1),
            **compat.cache_kwargs(cache),
            use_cache=True,
            logits_to_keep=1,
        )
        last = opencua.model(
            input_ids=ids[:, split:],
            position_ids=torch.arange(split, ids.shape[1], device=ids.device).view(1, -1),
            **compat.cache_kwargs(cache),
            use_cache=True,
            logits_to_keep=1,
        )
    assert last.logits.shape == (1, 1, opencua.text_config.vocab_size) and cache.get_seq_length() == ids.shape[1]
    assert (last.logits[0, -1] - full.logits[0, -1]).abs().max().item() < 1e-4


def test_set_text_attention_switches_only_the_language_model():
    loaded = load_model("tiny-opencua", **model_options_under_test(attn="sdpa"))
    compat.set_text_attention(loaded.model, "eager")
    assert compat.text_attention(loaded.model) == "eager"
    assert loaded.language_model.config._attn_implementation == "eager"
    assert compat.vision_attention(loaded.model) == "sdpa"


def test_a_config_that_is_not_the_native_layout_points_at_the_opt_in(tmp_path: Path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "opencua", "text_config": {"model_type": "llama"}}))
    with pytest.raises(ModelLoadError) as error:
        load_model(str(tmp_path))
    assert "--trust-remote-code" in error.value.hint
