from __future__ import annotations

import math

import numpy as np
import pytest

from logsentry.ml.threshold import best_f1_threshold, f1_at, quantile_threshold


def test_separable_scores_give_perfect_f1_at_lowest_positive():
    t, p, r, f1 = best_f1_threshold(np.array([0.1, 0.2, 0.8, 0.9]), np.array([0, 0, 1, 1]))
    assert (t, p, r, f1) == (0.8, 1.0, 1.0, 1.0)


def test_tied_scores_fall_on_the_same_side():
    # the 0.5 tie holds one positive and one negative: cutting inside it is impossible
    scores = np.array([0.9, 0.5, 0.5, 0.1])
    choice = best_f1_threshold(scores, np.array([1, 1, 0, 0]))
    pred = scores >= choice.threshold
    assert pred[1] == pred[2]
    assert choice.f1 == pytest.approx(f1_at(scores, np.array([1, 1, 0, 0]), choice.threshold).f1)
    assert choice.threshold == 0.5 and choice.f1 == pytest.approx(0.8)


def test_equal_f1_prefers_the_higher_threshold():
    choice = best_f1_threshold(np.array([0.9, 0.3, 0.2]), np.array([1, 0, 0]))
    assert choice.threshold == 0.9


def test_no_positive_flags_nothing():
    t, _, _, f1 = best_f1_threshold(np.array([0.1, 0.5]), np.array([0, 0]))
    assert math.isinf(t) and f1 == 0.0


def test_only_positives_flags_everything():
    t, _, r, f1 = best_f1_threshold(np.array([0.3, 0.7, 0.5]), np.array([1, 1, 1]))
    assert t == 0.3 and r == 1.0 and f1 == 1.0


def test_nan_score_counts_as_most_anomalous():
    t, _, _, f1 = best_f1_threshold(np.array([np.nan, 0.1, 0.2]), np.array([1, 0, 0]))
    assert f1 == 1.0 and math.isinf(t)


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError):
        best_f1_threshold(np.zeros(3), np.zeros(2))


def test_quantile_threshold_ignores_nan_and_checks_range():
    assert quantile_threshold(np.array([1.0, 2.0, 3.0, np.nan]), 1.0) == 3.0
    assert quantile_threshold(np.arange(101.0), 0.99) == pytest.approx(99.0)
    assert math.isinf(quantile_threshold(np.array([]), 0.5))
    with pytest.raises(ValueError):
        quantile_threshold(np.ones(3), 1.5)
