"""``logsentry sequences``: sessions and windows partition the input's lines."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

from tests.cli.conftest import Invoke

SEQUENCE_KEYS = {"sequence_id", "source", "session", "window", "lines", "owned_from",
                 "template_ids", "start", "end"}


def _sequences(invoke: Invoke, *args: str) -> list[dict[str, Any]]:
    result = invoke(["sequences", "-o", "jsonl", *args])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    for row in rows:
        assert set(row) == SEQUENCE_KEYS
        assert len(row["lines"]) == len(row["template_ids"])
    return rows


def _owned(rows: list[dict[str, Any]]) -> Counter[int]:
    return Counter(n for row in rows for n in row["lines"][row["owned_from"]:])


def test_session_window_groups_hdfs_lines_by_block_id(invoke: Invoke, hdfs_log: Path) -> None:
    rows = _sequences(invoke, "--window", "session", str(hdfs_log))
    text = hdfs_log.read_text().splitlines()
    assert len(rows) > 100
    for row in rows:
        assert row["window"] == "session"
        assert row["owned_from"] == 0
        assert re.fullmatch(r"blk_-?\d+", row["session"])
        for n in row["lines"]:
            assert row["session"] in re.findall(r"blk_-?\d+", text[n - 1])
        assert row["lines"] == sorted(row["lines"])
    every = Counter(n for row in rows for n in row["lines"])
    assert set(every) == set(range(1, 2001))
    assert set(every.values()) == {1}  # each line in exactly one sequence
    assert len({row["session"] for row in rows}) == len(rows)


def test_auto_window_on_hdfs_is_session(invoke: Invoke, hdfs_log: Path) -> None:
    rows = _sequences(invoke, str(hdfs_log))
    assert {row["window"] for row in rows} == {"session"}


def test_fixed_window(invoke: Invoke, hdfs_log: Path) -> None:
    rows = _sequences(invoke, "--window", "fixed:10", str(hdfs_log))
    assert len(rows) == 200
    assert [row["lines"] for row in rows] == [list(range(i, i + 10)) for i in range(1, 2001, 10)]
    assert {row["session"] for row in rows} == {None}


def test_sliding_windows_own_a_partition_of_the_input(invoke: Invoke, hdfs_log: Path) -> None:
    rows = _sequences(invoke, "--window", "sliding:10,5", str(hdfs_log))
    for row in rows:
        assert row["window"] == "sliding"
        assert len(row["lines"]) <= 10
        assert row["lines"] == list(range(row["lines"][0], row["lines"][-1] + 1))
    for before, after in pairwise(rows):
        assert after["lines"][0] == before["lines"][0] + 5
    owned = _owned(rows)
    assert set(owned) == set(range(1, 2001))
    assert set(owned.values()) == {1}


def test_sliding_windows_over_an_uneven_tail(invoke: Invoke, tmp_path: Path) -> None:
    log = tmp_path / "odd.log"
    log.write_text("".join(f"event number {i} happened\n" for i in range(1, 24)))
    rows = _sequences(invoke, "-f", "raw", "--window", "sliding:10,3", str(log))
    owned = _owned(rows)
    assert set(owned) == set(range(1, 24))
    assert set(owned.values()) == {1}


def _time(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp)


def test_time_windows_on_bgl(invoke: Invoke, bgl_log: Path) -> None:
    rows = _sequences(invoke, "--window", "time:60", str(bgl_log))
    assert len(rows) > 1
    for row in rows:
        assert row["window"] == "time"
        assert (_time(row["end"]) - _time(row["start"])).total_seconds() < 60
    owned = _owned(rows)
    assert set(owned) == set(range(1, 2001))
    assert set(owned.values()) == {1}


def test_text_output_shows_windows_and_line_ranges(invoke: Invoke, hdfs_log: Path) -> None:
    result = invoke(["sequences", "-w", "fixed:1000", str(hdfs_log)])
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    assert "lines 1-1000" in lines[0] and "lines 1001-2000" in lines[1]
