"""Labels for evaluation and supervised training, in the shapes the shared data uses.

* Session label files (HDFS ``anomaly_label.csv``): ``BlockId,Label`` with
  ``Normal``/``Anomaly`` (also 0/1); row order is kept, it is the
  chronological order of first appearance.
* Per-line labels in a header field (BGL/Thunderbird's first field: ``-`` is
  normal, anything else an alert category): a sequence is anomalous if any of
  its lines is.
"""

from __future__ import annotations

import csv
from pathlib import Path

from logsentry.errors import InputError
from logsentry.types import Sequence

ANOMALY = {"anomaly", "abnormal", "1", "true", "yes"}
NORMAL = {"normal", "0", "false", "no"}


def load_session_labels(path: Path) -> dict[str, int]:
    """Session id -> 1 (anomalous) or 0, in the file's row order."""
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
    except OSError as exc:
        raise InputError(f"{path}: cannot read labels ({exc.strerror})") from None
    labels: dict[str, int] = {}
    for number, row in enumerate(rows, 1):
        if len(row) < 2:
            continue
        key, value = row[0].strip(), row[1].strip().lower()
        if value in ANOMALY:
            labels[key] = 1
        elif value in NORMAL:
            labels[key] = 0
        elif number == 1:
            continue  # header row
        else:
            raise InputError(f"{path}:{number}: label {row[1]!r} is neither Normal nor Anomaly")
    if not labels:
        raise InputError(f"{path}: no labels found (expected rows like blk_123,Anomaly)")
    return labels


def line_label(sequence: Sequence, field: str = "label", normal: str = "-") -> int:
    """1 if any record of the sequence has a header ``field`` other than ``normal``."""
    for record in sequence.records:
        value = record.fields.get(field)
        if value is not None and value != normal:
            return 1
    return 0
