#!/usr/bin/env python3
"""Does TF-IDF weighting of the router's sequence mean help? (issue 3, point 1)

    python tests/bench/router_tfidf.py

HDFS reference split (first 80% of blocks in label-file order train the
router, the last 20% are scored). A router should send unfamiliar sequences
to the LLM and leave familiar normal ones alone: compare the share of normal
test blocks routed ``evolved`` (lower is better) and of anomalous ones
(higher is better) for the plain and the IDF-weighted mean.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def main() -> None:
    import numpy as np

    from logsentry.config import dirs, load_settings
    from logsentry.embed import TemplateVectors
    from logsentry.ml.dataset import DatasetSpec, load_dataset
    from logsentry.ml.features import idf_mean, sequence_arrays, template_idf
    from logsentry.ml.router import RouterConfig, torch_errors, train_router
    from logsentry.pipeline import Pipeline
    from tests.datasets import data_dir

    d = data_dir() / "hdfs_loglead_2pct"
    spec = DatasetSpec((str(d / "HDFS_2pct.log.gz"),), "hdfs",
                       labels=str(d / "anomaly_label.csv"))
    item = load_dataset(spec, Pipeline(load_settings({"log_format": "hdfs"}), None))
    assert item.data.y is not None
    cut = int(len(item.data) * 0.8)
    vectors = TemplateVectors(dirs().cache)
    train = sequence_arrays(item.texts[:cut], vectors.vectors)
    test = sequence_arrays(item.texts[cut:], vectors.vectors)
    y = item.data.y[cut:].astype(bool)
    idf = template_idf(train)
    unseen = float(np.log(1 + len(train)) + 1)
    print("| router input | normal test blocks routed evolved | anomalous routed evolved |")
    print("|---|---:|---:|")
    for name, fit, score in (("plain mean", train.mean, test.mean),
                             ("TF-IDF weighted mean", idf_mean(train, idf, unseen),
                              idf_mean(test, idf, unseen))):
        model, threshold = train_router(fit, RouterConfig())
        evolved = torch_errors(model, score) > threshold
        print(f"| {name} | {evolved[~y].mean():.2%} | {evolved[y].sum()}/{y.sum()} "
              f"({evolved[y].mean():.0%}) |")


if __name__ == "__main__":
    main()
