"""The generated demo log: deterministic, well-formed, with the anomalies it claims."""

from __future__ import annotations

from logsentry.formats import get_format
from logsentry.sample import sample_blocks, sample_labels, sample_lines


def test_same_seed_same_log_and_other_seed_other_log() -> None:
    assert list(sample_lines(20, seed=1)) == list(sample_lines(20, seed=1))
    assert list(sample_lines(20, seed=1)) != list(sample_lines(20, seed=2))


def test_lines_are_hdfs_format_except_stack_trace_continuations() -> None:
    fmt = get_format("hdfs")
    lines = list(sample_lines(300, seed=5, anomaly_rate=0.2))
    headerless = [ln for ln in lines if not fmt.regex.match(ln)]
    assert headerless, "serve_exception blocks include a stack trace"
    assert all(ln.startswith(("java.", "\tat ")) for ln in headerless)


def test_anomaly_rate_and_labels_agree() -> None:
    blocks = sample_blocks(1000, seed=9, anomaly_rate=0.05)
    bad = sum(b.anomalous for b in blocks)
    assert 25 <= bad <= 80
    labels = sample_labels(1000, seed=9, anomaly_rate=0.05)
    assert sum(labels.values()) == bad


def test_every_block_id_appears_in_the_log() -> None:
    text = "\n".join(sample_lines(50, seed=11))
    assert all(block in text for block in sample_labels(50, seed=11))
