"""CacheStats: what the KV cache holds right now, measured from the cache tensors themselves."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ImageStats:
    """One screenshot in the cache: where it sits in the logical stream and how much of it each layer kept."""

    index: int
    turn: int
    logical_start: int
    logical_end: int
    kept_per_layer: tuple[float, ...]  # tokens kept in each layer (mean over KV heads)

    @property
    def tokens(self) -> int:
        return self.logical_end - self.logical_start

    @property
    def kept_fraction(self) -> float:
        if not self.tokens or not self.kept_per_layer:
            return 0.0
        return sum(self.kept_per_layer) / (len(self.kept_per_layer) * self.tokens)


@dataclass(frozen=True)
class CacheStats:
    """A snapshot of a session's cache.

    ``logical_tokens`` counts every token ever appended; ``physical_tokens_per_layer`` what each layer holds
    (per KV head); ``bytes_held`` sums the key and value tensors actually held, and ``bytes_full`` is what the
    model's GQA cache of the context would take with nothing compressed (the context: every token but the
    screenshots beyond the session's history limit).
    """

    logical_tokens: int
    next_position: int
    physical_tokens_per_layer: tuple[int, ...]
    bytes_held: int
    bytes_full: int
    images: tuple[ImageStats, ...]
    budget: str
    method: str
    context_tokens: int | None = None  # the tokens a percent budget counts (None: every logical token)

    @property
    def context(self) -> int:
        """Tokens in the context: the logical tokens but the screenshots beyond the history limit."""
        return self.logical_tokens if self.context_tokens is None else self.context_tokens

    @property
    def physical_tokens(self) -> int:
        """Tokens held summed over layers (per KV head)."""
        return sum(self.physical_tokens_per_layer)

    @property
    def ratio(self) -> float:
        """Bytes held as a share of the full cache (1.0 = nothing evicted)."""
        return self.bytes_held / self.bytes_full if self.bytes_full else 1.0

    def summary(self) -> dict[str, object]:
        """A flat, JSON-ready record (what trajectories and benchmarks store per step)."""
        return {
            "logical_tokens": self.logical_tokens,
            "context_tokens": self.context,
            "physical_tokens_per_layer": list(self.physical_tokens_per_layer),
            "bytes_held": self.bytes_held,
            "bytes_full": self.bytes_full,
            "ratio": round(self.ratio, 6),
            "budget": self.budget,
            "method": self.method,
            "images_kept": [round(image.kept_fraction, 4) for image in self.images],
        }
