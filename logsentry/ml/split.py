"""Train/test splits: chronological by default (Le & Zhang, ICSE 2022), random on request.

``chrono:0.8`` trains on the first 80% of sequences in time order (for
session labels: the order of the label file, which is the order of first
appearance) and tests on the rest. ``random:0.8,SEED`` shuffles first; use it
only when a data set's own protocol does, and say so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from logsentry.errors import ConfigError


@dataclass(frozen=True, slots=True)
class Split:
    kind: str  # "chrono" or "random"
    fraction: float
    seed: int = 0

    @classmethod
    def parse(cls, text: str) -> Split:
        kind, _, rest = text.strip().lower().partition(":")
        try:
            if kind == "chrono":
                fraction = float(rest)
                seed = 0
            elif kind == "random":
                frac_s, _, seed_s = rest.partition(",")
                fraction, seed = float(frac_s), int(seed_s or 0)
            else:
                raise ValueError(kind)
            if not 0.0 <= fraction <= 1.0:
                raise ValueError(fraction)
        except ValueError:
            raise ConfigError(f"--split {text!r}: use chrono:FRACTION or random:FRACTION,SEED "
                              "with 0 <= FRACTION <= 1 (0: everything is test)") from None
        return cls(kind, fraction, seed)

    def indices(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        order = np.arange(n)
        if self.kind == "random":
            order = np.random.default_rng(self.seed).permutation(n)
        cut = int(n * self.fraction)  # floor: 11,501 blocks at 0.8 -> 9,200 train, 2,301 test
        return np.sort(order[:cut]), np.sort(order[cut:])

    def __str__(self) -> str:
        return f"chrono:{self.fraction:g}" if self.kind == "chrono" else \
            f"random:{self.fraction:g},{self.seed}"


def verbatim_duplicates(train: list[tuple[int, ...]], test: list[tuple[int, ...]]) -> int:
    """How many test sequences also occur, template for template, in training."""
    seen = set(train)
    return sum(1 for seq in test if seq in seen)
