"""Train a bundle from sequences: supervised (LogMoE) or unlabeled (normal memory).

Both kinds also get the router (autoencoder over sequence means) and the
list of templates seen in training (for ``unseen`` routing), plus the
vectors of those templates, so scanning known templates never needs the
sentence encoder. Thresholds are chosen automatically: the LogMoE decision
threshold by best F1 on the last ``VALID_FRACTION`` of the training part
(chronological), the router's as a quantile of its training errors, the
memory's from its own training scores (no labels).
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from logsentry import __version__
from logsentry.embed import ENCODER_ID
from logsentry.ml.bundle import Bundle, BundleWriter
from logsentry.ml.features import SequenceArrays, idf_mean, template_idf
from logsentry.ml.logmoe import (
    LogMoEConfig,
    LogMoEScorer,
    export_logmoe,
    save_weights,
    train_logmoe,
)
from logsentry.ml.memory import MemoryConfig, NormalMemory
from logsentry.ml.router import RouterConfig, export_router, train_router
from logsentry.ml.threshold import best_f1_threshold

VALID_FRACTION = 0.1


@dataclass
class TrainSpec:
    name: str
    kind: str  # "supervised" or "unlabeled"
    max_len: int
    log_format: str
    window: str
    data: dict[str, Any] = field(default_factory=dict)  # inputs, labels, split, counts
    logmoe: LogMoEConfig = field(default_factory=LogMoEConfig)
    router: RouterConfig = field(default_factory=RouterConfig)
    memory: MemoryConfig = field(default_factory=MemoryConfig)


def _versions() -> dict[str, str]:
    import onnxruntime

    versions = {"logsentry": __version__, "python": platform.python_version(),
                "onnxruntime": onnxruntime.__version__}
    try:
        import torch

        versions["torch"] = torch.__version__
    except ImportError:  # pragma: no cover - training needs torch
        pass
    return versions


def train_bundle(
    spec: TrainSpec,
    arrays: SequenceArrays,
    y: np.ndarray | None,
    target: Path,
    *,
    notice: Callable[[str], None] = lambda _m: None,
    test: tuple[SequenceArrays, np.ndarray | None] | None = None,
    groups: np.ndarray | None = None,
) -> Bundle:
    """Train on ``arrays`` (already the training part, in time order) and write the bundle."""
    if len(arrays) < 10:
        from logsentry.errors import InputError

        raise InputError(f"only {len(arrays)} sequences to train on; need at least 10")
    writer = BundleWriter(target)
    started = time.perf_counter()
    try:
        info: dict[str, Any] = {
            "name": spec.name,
            "kind": spec.kind,
            "embedding": {"encoder": ENCODER_ID, "max_len": spec.max_len},
            "log_format": spec.log_format,
            "window": spec.window,
            "data": spec.data,
            "versions": _versions(),
        }
        notice(f"training the router on {len(arrays):,} sequences")
        idf = template_idf(arrays)
        unseen_idf = float(np.log(1 + len(arrays)) + 1)  # as if in no training sequence
        router, router_threshold = train_router(idf_mean(arrays, idf, unseen_idf), spec.router)
        export_router(router, writer.path("router.onnx"))
        info["router"] = {"threshold": float(router_threshold), "quantile": spec.router.quantile,
                          "input": "tf-idf weighted mean of template vectors",
                          "idf": [idf[t] for t in arrays.templates], "unseen_idf": unseen_idf,
                          "config": asdict(spec.router)}
        if spec.kind == "supervised":
            assert y is not None
            info["logmoe"] = _train_logmoe(spec, arrays, y, writer, notice, groups)
        else:
            memory = NormalMemory(spec.memory).fit(arrays)
            memory.save(writer.path("memory.npz"))
            info["memory"] = {"threshold": float(memory.threshold),
                              "config": asdict(spec.memory)}
        writer.write_json("templates.json", arrays.templates)
        np.save(writer.path("vectors.npy"), arrays.table[1:].astype(np.float32))
        writer.write_json("examples.json", pick_examples(arrays, y))
        save_replay(writer.path("replay.npz"), arrays, y)
        if test is not None:
            info["metrics"] = {"test": _held_out(writer, info, arrays.templates, *test)}
        info["training_seconds"] = round(time.perf_counter() - started, 1)
        return writer.commit(info)
    except BaseException:
        writer.abort()
        raise


EXAMPLES_PER_CLASS = 150
REPLAY_SEQUENCES = 3000


def save_replay(path: Path, arrays: SequenceArrays, y: np.ndarray | None,
                limit: int = REPLAY_SEQUENCES) -> None:
    """A sample of the training sequences for ``adapt`` to replay, so a fine-tuned model
    does not forget what it was trained on: every anomalous one up to a third of
    ``limit``, the rest normal ones spread evenly over the training period. Rows are
    1-based ids into ``templates.json``."""
    labels = np.zeros(len(arrays), dtype=np.int64) if y is None else np.asarray(y, np.int64)
    anomalous = np.flatnonzero(labels == 1)
    normal = np.flatnonzero(labels == 0)
    if len(anomalous) > limit // 3:
        anomalous = anomalous[np.linspace(0, len(anomalous) - 1, limit // 3).astype(int)]
    room = limit - len(anomalous)
    if len(normal) > room:
        normal = normal[np.linspace(0, len(normal) - 1, room).astype(int)]
    rows = np.sort(np.concatenate([anomalous, normal]))
    with path.open("wb") as fh:
        np.savez(fh, ids=arrays.ids[rows].astype(np.int32), lengths=arrays.lengths[rows],
                 labels=labels[rows])


def pick_examples(arrays: SequenceArrays, y: np.ndarray | None,
                  per_class: int = EXAMPLES_PER_CLASS) -> dict[str, Any]:
    """Labeled training sequences the LLM tier shows as in-context examples: per class,
    up to ``per_class`` of distinct shape (template set with log2-bucketed counts, the
    LLM cache's key), spread evenly over the training period. Rows index
    ``templates.json`` (1-based; truncated to the bundle's ``max_len``); an unlabeled
    bundle's examples are all "normal" (assumed, like its training data)."""
    labels = np.zeros(len(arrays), dtype=np.int64) if y is None else np.asarray(y)
    rows: list[list[int]] = []
    out_labels: list[int] = []
    for label in (0, 1):
        seen: dict[tuple[tuple[int, int], ...], int] = {}
        for row in np.nonzero(labels == label)[0]:
            ids = arrays.ids[row, : arrays.lengths[row]]
            values, counts = np.unique(ids, return_counts=True)
            shape = tuple((int(v), int(c).bit_length()) for v, c in zip(values, counts,
                                                                         strict=True))
            seen.setdefault(shape, int(row))
        chosen = sorted(seen.values())
        if len(chosen) > per_class:
            chosen = [chosen[int(k)] for k in np.linspace(0, len(chosen) - 1, per_class)]
        for i in chosen:
            rows.append([int(t) for t in arrays.ids[i, : arrays.lengths[i]]])
            out_labels.append(label)
    return {"format": "logsentry-examples/1", "sequences": rows, "labels": out_labels}


def validation_rows(n: int, groups: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """The last VALID_FRACTION of each data set's (time-ordered) rows is held back."""
    groups = np.zeros(n, dtype=np.int64) if groups is None else np.asarray(groups)
    fit, valid = [], []
    for group in dict.fromkeys(groups.tolist()):
        rows = np.flatnonzero(groups == group)
        cut = max(1, int(len(rows) * (1 - VALID_FRACTION)))
        fit.append(rows[:cut])
        valid.append(rows[cut:])
    return np.concatenate(fit), np.concatenate(valid)


def _train_logmoe(spec: TrainSpec, arrays: SequenceArrays, y: np.ndarray,
                  writer: BundleWriter, notice: Callable[[str], None],
                  groups: np.ndarray | None) -> dict[str, Any]:
    n = len(arrays)
    fit_rows, valid_rows = validation_rows(n, groups)
    if y[valid_rows].sum() == 0 or y[fit_rows].sum() == 0:
        fit_rows = valid_rows = np.arange(n)  # too few anomalies to hold some back
    notice(f"training LogMoE on {len(fit_rows):,} sequences "
           f"({int(y[fit_rows].sum()):,} anomalous), {spec.logmoe.epochs} epochs")
    model = train_logmoe(arrays.subset(fit_rows), y[fit_rows], spec.logmoe)
    path = writer.path("logmoe.onnx")
    export_logmoe(model, path, spec.max_len)
    save_weights(model, writer.path("logmoe.npz"))  # what adapt fine-tunes
    p, _ = LogMoEScorer(path).predict(arrays.subset(valid_rows))
    choice = best_f1_threshold(p, y[valid_rows])
    threshold = float(choice.threshold) if np.isfinite(choice.threshold) else 0.5
    return {
        "threshold": threshold,
        "validation": {"sequences": len(valid_rows), "anomalous": int(y[valid_rows].sum()),
                       "precision": float(choice.precision), "recall": float(choice.recall),
                       "f1": float(choice.f1)},
        "config": asdict(spec.logmoe),
    }


def _held_out(writer: BundleWriter, info: dict[str, Any], known: list[str],
              arrays: SequenceArrays, y: np.ndarray | None) -> dict[str, Any]:
    """Score the held-out part with the staged models (what scan would say)."""
    from logsentry.ml.metrics import scores
    from logsentry.ml.router import RouterScorer

    router = RouterScorer(writer.path("router.onnx"), info["router"]["threshold"], known)
    idf = dict(zip(known, info["router"]["idf"], strict=True))
    errors = router.errors(idf_mean(arrays, idf, info["router"]["unseen_idf"]))
    evolved = (errors > router.threshold) | (router.unseen(arrays) > 0)
    if info["kind"] == "supervised":
        p, _ = LogMoEScorer(writer.path("logmoe.onnx")).predict(arrays)
        predicted = p >= info["logmoe"]["threshold"]
    else:
        memory = NormalMemory.load(writer.path("memory.npz"))
        predicted = memory.score(arrays) >= memory.threshold
    out: dict[str, Any] = {"sequences": len(arrays),
                           "evolved_fraction": round(float(np.mean(evolved)), 4)}
    if y is not None:
        out |= scores(y, predicted).as_dict()
    return out
