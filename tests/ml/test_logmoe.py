"""LogMoE: training losses, padding invariance, ONNX export parity, and learning on HDFS."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from logsentry.errors import ModelError
from logsentry.ml.features import DIM, SequenceArrays
from logsentry.ml.logmoe import (
    LogMoEConfig,
    LogMoEScorer,
    balance_loss,
    build_model,
    class_weights,
    diversity_loss,
    export_logmoe,
    load_weights,
    predict_torch,
    sample_losses,
    save_weights,
    train_logmoe,
)
from tests.ml.conftest import LabeledSplit

torch = pytest.importorskip("torch")

SMALL = LogMoEConfig(lstm_hidden=16, experts=4, top_k=2, expert_hidden=32, mlp_hidden=16)


def random_arrays(n: int, max_len: int, templates: int = 12, seed: int = 0) -> SequenceArrays:
    rng = np.random.default_rng(seed)
    table = np.zeros((templates + 1, DIM), dtype=np.float32)
    table[1:] = rng.normal(size=(templates, DIM)).astype(np.float32)
    table[1:] /= np.linalg.norm(table[1:], axis=1, keepdims=True)  # like the encoder's
    lengths = rng.integers(1, max_len + 1, size=n).astype(np.int64)
    ids = rng.integers(1, templates + 1, size=(n, max_len)).astype(np.int64)
    ids[np.arange(max_len)[None, :] >= lengths[:, None]] = 0
    mean = np.zeros((n, DIM), dtype=np.float32)
    return SequenceArrays(ids, lengths, mean, table, [f"t{i}" for i in range(templates)])


def fresh_model(config: LogMoEConfig = LogMoEConfig()) -> object:
    torch.manual_seed(1)
    return build_model(config).eval()


def test_onnx_outputs_equal_torch_outputs(tmp_path: Path) -> None:
    model = fresh_model()
    arrays = random_arrays(40, 24)
    path = export_logmoe(model, tmp_path / "logmoe.onnx", max_len=24)
    p, positions = LogMoEScorer(path).predict(arrays, batch_size=16)
    ref_p, ref_positions = predict_torch(model, arrays)
    assert p.shape == (40,) and positions.shape == (40, 24)
    assert p.dtype == np.float32 and positions.dtype == np.float32
    assert np.abs(p - ref_p).max() < 1e-4
    assert np.abs(positions - ref_positions).max() < 1e-4
    padding = arrays.ids == 0
    assert not positions[padding].any() and (positions[~padding] > 0).all()


def test_training_path_equals_the_exported_path() -> None:
    # Training uses a table-projected, step-by-step LSTM and routed experts;
    # export uses nn.LSTM and dense experts. Same weights, same numbers.
    model = fresh_model()
    arrays = random_arrays(30, 16)
    table = torch.from_numpy(arrays.table)
    ids = torch.from_numpy(arrays.ids)
    lengths = torch.from_numpy(arrays.lengths)
    with torch.no_grad():
        logits, _ = model(table[ids], lengths)
        fast, _, _ = model.train_step(table, ids, lengths)
    assert (logits - fast).abs().max().item() < 1e-5


def test_padding_does_not_change_the_score(tmp_path: Path) -> None:
    model = fresh_model()
    path = export_logmoe(model, tmp_path / "logmoe.onnx", max_len=8)
    scorer = LogMoEScorer(path)
    arrays = random_arrays(6, 40, seed=3)
    arrays.lengths[:] = [5, 40, 33, 5, 17, 2]
    arrays.ids[np.arange(40)[None, :] >= arrays.lengths[:, None]] = 0
    together, together_positions = scorer.predict(arrays)  # row 0 padded to 40
    alone, alone_positions = scorer.predict(arrays.subset(np.array([0])))  # cut to 5
    narrow = SequenceArrays(arrays.ids[:1, :5].copy(), arrays.lengths[:1], arrays.mean[:1],
                            arrays.table, arrays.templates)
    narrow_p, _ = scorer.predict(narrow)
    assert abs(together[0] - alone[0]) < 1e-5
    assert abs(together[0] - narrow_p[0]) < 1e-5
    assert np.abs(together_positions[0] - alone_positions[0]).max() < 1e-5
    # torch, the same sequence padded to 5 and to 64 with garbage past its length
    vectors = torch.from_numpy(arrays.gather(np.array([0]))[:, :5])
    padded = torch.cat([vectors, torch.randn(1, 59, DIM)], dim=1)
    length = torch.tensor([5])
    with torch.no_grad():
        short, _ = model(vectors, length)
        long, _ = model(padded, length)
    assert (short.softmax(-1) - long.softmax(-1)).abs().max().item() < 1e-5


def test_balance_loss_is_one_when_uniform_and_higher_when_collapsed() -> None:
    m, k, n = 8, 2, 64
    uniform = torch.full((n, m), 1.0 / m)
    spread = torch.zeros(n, m, dtype=torch.bool)
    for row in range(n):
        spread[row, [row % m, (row + 1) % m]] = True
    assert balance_loss(uniform, spread, k).item() == pytest.approx(1.0)
    collapsed = torch.zeros(n, m)
    collapsed[:, :2] = 0.5
    onto_two = torch.zeros(n, m, dtype=torch.bool)
    onto_two[:, :2] = True
    assert balance_loss(collapsed, onto_two, k).item() == pytest.approx(m / k)


def test_diversity_loss_prefers_separated_experts() -> None:
    identical = torch.ones(4, 3, 5)
    orthogonal = torch.eye(4).reshape(4, 2, 2)
    opposite = torch.stack([torch.ones(3, 5), -torch.ones(3, 5)])
    assert diversity_loss(identical).item() == pytest.approx(2.0, abs=1e-4)
    assert diversity_loss(orthogonal).item() == pytest.approx(2 - 2**0.5, abs=1e-5)
    assert diversity_loss(opposite).item() == pytest.approx(0.0, abs=1e-5)
    # the gradient pushes the closest pair apart
    w = torch.eye(3, requires_grad=True)
    w.data[1] = torch.tensor([0.9, 0.1, 0.0])
    diversity_loss(w).backward()
    assert w.grad is not None and w.grad[1, 0] > 0


def test_class_weights_balance_the_classes() -> None:
    y = np.array([0] * 90 + [1] * 10)
    w = class_weights(y, "inverse")
    assert w[1] / w[0] == pytest.approx(9.0)
    assert (w[y].mean()) == pytest.approx(1.0)
    assert class_weights(y, "none").tolist() == [1.0, 1.0]


def test_training_is_deterministic_and_reports_every_epoch() -> None:
    arrays = random_arrays(120, 12, seed=5)
    y = (arrays.ids == 3).any(axis=1).astype(np.int64)
    config = LogMoEConfig(lstm_hidden=16, experts=4, expert_hidden=32, mlp_hidden=16,
                          epochs=2, batch_size=32)
    epochs: list[int] = []
    first = train_logmoe(arrays, y, config, valid=(arrays, y),
                         on_epoch=lambda s: epochs.append(s.epoch))
    second = train_logmoe(arrays, y, config)
    assert epochs == [1, 2]
    for a, b in zip(first.state_dict().values(), second.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    assert not first.training


def test_a_missing_or_corrupt_model_file_is_a_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not found"):
        LogMoEScorer(tmp_path / "missing.onnx")
    corrupt = tmp_path / "corrupt.onnx"
    corrupt.write_bytes(b"\x08\x07garbage, not a protobuf" * 10)
    with pytest.raises(ModelError) as info:
        LogMoEScorer(corrupt)
    assert "\n" not in str(info.value) and str(corrupt) in str(info.value)


def test_scoring_does_not_import_torch(tmp_path: Path) -> None:
    path = export_logmoe(fresh_model(SMALL), tmp_path / "logmoe.onnx", max_len=8)
    code = (
        "import sys, numpy as np\n"
        "from pathlib import Path\n"
        "from logsentry.ml.features import SequenceArrays\n"
        "from logsentry.ml.logmoe import LogMoEScorer\n"
        "a = SequenceArrays(np.array([[1, 2, 0]]), np.array([2]), np.zeros((1, 384), 'f4'),\n"
        "                   np.eye(3, 384, dtype='f4'), ['a', 'b'])\n"
        f"p, pos = LogMoEScorer(Path({str(path)!r})).predict(a)\n"
        "assert p.shape == (1,) and pos.shape == (1, 3)\n"
        "assert 'torch' not in sys.modules, 'torch imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_learns_hdfs_anomalies(hdfs_reference: LabeledSplit, tmp_path: Path) -> None:
    train, y_train = hdfs_reference.train()
    test, y_test = hdfs_reference.test()
    assert (len(y_test), int(y_test.sum())) == (2301, 31)
    model = train_logmoe(train, y_train, LogMoEConfig(epochs=5))
    path = export_logmoe(model, tmp_path / "logmoe.onnx", max_len=train.ids.shape[1])
    p, positions = LogMoEScorer(path).predict(test)
    ref_p, _ = predict_torch(model, test)
    assert np.abs(p - ref_p).max() < 1e-4  # on real inputs too
    predicted = p >= 0.5
    tp = int((predicted & (y_test == 1)).sum())
    f1 = 2 * tp / (predicted.sum() + y_test.sum())
    assert f1 >= 0.8, (f1, tp, int(predicted.sum()))
    assert positions.shape == test.ids.shape


def test_onnx_equals_torch_without_the_input_projection(tmp_path: Path) -> None:
    config = LogMoEConfig(input_proj=0)  # bundles trained before the projection existed
    model = fresh_model(config)
    arrays = random_arrays(20, 12)
    path = export_logmoe(model, tmp_path / "logmoe.onnx", max_len=12)
    p, _ = LogMoEScorer(path).predict(arrays)
    ref_p, _ = predict_torch(model, arrays)
    assert np.abs(p - ref_p).max() < 1e-4


def test_sparse_experts_equal_the_dense_mixture() -> None:
    model = fresh_model()
    hidden = torch.randn(3, 7, 128)
    with torch.no_grad():
        probs, top_index, top_values = model.route(hidden)
        weights = torch.zeros_like(probs).scatter(-1, top_index, top_values)
        inner = torch.relu(torch.einsum("bld,mhd->blmh", hidden, model.expert_w1))
        dense = (torch.einsum("blmh,mdh->blmd", inner, model.expert_w2)
                 * weights.unsqueeze(-1)).sum(dim=2)
        assert (model.mix(hidden) - dense).abs().max().item() < 1e-5


def test_weights_round_trip_and_refuse_garbage(tmp_path: Path) -> None:
    model = fresh_model(SMALL)
    save_weights(model, tmp_path / "w.npz")
    again = load_weights(SMALL, tmp_path / "w.npz")
    arrays = random_arrays(10, 8)
    assert np.array_equal(predict_torch(model, arrays)[0], predict_torch(again, arrays)[0])
    with pytest.raises(ModelError, match="do not load"):
        load_weights(LogMoEConfig(), tmp_path / "w.npz")  # other shapes
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(ModelError, match="do not load"):
        load_weights(SMALL, tmp_path / "bad.npz")


def test_fine_tuning_starts_from_init_and_sample_weights_count() -> None:
    arrays = random_arrays(120, 10, seed=3)
    y = (arrays.ids == 1).any(axis=1).astype(np.int64)  # template 1 marks an anomaly
    config = dataclasses.replace(SMALL, epochs=2, batch_size=16)
    base = train_logmoe(arrays, y, config)
    before = sample_losses(base, arrays, y)
    assert before.shape == (120,) and (before >= 0).all()
    tuned = train_logmoe(arrays, y, config, init=base)
    assert tuned is not base  # a copy is trained; the parent stays as it was
    assert np.array_equal(sample_losses(base, arrays, y), before)
    assert sample_losses(tuned, arrays, y).mean() < before.mean()
    # No weight on the anomalies: the model never learns to call them anomalous.
    ignored = train_logmoe(arrays, y, dataclasses.replace(SMALL, epochs=4, batch_size=16),
                           sample_weight=np.where(y == 1, 0.0, 1.0))
    learned = train_logmoe(arrays, y, dataclasses.replace(SMALL, epochs=4, batch_size=16))
    anomalous = y == 1
    assert predict_torch(ignored, arrays)[0][anomalous].mean() < \
        predict_torch(learned, arrays)[0][anomalous].mean() - 0.2
