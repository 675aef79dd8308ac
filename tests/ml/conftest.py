"""Fixtures shared by the model tests: the exported encoder and the HDFS reference split."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from logsentry.ml.features import SequenceArrays


@dataclass(frozen=True)
class LabeledSplit:
    arrays: SequenceArrays  # every block, label-file (chronological) order
    y: np.ndarray  # (n,) 0/1
    cut: int  # train = rows [:cut], test = rows [cut:]

    def train(self) -> tuple[SequenceArrays, np.ndarray]:
        return self.arrays.subset(np.arange(self.cut)), self.y[: self.cut]

    def test(self) -> tuple[SequenceArrays, np.ndarray]:
        return self.arrays.subset(np.arange(self.cut, len(self.y))), self.y[self.cut :]


@pytest.fixture(scope="session")
def hdfs_reference(shared_data: Path, encoder_cache: Path) -> LabeledSplit:
    """HDFS 2% sessions through the product pipeline; first 80% of blocks train, rest test."""
    from logsentry.config import load_settings
    from logsentry.embed import TemplateVectors
    from logsentry.ml.features import sequence_arrays
    from logsentry.ml.labels import load_session_labels
    from logsentry.pipeline import Pipeline

    folder = shared_data / "hdfs_loglead_2pct"
    sequences = Pipeline(load_settings({"log_format": "hdfs"}), None).sequences(
        [str(folder / "HDFS_2pct.log.gz")])
    by_block = {s.session: [r.template for r in s.records] for s in sequences}
    labels = load_session_labels(folder / "anomaly_label.csv")
    blocks = [b for b in labels if b in by_block]
    vectors = TemplateVectors(encoder_cache)
    try:
        arrays = sequence_arrays([by_block[b] for b in blocks], vectors.vectors)
    finally:
        vectors.close()
    y = np.array([labels[b] for b in blocks], dtype=np.int64)
    return LabeledSplit(arrays, y, int(len(blocks) * 0.8))
