from __future__ import annotations

import numpy as np

from logsentry.report.plot import pr_curve


def test_pr_curve_steps_through_distinct_scores() -> None:
    scores = np.array([0.9, 0.8, 0.8, 0.1])
    y = np.array([1, 1, 0, 0])
    precision, recall = pr_curve(scores, y)
    assert precision.tolist() == [1.0, 2 / 3, 0.5]  # ties (0.8, 0.8) enter together
    assert recall.tolist() == [0.5, 1.0, 1.0]
