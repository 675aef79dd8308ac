"""LogMoE, CoLA's small model: Bi-LSTM -> mixture of experts -> mean pooling -> MLP.

Training and export use torch (imported inside the functions that need it);
``LogMoEScorer`` runs the exported ONNX file with onnxruntime and numpy only.

Padding never changes a result: the backward LSTM reads each sequence
reversed *within its own length* (an index gather built from ``lengths``)
and its outputs are reversed back, so a valid position only ever sees valid
positions; pooling is a masked mean. This also keeps the ONNX graph plain
(no packed sequences).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from logsentry.errors import ModelError
from logsentry.ml.features import DIM, SequenceArrays
from logsentry.onnx import open_session


@dataclass(frozen=True, slots=True)
class LogMoEConfig:
    """CoLA §5.1.4 defaults (20 epochs, batch 256, lr 2e-3, m=8, k=2).

    ``class_weighting="inverse"`` weights the cross-entropy by inverse class
    frequency (normalised so the mean sample weight is 1). Chosen over
    balanced sampling because anomalies are 1-3% of sessions: resampling
    would repeat each anomaly ~30 times an epoch (overfitting them) and make
    epochs random in composition, while weighting sees every sequence once
    and costs nothing. The price is that p(anomalous) is calibrated to a
    balanced prior, not the base rate; ``"none"`` keeps plain cross-entropy.
    """

    input_proj: int = 64  # 384-d vectors -> this size before the LSTMs (0: none)
    lstm_hidden: int = 64
    experts: int = 8
    top_k: int = 2
    expert_hidden: int = 128
    mlp_hidden: int = 64
    epochs: int = 20
    batch_size: int = 256
    lr: float = 2e-3
    balance_weight: float = 0.01
    diversity_weight: float = 0.01
    class_weighting: str = "inverse"  # "inverse" or "none"
    seed: int = 0


@dataclass(frozen=True, slots=True)
class EpochStats:
    epoch: int  # 1-based
    loss: float  # total, mean over batches
    cross_entropy: float
    balance: float
    diversity: float
    seconds: float
    valid_f1: float | None = None  # at p >= 0.5, when ``valid`` was given


def build_model(config: LogMoEConfig = LogMoEConfig(), dim: int = DIM) -> Any:
    """A fresh (untrained) LogMoE torch module."""
    import torch
    from torch import nn

    class LogMoENet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            h, m, d2 = config.lstm_hidden, config.experts, config.expert_hidden
            d1 = 2 * h
            self.top_k = config.top_k
            # A shared linear map to a small input: the LSTMs' input products were
            # 3/4 of their cost at 384-d (a low-rank factor of their input weights).
            self.project = (nn.Linear(dim, config.input_proj, bias=False)
                            if config.input_proj else nn.Identity())
            width = config.input_proj or dim
            self.forward_lstm = nn.LSTM(width, h, batch_first=True)
            self.backward_lstm = nn.LSTM(width, h, batch_first=True)
            self.gate = nn.Linear(d1, m, bias=False)  # W_g
            self.expert_w1 = nn.Parameter(torch.empty(m, d2, d1))  # W_e1^i
            self.expert_w2 = nn.Parameter(torch.empty(m, d1, d2))  # W_e2^i
            for w in (self.expert_w1, self.expert_w2):
                bound = 1.0 / w.shape[-1] ** 0.5
                nn.init.uniform_(w, -bound, bound)
            # Input standardisation (set from the training data by train_logmoe).
            # Sentence vectors of one system's templates are close together; centred
            # and scaled, their differences are what the LSTM sees, and it learns
            # in a few epochs instead of twenty.
            self.register_buffer("input_mean", torch.zeros(dim))
            self.register_buffer("input_scale", torch.ones(dim))
            self.classifier = nn.Sequential(
                nn.Linear(d1, config.mlp_hidden), nn.ReLU(), nn.Linear(config.mlp_hidden, 2))

        def encode(self, vectors: Any, lengths: Any) -> tuple[Any, Any]:
            """Bi-LSTM states (B, L, d1) and the valid mask (B, L): the exported path."""
            if config.input_proj:  # standardisation folded into the projection (one MatMul)
                mean: Any = self.input_mean
                scale: Any = self.input_scale
                weight: Any = self.project.weight
                w = weight / scale
                vectors = vectors @ w.T - w @ mean
            else:
                vectors = (vectors - self.input_mean) / self.input_scale
            steps = torch.arange(vectors.shape[1], device=vectors.device).unsqueeze(0)
            lengths = lengths.unsqueeze(1)
            mask = steps < lengths
            # Reverse each sequence within its length; padding stays where it is.
            reverse = torch.where(mask, lengths - 1 - steps, steps)
            index = reverse.unsqueeze(2).expand(-1, -1, vectors.shape[2])
            forward_out, _ = self.forward_lstm(vectors)
            backward_out, _ = self.backward_lstm(torch.gather(vectors, 1, index))
            index = reverse.unsqueeze(2).expand(-1, -1, backward_out.shape[2])
            backward_out = torch.gather(backward_out, 1, index)
            return torch.cat([forward_out, backward_out], dim=2), mask

        def encode_rows(self, table: Any, ids: Any, lengths: Any) -> tuple[Any, Any]:
            """``encode(table[ids], lengths)``, fast for training.

            A sequence holds few distinct templates, so the LSTM input projection
            (2/3 of nn.LSTM's CPU time at 384-d) is done once per table row, and
            both directions step together. Same weights as ``forward_lstm`` and
            ``backward_lstm``; equal to ``encode`` within float error.
            """
            table = self.project((table - self.input_mean) / self.input_scale)
            width = ids.shape[1]
            steps = torch.arange(width).unsqueeze(0)
            mask = steps < lengths.unsqueeze(1)
            reverse = torch.where(mask, lengths.unsqueeze(1) - 1 - steps, steps)
            lstms: tuple[Any, Any] = (self.forward_lstm, self.backward_lstm)
            projected = [table @ lstm.weight_ih_l0.T + lstm.bias_ih_l0 + lstm.bias_hh_l0
                         for lstm in lstms]
            gates_in = torch.stack([projected[0][ids],
                                    projected[1][torch.gather(ids, 1, reverse)]])
            w_hh = torch.stack([lstm.weight_hh_l0.T for lstm in lstms])  # (2, h, 4h)
            size = w_hh.shape[1]
            h = gates_in.new_zeros(2, ids.shape[0], size)
            c = h
            states = []
            # unbind, not gates_in[:, :, t]: slicing's backward fills a full-size
            # zero gradient per step, which made training 4x slower.
            for step_in in gates_in.unbind(2):
                gates = step_in + torch.bmm(h, w_hh)
                i, f, g, o = gates.chunk(4, dim=2)  # torch's LSTM gate order
                c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                h = torch.sigmoid(o) * torch.tanh(c)
                states.append(h)
            out = torch.stack(states, dim=2)  # (2, B, L, h)
            index = reverse.unsqueeze(2).expand(-1, -1, size)
            return torch.cat([out[0], torch.gather(out[1], 1, index)], dim=2), mask

        def route(self, hidden: Any) -> tuple[Any, Any, Any]:
            """Gate probs (..., m), top-k expert ids (..., k), renormalised weights (..., k)."""
            probs = torch.softmax(self.gate(hidden), dim=-1)
            top_values, top_index = torch.topk(probs, self.top_k, dim=-1)
            return probs, top_index, top_values / top_values.sum(dim=-1, keepdim=True)

        def mix(self, hidden: Any) -> Any:
            """Sparse mixture (exported): each expert runs only on the positions routed to it.

            No scatter (onnxruntime's ScatterElements was as slow as the experts):
            the expert outputs are concatenated in expert order and put back in
            (position, slot) order with one gather by the inverse permutation.
            Measured 1.7x faster than running all experts densely (ONNX, CPU).
            """
            flat = hidden.reshape(-1, hidden.shape[-1])
            probs, top_index, top_values = self.route(flat)
            k = top_index.shape[1]
            outs, places = [], []
            for expert in range(probs.shape[-1]):
                rows, slot = (top_index == expert).nonzero(as_tuple=True)
                inner = torch.relu(flat[rows] @ self.expert_w1[expert].T)
                outs.append(inner @ self.expert_w2[expert].T)
                places.append(rows * k + slot)
            inverse = torch.argsort(torch.cat(places))
            per_slot = torch.cat(outs)[inverse].reshape(flat.shape[0], k, -1)
            return (per_slot * top_values.unsqueeze(-1)).sum(dim=1).reshape(hidden.shape)

        def mix_routed(self, hidden: Any) -> tuple[Any, Any, Any]:
            """Sparse mixture of rows (N, d1): each expert sees only the rows routed to it.

            Returns h' (N, d1), gate probs (N, m) and the top-k selection (N, m) bool.
            """
            probs, top_index, top_values = self.route(hidden)
            mixed = torch.zeros_like(hidden)
            selected = torch.zeros_like(probs, dtype=torch.bool).scatter(-1, top_index, True)
            for expert in range(probs.shape[-1]):
                rows, slot = (top_index == expert).nonzero(as_tuple=True)
                if rows.numel() == 0:
                    continue
                inner = torch.relu(hidden[rows] @ self.expert_w1[expert].T)
                out = inner @ self.expert_w2[expert].T
                mixed = mixed.index_add(0, rows, out * top_values[rows, slot].unsqueeze(1))
            return mixed, probs, selected

        def forward(self, vectors: Any, lengths: Any) -> tuple[Any, Any]:
            """Sequence logits (B, 2) and per-position logits (B, L, 2)."""
            hidden, mask = self.encode(vectors, lengths)
            mixed = self.mix(hidden)
            maskf = mask.unsqueeze(-1).to(mixed.dtype)
            pooled = (mixed * maskf).sum(dim=1) / maskf.sum(dim=1).clamp(min=1.0)
            return self.classifier(pooled), self.classifier(mixed)

        def train_step(self, table: Any, ids: Any, lengths: Any) -> tuple[Any, Any, Any]:
            """Sequence logits (B, 2), gate probs and top-k selection (N, m) of valid positions."""
            hidden, mask = self.encode_rows(table, ids, lengths)
            mixed, probs, selected = self.mix_routed(hidden[mask])
            batch = torch.arange(ids.shape[0]).unsqueeze(1).expand_as(mask)[mask]
            pooled = torch.zeros(ids.shape[0], mixed.shape[1], dtype=mixed.dtype)
            pooled = pooled.index_add(0, batch, mixed) / lengths.unsqueeze(1).to(mixed.dtype)
            return self.classifier(pooled), probs, selected

    return LogMoENet()


def _export_wrapper(model: Any) -> Any:
    import torch

    class Scores(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, vectors: Any, lengths: Any) -> tuple[Any, Any]:
            return _probabilities(self.model, vectors, lengths)

    return Scores()


def _probabilities(model: Any, vectors: Any, lengths: Any) -> tuple[Any, Any]:
    """p(anomalous) (B,) and masked per-position p(anomalous) (B, L)."""
    import torch

    logits, position_logits = model(vectors, lengths)
    steps = torch.arange(vectors.shape[1], device=vectors.device).unsqueeze(0)
    mask = (steps < lengths.unsqueeze(1)).to(vectors.dtype)
    p = torch.softmax(logits, dim=-1)[:, 1]
    positions = torch.softmax(position_logits, dim=-1)[..., 1] * mask
    return p, positions


def balance_loss(probs: Any, selected: Any, top_k: int) -> Any:
    """CoLA eq. 5: m * sum_i f_i * G_i over the batch's (valid) positions.

    ``probs`` (N, m) gate probabilities, ``selected`` (N, m) bool top-k
    choices. Equals 1 when the load is uniform, up to m when one expert
    takes everything.
    """
    m = probs.shape[-1]
    f = selected.to(probs.dtype).sum(dim=0) / (top_k * probs.shape[0])
    g = probs.mean(dim=0)
    return m * (f * g).sum()


def diversity_loss(*weights: Any) -> Any:
    """CoLA eq. 6 as a loss: 2 - min_{i != j} ||w_i - w_j|| on the unit sphere.

    Each argument is (m, ...) per-expert weights; expert i's vector is the
    concatenation of its flattened weights, normalised. 0 is the best possible
    separation (antipodal), 2 means two experts are identical.
    """
    import torch

    flat = torch.cat([w.reshape(w.shape[0], -1) for w in weights], dim=1)
    unit = flat / flat.norm(dim=1, keepdim=True).clamp(min=1e-12)
    # differences, not 2 - 2cos: near-identical experts would lose it to rounding
    squared = (unit.unsqueeze(0) - unit.unsqueeze(1)).pow(2).sum(dim=-1)
    distance = squared.clamp(min=1e-12).sqrt()
    eye = torch.eye(unit.shape[0], dtype=torch.bool, device=unit.device)
    return 2.0 - distance.masked_fill(eye, float("inf")).min()


def class_weights(y: np.ndarray, mode: str) -> np.ndarray:
    """Per-class cross-entropy weights (2,), mean sample weight 1."""
    if mode == "none":
        return np.ones(2, dtype=np.float32)
    if mode != "inverse":
        raise ValueError(f"class_weighting must be 'inverse' or 'none', not {mode!r}")
    counts = np.bincount(y.astype(np.int64), minlength=2).astype(np.float64)
    weights = np.where(counts > 0, len(y) / (2.0 * np.maximum(counts, 1.0)), 0.0)
    return weights.astype(np.float32)


def _batch(arrays: SequenceArrays, table: Any, ids: Any, rows: Any) -> tuple[Any, Any]:
    """Vectors cut to the longest sequence of the batch (less LSTM work), and lengths."""
    import torch

    lengths = torch.from_numpy(arrays.lengths[rows.numpy()])
    width = int(lengths.max())
    return table[ids[rows, :width]], lengths


def length_buckets(lengths: np.ndarray, batch_size: int, generator: Any) -> list[Any]:
    """Shuffled mini-batches of similar lengths (row indices, torch int64).

    Rows are shuffled, cut into pools of 16 batches, each pool sorted by
    length and split into batches; then the batches are shuffled. The LSTM
    steps to the longest sequence of a batch, so this nearly halves its work
    on HDFS while every batch is still a random draw.
    """
    import torch

    order = torch.randperm(len(lengths), generator=generator)
    batches = []
    for pool in order.split(16 * batch_size):
        pool = pool[np.argsort(lengths[pool.numpy()], kind="stable")]
        batches.extend(pool.split(batch_size))
    return [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]


def train_logmoe(
    arrays: SequenceArrays,
    y: np.ndarray,
    config: LogMoEConfig = LogMoEConfig(),
    *,
    valid: tuple[SequenceArrays, np.ndarray] | None = None,
    on_epoch: Callable[[EpochStats], None] | None = None,
    init: Any = None,
    sample_weight: np.ndarray | None = None,
) -> Any:
    """Train LogMoE with cross-entropy + balance + diversity losses; returns the torch module.

    ``init``: a trained module to fine-tune (a copy is trained; its input
    standardisation is kept). ``sample_weight``: a weight per sequence,
    multiplied into the cross-entropy (adaptation caps what one shape can weigh).

    Deterministic for a given ``config.seed``. Runs on one torch thread: the
    step-by-step LSTM is many small ops, for which a second thread costs more
    (in synchronisation) than it gains; the thread count is restored after.
    """
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _train(arrays, y, config, valid, on_epoch, init, sample_weight)
    finally:
        torch.set_num_threads(threads)


def _train(
    arrays: SequenceArrays,
    y: np.ndarray,
    config: LogMoEConfig,
    valid: tuple[SequenceArrays, np.ndarray] | None,
    on_epoch: Callable[[EpochStats], None] | None,
    init: Any,
    sample_weight: np.ndarray | None,
) -> Any:
    import copy
    import time

    import torch

    torch.manual_seed(config.seed)
    if init is not None:
        model = copy.deepcopy(init)
    else:
        model = build_model(config, arrays.table.shape[1])
        valid_rows = arrays.ids[np.arange(arrays.ids.shape[1])[None, :]
                                < arrays.lengths[:, None]]
        counts = np.bincount(valid_rows, minlength=len(arrays.table)).astype(np.float64)
        mean = counts @ arrays.table / counts.sum()
        std = np.sqrt(counts @ (arrays.table - mean) ** 2 / counts.sum())
        model.input_mean.copy_(torch.from_numpy(mean.astype(np.float32)))
        model.input_scale.copy_(torch.from_numpy(np.maximum(std, 1e-3).astype(np.float32)))
    weights = torch.from_numpy(np.ones(len(arrays), dtype=np.float32) if sample_weight is None
                               else np.asarray(sample_weight, dtype=np.float32))
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    table = torch.from_numpy(np.ascontiguousarray(arrays.table, dtype=np.float32))
    ids = torch.from_numpy(arrays.ids)
    labels = torch.from_numpy(np.asarray(y, dtype=np.int64))
    ce_weight = torch.from_numpy(class_weights(np.asarray(y), config.class_weighting))
    generator = torch.Generator().manual_seed(config.seed)
    for epoch in range(1, config.epochs + 1):
        started = time.perf_counter()
        model.train()
        totals = np.zeros(4)
        batches = 0
        for rows in length_buckets(arrays.lengths, config.batch_size, generator):
            lengths = torch.from_numpy(arrays.lengths[rows.numpy()])
            logits, probs, selected = model.train_step(table, ids[rows, : int(lengths.max())],
                                                       lengths)
            each = torch.nn.functional.cross_entropy(logits, labels[rows], weight=ce_weight,
                                                     reduction="none")
            # The weighted mean cross_entropy(weight=...) takes, times the sample weights.
            ce = (each * weights[rows]).sum() / ce_weight[labels[rows]].sum()
            bal = balance_loss(probs, selected, config.top_k)
            div = diversity_loss(model.expert_w1, model.expert_w2)
            loss = ce + config.balance_weight * bal + config.diversity_weight * div
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            totals += [loss.item(), ce.item(), bal.item(), div.item()]
            batches += 1
        means = totals / max(batches, 1)
        valid_f1 = None
        if valid is not None:
            p, _ = predict_torch(model, valid[0])
            valid_f1 = f1_score(np.asarray(valid[1]), p >= 0.5)
        if on_epoch is not None:
            loss, ce_mean, bal_mean, div_mean = (float(v) for v in means)
            on_epoch(EpochStats(epoch, loss, ce_mean, bal_mean, div_mean,
                                time.perf_counter() - started, valid_f1))
    model.eval()
    return model


def sample_losses(model: Any, arrays: SequenceArrays, y: np.ndarray,
                  batch_size: int = 1024) -> np.ndarray:
    """Per-sequence cross-entropy of ``model`` against labels ``y`` (noisy-label filtering)."""
    p, _ = predict_torch(model, arrays, batch_size)
    p = np.clip(p.astype(np.float64), 1e-7, 1 - 1e-7)
    y = np.asarray(y)
    return np.where(y == 1, -np.log(p), -np.log(1 - p))


def save_weights(model: Any, path: Path) -> None:
    """The module's parameters and buffers as a plain .npz (never pickle)."""
    arrays = {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()}
    with path.open("wb") as fh:
        np.savez(fh, **arrays)


def load_weights(config: LogMoEConfig, path: Path, dim: int = DIM) -> Any:
    """A torch LogMoE with the weights ``save_weights`` wrote (for fine-tuning)."""
    import torch

    model = build_model(config, dim)
    try:
        with np.load(path, allow_pickle=False) as data:
            state = {k: torch.from_numpy(data[k]) for k in data.files}
        model.load_state_dict(state)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise ModelError(f"{path}: LogMoE weights do not load ({str(exc).splitlines()[0]}); "
                         "retrain the bundle") from None
    model.eval()
    return model


def predict_torch(
    model: Any, arrays: SequenceArrays, batch_size: int = 1024
) -> tuple[np.ndarray, np.ndarray]:
    """The torch reference of ``LogMoEScorer.predict`` (same outputs, same shapes)."""
    import torch

    was_training = model.training
    model.eval()
    n, width = arrays.ids.shape
    p = np.zeros(n, dtype=np.float32)
    positions = np.zeros((n, width), dtype=np.float32)
    table = torch.from_numpy(np.ascontiguousarray(arrays.table, dtype=np.float32))
    ids = torch.from_numpy(arrays.ids)
    with torch.no_grad():
        for start in range(0, n, batch_size):
            rows = torch.arange(start, min(start + batch_size, n))
            vectors, lengths = _batch(arrays, table, ids, rows)
            bp, bpos = _probabilities(model, vectors, lengths)
            p[start : start + len(rows)] = bp.numpy()
            positions[start : start + len(rows), : bpos.shape[1]] = bpos.numpy()
    model.train(was_training)
    return p, positions


def f1_score(y: np.ndarray, predicted: np.ndarray) -> float:
    tp = int(np.sum((y == 1) & predicted))
    fp = int(np.sum((y == 0) & predicted))
    fn = int(np.sum((y == 1) & ~predicted))
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def export_logmoe(model: Any, path: Path, max_len: int) -> Path:
    """Write the model as ONNX: (vectors, lengths) -> (p_anomalous, position_scores)."""
    import torch

    was_training = model.training
    model.eval()
    dim = model.input_mean.shape[0]
    vectors = torch.zeros(2, max_len, dim)
    lengths = torch.tensor([max_len, max(1, max_len // 2)], dtype=torch.int64)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with warnings.catch_warnings():
            # The tracer warns about nn.LSTM's shape checks and about batch sizes;
            # no initial state is passed, so any batch size works (tested).
            warnings.simplefilter("ignore")
            torch.onnx.export(
                _export_wrapper(model), (vectors, lengths), str(path), dynamo=False,
                opset_version=17, input_names=["vectors", "lengths"],
                output_names=["p_anomalous", "position_scores"],
                dynamic_axes={"vectors": {0: "batch", 1: "length"}, "lengths": {0: "batch"},
                              "p_anomalous": {0: "batch"},
                              "position_scores": {0: "batch", 1: "length"}})
    finally:
        model.train(was_training)
    return path


class LogMoEScorer:
    """Runs an exported LogMoE with onnxruntime: p(anomalous) and per-position evidence."""

    def __init__(self, path: Path) -> None:
        self.session = open_session(path, "LogMoE model")
        names = {i.name for i in self.session.get_inputs()}
        if names != {"vectors", "lengths"}:
            raise ModelError(f"{path} is not a LogMoE model (inputs {sorted(names)})")
        self.path = path

    def predict(
        self, arrays: SequenceArrays, batch_size: int = 256
    ) -> tuple[np.ndarray, np.ndarray]:
        """(p_anomalous (n,), position_scores (n, max_len)); padding positions score 0."""
        n, width = arrays.ids.shape
        p = np.zeros(n, dtype=np.float32)
        positions = np.zeros((n, width), dtype=np.float32)
        for start in range(0, n, batch_size):
            rows = slice(start, min(start + batch_size, n))
            lengths = arrays.lengths[rows].astype(np.int64)
            cut = int(lengths.max())  # the longest in the batch: no work on shared padding
            vectors = arrays.table[arrays.ids[rows, :cut]].astype(np.float32, copy=False)
            bp, bpos = self.session.run(None, {"vectors": vectors, "lengths": lengths})
            p[rows] = bp
            positions[rows, :cut] = bpos
        return p, positions
