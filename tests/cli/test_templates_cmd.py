"""``logsentry templates``: JSON shape, ids stable across runs, stdin, corrupt state."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

from tests.cli.conftest import CallMain, Invoke, RunExe

TEMPLATE_KEYS = {"template_id", "template", "count", "first", "last"}


def _templates(invoke: Invoke, *args: str, input: bytes | None = None) -> list[dict[str, Any]]:
    result = invoke(["templates", "-o", "json", *args], input=input)
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert isinstance(rows, list)
    return rows


def _ids(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {row["template"]: row["template_id"] for row in rows}


def test_json_is_an_array_of_templates_with_the_documented_keys(
    invoke: Invoke, hdfs_log: Path
) -> None:
    rows = _templates(invoke, str(hdfs_log))
    assert rows
    for row in rows:
        assert set(row) == TEMPLATE_KEYS
        assert set(row["first"]) == set(row["last"]) == {"source", "line"}
    assert sum(row["count"] for row in rows) == 2000
    counts = [row["count"] for row in rows]
    assert counts == sorted(counts, reverse=True)
    first = {row["template"]: row["first"] for row in rows}
    assert first["PacketResponder <NUM> for block <BLK> terminating"] == {
        "source": str(hdfs_log), "line": 1}


def test_jsonl_has_one_template_per_line(invoke: Invoke, hdfs_log: Path) -> None:
    result = invoke(["templates", "-o", "jsonl", "--sort", "id", str(hdfs_log)])
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    ids = [row["template_id"] for row in rows]
    assert ids == sorted(ids)


def test_ids_are_stable_across_runs(invoke: Invoke, hdfs_log: Path, isolated_home: Path) -> None:
    first = _ids(_templates(invoke, str(hdfs_log)))
    assert (isolated_home / "state" / "parsers" / "hdfs.json").is_file()
    second = _ids(_templates(invoke, str(hdfs_log)))
    assert second == first


def test_a_second_file_extends_the_same_tree(
    invoke: Invoke, hdfs_log: Path, tmp_path: Path
) -> None:
    lines = hdfs_log.read_bytes().splitlines(keepends=True)
    head, tail = tmp_path / "head.log", tmp_path / "tail.log"
    head.write_bytes(b"".join(lines[:1000]))
    tail.write_bytes(b"".join(lines[1000:]))
    before = _ids(_templates(invoke, "-f", "hdfs", str(head)))
    after = _ids(_templates(invoke, "-f", "hdfs", str(tail)))
    shared = set(before) & set(after)
    assert shared
    assert all(after[t] == before[t] for t in shared)
    new_ids = {after[t] for t in set(after) - set(before)}
    assert all(i > max(before.values()) for i in new_ids)
    # Same lines, same order, one run in a fresh profile: the same ids.
    whole = _ids(_templates(invoke, "-f", "hdfs", "--profile", "whole", str(hdfs_log)))
    assert {t: whole[t] for t in after} == after


def test_profiles_keep_separate_trees(invoke: Invoke, hdfs_log: Path, isolated_home: Path) -> None:
    _templates(invoke, "--profile", "web1", str(hdfs_log))
    parsers = isolated_home / "state" / "parsers"
    assert sorted(p.name for p in parsers.iterdir()) == ["web1.json"]


def test_corrupt_parser_state_is_moved_aside_and_the_run_succeeds(
    call_main: CallMain, hdfs_log: Path, isolated_home: Path
) -> None:
    state = isolated_home / "state" / "parsers" / "hdfs.json"
    state.parent.mkdir(parents=True)
    state.write_bytes(b"\x00garbage{not json")
    outcome = call_main(["templates", "-o", "json", str(hdfs_log)])
    assert outcome.code == 0
    assert "moved it to hdfs.json.corrupt-" in outcome.err
    assert "Traceback" not in outcome.err
    aside = list(state.parent.glob("hdfs.json.corrupt-*"))
    assert len(aside) == 1
    assert aside[0].read_bytes() == b"\x00garbage{not json"
    assert json.loads(state.read_text())["format"] == "logsentry-parser-state"
    assert json.loads(outcome.out)


def test_state_from_a_newer_logsentry_is_refused_not_overwritten(
    call_main: CallMain, hdfs_log: Path, isolated_home: Path
) -> None:
    state = isolated_home / "state" / "parsers" / "hdfs.json"
    state.parent.mkdir(parents=True)
    future = json.dumps({"format": "logsentry-parser-state", "version": 99})
    state.write_text(future)
    outcome = call_main(["templates", "-q", str(hdfs_log)])
    assert outcome.code == 2
    assert "newer" in outcome.err
    assert state.read_text() == future


def test_piped_and_gzipped_stdin(run_exe: RunExe, hdfs_log: Path) -> None:
    """``cat file | logsentry templates -`` and ``gzip -c file | logsentry templates -``."""
    data = hdfs_log.read_bytes()
    by_file = run_exe(["templates", "-q", "-o", "json", str(hdfs_log)])
    plain = run_exe(["templates", "-q", "-o", "json", "-"], input=data)
    packed = run_exe(["templates", "-q", "-o", "json", "-"], input=gzip.compress(data))
    assert plain.returncode == packed.returncode == 0
    expected = [(r["template_id"], r["template"], r["count"]) for r in json.loads(by_file.stdout)]
    for done in (plain, packed):
        rows = json.loads(done.stdout)
        assert [(r["template_id"], r["template"], r["count"]) for r in rows] == expected
        assert rows[0]["first"]["source"] == "<stdin>"


def test_gzip_file_is_read_transparently(invoke: Invoke, hdfs_log: Path, tmp_path: Path) -> None:
    packed = tmp_path / "hdfs.log.gz"
    packed.write_bytes(gzip.compress(hdfs_log.read_bytes()))
    rows = _templates(invoke, "--profile", "gz", str(packed))
    assert sum(r["count"] for r in rows) == 2000


def test_text_output_lists_templates(invoke: Invoke, hdfs_log: Path) -> None:
    result = invoke(["templates", str(hdfs_log)])
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["ID", "COUNT", "FIRST", "LAST", "TEMPLATE"]
    assert any(line.endswith("PacketResponder <NUM> for block <BLK> terminating")
               for line in lines)


def test_sort_first_follows_the_order_of_the_inputs(invoke: Invoke, tmp_path: Path) -> None:
    later, earlier = tmp_path / "b.log", tmp_path / "a.log"
    later.write_text("zeta event happened\nzeta event happened\n")
    earlier.write_text("alpha thing started\n")
    rows = _templates(invoke, "-f", "raw", "--sort", "first", str(later), str(earlier))
    assert [r["template"] for r in rows] == ["zeta event happened", "alpha thing started"]
    assert [r["first"]["source"] for r in rows] == [str(later), str(earlier)]
