"""``logsentry formats``: the formats logsentry knows."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import Invoke, on_a_terminal


def test_text_lists_hdfs_and_bgl(invoke: Invoke) -> None:
    result = invoke(["formats"])
    assert result.exit_code == 0
    names = {line.split("\t")[0].split(" ")[0] for line in result.stdout.splitlines()}
    assert {"hdfs", "bgl", "raw", "jsonl"} <= names


def test_jsonl_describes_each_format(invoke: Invoke) -> None:
    result = invoke(["formats", "-o", "jsonl"])
    rows = {row["name"]: row for row in map(json.loads, result.stdout.splitlines())}
    assert {"hdfs", "bgl"} <= set(rows)
    assert rows["hdfs"]["session_key"]  # HDFS sessions are block ids
    assert rows["hdfs"]["kind"] == "regex"


def test_formats_from_the_config_file_are_listed(invoke: Invoke, isolated_home: Path) -> None:
    config = isolated_home / "config" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(
        '[formats.myapp]\nregex = \'^(?P<timestamp>\\S+) (?P<level>\\w+) (?P<content>.*)$\'\n',
        encoding="utf-8",
    )
    result = invoke(["formats", "-o", "jsonl"])
    assert result.exit_code == 0, result.output
    assert "myapp" in {json.loads(line)["name"] for line in result.stdout.splitlines()}


def test_terminal_table_follows_the_color_setting() -> None:
    table = on_a_terminal(["formats"], {})
    assert b"FORMAT" in table and b"hdfs" in table
    assert b"\x1b[" in table
    assert b"\x1b" not in on_a_terminal(["formats"], {"LOGSENTRY_COLOR": "never"})
    assert b"\x1b" not in on_a_terminal(["formats"], {"NO_COLOR": "1"})
