"""Session, fixed, sliding and time windows: grouping, caps, ownership, ids."""

from __future__ import annotations

import functools
import random
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from logsentry.errors import ConfigError
from logsentry.formats import RecordBuilder, get_format, to_records
from logsentry.sequence import (
    Limits,
    SessionKey,
    WindowSpec,
    make_sequencer,
    sequence_id,
    sequences,
)
from logsentry.sequence.windows import (
    FixedSequencer,
    SessionSequencer,
    SlidingSequencer,
    TimeSequencer,
)
from logsentry.sources.reader import Source, read_batches
from logsentry.types import LineBatch, LogRecord, Sequence
from tests.datasets import loghub2k

BLOCK = re.compile(r"blk_-?\d+")


@functools.cache
def _records(system: str, fmt_name: str) -> tuple[LogRecord, ...]:
    fmt = get_format(fmt_name)
    return tuple(to_records(read_batches(Source(str(loghub2k(system)))), fmt))


def hdfs() -> list[LogRecord]:
    return list(_records("HDFS", "hdfs"))


def bgl() -> list[LogRecord]:
    return list(_records("BGL", "bgl"))


def hdfs_key() -> SessionKey:
    return SessionKey(get_format("hdfs").session_key)


def run(records: list[LogRecord], window: str, key: SessionKey | None = None,
        limits: Limits | None = None, source: str = "test.log") -> list[Sequence]:
    return list(sequences(records, WindowSpec.parse(window), source=source, key=key,
                          limits=limits))


def assert_partition(seqs: list[Sequence], records: list[LogRecord]) -> None:
    """Every record is owned by exactly one sequence, and nothing else is owned."""
    owned = Counter(id(r) for s in seqs for r in s.records[s.owned_from:])
    assert sorted(owned.values()) == [1] * len(records)
    assert set(owned) == {id(r) for r in records}
    for s in seqs:
        assert s.records and 0 <= s.owned_from < len(s.records)


def assert_in_line_order(seq: Sequence) -> None:
    lines = [r.line for r in seq.records]
    assert lines == sorted(lines) and len(set(lines)) == len(lines)


class FakeDecoder:
    """Header ``t=<epoch or -> ...``: enough of a HeaderDecoder for time windows."""

    def timestamp(self, header: Any) -> tuple[str, float] | None:
        value = str(header).split()[0][2:]
        return None if value == "-" else (value, float(value))

    def level(self, header: Any) -> str | None:
        return None

    def component(self, header: Any) -> str | None:
        return None

    def fields(self, header: Any) -> dict[str, str]:
        return {}


def record(line: int, message: str, *, epoch: float | None = None, header_extra: str = "",
           end_line: int | None = None) -> LogRecord:
    header = f"t={'-' if epoch is None else epoch} {header_extra}".strip()
    return LogRecord("test.log", line, end_line or line, line * 100, message, message, header,
                     FakeDecoder())


def synthetic(sessions: str) -> list[LogRecord]:
    """One record per character: a letter is a session id, '.' is a record without one."""
    return [record(i, f"event {i}" if s == "." else f"event {i} sid={s}")
            for i, s in enumerate(sessions, 1)]


SID = SessionKey(r"sid=(\w+)")


def sessions_of(seqs: list[Sequence]) -> list[tuple[str | None, list[int]]]:
    return [(s.session, [r.line for r in s.records]) for s in seqs]


# --- session windows ------------------------------------------------------------------------

def test_hdfs_session_windows_group_by_block_id(shared_data: Path) -> None:
    records = hdfs()
    seqs = run(records, "session", hdfs_key())
    assert_partition(seqs, records)
    first_block = [BLOCK.search(r.headline) for r in records]
    assert all(first_block)  # every HDFS_2k line names a block
    expected = {m.group(0) for m in first_block if m}
    assert len(seqs) == len(expected) and {s.session for s in seqs} == expected
    for seq in seqs:
        assert seq.window == "session"
        assert_in_line_order(seq)
        for r in seq.records:
            m = BLOCK.search(r.headline)
            assert m is not None and m.group(0) == seq.session
    # flush() emits the sequences still open in order of their first line
    firsts = [s.records[0].line for s in seqs]
    assert firsts == sorted(firsts)


def test_line_with_several_block_ids_goes_to_the_first(shared_data: Path) -> None:
    records = hdfs()
    many = [r for r in records if len(set(BLOCK.findall(r.headline))) > 1]
    assert len(many) == 3  # the "BLOCK* ask ... to delete blk_a blk_b ..." lines
    owner = {id(r): s for s in run(records, "session", hdfs_key()) for r in s.records}
    for r in many:
        ids = BLOCK.findall(r.headline)
        assert owner[id(r)].session == ids[0] != ids[1]


def test_records_without_a_session_id_are_grouped_in_arrival_order() -> None:
    records = synthetic("a..b.a...b....")
    seqs = run(records, "session", SID, Limits(max_session_records=4))
    assert_partition(seqs, records)
    loose = [s for s in seqs if s.session is None]
    assert [[r.line for r in s.records] for s in loose] == [[2, 3, 5, 7], [8, 9, 11, 12],
                                                             [13, 14]]
    assert sessions_of([s for s in seqs if s.session]) == [("a", [1, 6]), ("b", [4, 10])]


def test_session_window_without_a_key_groups_everything_in_arrival_order(
        shared_data: Path) -> None:
    records = bgl()
    seqs = run(records, "session", None, Limits(max_session_records=300))
    assert [len(s.records) for s in seqs] == [300] * 6 + [200]
    assert [r for s in seqs for r in s.records] == records


def test_session_id_in_the_header_line_only() -> None:
    """OpenStack request ids sit in the header, not in the message the parser mines."""
    fmt = get_format("openstack")
    batch = LineBatch("nova.log", 1, [fmt.example, fmt.example], [0, len(fmt.example) + 1])
    records = list(to_records([batch], fmt))
    key = SessionKey(fmt.session_key)
    assert "req-" not in records[0].headline
    assert key(records[0]) == "req-38101a0b-2096-447d-96ea-a692162415ae"
    sequencer = make_sequencer(WindowSpec.parse("session"), "nova.log", key)
    seqs = sequencer.add_many(records) + sequencer.flush()
    assert sessions_of(seqs) == [("req-38101a0b-2096-447d-96ea-a692162415ae", [1, 2])]


def test_session_key_with_an_alternation_finds_every_branch() -> None:
    key = SessionKey(r"session=\w+|sid=\w+")
    assert key.find("user sid=abc logged in") == "sid=abc"
    assert key.find("user session=xyz logged in") == "session=xyz"
    records = [record(1, "login sid=abc"), record(2, "logout session=abc")]
    seqs = run(records, "session", key)
    assert sessions_of(seqs) == [("sid=abc", [1]), ("session=abc", [2])]


@pytest.mark.parametrize(("pattern", "text", "found"), [
    (r"blk_-?\d+", "x blk_-12 y blk_3", "blk_-12"),
    (r"blk_-?\d+", "no block, blk_ alone", None),
    (r"id=(\d+)", "a id=x id=42", "42"),  # group 1; a prefix hit that fails the regex is skipped
    (r"ab?c", "xac", "ac"),  # optional last literal character
    (r"ab*c", "xac", "ac"),
    (r"ab{0,2}c", "xac", "ac"),
    (r"ab+c", "xabbc", "abbc"),
    (r"(?:attempt|container)_\d+", "container_12 done", "container_12"),
])
def test_session_key_find(pattern: str, text: str, found: str | None) -> None:
    assert SessionKey(pattern).find(text) == found
    m = re.search(pattern, text)
    assert found == (None if m is None else m.group(1 if m.re.groups else 0))


def test_bad_session_key_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="session-key"):
        SessionKey("blk_(")


# --- the caps -------------------------------------------------------------------------------

def test_max_session_records_splits_a_long_session_into_consecutive_sequences() -> None:
    records = synthetic("aaaaaaaaaa")
    seqs = run(records, "session", SID, Limits(max_session_records=4))
    assert sessions_of(seqs) == [("a", [1, 2, 3, 4]), ("a", [5, 6, 7, 8]), ("a", [9, 10])]
    assert len({s.sequence_id for s in seqs}) == 3


def test_max_open_sessions_evicts_the_least_recently_active() -> None:
    records = synthetic("abacbd")
    sequencer = make_sequencer(WindowSpec("session"), "test.log", SID,
                               Limits(max_open_sessions=2))
    emitted = [sessions_of(sequencer.add(r)) for r in records]
    # at "c": open are b (last seen at 2) and a (at 3), so b goes; at "b" again: a goes ...
    assert emitted == [[], [], [], [("b", [2])], [("a", [1, 3])], [("c", [4])]]
    assert sessions_of(sequencer.flush()) == [("b", [5]), ("d", [6])]


def test_max_buffered_records_evicts_the_least_recently_active() -> None:
    records = synthetic("aabbcb")
    sequencer = make_sequencer(WindowSpec("session"), "test.log", SID,
                               Limits(max_buffered_records=3))
    emitted = [sessions_of(sequencer.add(r)) for r in records]
    assert emitted == [[], [], [], [("a", [1, 2])], [], [("c", [5])]]
    assert sessions_of(sequencer.flush()) == [("b", [3, 4, 6])]


def test_tight_limits_on_hdfs_lose_nothing(shared_data: Path) -> None:
    records = hdfs()
    limits = Limits(max_open_sessions=5, max_session_records=3, max_buffered_records=8)
    seqs = run(records, "session", hdfs_key(), limits)
    assert_partition(seqs, records)
    for seq in seqs:
        assert len(seq.records) <= 3
        assert {BLOCK.search(r.headline).group(0) for r in seq.records} == {seq.session}  # type: ignore[union-attr]
    batched = make_sequencer(WindowSpec("session"), "test.log", hdfs_key(), limits)
    out: list[Sequence] = []
    for i in range(0, len(records), 97):
        out += batched.add_many(records[i:i + 97])
    out += batched.flush()
    assert [(s.sequence_id, s.records) for s in out] == [(s.sequence_id, s.records) for s in seqs]


# --- fixed and sliding ----------------------------------------------------------------------

def test_fixed_windows(shared_data: Path) -> None:
    records = hdfs()
    seqs = run(records, "fixed:300")
    assert [len(s.records) for s in seqs] == [300] * 6 + [200]
    assert [r for s in seqs for r in s.records] == records
    assert all(s.window == "fixed" and s.session is None and s.owned_from == 0 for s in seqs)
    assert [len(s.records) for s in run(records, "fixed:100")] == [100] * 20


def test_sliding_windows_own_what_is_new() -> None:
    records = synthetic("." * 11)
    seqs = run(records, "sliding:4,2")
    assert [([r.line for r in s.records], s.owned_from) for s in seqs] == [
        ([1, 2, 3, 4], 0), ([3, 4, 5, 6], 2), ([5, 6, 7, 8], 2), ([7, 8, 9, 10], 2),
        ([8, 9, 10, 11], 3),  # at end of input: the last N records own what is left
    ]
    assert_partition(seqs, records)
    assert [s.owned_lines for s in seqs] == [[1, 2, 3, 4], [5, 6], [7, 8], [9, 10], [11]]


@pytest.mark.parametrize(("size", "step"), [(50, 7), (64, 64), (100, 1), (3, 2), (1000, 5)])
def test_sliding_windows_on_hdfs(shared_data: Path, size: int, step: int) -> None:
    records = hdfs()
    seqs = run(records, f"sliding:{size},{step}")
    assert_partition(seqs, records)
    position = {id(r): i for i, r in enumerate(records)}
    for seq in seqs:
        assert len(seq.records) <= size and seq.window == "sliding"
        start = position[id(seq.records[0])]
        assert seq.records == records[start:start + len(seq.records)]  # contiguous
    assert len({s.sequence_id for s in seqs}) == len(seqs)


def test_sliding_with_step_equal_to_size_is_tumbling(shared_data: Path) -> None:
    records = hdfs()
    sliding = run(records, "sliding:300,300")
    fixed = run(records, "fixed:300")
    assert [s.records[s.owned_from:] for s in sliding] == [s.records for s in fixed]
    assert [s.records for s in sliding[:-1]] == [s.records for s in fixed[:-1]]
    assert all(s.owned_from == 0 for s in sliding[:-1])
    # 2,000 = 6 x 300 + 200: the last window is still the last 300 records; it owns 200.
    assert len(sliding[-1].records) == 300 and sliding[-1].owned_from == 100


@pytest.mark.parametrize("window", ["sliding:10,3", "fixed:10"])
def test_input_shorter_than_the_window_is_one_window(window: str) -> None:
    records = synthetic(".......")
    [seq] = run(records, window)
    assert seq.records == records and seq.owned_from == 0
    assert run([], window) == []


# --- time windows ---------------------------------------------------------------------------

@pytest.mark.parametrize("seconds", [1, 60, 3600, 86400])
def test_time_windows_on_bgl_share_one_bucket(shared_data: Path, seconds: int) -> None:
    records = bgl()
    seqs = run(records, f"time:{seconds}", limits=Limits(max_session_records=50))
    assert [r for s in seqs for r in s.records] == records
    buckets = []
    for seq in seqs:
        assert seq.window == "time" and len(seq.records) <= 50
        found = {int(r.epoch // seconds) for r in seq.records if r.epoch is not None}
        assert len(found) == 1
        buckets.append(found.pop())
    # BGL_2k is in time order: a new window means a later bucket, or the cap was reached
    for (a, seq_a), b in zip(zip(buckets, seqs, strict=False), buckets[1:], strict=False):
        assert b > a or (b == a and len(seq_a.records) == 50)


def test_records_without_a_timestamp_join_the_current_window(shared_data: Path) -> None:
    lines = loghub2k("BGL").read_text(encoding="utf-8").splitlines()[:40]
    lines[:0] = ["a first line with no header"]
    lines[20:20] = ["no header on this line either"]
    batch = LineBatch("bgl.log", 1, lines, list(range(len(lines))))
    builder = RecordBuilder(get_format("bgl"), multiline=False)
    records = builder.feed(batch)
    last = builder.finish()
    assert last is not None
    records.append(last)
    assert records[0].header is None and records[20].header is None
    seqs = run(records, "time:3600")
    assert [r for s in seqs for r in s.records] == records
    owner = {id(r): s for s in seqs for r in s.records}
    assert owner[id(records[0])] is owner[id(records[1])]  # joins the window that follows
    assert owner[id(records[20])] is owner[id(records[19])]  # joins the current window


def test_time_going_backwards_starts_a_window() -> None:
    records = [record(1, "a", epoch=0), record(2, "b", epoch=50), record(3, "c", epoch=10),
               record(4, "d", epoch=130), record(5, "e", epoch=70), record(6, "f")]
    seqs = run(records, "time:60")
    assert [[r.line for r in s.records] for s in seqs] == [[1, 2, 3], [4], [5, 6]]


# --- WindowSpec -----------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "spec"), [
    ("auto", WindowSpec("auto")),
    ("session", WindowSpec("session")),
    (" Session ", WindowSpec("session")),
    ("fixed:1", WindowSpec("fixed", size=1)),
    ("FIXED:100", WindowSpec("fixed", size=100)),
    ("sliding:5,5", WindowSpec("sliding", size=5, step=5)),
    ("sliding:5,1", WindowSpec("sliding", size=5, step=1)),
    ("time:60", WindowSpec("time", seconds=60)),
    ("time:0.5", WindowSpec("time", seconds=0.5)),
    ("time:1e3", WindowSpec("time", seconds=1000)),
])
def test_window_spec_accepts(text: str, spec: WindowSpec) -> None:
    assert WindowSpec.parse(text) == spec
    assert WindowSpec.parse(str(spec)) == spec


@pytest.mark.parametrize("text", [
    "fixed:0", "fixed:-1", "fixed:", "fixed", "fixed:1.5", "fixed:ten", "fixed:10:2",
    "sliding:5,6", "sliding:5,0", "sliding:0,0", "sliding:5", "sliding:5,2,1", "sliding:",
    "time:-1", "time:0", "time:", "time:nan", "time:inf", "time:1e-300", "time:soon",
    "session:3", "auto:1", "garbage", "", "tumbling:5",
])
def test_window_spec_rejects(text: str) -> None:
    with pytest.raises(ConfigError, match="--window"):
        WindowSpec.parse(text)


def test_auto_resolves_to_session_or_fixed() -> None:
    assert WindowSpec.parse("auto").resolve(True) == WindowSpec("session")
    assert WindowSpec.parse("auto").resolve(False) == WindowSpec("fixed", size=64)
    assert WindowSpec.parse("fixed:7").resolve(True) == WindowSpec("fixed", size=7)


def test_auto_windows_hold_what_the_default_model_reads() -> None:
    from logsentry.ml.features import DEFAULT_MAX_LEN
    from logsentry.sequence import AUTO_FIXED_SIZE

    assert AUTO_FIXED_SIZE == DEFAULT_MAX_LEN  # no record of an auto window goes unscored
    assert WindowSpec.parse("auto").resolve(False, 1000, 32) == WindowSpec("fixed", size=32)
    sequencer = make_sequencer(WindowSpec.parse("auto"), "x.log", None, Limits(), 48)
    records = [record(i, "a") for i in range(1, 101)]
    sizes = [len(s.records) for s in sequencer.add_many(records) + sequencer.flush()]
    assert sizes == [48, 48, 4]


# --- sequence ids ---------------------------------------------------------------------------

def test_sequence_ids_are_deterministic_and_distinct(shared_data: Path) -> None:
    records = hdfs()
    for window, key in [("session", hdfs_key()), ("fixed:7", None), ("sliding:10,3", None),
                        ("time:60", None)]:
        first = run(records, window, key, Limits(max_session_records=12))
        again = run(records, window, key, Limits(max_session_records=12))
        assert [s.sequence_id for s in first] == [s.sequence_id for s in again]
        assert len({s.sequence_id for s in first}) == len(first)
        other = run(records, window, key, Limits(max_session_records=12), source="other.log")
        assert not {s.sequence_id for s in first} & {s.sequence_id for s in other}


def test_sequence_id_depends_on_the_line_range() -> None:
    base = sequence_id("app.log", "blk_1", 10, 20, 5)
    assert base == sequence_id("app.log", "blk_1", 10, 20, 5)
    assert re.fullmatch(r"[0-9a-f]{12}", base)
    variants = [("app.log", "blk_1", 11, 20, 5), ("app.log", "blk_1", 10, 21, 5),
                ("app.log", "blk_1", 10, 20, 4), ("app.log", "blk_2", 10, 20, 5),
                ("app.log", None, 10, 20, 5), ("b.log", "blk_1", 10, 20, 5)]
    assert len({base, *(sequence_id(*v) for v in variants)}) == 7


def test_multi_line_records_count_their_last_line() -> None:
    records = [record(1, "a", end_line=3), record(4, "b")]
    [seq] = run(records, "fixed:5")
    assert seq.lines == [1, 2, 3, 4] and seq.owned_lines == [1, 2, 3, 4]
    assert seq.sequence_id == sequence_id("test.log", None, 1, 4, 2)


def test_line_numbers_of_one_line_records_and_of_a_mix() -> None:
    [single] = run([record(5, "a"), record(6, "b"), record(9, "c")], "fixed:3")
    assert single.lines == [5, 6, 9] and single.owned_lines == [5, 6, 9]
    [mixed] = run([record(1, "a"), record(2, "b", end_line=2), record(3, "c", end_line=5),
                   record(6, "d")], "fixed:4")
    assert mixed.lines == [1, 2, 3, 4, 5, 6]


# --- property: every record owned exactly once, whatever the window and limits -------------

def _random_stream(rng: random.Random) -> list[LogRecord]:
    n = rng.choice([0, 1, 2, rng.randint(3, 20), rng.randint(20, 80)])
    pool = "abcdefgh"[: rng.randint(1, 8)]
    line, epoch = 1, 1_000_000.0
    out: list[LogRecord] = []
    for _ in range(n):
        sid = rng.choice(pool + "..")
        where = rng.random()
        message = f"m{line}" + (f" sid={sid}" if sid != "." and where < 0.8 else "")
        extra = f"sid={sid}" if sid != "." and where >= 0.8 else ""  # in the header only
        epoch += rng.choice([0, 0, 1, 5, 30, 200, -40])
        stamp = None if rng.random() < 0.1 else epoch
        span = rng.choice([0, 0, 0, 2])
        out.append(record(line, message, epoch=stamp, header_extra=extra,
                          end_line=line + span))
        line += span + 1
    return out


def _random_window(rng: random.Random) -> str:
    size = rng.randint(1, 12)
    return rng.choice(["session", "auto", f"fixed:{size}", f"sliding:{size},{rng.randint(1, size)}",
                       f"time:{rng.choice([1, 10, 60, 3600])}"])


@pytest.mark.parametrize("seed", range(4))
def test_every_record_is_owned_by_exactly_one_sequence(seed: int) -> None:
    rng = random.Random(seed)
    for _case in range(100):
        records = _random_stream(rng)
        window = _random_window(rng)
        key = SID if rng.random() < 0.8 else None
        limits = Limits(max_open_sessions=rng.randint(1, 6),
                        max_session_records=rng.randint(1, 10),
                        max_buffered_records=rng.randint(1, 25))
        spec = WindowSpec.parse(window).resolve(key is not None, limits.max_session_records)
        if spec.kind in {"fixed", "sliding"} and spec.size > limits.max_session_records:
            # Explicit windows bigger than the record cap are refused, never silently held.
            with pytest.raises(ConfigError, match="max_session_records"):
                run(records, window, key, limits)
            continue
        seqs = run(records, window, key, limits)
        context = (seed, window, limits, len(records))
        assert_partition(seqs, records)
        for seq in seqs:
            assert_in_line_order(seq)
            if spec.kind == "session":
                assert len(seq.records) <= limits.max_session_records, context
                assert {key(r) if key else None for r in seq.records} == {seq.session}, context
            elif spec.kind == "time":
                assert len(seq.records) <= limits.max_session_records, context
            else:
                assert len(seq.records) <= spec.size, context
        assert len({s.sequence_id for s in seqs}) == len(seqs), context
        # The batch path (add_many, any batch sizes) gives exactly the same sequences.
        sequencer = make_sequencer(spec, "test.log", key, limits)
        batched: list[Sequence] = []
        i = 0
        while i < len(records):
            j = i + rng.randint(1, 15)
            batched += sequencer.add_many(records[i:j])
            i = j
        batched += sequencer.flush()
        assert [(s.sequence_id, s.session, s.owned_from, [id(r) for r in s.records])
                for s in batched] == \
            [(s.sequence_id, s.session, s.owned_from, [id(r) for r in s.records])
             for s in seqs], context


def test_explicit_windows_bigger_than_the_record_cap_are_refused() -> None:
    with pytest.raises(ConfigError, match="max_session_records"):
        make_sequencer(WindowSpec.parse("fixed:5000"), "x.log", None, Limits())
    with pytest.raises(ConfigError, match="max_session_records"):
        make_sequencer(WindowSpec.parse("sliding:2000,10"), "x.log", None, Limits())


def test_auto_window_without_session_id_stays_within_the_record_cap() -> None:
    assert WindowSpec.parse("auto").resolve(False) == WindowSpec("fixed", size=64)
    assert WindowSpec.parse("auto").resolve(False, 40) == WindowSpec("fixed", size=40)
    assert WindowSpec.parse("auto").resolve(False, 40, 100) == WindowSpec("fixed", size=40)
    assert WindowSpec.parse("auto").resolve(True, 40) == WindowSpec("session")


def test_session_expire_closes_idle_sessions_in_order_of_last_use() -> None:
    seq = SessionSequencer("test.log", SID, Limits())
    assert seq.add_many(synthetic("aab.ba")) == []  # offsets: line * 100
    assert seq.held_from() is not None and seq.held_from().line == 1  # type: ignore[union-attr]
    # a's last record is line 6, b's line 5, the loose one line 4
    closed = seq.expire(before_offset=550)
    assert [(s.session, s.lines) for s in closed] == [("b", [3, 5]), (None, [4])]
    assert seq.held_from().line == 1  # type: ignore[union-attr]
    assert [s.lines for s in seq.expire(before_offset=10_000)] == [[1, 2, 6]]
    assert seq.held_from() is None and seq.buffered == 0


def test_held_from_of_windows() -> None:
    fixed = FixedSequencer("test.log", 3)
    fixed.add_many(synthetic("....."))
    assert fixed.held_from().line == 4  # type: ignore[union-attr]
    sliding = SlidingSequencer("test.log", 3, 2)
    sliding.add_many(synthetic("...."))  # window 1-3 emitted; line 4 not owned yet
    assert sliding.held_from().line == 4  # type: ignore[union-attr]
    assert TimeSequencer("test.log", 60, 100).held_from() is None
