"""In-context examples: picked into the bundle at train time, found again at scan time."""

from __future__ import annotations

import numpy as np

from logsentry.ml.features import sequence_arrays
from logsentry.ml.train import pick_examples
from tests.ml.test_memory import _vectors


def test_pick_examples_keeps_distinct_shapes_per_class_spread_over_time() -> None:
    normal = [["open", "write", "close"]] * 50 + [["open", "write", "write", "close"]] * 50
    odd = [["open", "panic"], ["open", "panic"], ["open", "panic", "panic"]]
    seqs = normal + odd + [["open", "write", "write", "write", "close"]]  # 3 writes: bucket 2-3
    y = np.array([0] * 100 + [1] * 3 + [0])
    arrays = sequence_arrays(seqs, _vectors)
    got = pick_examples(arrays, y)
    assert got["format"] == "logsentry-examples/1"
    shapes = [tuple(arrays.templates[i - 1] for i in row) for row in got["sequences"]]
    # normal: 1 write, 2 writes (first of its bucket kept; 3 writes shares it); anomalous: 1, 2
    assert shapes == [("open", "write", "close"), ("open", "write", "write", "close"),
                      ("open", "panic"), ("open", "panic", "panic")]
    assert got["labels"] == [0, 0, 1, 1]
    capped = pick_examples(sequence_arrays([["t", *["w"] * 1, f"x{i}"] for i in range(40)],
                                           _vectors), None, per_class=5)
    assert len(capped["sequences"]) == 5 and set(capped["labels"]) == {0}
    firsts = [arrays_row[-1] for arrays_row in capped["sequences"]]
    assert firsts == sorted(firsts)  # in time order, first and last included


def test_the_default_bundle_finds_the_nearest_example_of_each_class(encoder_cache) -> None:
    from logsentry.detect import SmallModelDetector
    from logsentry.embed import TemplateVectors
    from logsentry.ml import registry

    bundle = registry.open_bundle(registry.SHIPPED / "default")
    detector = SmallModelDetector(bundle, TemplateVectors(encoder_cache))
    normal = (["BLOCK* NameSystem.allocateBlock: <PATH> <BLK>"]
              + ["Receiving block <BLK> src: /<IP> dest: /<IP>"] * 3
              + ["PacketResponder <NUM> for block <BLK> terminating",
                 "Received block <BLK> of size <NUM> from /<IP>"] * 3)
    assert set(normal) <= set(detector.known)
    examples = detector.examples_for(normal)
    assert [label for label, _ in examples] == ["normal", "anomalous"]  # nearest first
    nearest_normal = examples[0][1]
    assert set(normal) <= set(nearest_normal)
    assert all(t in detector.known for _, seq in examples for t in seq)
    assert detector.examples_for([]) == []
