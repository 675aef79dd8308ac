"""Grouping accuracy (GA) on the twelve Loghub 2k systems, parsed the way the product parses.

GA is the standard log-parsing metric (Zhu et al., ICSE-SEIP'19): a line counts as
correct iff the set of lines that share its predicted template is exactly the set
of lines that share its ground-truth ``EventTemplate`` (loghub-2.0's corrected
templates). Each system is read with the format written for it, through
``read_batches`` -> ``to_records(multiline=False)`` -> ``TemplateParser`` with the
format's masks, ``sim_th`` and ``depth`` (see ``Pipeline._make_parser``).

HDFS >= 0.99 and BGL >= 0.95 are product requirements; every other floor sits a
little below the measured value, so a change to formats, masks or the parser that
costs accuracy fails here. ``pytest -s`` prints the table.

Known ceilings (ground-truth events no whitespace-free mask can rejoin):
Proxifier's "close" event (947 lines) spans 4+ token counts ("0 bytes sent" /
"1190 bytes (1.16 KB) sent", "lifetime 00:02" / "lifetime <1 sec"), and Drain
keys templates by token count; Linux splits ``user=root|guest|test`` (372 lines)
that differ in one word of nine; Thunderbird's "data source name an14 an15 ..."
(34 lines) varies in length.
"""

from __future__ import annotations

import csv
import functools
from collections import defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from logsentry.formats import get_format, to_records
from logsentry.parse import DEFAULT_MASKS, TemplateParser
from logsentry.sources.reader import Source, read_batches
from tests.datasets import LOGHUB2K_SYSTEMS, loghub2k

pytestmark = pytest.mark.data

# system -> (format, floor). Measured on 2026-11-23: see the module docstring for the rule.
FLOORS: dict[str, tuple[str, float]] = {
    "Apache": ("apache", 0.995),  # 1.0000
    "BGL": ("bgl", 0.975),  # 0.9830 (required: 0.95)
    "HDFS": ("hdfs", 0.995),  # 0.9975 (required: 0.99)
    "HPC": ("hpc", 0.895),  # 0.9055
    "HealthApp": ("healthapp", 0.99),  # 1.0000
    "Linux": ("linux", 0.80),  # 0.8130
    "Mac": ("mac", 0.925),  # 0.9360
    "OpenSSH": ("openssh", 0.99),  # 0.9960
    "Proxifier": ("proxifier", 0.52),  # 0.5265 (ceiling ~0.53, see above)
    "Spark": ("spark", 0.99),  # 1.0000
    "Thunderbird": ("thunderbird", 0.95),  # 0.9575
    "Zookeeper": ("zookeeper", 0.98),  # 0.9885
}
REQUIRED = {"HDFS": 0.99, "BGL": 0.95}
# Auto-detection reads Linux, Mac and OpenSSH as generic syslog: keep that decent too.
SYSLOG_FLOORS = {"Linux": 0.68, "Mac": 0.745, "OpenSSH": 0.99}  # 0.6925, 0.7570, 0.9960


def grouping_accuracy(predicted: Sequence[Hashable], truth: Sequence[Hashable]) -> float:
    if len(predicted) != len(truth):
        raise ValueError(f"{len(predicted)} predictions for {len(truth)} lines")
    if not truth:
        return 1.0
    by_pred: dict[Hashable, set[int]] = defaultdict(set)
    by_truth: dict[Hashable, set[int]] = defaultdict(set)
    for i, (p, t) in enumerate(zip(predicted, truth, strict=True)):
        by_pred[p].add(i)
        by_truth[t].add(i)
    correct = sum(len(lines) for lines in by_pred.values()
                  if by_truth[truth[next(iter(lines))]] == lines)
    return correct / len(truth)


@dataclass(frozen=True, slots=True)
class Result:
    system: str
    format: str
    ga: float
    templates: int
    events: int
    headerless: int


def ground_truth(system: str) -> list[str]:
    path = loghub2k(system).with_name(f"{system}_2k.log_structured_corrected.csv")
    with path.open(newline="", encoding="utf-8") as fh:
        return [row["EventTemplate"] for row in csv.DictReader(fh)]


@functools.cache
def measure(system: str, fmt_name: str) -> Result:
    fmt = get_format(fmt_name)
    parser = TemplateParser(masks=fmt.masks + DEFAULT_MASKS, sim_th=fmt.sim_th, depth=fmt.depth)
    records = to_records(read_batches(Source(str(loghub2k(system)))), fmt, multiline=False)
    predicted, headerless = [], 0
    for record in records:
        predicted.append(parser.parse(record).template_id)
        headerless += record.header is None
    truth = ground_truth(system)
    return Result(system, fmt_name, grouping_accuracy(predicted, truth), len(set(predicted)),
                  len(set(truth)), headerless)


def test_grouping_accuracy_metric() -> None:
    truth = ["A", "A", "B", "B", "C"]
    assert grouping_accuracy([1, 1, 2, 2, 3], truth) == 1.0
    assert grouping_accuracy(["x", "x", "y", "y", "z"], truth) == 1.0  # only the grouping counts
    assert grouping_accuracy([1, 1, 1, 1, 3], truth) == pytest.approx(0.2)  # A+B merged
    assert grouping_accuracy([1, 2, 3, 3, 4], truth) == pytest.approx(0.6)  # A split: 2 wrong
    assert grouping_accuracy([], []) == 1.0
    with pytest.raises(ValueError):
        grouping_accuracy([1], truth)


def test_print_table(shared_data: Path) -> None:
    rows = [measure(s, FLOORS[s][0]) for s in LOGHUB2K_SYSTEMS]
    rows += [measure(s, "syslog") for s in SYSLOG_FLOORS]
    floors = {**{(s, f): v for s, (f, v) in FLOORS.items()},
              **{(s, "syslog"): v for s, v in SYSLOG_FLOORS.items()}}
    print("\n\nGrouping accuracy on loghub2k (corrected templates)")
    print(f"{'system':<12} {'format':<12} {'GA':>7} {'floor':>6} {'templates':>10} "
          f"{'events':>7} {'headerless':>10}")
    for r in rows:
        print(f"{r.system:<12} {r.format:<12} {r.ga:7.4f} {floors[r.system, r.format]:6.3f} "
              f"{r.templates:10d} {r.events:7d} {r.headerless:10d}")
    main = rows[: len(LOGHUB2K_SYSTEMS)]
    print(f"{'mean':<25} {sum(r.ga for r in main) / len(main):7.4f}")


@pytest.mark.parametrize("system", LOGHUB2K_SYSTEMS)
def test_grouping_accuracy_floor(shared_data: Path, system: str) -> None:
    fmt_name, floor = FLOORS[system]
    result = measure(system, fmt_name)
    assert result.headerless == 0
    assert result.ga >= REQUIRED.get(system, 0.0)
    assert result.ga >= floor, f"{system}: GA {result.ga:.4f} < floor {floor}"


@pytest.mark.parametrize("system", sorted(SYSLOG_FLOORS))
def test_generic_syslog_floor(shared_data: Path, system: str) -> None:
    result = measure(system, "syslog")
    assert result.ga >= SYSLOG_FLOORS[system], f"{system}: GA {result.ga:.4f}"
