from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest

from logsentry.embed import TemplateVectors
from logsentry.errors import ModelError
from logsentry.ml.features import DIM, SequenceArrays, sequence_arrays
from logsentry.ml.labels import load_session_labels
from logsentry.ml.memory import NormalMemory
from logsentry.ml.threshold import f1_at

NORMAL = ["open", "write", "write", "close"]


def _vectors(templates: list[str]) -> np.ndarray:
    out = np.zeros((len(templates), DIM), dtype=np.float32)
    for i, t in enumerate(templates):  # orthogonal one-hot vectors: no two templates are near
        out[i, sum(map(ord, t)) % DIM] = 1.0
    return out


def _train() -> SequenceArrays:
    seqs = [NORMAL] * 90 + [["open", "write", "write", "write", "write", "close"]] * 10
    return sequence_arrays(seqs, _vectors)


def test_unseen_template_and_broken_invariant_score_high():
    memory = NormalMemory().fit(_train())
    test = sequence_arrays([NORMAL, ["open", "panic", "close"], ["open", "write"]], _vectors)
    flagged = memory.predict(test)
    # open == close is an invariant of the training sequences; ["open", "write"] breaks it
    assert flagged.tolist() == [False, True, True]


def test_save_load_round_trip_gives_equal_scores_and_no_pickle(tmp_path: Path):
    memory = NormalMemory().fit(_train())
    path = tmp_path / "memory.npz"
    memory.save(path)
    with zipfile.ZipFile(path) as zf:
        assert all(name.endswith(".npy") for name in zf.namelist())
    with np.load(path, allow_pickle=False) as data:  # would raise on object arrays
        assert {k: data[k].dtype.kind for k in data} == {"vectors": "f", "frequency": "f",
                                                       "invariants": "i"}
    loaded = NormalMemory.load(path)
    test = sequence_arrays([NORMAL, ["open", "panic"], ["write"]], _vectors)
    np.testing.assert_array_equal(loaded.score(test), memory.score(test))


@pytest.mark.parametrize("damage", ["npz", "json", "missing"])
def test_corrupt_or_missing_memory_is_a_model_error(tmp_path: Path, damage: str):
    path = tmp_path / "memory.npz"
    NormalMemory().fit(_train()).save(path)
    if damage == "npz":
        path.write_bytes(b"garbage")
    elif damage == "json":
        path.with_suffix(".json").write_text("{not json", encoding="utf-8")
    else:
        path.unlink()
    with pytest.raises(ModelError) as info:
        NormalMemory.load(path)
    assert "\n" not in str(info.value)


def test_unlabeled_memory_on_the_hdfs_reference_split(shared_data: Path, encoder_cache: Path):
    from logsentry.config import load_settings
    from logsentry.pipeline import Pipeline

    folder = shared_data / "hdfs_loglead_2pct"
    sequences = Pipeline(load_settings({"log_format": "hdfs"}), None).sequences(
        [str(folder / "HDFS_2pct.log.gz")])
    by_block = {s.session: [r.template for r in s.records] for s in sequences}
    labels = load_session_labels(folder / "anomaly_label.csv")
    blocks = [b for b in labels if b in by_block]  # label-file order = chronological
    vectors = TemplateVectors(encoder_cache)
    try:
        arrays = sequence_arrays([by_block[b] for b in blocks], vectors.vectors)
    finally:
        vectors.close()
    y = np.array([labels[b] for b in blocks])
    cut = int(len(blocks) * 0.8)
    assert (len(blocks) - cut, int(y[cut:].sum())) == (2301, 31)
    memory = NormalMemory().fit(arrays.subset(np.arange(cut)))  # no labels
    result = f1_at(memory.score(arrays.subset(np.arange(cut, len(blocks)))), y[cut:],
                   memory.threshold)
    # peers without labels: InvariantsMiner 0.79, IsolationForest 0.77
    assert result.f1 >= 0.80, result
