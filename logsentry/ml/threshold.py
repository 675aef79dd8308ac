"""Decision thresholds chosen from data, not by hand.

The XLSTM seed "searches the decision threshold automatically": with labels
on a validation split we take the threshold of best F1
(``best_f1_threshold``); without labels, a high quantile of the scores of
(mostly normal) training data (``quantile_threshold``). Everywhere a score
``>= threshold`` means anomalous.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np


class ThresholdChoice(NamedTuple):
    """Unpacks as ``threshold, precision, recall, f1``."""

    threshold: float
    precision: float
    recall: float
    f1: float


def _clean(scores: np.ndarray) -> np.ndarray:
    """NaN cannot be compared: treat it as the most anomalous score (never hide a sequence)."""
    s = np.asarray(scores, dtype=np.float64).ravel()
    return np.where(np.isnan(s), np.inf, s)


def best_f1_threshold(scores: np.ndarray, y: np.ndarray) -> ThresholdChoice:
    """The threshold of best F1 for ``scores >= threshold`` predicting ``y == 1``.

    Only observed scores are candidates, so tied scores always fall on the same
    side. Among equal F1, the highest threshold wins (fewer escalations). With
    no positive labels, the threshold flags nothing (``+inf``, F1 0); with no
    negatives, the lowest score (every sequence flagged).
    """
    s = _clean(scores)
    labels = np.asarray(y).ravel().astype(bool)
    if s.shape != labels.shape:
        raise ValueError(f"scores {s.shape} and labels {labels.shape} differ in shape")
    positives = int(labels.sum())
    if s.size == 0 or positives == 0:
        return ThresholdChoice(math.inf, 0.0, 0.0, 0.0)
    order = np.argsort(-s, kind="stable")
    s_sorted, l_sorted = s[order], labels[order]
    tp = np.cumsum(l_sorted)
    flagged = np.arange(1, s.size + 1)
    # a cut is valid only after the last of a run of tied scores
    last_of_tie = np.append(s_sorted[1:] != s_sorted[:-1], True)
    tp, flagged, cand = tp[last_of_tie], flagged[last_of_tie], s_sorted[last_of_tie]
    precision = tp / flagged
    recall = tp / positives
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(tp > 0, 2 * precision * recall / (precision + recall), 0.0)
    best = int(np.argmax(f1))  # first max = highest threshold among ties in F1
    return ThresholdChoice(float(cand[best]), float(precision[best]), float(recall[best]),
                           float(f1[best]))


def margin_threshold(scores: np.ndarray, y: np.ndarray) -> ThresholdChoice:
    """``best_f1_threshold``, moved down to halfway between its cut and the highest score
    below it: the same decisions on ``scores``, but not on the edge of the lowest
    anomalous score seen, where a slightly lower unseen anomaly would be missed. For
    small search sets (adaptation's); precision, recall and F1 are those of the cut."""
    choice = best_f1_threshold(scores, y)
    if not math.isfinite(choice.threshold):
        return choice
    s = _clean(scores)
    below = s[s < choice.threshold]
    if below.size == 0:
        return choice
    return choice._replace(threshold=float((choice.threshold + below.max()) / 2))


def quantile_threshold(scores: np.ndarray, q: float) -> float:
    """The ``q`` quantile (0..1) of the scores, ignoring NaN; ``+inf`` for no scores."""
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"quantile {q} is not in [0, 1]")
    s = np.asarray(scores, dtype=np.float64).ravel()
    s = s[~np.isnan(s)]
    if s.size == 0:
        return math.inf
    return float(np.quantile(s, q))


def f1_at(scores: np.ndarray, y: np.ndarray, threshold: float) -> ThresholdChoice:
    """Precision, recall and F1 of ``scores >= threshold`` against ``y``."""
    pred = _clean(scores) >= threshold
    labels = np.asarray(y).ravel().astype(bool)
    tp = int((pred & labels).sum())
    p = tp / int(pred.sum()) if pred.any() else 0.0
    r = tp / int(labels.sum()) if labels.any() else 0.0
    f1 = 2 * p * r / (p + r) if p + r > 0 else 0.0
    return ThresholdChoice(float(threshold), p, r, f1)
