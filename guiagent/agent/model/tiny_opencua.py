"""The offline ``tiny-opencua`` model: random weights in the published OpenCUA checkpoint's layout.

Same files as ``xlangai/OpenCUA-7B`` (config.json with ``auto_map`` and Qwen2 ``text_config`` / Qwen2.5-VL
``vision_config`` in the 4.x key style, sharded safetensors under the published names ``vision_tower.*`` /
``language_model.model.*`` / ``language_model.lm_head.*`` in bf16, ``tiktoken.model``, ``tokenizer_config.json``
with ``added_tokens_decoder`` and the chat template, ``preprocessor_config.json``, ``generation_config.json`` and
the four remote-code file names), so it loads through exactly the native path a real checkpoint takes.

What is ours, not OpenCUA's: the BPE vocabulary (the 256 bytes, a few merges, ``<|fill_N|>`` fillers up to the real
base of 151,643 ranks), the widths, and the ids of special tokens other than the two the public sources state
(``<|media_placeholder|>`` = 151664 in config.json, eos 151644 in generation_config.json). The others follow
Kimi-VL's offsets from the base, which also land the placeholder on 151664. The chat template is Kimi-VL's
turn format with OpenCUA's media tokens. The ``*_opencua.py`` files are stubs that refuse to import.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

from guiagent.agent.model.opencua.tokenizer import KIMI_PATTERN, NUM_RESERVED_SPECIAL
from guiagent.agent.model.tiny import cached_checkpoint

TINY_OPENCUA_VERSION = 3
TINY_SEED = 4321
BASE_RANKS = 151643  # Qwen2's BPE size: OpenCUA's special tokens start here
VOCAB_SIZE = 152064
MIN_PIXELS, MAX_PIXELS = 4 * 28 * 28, 256 * 28 * 28
# Kimi-VL's special-token offsets from the base; <|media_placeholder|> takes <|media_pad|>'s place (+21)
SPECIAL_OFFSETS = {
    "[BOS]": 0, "[EOS]": 1, "<|im_end|>": 2, "<|im_user|>": 3, "<|im_assistant|>": 4, "<|start_header_id|>": 6,
    "<|end_header_id|>": 7, "[EOT]": 9, "<|im_system|>": 10, "<|im_middle|>": 17, "<|media_begin|>": 18,
    "<|media_content|>": 19, "<|media_end|>": 20, "<|media_placeholder|>": 21, "[UNK]": 254, "[PAD]": 255,
}  # fmt: skip
SPECIAL_TOKENS = {token: BASE_RANKS + offset for token, offset in SPECIAL_OFFSETS.items()}
MERGES = [b"th", b"he", b"in", b"er", b"an", b"re", b"on", b" t", b" a", b"the", b" the", b"ing", b"Cl", b"ic", b"ick"]
CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "{%- if message['role'] == 'system' -%}<|im_system|>system<|im_middle|>"
    "{%- elif message['role'] == 'user' -%}<|im_user|>user<|im_middle|>"
    "{%- else -%}<|im_assistant|>assistant<|im_middle|>{%- endif -%}"
    "{%- if message['content'] is string -%}{{ message['content'] }}"
    "{%- else -%}{%- for content in message['content'] -%}"
    "{%- if content['type'] == 'image' or 'image' in content or 'image_url' in content -%}"
    "<|media_begin|>image<|media_content|><|media_placeholder|><|media_end|>"
    "{%- elif 'text' in content -%}{{ content['text'] }}{%- endif -%}{%- endfor -%}{%- endif -%}<|im_end|>"
    "{%- endfor -%}{%- if add_generation_prompt -%}<|im_assistant|>assistant<|im_middle|>{%- endif -%}"
)
AUTO_MAP = {
    "AutoConfig": "configuration_opencua.OpenCUAConfig",
    "AutoModel": "modeling_opencua.OpenCUAForConditionalGeneration",
    "AutoModelForCausalLM": "modeling_opencua.OpenCUAForConditionalGeneration",
}
REMOTE_FILES = ("configuration_opencua.py", "modeling_opencua.py", "processing_opencua.py", "tokenization_opencua.py")


def tiny_opencua_config() -> dict:
    """config.json of tiny-opencua, in the published key layout (transformers 4.x style)."""
    return {
        "architectures": ["OpenCUAForConditionalGeneration"],
        "auto_map": AUTO_MAP,
        "model_type": "opencua",
        "ignore_index": -100,
        "media_placeholder_token_id": SPECIAL_TOKENS["<|media_placeholder|>"],
        "pad_token_id": 0,
        "max_position_embeddings": 128000,
        "tie_word_embeddings": False,
        "torch_dtype": "bfloat16",
        "text_config": {
            "model_type": "qwen2", "architectures": ["Qwen2ForCausalLM"], "hidden_act": "silu", "hidden_size": 128,
            "intermediate_size": 256, "num_hidden_layers": 4, "num_attention_heads": 4, "num_key_value_heads": 2,
            "max_position_embeddings": 128000, "max_window_layers": 4, "rms_norm_eps": 1e-06, "rope_theta": 1000000.0,
            "rope_scaling": None, "sliding_window": 32768, "use_sliding_window": False, "use_cache": True,
            "attention_dropout": 0.0, "initializer_range": 0.02, "vocab_size": VOCAB_SIZE,
            "bos_token_id": SPECIAL_TOKENS["[BOS]"], "eos_token_id": SPECIAL_TOKENS["[EOS]"],
            "tie_word_embeddings": False, "torch_dtype": "bfloat16",
        },
        "vision_config": {
            "depth": 2, "hidden_act": "silu", "hidden_size": 64, "intermediate_size": 128, "num_heads": 2,
            "in_chans": 3, "out_hidden_size": 128, "patch_size": 14, "spatial_merge_size": 2, "spatial_patch_size": 14,
            "temporal_patch_size": 2, "window_size": 112, "fullatt_block_indexes": [1], "tokens_per_second": 2,
            "initializer_range": 0.02, "torch_dtype": "bfloat16",
        },
    }  # fmt: skip


def tiktoken_lines() -> list[str]:
    """``tiktoken.model``: one ``base64(token) rank`` line per BPE rank, as tiktoken's loader reads it."""
    tokens = [bytes([b]) for b in range(256)] + MERGES
    # fillers up to the real base, printable like tiny's <|fill_N|>; no merge path builds one from text (their
    # byte pairs have no rank), so they appear only when the random model emits them
    tokens += [f"<|fill_{rank}|>".encode() for rank in range(len(tokens), BASE_RANKS)]
    return [f"{base64.b64encode(token).decode()} {rank}" for rank, token in enumerate(tokens)]


def tokenizer_config() -> dict:
    named = {i: t for t, i in SPECIAL_TOKENS.items()}
    decoder = {
        str(i): {"content": named.get(i, f"<|reserved_token_{i}|>"), "lstrip": False, "normalized": False,
                 "rstrip": False, "single_word": False, "special": True}
        for i in range(BASE_RANKS, BASE_RANKS + NUM_RESERVED_SPECIAL)
    }  # fmt: skip
    return {
        "added_tokens_decoder": decoder,
        "additional_special_tokens": ["<|im_end|>", "<|im_user|>", "<|im_assistant|>", "<|im_system|>",
                                      "<|im_middle|>", "<|media_begin|>", "<|media_content|>", "<|media_end|>",
                                      "<|media_placeholder|>"],
        "auto_map": {"AutoTokenizer": ["tokenization_opencua.TikTokenV3", None]},
        "bos_token": "[BOS]", "eos_token": "[EOS]", "pad_token": "[PAD]", "unk_token": "[UNK]",
        "chat_template": CHAT_TEMPLATE, "clean_up_tokenization_spaces": False, "model_max_length": 131072,
        "tokenizer_class": "TikTokenV3",
    }  # fmt: skip


def preprocessor_config() -> dict:
    return {
        "min_pixels": MIN_PIXELS, "max_pixels": MAX_PIXELS, "patch_size": 14, "temporal_patch_size": 2,
        "merge_size": 2, "image_mean": [0.48145466, 0.4578275, 0.40821073],
        "image_std": [0.26862954, 0.26130258, 0.27577711], "image_processor_type": "Qwen2VLImageProcessor",
        "processor_class": "OpenCUAProcessor",
    }  # fmt: skip


def stub_source(name: str) -> str:
    body = f'"""tiny-opencua ships no remote code: {name} refuses to import (guiagent loads it natively)."""\n\n'
    if name == "tokenization_opencua.py":  # the split pattern, as the real file spells it; read, never run
        body += f"pat_str = {KIMI_PATTERN!r}\n\n"
    return body + 'raise ImportError("tiny-opencua has no remote code; load it without --trust-remote-code")\n'


def write_weights(folder: Path) -> None:
    """Random weights, saved in bf16 under the published names in two shards with an index."""
    import torch
    from safetensors.torch import save_file

    from guiagent.agent.model.opencua.loader import build_config
    from guiagent.agent.model.opencua.modeling import OpenCUAForConditionalGeneration, checkpoint_name

    torch.manual_seed(TINY_SEED)
    model = OpenCUAForConditionalGeneration(build_config(tiny_opencua_config(), "sdpa")).eval()
    tensors = {checkpoint_name(k): v.detach().to(torch.bfloat16).contiguous() for k, v in model.state_dict().items()}
    shards = [{k: v for k, v in tensors.items() if k.startswith("vision_tower.") or "embed" in k}, {}]
    shards[1] = {k: v for k, v in tensors.items() if k not in shards[0]}
    weight_map, total = {}, 0
    for index, shard in enumerate(shards, start=1):
        name = f"model-{index:05d}-of-{len(shards):05d}.safetensors"
        save_file(shard, str(folder / name), metadata={"format": "pt"})
        weight_map.update(dict.fromkeys(shard, name))
        total += sum(t.numel() * t.element_size() for t in shard.values())
    index_data = {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}
    (folder / "model.safetensors.index.json").write_text(json.dumps(index_data, indent=2))


def write_tiny_opencua_checkpoint(folder: Path) -> None:
    def dump(name: str, data: dict) -> None:
        (folder / name).write_text(json.dumps(data, indent=2))

    dump("config.json", tiny_opencua_config())
    dump("generation_config.json", {"max_length": 32768, "eos_token_id": SPECIAL_TOKENS["[EOS]"]})
    dump("tokenizer_config.json", tokenizer_config())
    dump("preprocessor_config.json", preprocessor_config())
    (folder / "tiktoken.model").write_text("\n".join(tiktoken_lines()) + "\n")
    for name in REMOTE_FILES:
        (folder / name).write_text(stub_source(name))
    write_weights(folder)
    (folder / "README.md").write_text(
        f"# guiagent tiny-opencua\n\nRandom weights (seed {TINY_SEED}) in the published OpenCUA checkpoint layout."
        " No GUI skill: it runs guiagent's OpenCUA path offline.\n"
    )


def ensure_tiny_opencua_checkpoint() -> Path:
    """The cached tiny-opencua folder, written (a few seconds) on first use."""
    return cached_checkpoint("tiny-opencua", TINY_OPENCUA_VERSION, write_tiny_opencua_checkpoint)
