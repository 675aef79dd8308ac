"""Following growing files like ``tail -F``: every line once, in order, truly numbered."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any, BinaryIO

import pytest

from logsentry.sources.follow import FINGERPRINT_BYTES, Follower, Identity, Position, fingerprint
from logsentry.sources.reader import Source, read_batches
from logsentry.types import LineBatch

Line = tuple[str, int, str]  # path, line number, text
Located = tuple[str, int, int, str]  # path, line number, byte offset, text
Poll = list[tuple[Identity, LineBatch]]


# --- helpers ---------------------------------------------------------------------------


class Clock:
    """A fake monotonic clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def located(poll: Poll) -> list[Located]:
    out: list[Located] = []
    for identity, batch in poll:
        assert isinstance(identity, Identity)
        assert len(batch.texts) == len(batch.offsets) > 0
        assert batch.first_number >= 1
        assert batch.offsets == sorted(set(batch.offsets))
        for i, text in enumerate(batch.texts):
            out.append((batch.source, batch.first_number + i, batch.offsets[i], text))
    return out


def flat(poll: Poll) -> list[Line]:
    return [(path, number, text) for path, number, _offset, text in located(poll)]


def append(path: Path, data: bytes) -> None:
    with path.open("ab") as fh:
        fh.write(data)


def rewrite_in_place(path: Path, data: bytes) -> None:
    """copytruncate: same inode, new content."""
    ino = path.stat().st_ino
    with path.open("r+b") as fh:
        fh.truncate(0)
        fh.write(data)
    assert path.stat().st_ino == ino


def make(*patterns: str | Path, **kwargs: Any) -> tuple[Follower, Clock, list[str]]:
    clock = Clock()
    events: list[str] = []
    follower = Follower([str(p) for p in patterns], clock=clock, on_event=events.append,
                        **kwargs)
    return follower, clock, events


def reader_rows(path: Path, **kwargs: Any) -> list[tuple[int, int, str, bool]]:
    out = []
    for batch in read_batches(Source(str(path)), **kwargs):
        for i, text in enumerate(batch.texts):
            out.append((batch.first_number + i, batch.offsets[i], text, i in batch.invalid_utf8))
    return out


def follower_rows(poll: Poll) -> list[tuple[int, int, str, bool]]:
    return [(batch.first_number + i, batch.offsets[i], text, i in batch.invalid_utf8)
            for _identity, batch in poll for i, text in enumerate(batch.texts)]


# --- appending -------------------------------------------------------------------------


def test_appended_lines_come_out_once_in_order_with_numbers_and_offsets(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"")
    f, _clock, _events = make(log)
    p = str(log)
    assert f.poll() == []
    append(log, b"one\ntwo\n")
    append(log, b"three\n")
    assert located(f.poll()) == [(p, 1, 0, "one"), (p, 2, 4, "two"), (p, 3, 8, "three")]
    assert f.poll() == []
    append(log, b"four\n")
    assert located(f.poll()) == [(p, 4, 14, "four")]
    assert f.poll() == []
    [(path, identity, position)] = f.positions()
    assert (path, position) == (p, Position(19, 4))
    assert identity.ino == log.stat().st_ino
    assert f.stats.lines == 4 and f.stats.bytes == 19
    f.close()
    assert f.positions() == []


def test_many_small_appends_each_line_exactly_once(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"")
    f, _clock, _events = make(log)
    got: list[Line] = flat(f.poll())
    for i in range(1, 60):
        append(log, f"line {i}\n".encode())
        if i % 7 == 0:
            got += flat(f.poll())
    got += flat(f.poll())
    assert got == [(str(log), i, f"line {i}") for i in range(1, 60)]


# --- where a file starts ---------------------------------------------------------------


def test_existing_file_starts_at_its_end_but_numbering_stays_true(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"a\nb\nc\n")
    f, _clock, events = make(log)
    assert f.poll() == []
    append(log, b"d\n")
    assert located(f.poll()) == [(str(log), 4, 6, "d")]
    assert events == [f"following {log} from its end"]


def test_from_start_reads_an_existing_file_from_line_one(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"a\nb\n")
    f, _clock, events = make(log, from_start=True)
    assert located(f.poll()) == [(str(log), 1, 0, "a"), (str(log), 2, 2, "b")]
    append(log, b"c\n")
    assert flat(f.poll()) == [(str(log), 3, "c")]
    assert events == [f"following {log} from its start"]


@pytest.mark.parametrize("use_glob", [False, True])
def test_file_appearing_after_the_first_poll_is_read_from_its_start(
        tmp_path: Path, use_glob: bool) -> None:
    log = tmp_path / "late.log"
    f, _clock, _events = make(tmp_path / "*.log" if use_glob else log)
    assert f.poll() == []
    assert f.poll() == []
    log.write_bytes(b"first\nsecond\n")
    assert flat(f.poll()) == [(str(log), 1, "first"), (str(log), 2, "second")]
    assert f.poll() == []


# --- rotation --------------------------------------------------------------------------


@pytest.mark.parametrize("use_glob", [False, True])
def test_rename_and_create_drains_the_old_file_then_reads_the_new(
        tmp_path: Path, use_glob: bool) -> None:
    log = tmp_path / "x.log"
    rotated = tmp_path / "x.log.1"
    log.write_bytes(b"1\n2\n")
    f, _clock, events = make(tmp_path / "*.log" if use_glob else log, from_start=True)
    p = str(log)
    assert flat(f.poll()) == [(p, 1, "1"), (p, 2, "2")]
    append(log, b"3\n")
    log.rename(rotated)
    append(rotated, b"4\n")  # the writer still holds the old file open
    log.write_bytes(b"new1\nnew2\n")
    poll = f.poll()
    assert located(poll) == [(p, 3, 4, "3"), (p, 4, 6, "4"),
                             (p, 1, 0, "new1"), (p, 2, 5, "new2")]
    old_identity, new_identity = poll[0][0], poll[-1][0]
    assert old_identity != new_identity
    assert old_identity.ino == rotated.stat().st_ino
    assert new_identity.ino == log.stat().st_ino
    assert old_identity.fingerprint != new_identity.fingerprint
    assert f"{p} was rotated; reading the rest of the old file first" in events
    # The old file was drained and let go: only the new one is followed.
    assert f.positions() == [(p, new_identity, Position(10, 2))]
    assert f.finished == [(p, old_identity, Position(8, 4))]
    assert f.poll() == []
    append(log, b"new3\n")
    assert flat(f.poll()) == [(p, 3, "new3")]


def test_rotated_file_with_a_partial_last_line_is_kept_until_it_times_out(
        tmp_path: Path) -> None:
    log = tmp_path / "x.log"
    log.write_bytes(b"1\n")
    f, clock, _events = make(log, from_start=True, partial_timeout=5.0)
    p = str(log)
    assert flat(f.poll()) == [(p, 1, "1")]
    append(log, b"2\ntail")
    log.rename(tmp_path / "x.log.1")
    log.write_bytes(b"new\n")
    assert flat(f.poll()) == [(p, 2, "2"), (p, 1, "new")]
    assert len(f.positions()) == 2  # the old file still holds "tail"
    clock.advance(5.0)
    assert flat(f.poll()) == [(p, 3, "tail")]
    [(path, identity, position)] = f.positions()
    assert (path, identity.ino, position) == (p, log.stat().st_ino, Position(4, 1))


# --- copytruncate ----------------------------------------------------------------------


def test_truncated_to_shorter_content_is_read_again_from_line_one(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"aaaa\nbbbb\ncccc\n")
    f, _clock, events = make(log, from_start=True)
    poll = f.poll()
    assert [t for _p, _n, t in flat(poll)] == ["aaaa", "bbbb", "cccc"]
    before = poll[0][0]
    rewrite_in_place(log, b"z\n")
    poll = f.poll()
    assert located(poll) == [(str(log), 1, 0, "z")]
    assert poll[0][0].ino == before.ino and poll[0][0].fingerprint != before.fingerprint
    assert sum(e.startswith(f"{log} was truncated") for e in events) == 1
    append(log, b"y\n")
    assert located(f.poll()) == [(str(log), 2, 2, "y")]


def test_truncated_to_empty_then_refilled_starts_from_line_one(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"old 1\nold 2\n")
    f, _clock, _events = make(log, from_start=True)
    assert len(flat(f.poll())) == 2
    rewrite_in_place(log, b"")
    assert f.poll() == []
    append(log, b"new 1\nnew 2\nnew 3\n")
    assert flat(f.poll()) == [(str(log), 1, "new 1"), (str(log), 2, "new 2"),
                              (str(log), 3, "new 3")]


def test_truncated_and_refilled_past_the_old_offset_is_detected(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"old1\nold2\n")
    f, _clock, events = make(log, from_start=True)
    assert [t for _p, _n, t in flat(f.poll())] == ["old1", "old2"]
    rewrite_in_place(log, b"NEW-1\nNEW-2\nNEW-3\n")  # 18 bytes > the 10 read
    assert located(f.poll()) == [(str(log), 1, 0, "NEW-1"), (str(log), 2, 6, "NEW-2"),
                                 (str(log), 3, 12, "NEW-3")]
    assert sum(e.startswith(f"{log} was truncated") for e in events) == 1
    assert f.poll() == []
    append(log, b"NEW-4\n")
    assert flat(f.poll()) == [(str(log), 4, "NEW-4")]


def test_truncated_to_an_unfinished_first_line_waits_for_it(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"aaaa\nbbbb\n")
    f, _clock, events = make(log, from_start=True)
    assert len(flat(f.poll())) == 2
    rewrite_in_place(log, b"zz")
    assert f.poll() == []
    rewrite_in_place(log, b"ZZZZZZZZZZZZ")  # longer than what was read, still no newline
    assert f.poll() == []
    assert not any(e.startswith(f"{log} was truncated") for e in events)
    append(log, b"\nnext\n")
    assert located(f.poll()) == [(str(log), 1, 0, "Z" * 12), (str(log), 2, 13, "next")]
    assert sum(e.startswith(f"{log} was truncated") for e in events) == 1


def test_truncation_with_a_held_partial_line_drops_the_old_partial(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"one\ntw")
    f, _clock, _events = make(log, from_start=True)
    assert flat(f.poll()) == [(str(log), 1, "one")]
    rewrite_in_place(log, b"fresh\n")
    assert flat(f.poll()) == [(str(log), 1, "fresh")]


def test_truncation_after_a_timed_out_partial_keeps_a_leading_empty_line(
        tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"head\n")
    f, clock, _events = make(log, partial_timeout=1.0, from_start=True)
    assert flat(f.poll()) == [(str(log), 1, "head")]
    append(log, b"abc")
    assert f.poll() == []
    clock.advance(1.0)
    assert flat(f.poll()) == [(str(log), 2, "abc")]
    rewrite_in_place(log, b"\nnew\n")
    assert located(f.poll()) == [(str(log), 1, 0, ""), (str(log), 2, 1, "new")]


# --- deletion --------------------------------------------------------------------------


@pytest.mark.parametrize("use_glob", [False, True])
def test_deleted_file_is_drained_and_a_recreated_one_read_from_its_start(
        tmp_path: Path, use_glob: bool) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"1\n")
    f, _clock, _events = make(tmp_path / "*.log" if use_glob else log)
    p = str(log)
    assert f.poll() == []
    append(log, b"2\n3\n")
    log.unlink()
    assert located(f.poll()) == [(p, 2, 2, "2"), (p, 3, 4, "3")]
    assert f.poll() == []
    log.write_bytes(b"again 1\nagain 2\n")
    assert flat(f.poll()) == [(p, 1, "again 1"), (p, 2, "again 2")]
    assert [(path, pos) for path, _i, pos in f.positions()] == [(p, Position(16, 2))]


def test_deleted_file_matched_by_a_glob_is_let_go(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"1\n")
    f, _clock, events = make(tmp_path / "*.log", from_start=True)
    assert len(flat(f.poll())) == 1
    [(_path, identity, _position)] = f.positions()
    log.unlink()
    assert f.poll() == []
    assert f.positions() == []
    assert f.finished == [(str(log), identity, Position(2, 1))]
    assert f"{log} disappeared; reading what is left of it" in events


def test_deleted_explicit_path_is_let_go_once_drained(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"1\n")
    f, _clock, events = make(log, from_start=True)
    assert len(flat(f.poll())) == 1
    log.unlink()
    assert f.poll() == []
    assert f.poll() == []
    assert f"{log} disappeared; reading what is left of it" in events
    assert f.positions() == []


# --- globs -----------------------------------------------------------------------------


def test_glob_picks_up_new_matching_files_only(tmp_path: Path) -> None:
    a = tmp_path / "a.log"
    a.write_bytes(b"old\n")
    f, _clock, _events = make(tmp_path / "*.log")
    assert f.poll() == []
    b = tmp_path / "b.log"
    b.write_bytes(b"b1\nb2\n")
    (tmp_path / "c.txt").write_bytes(b"not me\n")
    (tmp_path / "d.log").mkdir()
    (tmp_path / "d.log" / "inner.log").write_bytes(b"nor me\n")
    append(a, b"a2\n")
    assert flat(f.poll()) == [(str(a), 2, "a2"), (str(b), 1, "b1"), (str(b), 2, "b2")]
    assert sorted(path for path, _i, _p in f.positions()) == [str(a), str(b)]
    assert f.poll() == []


def test_glob_matching_the_rotated_name_does_not_read_it_twice(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"1\n2\n")
    f, _clock, _events = make(tmp_path / "app.log*", from_start=True)
    p = str(log)
    assert flat(f.poll()) == [(p, 1, "1"), (p, 2, "2")]
    append(log, b"3\n")
    log.rename(tmp_path / "app.log.1")
    log.write_bytes(b"new\n")
    assert [text for _p, _n, text in flat(f.poll())] == ["3", "new"]


# --- partial last lines ----------------------------------------------------------------
# A file is followed once its first line has ended (its fingerprint is that line), so
# these files start with a complete line and the partial line under test is line 2.


def started(tmp_path: Path, **kwargs: Any) -> tuple[Path, Follower, Clock]:
    log = tmp_path / "app.log"
    log.write_bytes(b"head\n")
    f, clock, _events = make(log, from_start=True, **kwargs)
    assert flat(f.poll()) == [(str(log), 1, "head")]
    return log, f, clock


def test_partial_line_is_held_until_its_newline_comes(tmp_path: Path) -> None:
    log, f, clock = started(tmp_path)
    append(log, b"abc")
    assert f.poll() == []
    clock.advance(1.0)
    assert f.poll() == []
    append(log, b"def\nnext")
    assert located(f.poll()) == [(str(log), 2, 5, "abcdef")]
    append(log, b"\n")
    assert located(f.poll()) == [(str(log), 3, 12, "next")]


def test_idle_partial_line_goes_out_on_timeout_and_its_newline_is_not_a_line(
        tmp_path: Path) -> None:
    log, f, clock = started(tmp_path, partial_timeout=5.0)
    p = str(log)
    append(log, b"ab")
    assert f.poll() == []
    clock.advance(4.0)
    append(log, b"c")  # new bytes: idle again from now
    assert f.poll() == []
    clock.advance(4.9)
    assert f.poll() == []
    clock.advance(0.1)
    assert located(f.poll()) == [(p, 2, 5, "abc")]
    assert f.poll() == []
    append(log, b"\n")
    assert f.poll() == []
    append(log, b"next\n")
    assert located(f.poll()) == [(p, 3, 9, "next")]
    assert f.positions()[0][2] == Position(14, 3)


def test_empty_line_after_a_timed_out_partial_is_still_a_line(tmp_path: Path) -> None:
    log, f, clock = started(tmp_path, partial_timeout=5.0)
    p = str(log)
    append(log, b"abc")
    assert f.poll() == []
    clock.advance(5.0)
    assert flat(f.poll()) == [(p, 2, "abc")]
    append(log, b"\n\nxyz\n")
    assert located(f.poll()) == [(p, 3, 9, ""), (p, 4, 10, "xyz")]


def test_timed_out_partial_followed_by_more_text_continues_numbering(tmp_path: Path) -> None:
    log, f, clock = started(tmp_path, partial_timeout=2.0)
    append(log, b"abc")
    assert f.poll() == []
    clock.advance(2.0)
    assert flat(f.poll()) == [(str(log), 2, "abc")]
    append(log, b"def\n")  # the rest of the line: a line of its own now
    assert located(f.poll()) == [(str(log), 3, 8, "def")]


def test_file_whose_first_line_has_not_ended_is_picked_up_once_it_has(
        tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"abc")
    f, clock, _events = make(log, partial_timeout=1.0)
    assert f.poll() == []
    clock.advance(10.0)
    assert f.poll() == []
    assert f.positions() == []
    append(log, b"def\nsecond\n")  # read from its start, though it was there at first
    assert located(f.poll()) == [(str(log), 1, 0, "abcdef"), (str(log), 2, 7, "second")]
    [(_path, identity, _position)] = f.positions()
    assert identity.fp_len == 7


def test_flush_partials_emits_held_lines_at_shutdown(tmp_path: Path) -> None:
    a = tmp_path / "a.log"
    b = tmp_path / "b.log"
    a.write_bytes(b"")
    b.write_bytes(b"")
    f, _clock, _events = make(tmp_path / "*.log")
    assert f.poll() == []
    assert f.flush_partials() == []
    append(a, b"done\nhalf")
    append(b, b"complete\n")
    assert flat(f.poll()) == [(str(a), 1, "done"), (str(b), 1, "complete")]
    assert located(f.flush_partials()) == [(str(a), 2, 5, "half")]
    assert f.flush_partials() == []
    assert f.poll() == []
    append(a, b"\nlater\n")  # the newline of the flushed line is not a line
    assert flat(f.poll()) == [(str(a), 3, "later")]


# --- checkpoints -----------------------------------------------------------------------


def test_resume_from_a_checkpoint_continues_offsets_and_numbers(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"l1\nl2\nl3\n")
    calls: list[tuple[str, Identity, tuple[str, int] | None]] = []

    def known(path: str, identity: Identity, fh: BinaryIO) -> Position | None:
        calls.append((path, identity, fingerprint(fh)))
        return Position(3, 1)

    f, _clock, events = make(log, known=known)
    assert located(f.poll()) == [(str(log), 2, 3, "l2"), (str(log), 3, 6, "l3")]
    [(path, identity, fp)] = calls
    assert path == str(log)
    assert identity.fp_len == 3  # the first line
    assert fp == (identity.fingerprint, identity.fp_len)
    assert identity.fingerprint == hashlib.sha256(b"l1\n").hexdigest()
    assert (identity.dev, identity.ino) == (log.stat().st_dev, log.stat().st_ino)
    assert events == [f"following {log} resumed at line 2"]
    append(log, b"l4\n")
    assert flat(f.poll()) == [(str(log), 4, "l4")]
    assert len(calls) == 1  # asked once, when the file was opened


def test_checkpoint_past_the_end_of_the_file_is_ignored(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"l1\nl2\n")
    f, _clock, _events = make(log, known=lambda _p, _i, _f: Position(1000, 99))
    assert f.poll() == []  # from its end, as without a checkpoint
    append(log, b"l3\n")
    assert flat(f.poll()) == [(str(log), 3, "l3")]


# --- fingerprints ----------------------------------------------------------------------


def test_short_file_growing_past_the_fingerprint_size_is_not_restarted(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    lines = [f"line {i:04d} {'x' * 30}" for i in range(1, 101)]  # 41 bytes each
    data = b"".join(line.encode() + b"\n" for line in lines)
    assert len(data) > 3 * FINGERPRINT_BYTES
    log.write_bytes(data[:500])
    f, _clock, events = make(log, from_start=True)
    got: list[Line] = []
    identities: set[Identity] = set()
    for start in range(500, len(data) + 1, 333):
        poll = f.poll()
        got += flat(poll)
        identities |= {identity for identity, _batch in poll}
        append(log, data[start:start + 333])
    poll = f.poll()
    got += flat(poll)
    identities |= {identity for identity, _batch in poll}
    assert got == [(str(log), i, line) for i, line in enumerate(lines, 1)]
    assert not any(e.startswith(f"{log} was truncated") for e in events)
    [(_path, identity, position)] = f.positions()
    assert identities == {identity}  # one file, one identity all along
    assert identity.fp_len == 41
    assert identity.fingerprint == hashlib.sha256(data[:41]).hexdigest()
    assert position == Position(len(data), len(lines))
    # A copytruncate that refills it past the offset with another first line is caught.
    rewrite_in_place(log, b"other first line\n" + data)
    assert flat(f.poll())[:2] == [(str(log), 1, "other first line"), (str(log), 2, lines[0])]
    assert sum(e.startswith(f"{log} was truncated") for e in events) == 1


# --- encodings -------------------------------------------------------------------------


CONTENT = (b"plain\r\n"
           b"bad \xff\xfe bytes\n"
           b"caf\xc3\xa9 \xe2\x82\xac\r\n"
           b"\r\n"
           b"cut \xe2\x82\n"
           b"lone\rcr\n"
           b"last\r\n")


def test_invalid_utf8_and_crlf_come_out_like_the_reader(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(CONTENT)
    f, _clock, _events = make(log, from_start=True)
    expected = reader_rows(log)
    assert [row[2] for row in expected] == [
        "plain", "bad \ufffd\ufffd bytes", "café €", "", "cut \ufffd", "lone\rcr", "last"]
    assert follower_rows(f.poll()) == expected


@pytest.mark.parametrize("step", [1, 2, 3, 5])
def test_lines_split_across_polls_come_out_like_the_reader(tmp_path: Path, step: int) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"")
    f, _clock, _events = make(log)
    got: list[tuple[int, int, str, bool]] = follower_rows(f.poll())
    for start in range(0, len(CONTENT), step):  # splits CRLFs and multi-byte characters
        append(log, CONTENT[start:start + step])
        got += follower_rows(f.poll())
    assert got == reader_rows(log)


def test_byte_order_mark_is_not_part_of_line_one(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"\xef\xbb\xbfhello\nworld\n")
    f, _clock, _events = make(log, from_start=True)
    assert follower_rows(f.poll()) == reader_rows(log)


def test_over_long_partial_line_is_one_line(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"head\n")
    f, _clock, _events = make(log, max_line_bytes=10, from_start=True)
    got = follower_rows(f.poll())
    append(log, b"x" * 20)  # a long line, still being written at this poll
    got += follower_rows(f.poll())
    append(log, b"yy\nz\n")
    got += follower_rows(f.poll())
    expected = reader_rows(log, max_line_bytes=10)
    assert [(n, o, t) for n, o, t, _bad in expected] == [
        (1, 0, "head"), (2, 5, "x" * 10), (3, 28, "z")]
    assert got == expected


# --- missing and unreadable paths ------------------------------------------------------


def test_missing_path_is_followed_once_it_appears(tmp_path: Path) -> None:
    log = tmp_path / "sub" / "app.log"
    f, _clock, events = make(log)
    assert f.poll() == []
    assert f.poll() == []
    assert f.positions() == [] and events == []
    log.parent.mkdir()
    log.write_bytes(b"hello\n")
    assert flat(f.poll()) == [(str(log), 1, "hello")]


def test_dangling_symlink_is_followed_once_its_target_appears(tmp_path: Path) -> None:
    target = tmp_path / "target.log"
    link = tmp_path / "link.log"
    link.symlink_to(target)
    f, _clock, _events = make(link)
    assert f.poll() == []
    target.write_bytes(b"via link\n")
    assert flat(f.poll()) == [(str(link), 1, "via link")]


def test_unreadable_path_does_not_raise_and_is_retried(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.mkdir()  # a directory where a file is expected: open() fails
    other = tmp_path / "other.log"
    other.write_bytes(b"")
    f, _clock, _events = make(log, other)
    assert f.poll() == []
    append(other, b"still read\n")
    assert flat(f.poll()) == [(str(other), 1, "still read")]
    log.rmdir()
    log.write_bytes(b"now a file\n")
    assert flat(f.poll()) == [(str(log), 1, "now a file")]
    assert os.path.isfile(log)
