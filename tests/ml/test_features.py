"""Sequences to model arrays: ids into a vector table, lengths, means."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from logsentry.errors import InputError
from logsentry.ml.features import DIM, sequence_arrays
from logsentry.ml.labels import load_session_labels


def fake_vectors(templates: list[str]) -> np.ndarray:
    out = np.zeros((len(templates), DIM), dtype=np.float32)
    for i, t in enumerate(templates):
        out[i, len(t) % DIM] = 1.0
        out[i, 0] += i + 1
    return out


def test_ids_lengths_means_and_padding() -> None:
    arrays = sequence_arrays([["a", "bb", "a"], ["ccc"], []], fake_vectors, max_len=2)
    assert arrays.templates == ["a", "bb", "ccc"]
    assert arrays.ids.tolist() == [[1, 2], [3, 0], [0, 0]]
    assert arrays.lengths.tolist() == [2, 1, 1]  # cut at max_len; empty counts as 1 (padding)
    assert not arrays.table[0].any()
    table = fake_vectors(["a", "bb", "ccc"])
    assert np.allclose(arrays.mean[0], table[[0, 1, 0]].mean(axis=0))  # mean over all records
    assert arrays.gather(np.array([1])).shape == (1, 2, DIM)
    assert not arrays.gather(np.array([1]))[0, 1].any()
    sub = arrays.subset(np.array([1]))
    assert len(sub) == 1 and sub.ids.tolist() == [[3, 0]]


def test_each_distinct_template_is_embedded_once() -> None:
    calls: list[list[str]] = []

    def counting(templates: list[str]) -> np.ndarray:
        calls.append(templates)
        return fake_vectors(templates)

    sequence_arrays([["x", "y"], ["y", "x", "x"]], counting)
    assert calls == [["x", "y"]]


def test_session_labels_file(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    path.write_text("BlockId,Label\nblk_1,Normal\nblk_2,Anomaly\nblk_3,1\n", encoding="utf-8")
    assert load_session_labels(path) == {"blk_1": 0, "blk_2": 1, "blk_3": 1}
    assert list(load_session_labels(path)) == ["blk_1", "blk_2", "blk_3"]  # order kept
    path.write_text("BlockId,Label\nblk_1,maybe\n", encoding="utf-8")
    with pytest.raises(InputError, match="neither Normal nor Anomaly"):
        load_session_labels(path)
    with pytest.raises(InputError, match="cannot read"):
        load_session_labels(tmp_path / "missing.csv")


def test_idf_weighting_lets_a_rare_template_stand_out() -> None:
    from logsentry.ml.features import idf_mean, template_idf

    common = [["a", "b"]] * 9
    arrays = sequence_arrays([*common, ["a", "b", "rare"]], fake_vectors)
    idf = template_idf(arrays)
    assert idf["rare"] > idf["a"] == idf["b"]
    weighted = idf_mean(arrays, idf, unseen_idf=10.0)
    plain = arrays.mean
    table = fake_vectors(arrays.templates)
    rare = table[arrays.templates.index("rare")]
    # the rare template pulls the weighted mean towards itself more than the plain mean
    assert weighted[-1] @ rare > plain[-1] @ rare
    assert np.allclose(weighted[0], plain[0])  # equal weights: the plain mean
    unseen = sequence_arrays([["a", "b", "new"]], fake_vectors)
    assert idf_mean(unseen, idf, unseen_idf=10.0).shape == (1, DIM)
