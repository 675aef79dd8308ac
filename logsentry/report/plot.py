"""``eval --plot``: what people would rather look at than read (matplotlib, Agg backend).

Three panels: anomaly-score histograms per class with the decision
threshold, the precision-recall curve with the operating point, and the
confusion matrix.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from logsentry.errors import InputError


def pr_curve(scores: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Precision and recall at every distinct score used as the threshold (descending)."""
    order = np.argsort(-scores, kind="stable")
    hits = y[order].astype(np.int64)
    tp = np.cumsum(hits)
    fp = np.cumsum(1 - hits)
    last = np.r_[np.flatnonzero(np.diff(scores[order])), len(scores) - 1]  # end of each tie
    precision = tp[last] / np.maximum(tp[last] + fp[last], 1)
    recall = tp[last] / max(int(hits.sum()), 1)
    return precision, recall


def eval_plot(path: Path, scores: np.ndarray, y: np.ndarray, threshold: float,
              title: str) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise InputError("--plot needs matplotlib (pip install matplotlib)") from None
    scores = np.asarray(scores, dtype=np.float64)
    y = np.asarray(y).astype(bool)
    predicted = scores >= threshold
    fig, (hist, pr, cm) = plt.subplots(1, 3, figsize=(15, 4.5))
    fig.suptitle(title)
    bins = np.linspace(min(scores.min(), threshold), max(scores.max(), threshold), 40)
    hist.hist(scores[~y], bins=bins, alpha=0.6, label=f"normal ({int((~y).sum()):,})")
    hist.hist(scores[y], bins=bins, alpha=0.6, label=f"anomalous ({int(y.sum()):,})")
    hist.axvline(threshold, color="black", linestyle="--", label=f"threshold {threshold:.3g}")
    hist.set_yscale("log")
    hist.set_xlabel("anomaly score")
    hist.set_ylabel("sequences")
    hist.legend()
    precision, recall = pr_curve(scores, y)
    pr.plot(recall, precision, marker=".")
    tp = int((predicted & y).sum())
    op_p = tp / max(int(predicted.sum()), 1)
    op_r = tp / max(int(y.sum()), 1)
    pr.scatter([op_r], [op_p], color="red", zorder=3, label="operating point")
    pr.set_xlabel("recall")
    pr.set_ylabel("precision")
    pr.set_xlim(0, 1.02)
    pr.set_ylim(0, 1.02)
    pr.legend()
    matrix = np.array([[int((~y & ~predicted).sum()), int((~y & predicted).sum())],
                       [int((y & ~predicted).sum()), int((y & predicted).sum())]])
    cm.imshow(matrix, cmap="Blues")
    for (i, j), value in np.ndenumerate(matrix):
        cm.text(j, i, f"{value:,}", ha="center", va="center", fontsize=14,
                color="white" if value > matrix.max() / 2 else "black")
    cm.set_xticks([0, 1], ["predicted normal", "predicted anomalous"])
    cm.set_yticks([0, 1], ["normal", "anomalous"])
    cm.set_title("confusion matrix")
    fig.tight_layout()
    try:
        fig.savefig(path, dpi=100)
    except OSError as exc:
        raise InputError(f"{path}: cannot write the plot ({exc.strerror})") from None
    finally:
        plt.close(fig)
