"""OpenCUA's Kimi-VL-style tokenizer read with ``tiktoken``: BPE ranks from ``tiktoken.model``, special tokens
from ``tokenizer_config.json``'s ``added_tokens_decoder``, the split pattern from the checkpoint's tokenizer source
read as text (its syntax tree), never imported.

Special tokens in a prompt are always encoded as themselves (the chat template and the processor write them);
text that merely spells one elsewhere is the caller's business, as with every Hugging Face tokenizer.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from guiagent.errors import ModelLoadError

VOCAB_FILE = "tiktoken.model"
TOKENIZER_SOURCE = "tokenization_opencua.py"
NUM_RESERVED_SPECIAL = 256  # Kimi-VL reserves 256 ids after the BPE ranks; unnamed ones are <|reserved_token_N|>
# Kimi-VL's published split pattern (moonshotai/Kimi-VL tokenization_moonshot.py), the fallback when the
# checkpoint's tokenizer source does not spell its pattern as a string literal.
KIMI_PATTERN = "|".join(
    [
        r"""[\p{Han}]+""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]]*[\p{Ll}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]]+"""
        r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]]+[\p{Ll}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]]*"""
        r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)


def _literal(node: ast.AST) -> str | None:
    """A string the expression spells without running anything: a literal, ``+`` of literals, ``"|".join([...])``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _literal(node.left), _literal(node.right)
        return left + right if left is not None and right is not None else None
    if isinstance(node, ast.JoinedStr):
        return None
    is_join = isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "join"
    if is_join and len(node.args) == 1 and isinstance(node.args[0], (ast.List, ast.Tuple)):
        separator = _literal(node.func.value)
        parts = [_literal(item) for item in node.args[0].elts]
        if separator is not None and all(part is not None for part in parts):
            return separator.join(parts)  # type: ignore[arg-type]
    return None


def read_pattern(folder: Path) -> tuple[str, str]:
    """``(pattern, where it came from)``: the ``pat_str`` literal of the checkpoint's tokenizer source, else Kimi's."""
    source = folder / TOKENIZER_SOURCE
    if source.exists():
        try:
            tree = ast.parse(source.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError):
            tree = None
        for node in ast.walk(tree) if tree is not None else ():
            targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
            names = {getattr(t, "id", None) or getattr(t, "attr", None) for t in targets if t is not None}
            value = getattr(node, "value", None)
            if "pat_str" in names and value is not None and (found := _literal(value)):
                return found, f"{TOKENIZER_SOURCE} (read, not run)"
    return KIMI_PATTERN, "Kimi-VL's published pattern"


class OpenCUATokenizer:
    """The parts of a Hugging Face tokenizer guiagent uses, over a ``tiktoken.Encoding``."""

    def __init__(self, folder: Path) -> None:
        import tiktoken
        from tiktoken.load import load_tiktoken_bpe

        config = json.loads((folder / "tokenizer_config.json").read_text())
        ranks = load_tiktoken_bpe(str(folder / VOCAB_FILE))
        base = len(ranks)
        named = {int(i): entry["content"] for i, entry in (config.get("added_tokens_decoder") or {}).items()}
        reserved = range(base, max([base + NUM_RESERVED_SPECIAL, *[i + 1 for i in named]]))
        self.special_tokens = {named.get(i, f"<|reserved_token_{i}|>"): i for i in reserved}
        self.pattern, self.pattern_source = read_pattern(folder)
        self.encoding = tiktoken.Encoding(
            name=f"opencua:{folder.name}",
            pat_str=self.pattern,
            mergeable_ranks=ranks,
            special_tokens=self.special_tokens,
        )
        self._special_re = re.compile(
            "|".join(re.escape(t) for t in sorted(self.special_tokens, key=len, reverse=True))
        )
        self._id_to_special = {i: t for t, i in self.special_tokens.items()}
        self.chat_template: str | None = config.get("chat_template")
        self.eos_token = _token_text(config.get("eos_token"))
        self.pad_token = _token_text(config.get("pad_token"))
        self.bos_token = _token_text(config.get("bos_token"))
        self.unk_token = _token_text(config.get("unk_token"))
        self.model_max_length = int(config.get("model_max_length") or 131072)
        self.vocab_size = base + len(self.special_tokens)

    # -- the Hugging Face surface --------------------------------------------------------------------------
    def convert_tokens_to_ids(self, tokens: str | list[str]) -> Any:
        if isinstance(tokens, list):
            return [self.convert_tokens_to_ids(token) for token in tokens]
        if tokens in self.special_tokens:
            return self.special_tokens[tokens]
        try:
            return self.encoding.encode_single_token(tokens.encode("utf-8"))
        except KeyError:
            return self.unk_token_id

    def _id(self, token: str | None) -> int | None:
        return self.special_tokens.get(token) if token else None

    @property
    def eos_token_id(self) -> int | None:
        return self._id(self.eos_token)

    @property
    def pad_token_id(self) -> int | None:
        return self._id(self.pad_token)

    @property
    def bos_token_id(self) -> int | None:
        return self._id(self.bos_token)

    @property
    def unk_token_id(self) -> int | None:
        return self._id(self.unk_token)

    @property
    def all_special_ids(self) -> list[int]:
        return sorted(self.special_tokens.values())

    def encode(self, text: str, add_special_tokens: bool = True) -> list[int]:
        """Token ids of ``text``; special-token spellings become their ids (no BOS is added: the template has none)."""
        ids: list[int] = []
        start = 0
        for match in self._special_re.finditer(text):
            ids.extend(self.encoding.encode_ordinary(text[start : match.start()]))
            ids.append(self.special_tokens[match.group()])
            start = match.end()
        ids.extend(self.encoding.encode_ordinary(text[start:]))
        return ids

    def __call__(self, text: str | list[str], **_: Any) -> dict[str, list]:
        texts = [text] if isinstance(text, str) else list(text)
        ids = [self.encode(t) for t in texts]
        return {"input_ids": ids, "attention_mask": [[1] * len(row) for row in ids]}

    def decode(self, token_ids: Iterable[int] | Any, skip_special_tokens: bool = False, **_: Any) -> str:
        ids = [int(i) for i in (token_ids.tolist() if hasattr(token_ids, "tolist") else token_ids)]
        if skip_special_tokens:
            ids = [i for i in ids if i not in self._id_to_special]
        return self.encoding.decode(ids, errors="replace")

    def batch_decode(self, sequences: Iterable[Any], **kwargs: Any) -> list[str]:
        return [self.decode(row, **kwargs) for row in sequences]

    def convert_ids_to_tokens(self, ids: int | list[int]) -> Any:
        if isinstance(ids, list):
            return [self.convert_ids_to_tokens(i) for i in ids]
        if ids in self._id_to_special:
            return self._id_to_special[ids]
        return self.encoding.decode_single_token_bytes(ids).decode("utf-8", errors="replace")

    def __len__(self) -> int:
        return self.vocab_size


def _token_text(value: Any) -> str | None:
    """A special token as tokenizer_config.json writes it: a string or an AddedToken-like dict."""
    if isinstance(value, dict):
        return value.get("content")
    return value


def load_tokenizer(folder: Path) -> OpenCUATokenizer:
    missing = [name for name in (VOCAB_FILE, "tokenizer_config.json") if not (folder / name).exists()]
    if missing:
        raise ModelLoadError(
            f"OpenCUA checkpoint '{folder}' lacks {', '.join(missing)}, so its tokenizer cannot be read.",
            "Re-download the checkpoint (guiagent fetches *.model and *.json files).",
        )
    try:
        return OpenCUATokenizer(folder)
    except ImportError as error:
        raise ModelLoadError(
            "OpenCUA's tokenizer needs the tiktoken package.", "pip install 'tiktoken>=0.7' (a guiagent dependency)."
        ) from error
