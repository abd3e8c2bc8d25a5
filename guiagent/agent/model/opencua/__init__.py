"""OpenCUA-7B / 32B loaded natively: transformers' own classes, the checkpoint's files, none of its code.

OpenCUA is Qwen2.5-VL with the multimodal RoPE replaced by plain 1-D RoPE, Kimi-VL's tiktoken tokenizer and
chat template, and media tokens ``<|media_begin|>image<|media_content|><|media_placeholder|><|media_end|>``.
Its checkpoint ships that as remote code (``auto_map``); this package rebuilds it from transformers'
``Qwen2_5_VisionTransformerPretrainedModel`` (vision tower), ``Qwen2Model`` (1-D RoPE language model) and a
linear ``lm_head``, reads the tokenizer with ``tiktoken`` from ``tiktoken.model`` and the special tokens from
``tokenizer_config.json``, and builds the image processor (the PIL Qwen2-VL one, no torchvision) from
``preprocessor_config.json``. Nothing under the checkpoint folder is imported or executed on this path; the
remote-code loader stays in ``loading.py`` behind ``trust_remote_code=True``.

Interface (what ``KVSession`` and the policies build against)
-------------------------------------------------------------
- ``LoadedModel(family="opencua", ...)``; ``loaded.tokens.image_pad`` is the placeholder id
  (``media_placeholder_token_id``, 151664 on OpenCUA-7B) and ``loaded.tokens.eos`` holds ``<|im_end|>`` and the
  checkpoint's eos ids.
- ``loaded.processor(text=[str], images=[PIL] or None, return_tensors="pt")`` -> ``input_ids`` (each
  ``<|media_placeholder|>`` expanded to ``t*h*w // merge**2`` copies, between ``<|media_begin|>image
  <|media_content|>`` and ``<|media_end|>``), ``attention_mask``, ``pixel_values``, ``image_grid_thw``.
  ``loaded.processor.image_placeholder`` is the text a turn puts per image; ``loaded.processor.tokenizer`` has
  ``encode``, ``decode``, ``convert_tokens_to_ids``, ``eos_token_id``; ``loaded.processor.apply_chat_template``
  renders the checkpoint's own chat template.
- ``loaded.model(input_ids=..., pixel_values=..., image_grid_thw=..., position_ids=<LongTensor [1, q]>,
  **compat.cache_kwargs(cache), use_cache=True, logits_to_keep=1)`` -> an object with ``.logits``
  (``cache=`` and ``past_key_values=`` are both accepted). Positions are plain 1-D: with no
  ``position_ids`` they continue from the cache length.
- ``loaded.language_model`` (``loaded.model.model.language_model``) is transformers' ``Qwen2Model``; its
  ``layers[i].self_attn`` is ``Qwen2Attention``. ``loaded.model.config.get_text_config(decoder=True)`` is the
  ``Qwen2Config``; ``compat.set_text_attention(model, name)`` (``{"text_config": name}``) switches only the LM.

Weight names (published checkpoint -> this module)
--------------------------------------------------
``vision_tower.*`` -> ``model.visual.*``; ``language_model.model.*`` -> ``model.language_model.*``;
``language_model.lm_head.*`` -> ``lm_head.*`` (see ``modeling.KEY_MAPPING``).

Where this may differ from the published model (not visible in the public sources)
----------------------------------------------------------------------------------
- The tiktoken split pattern lives in the checkpoint's ``tokenization_opencua.py``; it is read from that file's
  syntax tree as a string literal (never imported). If it is not a literal there, Kimi-VL's published pattern is
  used (``tokenizer.KIMI_PATTERN``), which the OpenCUA card says it shares.
- The chat template and every special-token id come from the checkpoint's own files; only ``tiny-opencua``'s
  values are ours (see ``tiny_opencua.py``).
"""

from __future__ import annotations

from guiagent.agent.model.opencua.loader import is_native_opencua as is_native_opencua
from guiagent.agent.model.opencua.loader import load_opencua_native as load_opencua_native
