"""Sources: every input line is read, numbered and located, or the problem is one clear error."""

from __future__ import annotations

import errno
import gzip
import io
import os
import random
import sys
import tracemalloc
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any, cast

import pytest

from logsentry.errors import InputError
from logsentry.sources import reader
from logsentry.sources.reader import (
    Source,
    SourceProblem,
    iter_lines,
    read_all,
    read_batches,
    resolve_inputs,
)
from logsentry.types import LineBatch, ReadStats

MiB = 1 << 20
Row = tuple[int, int, str, bool, bool]  # number, offset, text, truncated, invalid_utf8


# --- helpers ---------------------------------------------------------------------------


def rows(batches: Iterator[LineBatch] | list[LineBatch]) -> list[Row]:
    out: list[Row] = []
    for batch in batches:
        assert len(batch.texts) == len(batch.offsets)
        assert all(0 <= i < len(batch.texts) for i in batch.truncated | batch.invalid_utf8)
        for i, text in enumerate(batch.texts):
            out.append((batch.first_number + i, batch.offsets[i], text,
                        i in batch.truncated, i in batch.invalid_utf8))
    return out


def read(path: Path | str, **kwargs: Any) -> tuple[list[Row], ReadStats]:
    stats = ReadStats()
    got = rows(read_batches(Source(str(path)), stats=stats, **kwargs))
    return got, stats


def texts(path: Path | str, **kwargs: Any) -> list[str]:
    return [row[2] for row in read(path, **kwargs)[0]]


def _valid(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _cut(content: bytes, cap: int) -> bytes:
    """The longest prefix of at most ``cap`` bytes that does not split a character."""
    if _valid(content):
        # Only a character cut in two at the end can fail to decode: drop it.
        return content[:cap].decode("utf-8", "ignore").encode()
    cut = cap  # invalid UTF-8: step back over at most 3 continuation bytes
    while cut > max(0, cap - 3) and content[cut] & 0xC0 == 0x80:
        cut -= 1
    return content[:cut]


def reference(data: bytes, cap: int = reader.DEFAULT_MAX_LINE_BYTES) -> list[Row]:
    """What the reader must produce, computed naively from ``data.split(b"\\n")``."""
    pieces = data.split(b"\n")
    if pieces[-1] == b"":
        pieces.pop()
    out: list[Row] = []
    offset = 0
    for number, raw in enumerate(pieces, 1):
        content = raw[:-1] if raw.endswith(b"\r") else raw
        truncated = len(content) > cap
        kept = _cut(content, cap) if truncated else content
        out.append((number, offset, kept.decode("utf-8", "replace"), truncated,
                    not _valid(kept)))
        offset += len(raw) + 1
    return out


def set_stdin(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))


class FakeStdin:
    def __init__(self, buffer: Any) -> None:
        self.buffer = buffer


class TrickleRaw(io.RawIOBase):
    """A pipe whose writer is slow: each read returns at most ``step`` bytes."""

    def __init__(self, data: bytes, step: int = 1, fail_after: int | None = None) -> None:
        self.data = data
        self.pos = 0
        self.step = step
        self.fail_after = fail_after

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.fail_after is not None and self.pos >= self.fail_after:
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        n = min(len(buffer), self.step, len(self.data) - self.pos)
        buffer[:n] = self.data[self.pos : self.pos + n]
        self.pos += n
        return n


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every file the reader opens, kept so tests can check that each one was closed."""
    files: list[Any] = []

    def recording_open(*args: Any, **kwargs: Any) -> Any:
        f = open(*args, **kwargs)  # noqa: SIM115 - the test checks it is closed
        files.append(f)
        return f

    monkeypatch.setattr(reader, "open", recording_open, raising=False)
    return files


def mixed_lines(rng: random.Random, count: int, *, long_every: int = 0,
                long_size: int = 0) -> list[bytes]:
    """Log-like lines: ASCII, UTF-8 of every width, CRLF, invalid bytes, lone CRs, empties."""
    words = ["GET", "/api/v1", "user=alice", "é", "naïve", "中文日志", "🙂", "Ωmega", "x" * 30]
    lines = []
    for i in range(count):
        kind = rng.random()
        body = " ".join(rng.choice(words) for _ in range(rng.randint(0, 12))).encode()
        if kind < 0.05:
            body = b""
        elif kind < 0.10:
            body += b"\xff\xc3 bad \x80"
        elif kind < 0.13:
            body = body[:5] + b"\r" + body[5:]  # a CR inside a line is content
        if long_every and i % long_every == long_every - 1:
            body += "é中🙂".encode() * (long_size // 9)
        ending = b"\r\n" if rng.random() < 0.3 else b"\n"
        lines.append(body + ending)
    return lines


# --- plain files, several files, globs ---------------------------------------------------


def test_plain_file_gives_numbers_offsets_and_texts(tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    path.write_bytes(b"first\nsecond line\n\nfourth\n")
    got, stats = read(path)
    assert got == [
        (1, 0, "first", False, False),
        (2, 6, "second line", False, False),
        (3, 18, "", False, False),
        (4, 19, "fourth", False, False),
    ]
    assert (stats.lines, stats.bytes) == (4, path.stat().st_size)
    assert list(iter_lines(read_batches(Source(str(path))))) == [
        (n, off, text) for n, off, text, _, _ in got]


def test_batches_carry_the_source_name(tmp_path: Path) -> None:
    path = tmp_path / "a.log"
    path.write_bytes(b"x\n")
    assert [b.source for b in read_batches(Source(str(path)))] == [str(path)]


def test_several_files_are_read_in_turn_and_counted_together(tmp_path: Path) -> None:
    names = []
    for i in range(3):
        path = tmp_path / f"f{i}.log"
        path.write_bytes(b"".join(b"file %d line %d\n" % (i, n) for n in range(i + 1)))
        names.append(str(path))
    stats = ReadStats()
    seen = [(source.name, [r[:3] for r in rows(batches)])
            for source, batches in read_all([Source(n) for n in names], stats=stats)]
    assert seen == [
        (names[i], [(n + 1, n * 14, f"file {i} line {n}") for n in range(i + 1)])
        for i in range(3)
    ]
    assert stats.lines == 6
    assert stats.bytes == sum(os.path.getsize(n) for n in names)
    assert stats.skipped_sources == []


def test_read_all_reports_a_bad_source_and_goes_on(tmp_path: Path) -> None:
    good = tmp_path / "good.log"
    good.write_bytes(b"ok\n")
    binary = tmp_path / "core"
    binary.write_bytes(b"\x7fELF\x02\x01\x01\x00" + bytes(200))
    problems: list[SourceProblem] = []
    stats = ReadStats()
    names = [str(tmp_path / "missing.log"), str(binary), str(tmp_path), str(good)]
    seen = [(s.name, [r[2] for r in rows(b)])
            for s, b in read_all([Source(n) for n in names], stats=stats,
                                 on_problem=problems.append)]
    assert seen == [(str(good), ["ok"])]
    assert [p.source for p in problems] == names[:3]
    assert "no such file" in problems[0].message
    assert "--force" in problems[1].message
    assert "is a directory" in problems[2].message
    assert all("\n" not in p.message for p in problems)
    assert stats.skipped_sources == names[:3]


def test_read_all_without_callback_still_skips(tmp_path: Path) -> None:
    stats = ReadStats()
    assert list(read_all([Source(str(tmp_path / "nope"))], stats=stats)) == []
    assert stats.skipped_sources == [str(tmp_path / "nope")]


def test_read_all_yields_an_empty_source_with_no_batches(tmp_path: Path) -> None:
    empty = tmp_path / "empty.log"
    empty.write_bytes(b"")
    seen = [(s.name, list(b)) for s, b in read_all([Source(str(empty))])]
    assert seen == [(str(empty), [])]


def test_glob_is_expanded_sorted_and_skips_directories(tmp_path: Path) -> None:
    for name in ["b.log", "a.log", "c.txt"]:
        (tmp_path / name).write_bytes(b"x\n")
    (tmp_path / "dir.log").mkdir()
    sources, problems = resolve_inputs([str(tmp_path / "*.log")])
    assert [s.name for s in sources] == [str(tmp_path / "a.log"), str(tmp_path / "b.log")]
    assert problems == []


def test_glob_matching_nothing_is_a_problem_not_an_error(tmp_path: Path) -> None:
    (tmp_path / "a.log").write_bytes(b"x\n")
    pattern = str(tmp_path / "*.gz")
    sources, problems = resolve_inputs([pattern, str(tmp_path / "a.log")])
    assert [s.name for s in sources] == [str(tmp_path / "a.log")]
    assert problems == [SourceProblem(pattern, f"{pattern}: no files match this pattern")]


def test_glob_matching_only_directories_is_a_problem(tmp_path: Path) -> None:
    (tmp_path / "2024").mkdir()
    (tmp_path / "2025").mkdir()
    pattern = str(tmp_path / "20*")
    sources, problems = resolve_inputs([pattern])
    assert sources == []
    assert len(problems) == 1
    assert problems[0].source == pattern
    assert "directories" in problems[0].message


def test_resolve_inputs_keeps_dash_literal_paths_and_defaults_to_stdin(tmp_path: Path) -> None:
    odd = tmp_path / "weird[1].log"  # exists: taken literally, not as a pattern
    odd.write_bytes(b"x\n")
    missing = str(tmp_path / "missing.log")  # no magic: left for the reader to report
    sources, problems = resolve_inputs(["-", str(odd), missing])
    assert [s.name for s in sources] == ["-", str(odd), missing]
    assert problems == []
    assert resolve_inputs([]) == ([Source("-")], [])


def test_source_display_and_size(tmp_path: Path) -> None:
    path = tmp_path / "a.log"
    path.write_bytes(b"12345")
    assert Source("-").display == "<stdin>"
    assert Source("-").size() is None
    assert Source(str(path)).size() == 5
    assert Source(str(tmp_path / "missing")).size() is None


# --- stdin ---------------------------------------------------------------------------------


def test_dash_reads_stdin_buffer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", FakeStdin(io.BytesIO(b"one\ntwo\r\nthree")))
    stats = ReadStats()
    got = rows(read_batches(Source("-"), stats=stats))
    assert [r[:3] for r in got] == [(1, 0, "one"), (2, 4, "two"), (3, 9, "three")]
    assert (stats.lines, stats.bytes) == (3, 14)


def test_dash_reads_stdin_text_wrapper(monkeypatch: pytest.MonkeyPatch) -> None:
    set_stdin(monkeypatch, "héllo\nwörld\n".encode())
    batches = list(read_batches(Source("-")))
    assert [r[2] for r in rows(batches)] == ["héllo", "wörld"]
    assert {b.source for b in batches} == {"<stdin>"}


def test_empty_stdin_is_zero_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    set_stdin(monkeypatch, b"")
    stats = ReadStats()
    assert list(read_batches(Source("-"), stats=stats)) == []
    assert (stats.lines, stats.bytes) == (0, 0)


def test_closed_stdin_is_an_input_error(monkeypatch: pytest.MonkeyPatch) -> None:
    # `logsentry parse - <&-`: Python sets sys.stdin to None.
    monkeypatch.setattr(sys, "stdin", None)
    with pytest.raises(InputError, match="stdin"):
        list(read_batches(Source("-")))
    closed = io.BytesIO(b"x\n")
    closed.close()
    monkeypatch.setattr(sys, "stdin", FakeStdin(closed))
    with pytest.raises(InputError, match="stdin"):
        list(read_batches(Source("-")))


def test_stdin_is_not_closed_after_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    buffer = io.BufferedReader(io.BytesIO(b"a\n"))
    monkeypatch.setattr(sys, "stdin", FakeStdin(buffer))
    assert [r[2] for r in rows(read_batches(Source("-")))] == ["a"]
    assert not buffer.closed


def test_stdin_read_error_keeps_lines_before_it(monkeypatch: pytest.MonkeyPatch) -> None:
    data = b"".join(b"line %d\n" % n for n in range(100))
    raw = TrickleRaw(data + b"partial", step=64, fail_after=len(data) + 3)
    monkeypatch.setattr(sys, "stdin", FakeStdin(io.BufferedReader(raw)))
    got: list[Row] = []
    with pytest.raises(InputError) as info:
        for batch in read_batches(Source("-")):
            got.extend(rows([batch]))
    assert [r[2] for r in got[:100]] == [f"line {n}" for n in range(100)]
    assert "<stdin>" in str(info.value)
    assert "ends early" in str(info.value)


# --- gzip ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["app.log", "app.gz", "noext", "app.log.1"])
def test_gzip_is_detected_by_magic_whatever_the_name(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(gzip.compress(b"alpha\nbeta\n"))
    got, stats = read(path)
    assert [r[:3] for r in got] == [(1, 0, "alpha"), (2, 6, "beta")]
    assert stats.bytes == 11  # offsets and bytes count decompressed data


def test_plain_text_named_gz_is_read_as_text(tmp_path: Path) -> None:
    path = tmp_path / "not-really.gz"
    path.write_bytes(b"plain\n")
    assert texts(path) == ["plain"]


def test_gzip_on_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    set_stdin(monkeypatch, gzip.compress(b"from\nstdin\n"))
    assert [r[2] for r in rows(read_batches(Source("-")))] == ["from", "stdin"]


def test_gzip_on_a_pipe_that_delivers_one_byte_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    data = b"".join(b"slow %d\n" % n for n in range(50))
    raw = TrickleRaw(gzip.compress(data), step=1)
    monkeypatch.setattr(sys, "stdin", FakeStdin(io.BufferedReader(raw)))
    assert [r[2] for r in rows(read_batches(Source("-")))] == [f"slow {n}" for n in range(50)]


def test_plain_text_on_a_one_byte_pipe(monkeypatch: pytest.MonkeyPatch) -> None:
    data = b"\x1fweird but text\nsecond\n"  # starts like gzip magic, is not
    monkeypatch.setattr(sys, "stdin", FakeStdin(io.BufferedReader(TrickleRaw(data, step=1))))
    got = rows(read_batches(Source("-"), force=True))
    assert [r[:3] for r in got] == [(1, 0, "\x1fweird but text"), (2, 16, "second")]


def test_a_one_byte_file_starting_like_gzip(tmp_path: Path, opened: list[Any]) -> None:
    path = tmp_path / "one"
    path.write_bytes(b"\x1f")
    assert texts(path, force=True) == ["\x1f"]
    assert all(f.closed for f in opened)


def test_concatenated_gzip_members_are_one_stream(tmp_path: Path) -> None:
    path = tmp_path / "rotated.gz"
    path.write_bytes(gzip.compress(b"one\ntwo\n") + gzip.compress(b"three\n")
                     + gzip.compress(b"") + gzip.compress(b"four\n"))
    got, _ = read(path)
    assert [r[:3] for r in got] == [(1, 0, "one"), (2, 4, "two"), (3, 8, "three"),
                                    (4, 14, "four")]


def test_line_split_across_gzip_members(tmp_path: Path) -> None:
    path = tmp_path / "split.gz"
    path.write_bytes(gzip.compress(b"a\nhal") + gzip.compress(b"f line\nb\n"))
    assert texts(path) == ["a", "half line", "b"]


def test_empty_gzip_is_zero_lines(tmp_path: Path) -> None:
    path = tmp_path / "empty.gz"
    path.write_bytes(gzip.compress(b""))
    got, stats = read(path)
    assert got == []
    assert (stats.lines, stats.bytes, stats.skipped_sources) == (0, 0, [])


def _gzip_lines(count: int) -> bytes:
    rng = random.Random(7)  # incompressible enough that the data spans several reads
    return b"".join(b"%06d %s\n" % (n, rng.randbytes(40).hex().encode()) for n in range(count))


def test_truncated_gzip_yields_lines_before_the_damage_then_input_error(
        tmp_path: Path, opened: list[Any]) -> None:
    data = _gzip_lines(40_000)  # 3.5 MB decompressed
    packed = gzip.compress(data)
    path = tmp_path / "cut.log.gz"
    path.write_bytes(packed[: len(packed) // 2])
    stats = ReadStats()
    got: list[Row] = []
    with pytest.raises(InputError) as info:
        for batch in read_batches(Source(str(path)), stats=stats):
            got.extend(rows([batch]))
    message = str(info.value)
    assert message.startswith(f"{path}: input ends early after line {len(got)} ")
    assert "gzip" in message and "\n" not in message
    expected = reference(data)
    complete, last = got[:-1], got[-1]
    assert len(complete) > 10_000
    assert complete == expected[: len(complete)]
    # The line the damage cut in two is kept, flagged truncated: nothing read is lost.
    number, offset, text, truncated, _ = last
    assert (number, offset, truncated) == (len(got), expected[len(got) - 1][1], True)
    assert expected[len(got) - 1][2].startswith(text)
    assert f"line {number} is cut short" in message
    assert stats.lines == len(got)
    assert stats.truncated_lines == 1
    assert stats.bytes == offset + len(text.encode())
    assert all(f.closed for f in opened)


def test_gzip_cut_in_its_trailer_keeps_every_line(tmp_path: Path) -> None:
    data = b"".join(b"line %d\n" % n for n in range(1000))
    path = tmp_path / "trailer.gz"
    path.write_bytes(gzip.compress(data)[:-4])  # the length field is gone
    got: list[Row] = []
    with pytest.raises(InputError, match="ends early after line 1000") as info:
        for batch in read_batches(Source(str(path))):
            got.extend(rows([batch]))
    assert got == reference(data)
    assert "cut short" not in str(info.value)


def test_truncated_gzip_is_reported_by_read_all_and_the_next_source_read(tmp_path: Path) -> None:
    data = _gzip_lines(20_000)
    packed = gzip.compress(data)
    bad = tmp_path / "a.gz"
    bad.write_bytes(packed[: len(packed) * 2 // 3])
    good = tmp_path / "b.log"
    good.write_bytes(b"after\n")
    problems: list[SourceProblem] = []
    stats = ReadStats()
    seen = {s.name: rows(b) for s, b in read_all([Source(str(bad)), Source(str(good))],
                                                 stats=stats, on_problem=problems.append)}
    assert [r[2] for r in seen[str(good)]] == ["after"]
    assert seen[str(bad)][:100] == reference(data)[:100]
    assert [p.source for p in problems] == [str(bad)]
    assert "ends early" in problems[0].message
    assert stats.skipped_sources == [str(bad)]
    assert stats.lines == len(seen[str(bad)]) + 1


def test_truncated_gzip_before_any_line_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "head.gz"
    path.write_bytes(gzip.compress(b"x" * 1000 + b"\n")[:12])
    problems: list[SourceProblem] = []
    seen = [rows(b) for _, b in read_all([Source(str(path))], on_problem=problems.append)]
    assert all(r[3] for batch in seen for r in batch)  # anything kept is flagged truncated
    assert len(problems) == 1 and "gzip" in problems[0].message


@pytest.mark.parametrize("payload", [
    b"\x1f\x8b",  # magic only
    b"\x1f\x8b\x09\x00" + bytes(20),  # unknown compression method
    b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + b"\xff" * 64,  # header fine, deflate garbage
])
def test_corrupt_gzip_is_an_input_error(tmp_path: Path, payload: bytes,
                                        opened: list[Any]) -> None:
    path = tmp_path / "bad.gz"
    path.write_bytes(payload)
    with pytest.raises(InputError) as info:
        list(read_batches(Source(str(path))))
    assert str(info.value).startswith(f"{path}: ")
    assert "gzip" in str(info.value)
    assert all(f.closed for f in opened)


def test_gzip_damaged_anywhere_gives_lines_or_input_error_never_a_crash(tmp_path: Path) -> None:
    data = _gzip_lines(3000)
    packed = gzip.compress(data)
    rng = random.Random(3)
    path = tmp_path / "flipped.gz"
    for _ in range(30):
        damaged = bytearray(packed)
        for _ in range(rng.randint(1, 4)):
            damaged[rng.randrange(len(damaged))] ^= 1 << rng.randrange(8)
        path.write_bytes(bytes(damaged))
        got: list[Row] = []
        try:
            for batch in read_batches(Source(str(path)), force=True):
                got.extend(rows([batch]))
        except InputError as exc:
            assert "\n" not in str(exc)
        assert [r[0] for r in got] == list(range(1, len(got) + 1))


def test_binary_gzip_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "blob.gz"
    path.write_bytes(gzip.compress(bytes(range(256)) * 10))
    with pytest.raises(InputError, match="--force"):
        list(read_batches(Source(str(path))))


def test_gzip_files_are_closed_after_reading(tmp_path: Path, opened: list[Any]) -> None:
    for i in range(3):
        (tmp_path / f"{i}.gz").write_bytes(gzip.compress(b"x\n"))
        assert texts(tmp_path / f"{i}.gz") == ["x"]
    assert len(opened) == 3
    assert all(f.closed for f in opened)


def test_a_file_abandoned_part_way_is_closed(tmp_path: Path, opened: list[Any]) -> None:
    path = tmp_path / "big.log"
    path.write_bytes(b"y" * 100 + b"\n" * (3 * MiB))
    batches = cast(Generator[LineBatch, None, None], read_batches(Source(str(path))))
    next(batches)
    batches.close()
    assert all(f.closed for f in opened)


# --- decoding, CRLF, last line ------------------------------------------------------------


def test_invalid_utf8_is_replaced_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "latin1.log"
    path.write_bytes("café ok\n".encode() + "café latin1\n".encode("latin-1")
                     + b"\xff\xfe\n" + b"truncated \xe2\x82\n" + b"fine\n")
    got, stats = read(path)
    assert [r[2] for r in got] == ["café ok", "caf\ufffd latin1", "\ufffd\ufffd",
                                   "truncated \ufffd", "fine"]
    assert [r[4] for r in got] == [False, True, True, True, False]
    assert stats.invalid_utf8_lines == 3
    assert [r[1] for r in got] == [r[1] for r in reference(path.read_bytes())]


def test_replacement_char_in_valid_utf8_is_not_counted_as_invalid(tmp_path: Path) -> None:
    path = tmp_path / "fffd.log"
    path.write_bytes("already \ufffd here\n".encode())
    got, stats = read(path)
    assert got == [(1, 0, "already \ufffd here", False, False)]
    assert stats.invalid_utf8_lines == 0


def test_crlf_is_stripped_but_counted_in_offsets(tmp_path: Path) -> None:
    path = tmp_path / "win.log"
    path.write_bytes(b"one\r\ntwo\r\n\r\nfour\r\n")
    got, stats = read(path)
    assert [r[:3] for r in got] == [(1, 0, "one"), (2, 5, "two"), (3, 10, ""), (4, 12, "four")]
    assert stats.bytes == 18


def test_cr_inside_a_line_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "cr.log"
    path.write_bytes(b"progress 10%\rprogress 100%\n")
    assert texts(path) == ["progress 10%\rprogress 100%"]


def test_last_line_without_newline(tmp_path: Path) -> None:
    path = tmp_path / "tail.log"
    path.write_bytes(b"a\nb\nlast")
    got, stats = read(path)
    assert [r[:3] for r in got] == [(1, 0, "a"), (2, 2, "b"), (3, 4, "last")]
    assert (stats.lines, stats.bytes) == (3, 8)


def test_last_line_with_cr_but_no_newline(tmp_path: Path) -> None:
    path = tmp_path / "tail.log"
    path.write_bytes("a\r\nlast é\r".encode())
    assert texts(path) == ["a", "last é"]


@pytest.mark.parametrize("data", [b"", b"\n", b"\n\n\n", b"\r\n", b"x"])
def test_tiny_inputs(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "tiny.log"
    path.write_bytes(data)
    got, stats = read(path)
    assert got == reference(data)
    assert (stats.lines, stats.bytes) == (len(got), len(data))


def test_empty_file_is_zero_lines_and_no_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.log"
    path.write_bytes(b"")
    got, stats = read(path)
    assert got == []
    assert (stats.lines, stats.bytes, stats.truncated_lines) == (0, 0, 0)


# --- the line cap --------------------------------------------------------------------------


def test_line_of_exactly_cap_bytes_is_not_truncated(tmp_path: Path) -> None:
    path = tmp_path / "cap.log"
    path.write_bytes(b"a" * 100 + b"\n" + b"b" * 101 + b"\nc\n")
    got, stats = read(path, max_line_bytes=100)
    assert got == [(1, 0, "a" * 100, False, False), (2, 101, "b" * 100, True, False),
                   (3, 203, "c", False, False)]
    assert stats.truncated_lines == 1


@pytest.mark.parametrize("body", ["a" * 10, "é" * 5, "aé中abcd"])
def test_cap_ignores_the_crlf_line_ending(tmp_path: Path, body: str) -> None:
    raw = body.encode()
    assert len(raw) == 10
    path = tmp_path / "crlf.log"
    path.write_bytes(raw + b"\r\n" + raw + b"x\r\n")
    got, stats = read(path, max_line_bytes=10)
    assert got[0] == (1, 0, body, False, False)
    assert got[1][2:4] == (body, True)
    assert stats.truncated_lines == 1


@pytest.mark.parametrize("char", ["é", "中", "🙂"])
@pytest.mark.parametrize("shift", [0, 1, 2, 3])
def test_multibyte_char_straddling_the_cap_is_not_split(tmp_path: Path, char: str,
                                                        shift: int) -> None:
    cap = 20
    line = ("a" * (cap - shift) + char * 5).encode()
    path = tmp_path / "utf8.log"
    path.write_bytes(line + b"\nnext\n")
    got, stats = read(path, max_line_bytes=cap)
    text = got[0][2]
    assert got[0][3] is True and got[0][4] is False
    assert "\ufffd" not in text
    assert len(text.encode()) <= cap
    assert len(text.encode()) > cap - len(char.encode())
    assert line.decode().startswith(text)
    assert got[1] == (2, len(line) + 1, "next", False, False)
    assert stats.invalid_utf8_lines == 0


def test_ten_mb_line_without_newline_at_eof(tmp_path: Path) -> None:
    path = tmp_path / "huge.log"
    path.write_bytes(b"head\n" + b"z" * (10 * MiB))
    got, stats = read(path)
    assert got == [(1, 0, "head", False, False),
                   (2, 5, "z" * reader.DEFAULT_MAX_LINE_BYTES, True, False)]
    assert (stats.lines, stats.bytes, stats.truncated_lines) == (2, 5 + 10 * MiB, 1)


def test_five_mb_line_in_the_middle_keeps_later_numbers_and_offsets(tmp_path: Path) -> None:
    before = [b"before %d\n" % n for n in range(1000)]
    huge = "é".encode() * (5 * MiB // 2) + b"\r\n"
    after = [b"after %d \xc3\xa9\r\n" % n for n in range(1000)]
    data = b"".join([*before, huge, *after])
    path = tmp_path / "middle.log"
    path.write_bytes(data)
    got, stats = read(path)
    assert got == reference(data)
    assert got[1000][:2] == (1001, sum(map(len, before)))
    assert got[1000][3] is True
    assert got[-1][:3] == (2001, len(data) - len(after[-1]), "after 999 é")
    assert (stats.lines, stats.bytes, stats.truncated_lines) == (2001, len(data), 1)


def test_cr_at_the_cut_of_a_long_line_is_content(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    line = b"a" * 9 + b"\r" + b"b" * 5000 + b"\n"
    path = tmp_path / "cr.log"
    path.write_bytes(line + b"next\n")
    in_one_read = read(path, max_line_bytes=10)[0]
    monkeypatch.setattr(reader, "CHUNK_BYTES", 64)  # the long line now spans reads
    across_reads = read(path, max_line_bytes=10)[0]
    assert in_one_read == across_reads == reference(line + b"next\n", 10)
    assert in_one_read[0][2] == "a" * 9 + "\r"


def test_invalid_flag_of_a_long_line_does_not_depend_on_reads(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    line = b"a" * 50 + b"\xff" * 10 + b"\n"  # the invalid bytes are all past the cap
    path = tmp_path / "inv.log"
    path.write_bytes(line * 3)
    in_one_read, stats_one = read(path, max_line_bytes=20)
    monkeypatch.setattr(reader, "CHUNK_BYTES", 8)
    across_reads, stats_across = read(path, max_line_bytes=20)
    assert in_one_read == across_reads == reference(line * 3, 20)
    assert [r[3:] for r in in_one_read] == [(True, False)] * 3
    assert stats_one == stats_across


def test_max_line_bytes_below_one_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "a.log"
    path.write_bytes(b"x\n")
    with pytest.raises(InputError, match="max-line-bytes"):
        list(read_batches(Source(str(path)), max_line_bytes=0))


def test_cap_of_one_byte(tmp_path: Path) -> None:
    data = "ab\né\n🙂x\nc\n".encode()
    path = tmp_path / "one.log"
    path.write_bytes(data)
    got, _ = read(path, max_line_bytes=1)
    assert got == reference(data, 1)
    assert [r[2] for r in got] == ["a", "", "", "c"]


@pytest.mark.slow
def test_reading_a_50_mb_line_does_not_hold_it_in_memory(tmp_path: Path) -> None:
    path = tmp_path / "one-line.log"
    with path.open("wb") as f:
        block = b"q" * MiB
        for _ in range(50):
            f.write(block)
        f.write(b"\nafter\n")
    stats = ReadStats()
    tracemalloc.start()
    try:
        got = rows(read_batches(Source(str(path)), stats=stats))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [r[2:4] for r in got] == [("q" * reader.DEFAULT_MAX_LINE_BYTES, True),
                                     ("after", False)]
    assert got[1][:2] == (2, 50 * MiB + 1)
    assert stats.bytes == 50 * MiB + 7
    assert peak < 8 * MiB, f"peak {peak / MiB:.1f} MiB while reading a 50 MiB line"


# --- binary input ---------------------------------------------------------------------------


def _elf() -> bytes:
    return b"\x7fELF\x02\x01\x01\x00" + bytes(8) + b"\x02\x00\x3e\x00" + bytes(1000)


@pytest.mark.parametrize("payload", [
    pytest.param(b"log line\n\x00\x00\x00 more\n", id="nul"),
    pytest.param(_elf(), id="elf"),
    pytest.param(random.Random(1).randbytes(64 * 1024), id="random"),
    pytest.param(bytes(range(1, 9)) * 200, id="controls-no-nul"),
])
def test_binary_input_is_refused_with_a_hint(tmp_path: Path, payload: bytes,
                                             opened: list[Any]) -> None:
    path = tmp_path / "blob"
    path.write_bytes(payload)
    with pytest.raises(InputError) as info:
        list(read_batches(Source(str(path))))
    message = str(info.value)
    assert message.startswith(f"{path}: ") and "--force" in message and "\n" not in message
    assert all(f.closed for f in opened)
    got, stats = read(path, force=True)
    assert got == reference(payload)
    assert stats.bytes == len(payload)


def test_binary_stdin_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    set_stdin(monkeypatch, _elf())
    with pytest.raises(InputError, match=r"^<stdin>: .*--force"):
        list(read_batches(Source("-")))


def test_colored_logs_are_text_not_binary(tmp_path: Path) -> None:
    path = tmp_path / "color.log"
    path.write_bytes(b"\x1b[31mERROR\x1b[0m disk full\t(sda)\f\n" * 500)
    assert texts(path)[0] == "\x1b[31mERROR\x1b[0m disk full\t(sda)\f"


def test_binary_bytes_after_the_sample_are_read(tmp_path: Path) -> None:
    data = b"text line\n" * 2000 + b"\x00\x01\x02 oops\n" + b"end\n"
    path = tmp_path / "late.log"
    path.write_bytes(data)
    assert read(path)[0] == reference(data)


# --- byte offsets against a naive reference --------------------------------------------------


def test_offsets_of_a_multi_mb_mixed_file_match_a_naive_split(tmp_path: Path) -> None:
    rng = random.Random(2024)
    lines = mixed_lines(rng, 30_000, long_every=3_000, long_size=150_000)
    data = b"".join(lines)
    assert len(data) > 3 * MiB
    path = tmp_path / "mixed.log"
    path.write_bytes(data)
    stats = ReadStats()
    got = rows(read_batches(Source(str(path)), stats=stats))
    expected = reference(data)
    assert len(got) == len(expected)
    bad = [(g, e) for g, e in zip(got, expected, strict=True) if g != e]
    assert not bad, f"{len(bad)} lines differ; first: {bad[0]}"
    boundaries = {o // MiB for _, o, *_ in got}
    assert len(boundaries) >= 3  # the lines really do cross chunk boundaries
    assert stats.lines == len(expected)
    assert stats.bytes == len(data)
    assert stats.truncated_lines == sum(r[3] for r in expected) > 0
    assert stats.invalid_utf8_lines == sum(r[4] for r in expected) > 0


def test_the_same_data_gzipped_and_on_stdin_reads_the_same(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = b"".join(mixed_lines(random.Random(5), 5_000, long_every=700, long_size=90_000))
    path = tmp_path / "mixed.gz"
    path.write_bytes(gzip.compress(data, compresslevel=1))
    expected = reference(data)
    assert read(path)[0] == expected
    set_stdin(monkeypatch, data)
    assert rows(read_batches(Source("-"))) == expected


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64, 4096])
@pytest.mark.parametrize("cap", [1, 4, 9, 33])
def test_any_chunk_size_and_cap_give_the_reference_lines(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int, cap: int) -> None:
    monkeypatch.setattr(reader, "CHUNK_BYTES", chunk)
    rng = random.Random(chunk * 1000 + cap)
    data = b"".join(mixed_lines(rng, 150, long_every=25, long_size=200))
    path = tmp_path / "stress.log"
    path.write_bytes(data)
    stats = ReadStats()
    got = rows(read_batches(Source(str(path)), max_line_bytes=cap, stats=stats))
    assert got == reference(data, cap)
    assert stats.bytes == len(data)
    assert stats.truncated_lines == sum(r[3] for r in got)
    assert stats.invalid_utf8_lines == sum(r[4] for r in got)


# --- paths that are not readable files -------------------------------------------------------


def test_directory_argument_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is a directory"):
        list(read_batches(Source(str(tmp_path))))


def test_missing_file_says_no_such_file(tmp_path: Path) -> None:
    missing = tmp_path / "gone.log"
    with pytest.raises(InputError) as info:
        list(read_batches(Source(str(missing))))
    assert str(info.value).startswith(f"{missing}: no such file")


def test_broken_symlink_says_no_such_file(tmp_path: Path) -> None:
    link = tmp_path / "current.log"
    link.symlink_to(tmp_path / "rotated-away.log")
    sources, problems = resolve_inputs([str(tmp_path / "*.log")])
    assert [s.name for s in sources] == [str(link)] and problems == []
    with pytest.raises(InputError, match="no such file"):
        list(read_batches(sources[0]))


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                    reason="root can read a chmod 000 file")
def test_unreadable_file_says_permission_denied(tmp_path: Path) -> None:
    path = tmp_path / "secret.log"
    path.write_bytes(b"x\n")
    path.chmod(0)
    try:
        with pytest.raises(InputError, match="permission denied"):
            list(read_batches(Source(str(path))))
    finally:
        path.chmod(0o644)


def test_permission_error_on_open_says_permission_denied(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The same failure path as chmod 000, reachable when the tests run as root.
    path = tmp_path / "secret.log"
    path.write_bytes(b"x\n")

    def denied(*args: Any, **kwargs: Any) -> Any:
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), args[0])

    monkeypatch.setattr(reader, "open", denied, raising=False)
    with pytest.raises(InputError) as info:
        list(read_batches(Source(str(path))))
    assert str(info.value).startswith(f"{path}: permission denied")


def test_other_open_errors_are_input_errors(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    def failing(*args: Any, **kwargs: Any) -> Any:
        raise OSError(errno.EMFILE, os.strerror(errno.EMFILE))

    monkeypatch.setattr(reader, "open", failing, raising=False)
    with pytest.raises(InputError, match="cannot open"):
        list(read_batches(Source(str(tmp_path / "any.log"))))


def test_dev_null_is_empty_and_dev_zero_is_binary() -> None:
    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero on this system")
    assert read("/dev/null")[0] == []
    with pytest.raises(InputError, match="--force"):
        next(read_batches(Source("/dev/zero")))


def test_utf8_bom_is_not_part_of_the_first_line_but_counts_in_offsets(tmp_path: Path) -> None:
    path = tmp_path / "bom.log"
    path.write_bytes(b"\xef\xbb\xbffirst\nsecond\n")
    lines = list(iter_lines(read_batches(Source(str(path)))))
    assert lines == [(1, 0, "first"), (2, 9, "second")]
