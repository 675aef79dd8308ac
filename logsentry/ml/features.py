"""Sequences -> the arrays the models read.

A sequence becomes the row indices of its templates in a vector ``table``
(row 0 is all zeros and pads every sequence to ``max_len``; longer
sequences keep their first ``max_len`` records), its true length, and the
mean of its template vectors (over all its records), which the router
reads. Vectors are gathered per mini-batch (``gather``), so memory grows
with the number of distinct templates, not with sequences x length x 384.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

DIM = 384
DEFAULT_MAX_LEN = 64


@dataclass(slots=True)
class SequenceArrays:
    ids: np.ndarray  # (n, max_len) int64 rows of ``table``; 0 = padding
    lengths: np.ndarray  # (n,) int64, 1..max_len
    mean: np.ndarray  # (n, DIM) float32
    table: np.ndarray  # (T + 1, DIM) float32; table[0] == 0
    templates: list[str]  # table row i + 1 is templates[i]

    def __len__(self) -> int:
        return int(self.lengths.shape[0])

    def gather(self, rows: np.ndarray | slice) -> np.ndarray:
        """(batch, max_len, DIM) float32 vectors for the chosen sequences."""
        return self.table[self.ids[rows]]

    def subset(self, rows: np.ndarray) -> SequenceArrays:
        return SequenceArrays(self.ids[rows], self.lengths[rows], self.mean[rows], self.table,
                              self.templates)


def sequence_arrays(
    template_lists: Sequence[Sequence[str]],
    vectors_for: Callable[[list[str]], np.ndarray],
    *,
    max_len: int = DEFAULT_MAX_LEN,
    vocabulary: Sequence[str] = (),
) -> SequenceArrays:
    """``template_lists[i]``: the template text of each record of sequence i, in order.
    ``vocabulary``: templates that take the first table rows, in this order (a bundle's
    ``templates.json``, so its stored row ids stay valid), whether used or not."""
    templates = list(dict.fromkeys([*vocabulary, *(t for seq in template_lists for t in seq)]))
    table = np.zeros((len(templates) + 1, DIM), dtype=np.float32)
    if templates:
        table[1:] = vectors_for(templates)
    row = {t: i + 1 for i, t in enumerate(templates)}
    n = len(template_lists)
    ids = np.zeros((n, max_len), dtype=np.int64)
    lengths = np.ones(n, dtype=np.int64)
    mean = np.zeros((n, DIM), dtype=np.float32)
    for i, seq in enumerate(template_lists):
        rows = [row[t] for t in seq]
        if not rows:
            continue
        head = rows[:max_len]
        ids[i, : len(head)] = head
        lengths[i] = len(head)
        mean[i] = table[rows].mean(axis=0)
    return SequenceArrays(ids, lengths, mean, table, templates)


def template_idf(arrays: SequenceArrays) -> dict[str, float]:
    """Smoothed inverse document frequency of each template over the sequences."""
    n = len(arrays)
    valid = np.arange(arrays.ids.shape[1])[None, :] < arrays.lengths[:, None]
    present = np.zeros((n, len(arrays.templates) + 1), dtype=bool)
    rows = np.repeat(np.arange(n), arrays.ids.shape[1])[valid.ravel()]
    present[rows, arrays.ids[valid]] = True
    df = present[:, 1:].sum(axis=0)
    idf = np.log((1 + n) / (1 + df)) + 1
    return {t: float(v) for t, v in zip(arrays.templates, idf, strict=True)}


def idf_mean(arrays: SequenceArrays, idf: dict[str, float], unseen_idf: float) -> np.ndarray:
    """Sequence means with each record weighted by its template's IDF (TF-IDF weighting).

    A template rare in training (or never seen: ``unseen_idf``) weighs more, so one odd
    record is not averaged away in a long sequence. Records beyond ``max_len`` are not
    counted, the same at training and at scan time.
    """
    weights = np.array([0.0] + [idf.get(t, unseen_idf) for t in arrays.templates])
    n = arrays.ids.shape[0]
    # (n, T + 1) summed weight of each template per sequence, then one matrix product:
    # far cheaper than gathering an (n, max_len, DIM) block of vectors.
    cells = (np.arange(n)[:, None] * len(weights) + arrays.ids).ravel()
    bag = np.bincount(cells, weights=weights[arrays.ids].ravel(),
                      minlength=n * len(weights)).reshape(n, len(weights))
    total = np.maximum(bag.sum(axis=1, keepdims=True), 1e-9)
    return ((bag @ arrays.table.astype(np.float64)) / total).astype(np.float32)
