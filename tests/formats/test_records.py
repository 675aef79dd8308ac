"""Lines -> records: multi-line joining, headerless lines, JSON lines, timestamps per format."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from logsentry.formats import RecordBuilder, get_format, to_records
from logsentry.formats import records as records_module
from logsentry.formats.timestamps import FUTURE_SLACK, EpochParser, IsoParser, TimestampParser
from logsentry.sources.reader import Source, read_batches
from logsentry.types import LineBatch, LogRecord
from tests.datasets import loghub2k

LOG4J = "2024-03-01 12:00:01,123 ERROR [main] com.example.App - request failed"
TRACE = [
    "java.lang.IllegalStateException: boom",
    "\tat a.b.C.m(C.java:10)",
    "\tat a.b.D.n(D.java:20)",
    "Caused by: java.io.IOException: disk full",
    "\tat a.b.E.o(E.java:30)",
    "\t... 3 more",
]
NEXT = "2024-03-01 12:00:02,000 INFO [main] com.example.App - recovered"


def write(tmp_path: Path, lines: list[str], name: str = "app.log") -> Path:
    path = tmp_path / name
    path.write_bytes("".join(line + "\n" for line in lines).encode("utf-8"))
    return path


def read(path: Path, fmt_name: str, **kwargs: object) -> list[LogRecord]:
    return list(to_records(read_batches(Source(str(path))), get_format(fmt_name),
                           **kwargs))  # type: ignore[arg-type]


def offsets(lines: list[str]) -> list[int]:
    out, pos = [], 0
    for line in lines:
        out.append(pos)
        pos += len(line.encode("utf-8")) + 1
    return out


# --- multi-line records -------------------------------------------------------------------

def test_stack_trace_joins_the_record_before_it(tmp_path: Path) -> None:
    lines = ["2024-03-01 12:00:00,001 INFO [main] com.example.App - start", LOG4J, *TRACE, NEXT]
    recs = read(write(tmp_path, lines), "iso")
    assert [(r.line, r.end_line) for r in recs] == [(1, 1), (2, 8), (9, 9)]
    starts = offsets(lines)
    assert [r.offset for r in recs] == [starts[0], starts[1], starts[8]]
    failed = recs[1]
    assert failed.headline == "request failed"  # only the first line is mined
    assert failed.content == "\n".join(["request failed", *TRACE])
    assert list(failed.line_numbers) == list(range(2, 9))
    assert (failed.level, failed.component) == ("ERROR", "com.example.App")
    assert failed.timestamp == "2024-03-01T12:00:01.123000"


def test_no_multiline_keeps_every_line_its_own_record(tmp_path: Path) -> None:
    lines = [LOG4J, *TRACE, NEXT]
    recs = read(write(tmp_path, lines), "iso", multiline=False)
    assert [(r.line, r.end_line) for r in recs] == [(i, i) for i in range(1, 9)]
    assert [r.offset for r in recs] == offsets(lines)
    trace = recs[1:7]
    assert all(r.header is None and r.level is None and r.timestamp is None for r in trace)
    assert [r.content for r in trace] == TRACE


def test_blank_lines_join_too(tmp_path: Path) -> None:
    recs = read(write(tmp_path, [LOG4J, "", TRACE[0], "", NEXT]), "iso")
    assert [(r.line, r.end_line) for r in recs] == [(1, 4), (5, 5)]


def test_a_line_that_is_neither_header_nor_continuation_is_its_own_record(tmp_path: Path) -> None:
    lines = [LOG4J, "some free text from a script", "\tindented, so it continues", NEXT]
    recs = read(write(tmp_path, lines), "iso")
    assert [(r.line, r.end_line) for r in recs] == [(1, 1), (2, 3), (4, 4)]
    stray = recs[1]
    assert stray.header is None and stray.decoder is None
    assert stray.headline == "some free text from a script"
    assert (stray.level, stray.component, stray.timestamp, stray.fields) == (None, None, None, {})
    assert stray.offset == offsets(lines)[1]


def test_continuation_lines_before_any_header_are_kept(tmp_path: Path) -> None:
    recs = read(write(tmp_path, [*TRACE, NEXT]), "iso")
    assert [(r.line, r.end_line) for r in recs] == [(1, 6), (7, 7)]
    assert recs[0].header is None and recs[0].headline == TRACE[0]


def test_a_record_spans_batches() -> None:
    fmt = get_format("iso")
    builder = RecordBuilder(fmt)
    first = builder.feed(LineBatch("x", 1, [LOG4J, TRACE[0]], [0, 100]))
    assert first == []  # the record may go on in the next batch
    second = builder.feed(LineBatch("x", 3, [TRACE[1], NEXT], [200, 300],
                                    truncated=frozenset({0})))
    assert [(r.line, r.end_line, r.offset) for r in second] == [(1, 3, 0)]
    assert second[0].truncated  # a cut continuation line marks its record
    last = builder.finish()
    assert last is not None and (last.line, last.offset, last.truncated) == (4, 300, False)
    assert builder.finish() is None


def test_continuation_cap_starts_a_new_record(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(records_module, "MAX_CONTINUATION_LINES", 3)
    lines = [LOG4J] + ["\tat a.b.C.m(C.java:10)"] * 8 + [NEXT]
    batch = LineBatch("x", 1, lines, list(range(0, 1000, 100)))
    builder = RecordBuilder(get_format("iso"))
    recs = [*builder.feed(batch), builder.finish()]
    assert [(r.line, r.end_line) for r in recs if r] == [(1, 4), (5, 8), (9, 9), (10, 10)]
    assert [r.header is None for r in recs if r] == [False, True, True, False]


def test_the_real_cap_on_a_long_trace(tmp_path: Path) -> None:
    cap = records_module.MAX_CONTINUATION_LINES
    lines = [LOG4J] + ["\tat a.b.C.m(C.java:10)"] * (cap + 5) + [NEXT]
    recs = read(write(tmp_path, lines), "iso")
    assert [(r.line, r.end_line) for r in recs] == [(1, cap + 1), (cap + 2, cap + 6),
                                                     (cap + 7, cap + 7)]


def test_hdfs_exception_lines_join_their_record(tmp_path: Path) -> None:
    lines = ["081111 081214 26 WARN dfs.DataNode$DataXceiver: 10.0.0.1:50010:Got exception "
             "while serving blk_1 to /10.0.0.2:",
             "java.io.IOException: Connection reset by peer",
             "\tat sun.nio.ch.FileDispatcher.write0(Native Method)",
             "081111 081215 26 INFO dfs.DataNode: Deleting block blk_1 file /data/blk_1"]
    recs = read(write(tmp_path, lines), "hdfs")
    assert [(r.line, r.end_line) for r in recs] == [(1, 3), (4, 4)]
    assert read(write(tmp_path, lines), "hdfs", multiline=False)[1].header is None


# --- JSON lines ---------------------------------------------------------------------------

def json_records(lines: list[object], keys: tuple[str, str, str] | None = None) -> list[LogRecord]:
    texts = [x if isinstance(x, str) else json.dumps(x) for x in lines]
    builder = RecordBuilder(get_format("jsonl"), jsonl_keys=keys)
    out = builder.feed(LineBatch("x", 1, texts, [i * 100 for i in range(len(texts))]))
    last = builder.finish()
    return [*out, *([last] if last else [])]


def test_json_lines_default_keys() -> None:
    rec, = json_records([{"time": "2024-03-01T12:00:01Z", "level": "error", "msg": "refused",
                          "logger": "db", "host": "web1", "attempt": 3}])
    assert (rec.content, rec.level, rec.component) == ("refused", "error", "db")
    assert rec.timestamp == "2024-03-01T12:00:01+00:00"
    assert rec.epoch == datetime(2024, 3, 1, 12, 0, 1, tzinfo=UTC).timestamp()
    assert rec.fields == {"logger": "db", "host": "web1", "attempt": "3"}


@pytest.mark.parametrize(("when", "iso", "epoch"), [
    (1709294401, "2024-03-01T12:00:01+00:00", 1709294401.0),  # epoch seconds
    (1709294401.5, "2024-03-01T12:00:01.500000+00:00", 1709294401.5),
    (1709294401123, "2024-03-01T12:00:01.123000+00:00", 1709294401.123),  # epoch millis
    ("2024-03-01T12:00:01.5+01:00", "2024-03-01T12:00:01.500000+01:00", 1709290801.5),
    ("2024-03-01 12:00:01,250", "2024-03-01T12:00:01.250000", 1709294401.25),  # naive: as UTC
    ("yesterday", None, None),
    (True, None, None),
])
def test_json_time_values(when: object, iso: str | None, epoch: float | None) -> None:
    rec, = json_records([{"ts": when, "message": "x"}])
    assert rec.timestamp == iso
    assert rec.epoch == pytest.approx(epoch) if epoch is not None else rec.epoch is None


def test_json_keys_are_configurable_first_present_wins() -> None:
    keys = ("event,text", "when,at", "sev")
    recs = json_records([
        {"event": "disk full", "when": 1709294401, "sev": "crit", "msg": "ignored"},
        {"text": "fallback key", "at": "2024-03-01T12:00:01Z"},
        {"msg": "no configured message key"},
    ], keys)
    assert [r.content for r in recs] == ["disk full", "fallback key", ""]
    assert [r.level for r in recs] == ["crit", None, None]
    assert recs[0].timestamp == recs[1].timestamp == "2024-03-01T12:00:01+00:00"
    assert "msg" in recs[0].fields  # a key not configured is an ordinary field


def test_json_message_that_is_not_text_or_has_lines() -> None:
    structured, multi = json_records([{"msg": {"op": "get", "n": 2}}, {"msg": "first\nsecond"}])
    assert structured.content == '{"op": "get", "n": 2}'
    assert (multi.headline, multi.content) == ("first", "first\nsecond")


def test_json_lines_that_are_not_objects_are_kept_as_plain_records() -> None:
    recs = json_records(['{"msg": "ok"}', "plain text", "[1, 2]", "{broken", "\tindented"])
    assert [r.header is None for r in recs] == [False, True, True, True, True]
    assert [r.line for r in recs] == [1, 2, 3, 4, 5]  # jsonl never joins lines


# --- timestamps per format ------------------------------------------------------------------

def test_bgl_epoch_field() -> None:
    rec = json_free_record("bgl")
    assert rec.timestamp == "2005-06-03T22:42:50+00:00"
    assert rec.epoch == 1117838570.0


def test_hdfs_yymmdd_hhmmss() -> None:
    rec = json_free_record("hdfs")
    assert rec.timestamp == "2008-11-09T20:35:30"  # naive stays naive
    assert rec.epoch == datetime(2008, 11, 9, 20, 35, 30, tzinfo=UTC).timestamp()


def json_free_record(fmt_name: str) -> LogRecord:
    fmt = get_format(fmt_name)
    builder = RecordBuilder(fmt)
    builder.feed(LineBatch("x", 1, [fmt.example], [0]))
    rec = builder.finish()
    assert rec is not None
    return rec


def test_yearless_syslog_gets_this_year_or_the_last_never_the_future() -> None:
    now = datetime(2025, 1, 1, 0, 30)
    parse = TimestampParser("%b %d %H:%M:%S", yearless=True, now=now)
    assert parse("Jan  1 00:10:00") == ("2025-01-01T00:10:00", 1735690200.0)
    assert parse("Dec 31 23:59:59")[0] == "2024-12-31T23:59:59"  # type: ignore[index]
    assert parse("Jan  2 12:00:00")[0] == "2025-01-02T12:00:00"  # type: ignore[index]
    assert parse("Jan  5 12:00:00")[0] == "2024-01-05T12:00:00"  # type: ignore[index]
    for month in ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
                  "Dec"):
        iso, _epoch = parse(f"{month} 28 23:59:59")  # type: ignore[misc]
        assert datetime.fromisoformat(iso) <= now + FUTURE_SLACK


def test_yearless_feb_29_goes_back_to_the_last_leap_year() -> None:
    parse = TimestampParser("%b %d %H:%M:%S", yearless=True, now=datetime(2027, 6, 1))
    assert parse("Feb 29 10:00:00")[0] == "2024-02-29T10:00:00"  # type: ignore[index]
    leap = TimestampParser("%b %d %H:%M:%S", yearless=True, now=datetime(2028, 2, 1))
    assert leap("Feb 29 10:00:00")[0] == "2024-02-29T10:00:00"  # type: ignore[index]
    assert parse("Feb 30 10:00:00") is None
    assert parse("not a date") is None


@pytest.mark.parametrize("fmt_name", ["syslog", "proxifier", "klog"])
def test_yearless_formats_on_the_real_clock(fmt_name: str) -> None:
    rec = json_free_record(fmt_name)
    assert rec.epoch is not None and rec.timestamp is not None
    assert rec.epoch <= time.time() + FUTURE_SLACK.total_seconds() + 86400  # naive read as UTC
    assert int(rec.timestamp[:4]) in (datetime.now().year, datetime.now().year - 1)


def test_healthapp_milliseconds_are_not_zero_padded() -> None:
    parse = TimestampParser("%Y%m%d-%H:%M:%S:%L")
    assert parse("20171223-22:15:35:11")[0] == "2017-12-23T22:15:35.011000"  # type: ignore[index]
    assert parse("20171223-22:15:35:8")[0] == "2017-12-23T22:15:35.008000"  # type: ignore[index]
    assert parse("20171223-22:25:0:162")[0] == "2017-12-23T22:25:00.162000"  # type: ignore[index]


@pytest.mark.data
def test_healthapp_times_never_go_backwards(shared_data: Path) -> None:
    """HealthApp_2k is in time order; reading 22:15:35:11 as .110 s put 8 lines out of it."""
    recs = list(to_records(read_batches(Source(str(loghub2k("HealthApp")))),
                           get_format("healthapp")))
    epochs = [r.epoch for r in recs]
    assert None not in epochs
    assert epochs == sorted(epochs)  # type: ignore[type-var]


def test_parsers_cache_and_reject_garbage() -> None:
    parse = TimestampParser("%y%m%d %H%M%S")
    assert parse("081109 203530") is parse("081109 203530")
    assert parse("081399 203530") is None  # month 13
    assert EpochParser()("12ab") is None
    assert EpochParser()("1e400") is None
    assert IsoParser()("2024-13-01T00:00:00") is None
    assert IsoParser()("2024-03-01T12:00:01z")[0] == "2024-03-01T12:00:01+00:00"  # type: ignore[index]


def test_epoch_seconds_to_iso_round_trip() -> None:
    iso, epoch = EpochParser()("1117838570.675872")  # type: ignore[misc]
    assert datetime.fromisoformat(iso) - datetime(2005, 6, 3, 22, 42, 50, tzinfo=UTC) == \
        timedelta(microseconds=675872)
    assert epoch == 1117838570.675872
