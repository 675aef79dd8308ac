"""The router (CollaborLog's coordinator): is a sequence *evolved*?

A deep autoencoder reconstructs the mean template vector of a sequence
(384 -> 64 -> 128 -> 64 -> 384, the seed's hidden dims [64, 128, 64], ReLU).
A high reconstruction error means the sequence is unlike what the small
model was trained on. Because a mean over a long sequence dilutes a single
new template, unseen templates are also counted explicitly: a sequence is
evolved when its error exceeds the threshold OR it holds a template the
router never saw.

Training uses torch (imported inside ``train_router`` / ``export_router``);
inference (``RouterScorer``) uses only onnxruntime and numpy.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from logsentry.ml.features import DIM, SequenceArrays
from logsentry.ml.threshold import quantile_threshold
from logsentry.onnx import open_session

if TYPE_CHECKING:
    pass

HIDDEN = (64, 128, 64)
OPSET = 17


@dataclass(frozen=True, slots=True)
class RouterConfig:
    epochs: int = 50
    batch_size: int = 256
    lr: float = 1e-3
    quantile: float = 0.99  # threshold = this quantile of the training reconstruction errors
    seed: int = 0


def build_autoencoder(dim: int = DIM, hidden: tuple[int, ...] = HIDDEN) -> Any:
    import torch.nn as nn

    sizes = [dim, *hidden, dim]
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:  # no activation on the reconstruction itself
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def train_router(mean: np.ndarray, config: RouterConfig | None = None) -> tuple[Any, float]:
    """Fit the autoencoder on (n, 384) mean vectors; return (model, threshold).

    The threshold is ``config.quantile`` of the per-sequence reconstruction
    errors (mean squared error over the 384 dims) of the training sequences
    themselves, measured after training: with the default 0.99, about 1% of
    sequences like the training ones are routed as evolved.
    """
    import torch

    cfg = config or RouterConfig()
    x = np.asarray(mean, dtype=np.float32)
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(f"router needs a non-empty (n, dim) array, got shape {x.shape}")
    torch.manual_seed(cfg.seed)
    model = build_autoencoder(x.shape[1])
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    data = torch.from_numpy(x)
    gen = torch.Generator().manual_seed(cfg.seed)
    model.train()
    for _ in range(cfg.epochs):
        order = torch.randperm(len(data), generator=gen)
        for start in range(0, len(data), cfg.batch_size):
            batch = data[order[start:start + cfg.batch_size]]
            loss = torch.mean((model(batch) - batch) ** 2)
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        errors = torch.mean((model(data) - data) ** 2, dim=1).numpy()
    return model, quantile_threshold(errors, cfg.quantile)


def torch_errors(model: Any, mean: np.ndarray) -> np.ndarray:
    """Reconstruction errors computed with torch (for checks against the ONNX export)."""
    import torch

    x = torch.from_numpy(np.asarray(mean, dtype=np.float32))
    with torch.no_grad():
        return torch.mean((model(x) - x) ** 2, dim=1).numpy()


def export_router(model: Any, path: Path) -> None:
    """Write the autoencoder as ONNX (input ``mean`` (batch, dim) -> output ``recon``)."""
    import torch

    dim = model[0].in_features
    model.eval()
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        # the legacy (TorchScript) exporter is a deliberate choice: a plain MLP needs
        # nothing newer, and it does not pull in onnxscript
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            model, (torch.zeros(1, dim),), str(path), input_names=["mean"],
            output_names=["recon"], dynamic_axes={"mean": {0: "batch"}, "recon": {0: "batch"}},
            opset_version=OPSET, dynamo=False,
        )


class RouterScorer:
    """Routes sequences with the exported autoencoder; numpy + onnxruntime only."""

    def __init__(self, path: Path, threshold: float, known_templates: Iterable[str]) -> None:
        # One thread: a 384-wide autoencoder is too small to gain from more.
        self.session = open_session(Path(path), "router", threads=1)
        self.threshold = float(threshold)
        self.known = frozenset(known_templates)

    def errors(self, mean: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(mean, dtype=np.float32)
        if x.shape[0] == 0:
            return np.zeros(0, dtype=np.float32)
        (recon,) = self.session.run(["recon"], {"mean": x})
        return np.mean((recon - x) ** 2, axis=1).astype(np.float32)

    def unseen(self, arrays: SequenceArrays) -> np.ndarray:
        """Records per sequence (within ``max_len``) whose template the router never saw."""
        new_row = np.array([False] + [t not in self.known for t in arrays.templates])
        valid = np.arange(arrays.ids.shape[1])[None, :] < arrays.lengths[:, None]
        return (new_row[arrays.ids] & valid).sum(axis=1).astype(np.int64)

    def route(self, arrays: SequenceArrays) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(evolved (n,) bool, errors (n,), unseen template records (n,) int)."""
        errors = self.errors(arrays.mean)
        unseen = self.unseen(arrays)
        evolved = (errors > self.threshold) | (unseen > 0)
        return evolved, errors, unseen
