"""The offline ``tiny`` model: a seeded, random-weight Qwen2.5-VL of the real architecture.

It exists to run the machinery (rolling cache, positions, compression, parsing, the loop) without weights
or network. It has NO GUI skill: its outputs are random tokens. What it does have is everything the code
paths care about: M-RoPE with a real ``mrope_section``, GQA (4 query / 2 KV heads), a vision tower with
windowed and full-attention blocks, a byte-level tokenizer whose special tokens keep the real Qwen ids, and
the real Qwen2-VL chat template. It is written once to the cache folder as an ordinary checkpoint, so
loading it goes through exactly the code that loads a real checkpoint from a local folder.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from guiagent.paths import cache_root

TINY_VERSION = 1
TINY_MIN_PIXELS = 4 * 28 * 28
TINY_MAX_PIXELS = 256 * 28 * 28
TINY_SEED = 1234

# The Qwen2/Qwen2.5-VL special tokens with their real ids: prompts built for real checkpoints tokenise the same.
SPECIAL_TOKENS = {
    "<|endoftext|>": 151643,
    "<|im_start|>": 151644,
    "<|im_end|>": 151645,
    "<|object_ref_start|>": 151646,
    "<|object_ref_end|>": 151647,
    "<|box_start|>": 151648,
    "<|box_end|>": 151649,
    "<|quad_start|>": 151650,
    "<|quad_end|>": 151651,
    "<|vision_start|>": 151652,
    "<|vision_end|>": 151653,
    "<|vision_pad|>": 151654,
    "<|image_pad|>": 151655,
    "<|video_pad|>": 151656,
}
VOCAB_SIZE = 152064  # Qwen2.5-VL's embedding size (padded past the last special token)

# The chat template shipped with Qwen2-VL / Qwen2.5-VL checkpoints (chat_template.json), verbatim.
QWEN2_VL_CHAT_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}"
    "{% for message in messages %}{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n"
    "{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}{% if add_vision_id %}Picture {{ image_count.value }}: "
    "{% endif %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'video' or 'video' in content %}{% set video_count.value = video_count.value + 1 %}"
    "{% if add_vision_id %}Video {{ video_count.value }}: {% endif %}<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def build_tokenizer():
    """A byte-level BPE tokenizer (no merges: any text encodes) with the real Qwen special-token ids."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {symbol: i for i, symbol in enumerate(sorted(pre_tokenizers.ByteLevel.alphabet()))}
    first_special = min(SPECIAL_TOKENS.values())
    for i in range(len(vocab), first_special):  # filler ids so the specials land on their real ids
        vocab[f"<|fill_{i}|>"] = i
    vocab.update(SPECIAL_TOKENS)
    core = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token=None))
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    core.decoder = decoders.ByteLevel()
    core.add_special_tokens(list(SPECIAL_TOKENS))
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        chat_template=QWEN2_VL_CHAT_TEMPLATE,
        model_max_length=32768,
    )
    wrong = {t: i for t, i in SPECIAL_TOKENS.items() if tokenizer.convert_tokens_to_ids(t) != i}
    if wrong:
        raise RuntimeError(f"tiny tokenizer: special tokens landed on the wrong ids: {wrong}")
    return tokenizer


def tiny_config(num_layers: int = 4, hidden: int = 128, heads: int = 4, kv_heads: int = 2, vision_depth: int = 2):
    """Config of the tiny model: real Qwen2.5-VL architecture, small widths."""
    from transformers import Qwen2_5_VLConfig

    half_head = (hidden // heads) // 2  # mrope_section sums to head_dim / 2 (7B: [16, 24, 24])
    mrope = [half_head - 2 * (3 * half_head // 8), 3 * half_head // 8, 3 * half_head // 8]
    vision_hidden = 64
    return Qwen2_5_VLConfig(
        text_config=dict(
            vocab_size=VOCAB_SIZE,
            hidden_size=hidden,
            intermediate_size=2 * hidden,
            num_hidden_layers=num_layers,
            num_attention_heads=heads,
            num_key_value_heads=kv_heads,
            max_position_embeddings=32768,
            rope_parameters={"rope_type": "default", "rope_theta": 1_000_000.0, "mrope_section": mrope},
            bos_token_id=SPECIAL_TOKENS["<|endoftext|>"],
            eos_token_id=SPECIAL_TOKENS["<|im_end|>"],
            pad_token_id=SPECIAL_TOKENS["<|endoftext|>"],
            tie_word_embeddings=True,
        ),
        vision_config=dict(
            depth=vision_depth,
            hidden_size=vision_hidden,
            intermediate_size=2 * vision_hidden,
            num_heads=2,
            out_hidden_size=hidden,
            patch_size=14,
            spatial_merge_size=2,
            temporal_patch_size=2,
            window_size=112,
            fullatt_block_indexes=[vision_depth - 1],  # block 0 windowed, the last one full attention
        ),
        image_token_id=SPECIAL_TOKENS["<|image_pad|>"],
        video_token_id=SPECIAL_TOKENS["<|video_pad|>"],
        vision_start_token_id=SPECIAL_TOKENS["<|vision_start|>"],
        vision_end_token_id=SPECIAL_TOKENS["<|vision_end|>"],
        tie_word_embeddings=True,
    )


def write_tiny_checkpoint(folder: Path) -> None:
    """Write the tiny model as a checkpoint folder laid out like a real Qwen2.5-VL one on the Hub."""
    import torch
    from transformers import Qwen2_5_VLForConditionalGeneration, Qwen2VLImageProcessorPil

    torch.manual_seed(TINY_SEED)
    model = Qwen2_5_VLForConditionalGeneration(tiny_config()).eval()
    model.save_pretrained(folder)
    image_processor = Qwen2VLImageProcessorPil(min_pixels=TINY_MIN_PIXELS, max_pixels=TINY_MAX_PIXELS)
    image_processor.save_pretrained(folder)
    build_tokenizer().save_pretrained(folder)
    # Real checkpoints carry the processor class and a processor-level chat template; so does this one.
    config_path = folder / "preprocessor_config.json"
    preprocessor = json.loads(config_path.read_text())
    preprocessor["processor_class"] = "Qwen2_5_VLProcessor"
    preprocessor["image_processor_type"] = "Qwen2VLImageProcessor"
    config_path.write_text(json.dumps(preprocessor, indent=2))
    (folder / "chat_template.json").write_text(json.dumps({"chat_template": QWEN2_VL_CHAT_TEMPLATE}))
    (folder / "README.md").write_text(
        f"# guiagent tiny model\n\nRandom weights (seed {TINY_SEED}), real Qwen2.5-VL architecture. It has no GUI"
        " skill: it exists to run guiagent's machinery offline.\n"
    )


def ensure_tiny_checkpoint() -> Path:
    """Return the cached tiny checkpoint folder, building it (a few seconds) on first use."""
    return cached_checkpoint("tiny", TINY_VERSION, write_tiny_checkpoint)


def cached_checkpoint(name: str, version: int, write: Callable[[Path], None]) -> Path:
    """The cache folder of a built-in checkpoint (one per checkpoint version, transformers and torch), written by
    ``write`` on first use under a temporary name and renamed into place, so parallel test processes never see a
    half-written checkpoint."""
    import torch
    import transformers

    key = f"{name}-v{version}-transformers{transformers.__version__}-torch{torch.__version__.split('+')[0]}"
    folder = cache_root() / "models" / key
    if (folder / "config.json").exists():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=folder.parent))
    try:
        write(scratch)
        try:
            scratch.rename(folder)
        except OSError:  # another process won the race; its folder is as good as ours
            if not (folder / "config.json").exists():
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return folder


def seven_b_config(num_layers: int = 1, intermediate_size: int = 18944):
    """UI-TARS-1.5-7B / Qwen2.5-VL-7B text widths (hidden 3584, 28 query / 4 KV heads, head_dim 128,
    mrope [16, 24, 24]) with a reducible depth and MLP, and a one-block vision tower that still emits the real
    number of visual tokens per screenshot (it has the real patch and merge sizes). Random weights."""
    config = tiny_config(num_layers=num_layers, hidden=3584, heads=28, kv_heads=4, vision_depth=1)
    config.text_config.intermediate_size = intermediate_size
    return config


def synthetic_model(
    config,
    *,
    min_pixels: int = 3136,
    max_pixels: int = 12845056,
    seed: int = TINY_SEED,
    dtype=None,
    device: str = "cpu",
    attn: str = "sdpa",
):
    """A ``LoadedModel`` built in memory from ``config`` (random weights, the tiny tokenizer and template).

    For benchmarks of real shapes: the default pixel limits are UI-TARS' (a 1080p screenshot = 2,691 tokens).
    """
    import torch
    from transformers import Qwen2_5_VLForConditionalGeneration, Qwen2VLImageProcessorPil

    from guiagent.agent.model.loaded import ImageSettings, LoadedModel, read_special_tokens
    from guiagent.agent.model.processor import GuiProcessor
    from guiagent.compat import set_config_attention

    torch.manual_seed(seed)
    set_config_attention(config, attn)
    dtype = dtype or torch.float32
    with torch.device(device):
        model = Qwen2_5_VLForConditionalGeneration(config).to(dtype).eval()
    tokenizer = build_tokenizer()
    image_processor = Qwen2VLImageProcessorPil(min_pixels=min_pixels, max_pixels=max_pixels)
    processor = GuiProcessor(
        image_processor=image_processor, tokenizer=tokenizer, video_processor=None, chat_template=QWEN2_VL_CHAT_TEMPLATE
    )
    return LoadedModel(
        model=model,
        processor=processor,
        family="qwen2_5_vl",
        spec="synthetic",
        folder=Path("."),
        tokens=read_special_tokens(tokenizer, config.text_config),
        image=ImageSettings(min_pixels, max_pixels, 14, 2),
        device=torch.device(device),
        dtype=dtype,
        attn=attn,
    )
