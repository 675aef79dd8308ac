"""The unlabeled baseline: a memory of what normal sequences look like.

Fit on sequences assumed mostly normal (``train --unlabeled`` has no labels),
it remembers, per known template, its text, its vector and the fraction of
training sequences that hold it, plus count *invariants*: template pairs whose
counts are equal in nearly every training sequence that holds either
(Lou et al.'s Invariants Mining, restricted to ``c_i == c_j``; on HDFS,
"Receiving block" == "Received block" == "addStoredBlock" per block). A
sequence is scored by two signals, each scaled so that 1.0 is its threshold:

* rarity: ``-log`` of the document frequency of its rarest template, where
  a template borrows the frequency of semantically near known templates
  (cosine >= ``merge_similarity``); this keeps a template that Drain
  generalised mid-stream ("... terminating" -> "... <*>") from looking
  new, while an unseen template with no near neighbour is maximally rare.
  Threshold: the ``quantile`` of the training sequences' rarity.
* invariants: the number of violated invariants; threshold 1.

``score`` is the larger of the two, so ``score >= threshold`` (1.0) is the
decision, with no label anywhere. The kNN "container" of the seeds (top-k
cosine to training mean / count / soft-cosine vectors) was tried and left
out: on the HDFS reference split its best F1 at a training quantile was
0.76 (0.84 here), and it cannot see a block that stops after two events,
which is what most HDFS anomalies are.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from logsentry.errors import ModelError
from logsentry.ml.features import SequenceArrays
from logsentry.ml.threshold import quantile_threshold

FORMAT = "logsentry-normal-memory/1"
COMMON = 0.05  # share of training sequences above which a template is not rare
EPS = 1e-6


@dataclass(frozen=True, slots=True)
class MemoryConfig:
    quantile: float = 0.98  # rarity threshold: this quantile of the training rarity
    merge_similarity: float = 0.85  # a template borrows frequency from templates this near
    invariant_hold: float = 0.95  # c_i == c_j in at least this share of sequences holding i or j
    invariant_support: float = 0.05  # ... and i or j occur in at least this share of sequences


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def _counts(arrays: SequenceArrays, columns: np.ndarray, width: int) -> np.ndarray:
    """(n, width) counts of each memory template; ``columns[row]`` = memory index or -1."""
    col = columns[arrays.ids]
    valid = (np.arange(arrays.ids.shape[1])[None, :] < arrays.lengths[:, None]) & (col >= 0)
    out = np.zeros((len(arrays), width), dtype=np.int64)
    rows = np.nonzero(valid)
    np.add.at(out, (rows[0], col[rows]), 1)
    return out


def _mine_invariants(counts: np.ndarray, hold: float, support: float) -> np.ndarray:
    pairs: list[tuple[int, int]] = []
    present = counts > 0
    for i in range(counts.shape[1]):
        for j in range(i + 1, counts.shape[1]):
            active = present[:, i] | present[:, j]
            if active.mean() < support:
                continue
            if (counts[active, i] == counts[active, j]).mean() >= hold:
                pairs.append((i, j))
    return np.array(pairs, dtype=np.int64).reshape(-1, 2)


class NormalMemory:
    """``fit`` on mostly-normal sequences, then ``score`` / ``predict`` new ones."""

    def __init__(self, config: MemoryConfig | None = None) -> None:
        self.config = config or MemoryConfig()
        self.templates: list[str] = []
        self.vectors = np.zeros((0, 0), dtype=np.float32)
        self.frequency = np.zeros(0, dtype=np.float64)
        self.invariants = np.zeros((0, 2), dtype=np.int64)
        self.rarity_threshold = np.inf
        self.threshold = 1.0

    # -- fitting -------------------------------------------------------------
    def fit(self, arrays: SequenceArrays) -> NormalMemory:
        if len(arrays) == 0:
            raise ValueError("cannot fit a memory on no sequences")
        self.templates = list(arrays.templates)
        self.vectors = _unit(arrays.table[1:].astype(np.float32))
        counts = _counts(arrays, np.arange(-1, len(self.templates)), len(self.templates))
        self.frequency = (counts > 0).mean(axis=0)
        c = self.config
        self.invariants = _mine_invariants(counts, c.invariant_hold, c.invariant_support)
        # A template found in at least COMMON of the training sequences is never "rare",
        # whatever the quantile says (on small or uniform data it can be a common one).
        self.rarity_threshold = max(quantile_threshold(self.rarity(arrays), c.quantile),
                                    -float(np.log(COMMON)))
        return self

    # -- scoring -------------------------------------------------------------
    def _columns(self, arrays: SequenceArrays) -> np.ndarray:
        index = {t: i for i, t in enumerate(self.templates)}
        return np.array([-1] + [index.get(t, -1) for t in arrays.templates], dtype=np.int64)

    def template_rarity(self, arrays: SequenceArrays) -> np.ndarray:
        """(T + 1,) ``-log`` effective frequency of each row of ``arrays.table``; row 0 = 0."""
        s0 = self.config.merge_similarity
        sims = _unit(arrays.table[1:].astype(np.float32)) @ self.vectors.T
        kernel = np.clip((sims - s0) / (1.0 - s0), 0.0, 1.0)
        cols = self._columns(arrays)[1:]
        exact = np.nonzero(cols >= 0)[0]
        kernel[exact, cols[exact]] = 1.0  # a known template keeps at least its own frequency
        freq = (kernel * self.frequency[None, :]).max(axis=1, initial=0.0)
        return np.concatenate([[0.0], -np.log(freq + EPS)])

    def rarity(self, arrays: SequenceArrays) -> np.ndarray:
        per_row = self.template_rarity(arrays)
        valid = np.arange(arrays.ids.shape[1])[None, :] < arrays.lengths[:, None]
        return np.where(valid, per_row[arrays.ids], 0.0).max(axis=1)

    def violations(self, arrays: SequenceArrays) -> np.ndarray:
        counts = _counts(arrays, self._columns(arrays), len(self.templates))
        if len(self.invariants) == 0:
            return np.zeros(len(arrays), dtype=np.int64)
        a, b = counts[:, self.invariants[:, 0]], counts[:, self.invariants[:, 1]]
        return ((a != b) & ((a > 0) | (b > 0))).sum(axis=1)

    def score(self, arrays: SequenceArrays) -> np.ndarray:
        """(n,) anomaly scores; ``>= self.threshold`` (1.0) means anomalous."""
        if not self.templates:
            raise ModelError("the normal memory is not fitted")
        rarity = self.rarity(arrays) / max(self.rarity_threshold, EPS)
        return np.maximum(rarity, self.violations(arrays).astype(np.float64))

    def predict(self, arrays: SequenceArrays) -> np.ndarray:
        return self.score(arrays) >= self.threshold

    # -- persistence: .npz arrays + .json settings, never pickle ---------------
    def save(self, path: Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as fh:
            np.savez(fh, vectors=self.vectors, frequency=self.frequency,
                     invariants=self.invariants)
        meta = {"format": FORMAT, "config": asdict(self.config), "templates": self.templates,
                "rarity_threshold": self.rarity_threshold, "threshold": self.threshold}
        path.with_suffix(".json").write_text(json.dumps(meta, indent=1), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> NormalMemory:
        path = Path(path)
        meta_path = path.with_suffix(".json")
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            with np.load(path, allow_pickle=False) as data:
                vectors, frequency = data["vectors"], data["frequency"]
                invariants = data["invariants"]
        except FileNotFoundError as exc:
            raise ModelError(f"{exc.filename}: normal memory file not found") from None
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
            raise ModelError(f"{path}: corrupt normal memory ({exc})") from None
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise ModelError(f"{meta_path}: not a {FORMAT} file")
        try:
            memory = cls(MemoryConfig(**meta["config"]))
            memory.templates = [str(t) for t in meta["templates"]]
            memory.rarity_threshold = float(meta["rarity_threshold"])
            memory.threshold = float(meta["threshold"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"{meta_path}: corrupt normal memory settings ({exc})") from None
        n = len(memory.templates)
        if vectors.shape[0] != n or frequency.shape != (n,) or invariants.ndim != 2:
            raise ModelError(f"{path}: arrays do not match the {n} templates in {meta_path}")
        memory.vectors = vectors.astype(np.float32)
        memory.frequency = frequency.astype(np.float64)
        memory.invariants = invariants.astype(np.int64)
        return memory
