"""Vectors for templates: from the cache, else from the encoder (then cached)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from logsentry.embed.cache import VectorCache
from logsentry.embed.minilm import DIM, ENCODER_ID, OnnxEncoder, ensure_encoder
from logsentry.embed.text import template_text


class TemplateVectors:
    """``vectors(templates)`` -> float32 array (n, 384); the encoder loads only if needed."""

    def __init__(self, cache_dir: Path, *, on_notice: Callable[[str], None] | None = None) -> None:
        self.cache_dir = cache_dir
        self.cache = VectorCache(cache_dir / "template-vectors.sqlite", ENCODER_ID)
        self._encoder: OnnxEncoder | None = None
        self._on_notice = on_notice
        self.encoded = 0  # templates embedded by the encoder in this process

    def encoder(self) -> OnnxEncoder:
        if self._encoder is None:
            self._encoder = OnnxEncoder(ensure_encoder(self.cache_dir, on_notice=self._on_notice))
        return self._encoder

    def vectors(self, templates: Sequence[str]) -> np.ndarray:
        known = self.cache.get_many(templates)
        missing = [t for t in dict.fromkeys(templates) if t not in known]
        if missing:
            fresh = self.encoder().encode([template_text(t) for t in missing])
            new = dict(zip(missing, fresh, strict=True))
            self.cache.put_many(new)
            known.update(new)
            self.encoded += len(missing)
        if not templates:
            return np.zeros((0, DIM), dtype=np.float32)
        return np.stack([known[t] for t in templates]).astype(np.float32, copy=False)

    def close(self) -> None:
        self.cache.close()
