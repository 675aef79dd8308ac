"""``logsentry parse``: records with their templates; JSON shape, offsets, colors, escaping."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import CallMain, Invoke, RunExe, on_a_terminal

RECORD_KEYS = {"source", "line", "end_line", "offset", "timestamp", "level", "component",
               "content", "template_id", "template", "params", "fields", "truncated"}


def _jsonl(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def test_jsonl_has_one_object_per_record_with_the_documented_keys(
    invoke: Invoke, hdfs_log: Path
) -> None:
    result = invoke(["parse", "-o", "jsonl", str(hdfs_log)])
    assert result.exit_code == 0, result.output
    records = _jsonl(result.stdout)
    assert len(records) == 2000  # HDFS has no multi-line records
    for record in records:
        assert set(record) == RECORD_KEYS
    first = records[0]
    assert first["source"] == str(hdfs_log)
    assert (first["line"], first["end_line"], first["offset"]) == (1, 1, 0)
    assert first["level"] == "INFO"
    assert first["template"] == "PacketResponder <NUM> for block <BLK> terminating"
    assert first["params"] == ["1", "blk_38865049064139660"]
    assert first["truncated"] is False
    assert [r["line"] for r in records] == list(range(1, 2001))


def test_offsets_point_at_the_real_line_starts(invoke: Invoke, hdfs_log: Path) -> None:
    data = hdfs_log.read_bytes()
    starts = [0, *(i + 1 for i, byte in enumerate(data[:-1]) if byte == 0x0A)]
    records = _jsonl(invoke(["parse", "-o", "jsonl", str(hdfs_log)]).stdout)
    assert [r["offset"] for r in records] == starts
    for record in records[::97]:
        offset = record["offset"]
        assert isinstance(offset, int) and isinstance(record["content"], str)
        line = data[offset: data.index(b"\n", offset)].decode()
        assert line.endswith(record["content"])


def test_offsets_count_bytes_not_characters(invoke: Invoke, tmp_path: Path) -> None:
    log = tmp_path / "utf8.log"
    log.write_bytes("héllo wörld 1\nnaïve ✓ line 2\nplain 3\n".encode())
    records = _jsonl(invoke(["parse", "-f", "raw", "-o", "jsonl", str(log)]).stdout)
    assert [r["offset"] for r in records] == [0, len("héllo wörld 1\n".encode()),
                                              len("héllo wörld 1\nnaïve ✓ line 2\n".encode())]


def test_json_is_one_valid_array(invoke: Invoke, hdfs_log: Path) -> None:
    result = invoke(["parse", "-o", "json", str(hdfs_log)])
    records = json.loads(result.stdout)
    assert isinstance(records, list) and len(records) == 2000
    assert set(records[0]) == RECORD_KEYS


def test_text_is_one_line_per_record(invoke: Invoke, hdfs_log: Path) -> None:
    result = invoke(["parse", str(hdfs_log)])
    lines = result.stdout.splitlines()
    assert len(lines) == 2000
    assert lines[0].startswith("1 T")
    assert lines[0].endswith("PacketResponder 1 for block blk_38865049064139660 terminating")


def test_stdin_and_gzip_stdin_give_the_same_records_as_the_file(
    invoke: Invoke, hdfs_log: Path
) -> None:
    import gzip

    data = hdfs_log.read_bytes()
    from_file = _jsonl(invoke(["parse", "-o", "jsonl", str(hdfs_log)]).stdout)
    for stdin in (data, gzip.compress(data)):
        got = _jsonl(invoke(["parse", "-o", "jsonl", "-"], input=stdin).stdout)
        assert [r["source"] for r in got[:1]] == ["<stdin>"]
        strip = [{k: v for k, v in r.items() if k != "source"} for r in got]
        assert strip == [{k: v for k, v in r.items() if k != "source"} for r in from_file]


# -- colors and escaping ------------------------------------------------------

HOSTILE = (
    "2024-01-01T00:00:00Z app INFO user said [bold red]x[/bold red] ok\n"
    "2024-01-01T00:00:01Z app INFO title \x1b]0;pwned\x07 set\n"
    "2024-01-01T00:00:02Z app INFO overwrite me\rFAKE line\n"
    "2024-01-01T00:00:03Z app ERROR recolor \x1b[31mred\x1b[0m \u202egnp.exe\n"
)


@pytest.fixture
def hostile_log(tmp_path: Path) -> Path:
    path = tmp_path / "hostile.log"
    path.write_text(HOSTILE, encoding="utf-8")
    return path


def _assert_escaped(out: str) -> None:
    assert "[bold red]x[/bold red]" in out  # rich markup shown literally
    assert "\\x1b]0;pwned\\x07" in out
    assert "overwrite me\\rFAKE line" in out
    assert "\\x1b[31mred\\x1b[0m" in out
    assert "\\u202e" in out
    for raw in ("\x1b]", "\x07", "\r", "\u202e", "\x1b[31mred"):
        assert raw not in out, repr(raw)


@pytest.mark.parametrize("color", ["always", "never"])
def test_log_text_is_escaped_in_text_output(
    invoke: Invoke, hostile_log: Path, color: str
) -> None:
    result = invoke(["parse", "-f", "raw", "--color", color, str(hostile_log)])
    assert result.exit_code == 0
    _assert_escaped(result.stdout)


def test_multi_line_records_are_escaped_line_by_line(invoke: Invoke, tmp_path: Path) -> None:
    log = tmp_path / "trace.log"
    log.write_bytes(b"2024-01-01T00:00:00Z ERROR boom\n\tat x.y(\x1b]0;pwned\x07)\n"
                    b"\tat [bold]z[/bold]\n2024-01-01T00:00:01Z INFO ok\n")
    out = invoke(["parse", "-f", "iso", "--color", "always", str(log)]).stdout
    assert "at x.y(\\x1b]0;pwned\\x07)\n" in out  # its own line (rich expands the tab)
    assert "[bold]z[/bold]" in out
    assert "\x1b]" not in out and "\x07" not in out


@pytest.mark.parametrize("command", ["templates", "sequences"])
def test_log_text_is_escaped_in_other_commands(
    invoke: Invoke, hostile_log: Path, command: str
) -> None:
    args = [command, "-f", "raw", "--color", "always", str(hostile_log)]
    if command == "sequences":
        args[1:1] = ["--session-key", r"INFO (\S+)"]
    result = invoke(args)
    assert result.exit_code == 0
    for raw in ("\x1b]", "\x07", "\r", "\u202e"):
        assert raw not in result.stdout, repr(raw)


def test_json_output_escapes_control_characters(invoke: Invoke, hostile_log: Path) -> None:
    result = invoke(["parse", "-f", "raw", "-o", "jsonl", str(hostile_log)])
    for raw in ("\x1b", "\x07", "\r", "\u202e"):
        assert raw not in result.stdout, repr(raw)
    contents = [r["content"] for r in _jsonl(result.stdout)]
    assert "\x1b]0;pwned\x07" in contents[1]  # the data survives, escaped only on the wire


def test_color_always_emits_ansi_and_never_emits_none(invoke: Invoke, hdfs_log: Path) -> None:
    always = invoke(["parse", "--color", "always", str(hdfs_log)]).stdout
    never = invoke(["parse", "--color", "never", str(hdfs_log)]).stdout
    assert "\x1b[" in always
    assert "\x1b" not in never
    assert len(never.splitlines()) == len(always.splitlines()) == 2000


def test_piped_output_has_no_color_by_default(invoke: Invoke, hdfs_log: Path) -> None:
    assert "\x1b" not in invoke(["parse", str(hdfs_log)]).stdout


def test_color_setting_from_env(invoke: Invoke, hdfs_log: Path) -> None:
    result = invoke(["parse", str(hdfs_log)], env={"LOGSENTRY_COLOR": "always"})
    assert "\x1b[" in result.stdout


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pty")
def test_terminal_gets_color_unless_no_color(hostile_log: Path) -> None:
    args = ["parse", "-q", "-f", "raw", str(hostile_log)]
    colored = on_a_terminal(args, {})
    plain = on_a_terminal(args, {"NO_COLOR": "1"})
    assert b"\x1b[" in colored
    assert b"\x1b" not in plain
    assert b"[bold red]x[/bold red]" in colored
    assert b"\\x1b]0;pwned\\x07" in colored
    assert b"\x1b]0;pwned" not in colored


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pty")
def test_templates_table_on_a_terminal_escapes_log_text(hostile_log: Path) -> None:
    shown = on_a_terminal(["templates", "-q", "-f", "raw", str(hostile_log)], {"NO_COLOR": "1"})
    assert b"TEMPLATE" in shown
    assert b"\x1b" not in shown
    assert b"[bold red]x[/bold red]" in shown


def test_notices_go_to_stderr_and_quiet_silences_them(run_exe: RunExe, hdfs_log: Path) -> None:
    loud = run_exe(["parse", "-o", "jsonl", str(hdfs_log)])
    assert b"log format: hdfs" in loud.stderr
    assert all(line.startswith(b"{") for line in loud.stdout.splitlines())
    quiet = run_exe(["parse", "-q", "-o", "jsonl", str(hdfs_log)])
    assert quiet.stderr == b""
    assert quiet.stdout == loud.stdout


def test_call_main_parse_ok(call_main: CallMain, hdfs_log: Path) -> None:
    outcome = call_main(["parse", "-q", "-o", "jsonl", str(hdfs_log)])
    assert outcome.code == 0
    assert outcome.out.count("\n") == 2000
