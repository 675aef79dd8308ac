"""Read any input as numbered, decoded lines without ever crashing on content.

* ``-`` is stdin; gzip is recognised by its magic bytes (any name, stdin too).
* Invalid UTF-8 is decoded with U+FFFD and counted; lines over the cap are
  truncated (at a character boundary) and flagged; the rest of such a line is
  skipped but still counted in byte offsets.
* Binary input (NUL bytes or many control bytes in the first 8 KiB) is
  refused unless ``force``; an empty input is simply zero lines.
"""

from __future__ import annotations

import glob
import gzip
import io
import os
import sys
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import accumulate
from typing import Any, BinaryIO

from logsentry.errors import InputError
from logsentry.types import LineBatch, ReadStats

DEFAULT_MAX_LINE_BYTES = 64 * 1024
SAMPLE_BYTES = 8192
_GZIP_MAGIC = b"\x1f\x8b"
# Control bytes that do not occur in text logs (TAB, LF, VT, FF, CR and ESC do).
_BINARY_BYTES = bytes(range(0, 9)) + bytes(range(14, 27)) + bytes(range(28, 32)) + b"\x7f"
_BINARY_TABLE = bytes.maketrans(b"", b"")


@dataclass(frozen=True, slots=True)
class Source:
    """A named input: a file path, or ``-`` for stdin."""

    name: str

    @property
    def is_stdin(self) -> bool:
        return self.name == "-"

    @property
    def display(self) -> str:
        return "<stdin>" if self.is_stdin else self.name

    def size(self) -> int | None:
        if self.is_stdin:
            return None
        try:
            return os.stat(self.name).st_size
        except OSError:
            return None


@dataclass(frozen=True, slots=True)
class SourceProblem:
    """A source that could not be (fully) read; reported, and the run goes on."""

    source: str
    message: str


def resolve_inputs(args: Iterable[str]) -> tuple[list[Source], list[SourceProblem]]:
    """Expand globs (for shells that did not) and keep ``-``; no args means stdin."""
    sources: list[Source] = []
    problems: list[SourceProblem] = []
    args = list(args) or ["-"]
    for arg in args:
        if arg == "-" or os.path.lexists(arg) or not glob.has_magic(arg):
            sources.append(Source(arg))
            continue
        matches = sorted(glob.glob(os.path.expanduser(arg)))
        files = [m for m in matches if not os.path.isdir(m)]
        if not matches:
            problems.append(SourceProblem(arg, f"{arg}: no files match this pattern"))
        elif not files:
            problems.append(SourceProblem(arg, f"{arg}: matches only directories, no files"))
        sources.extend(Source(m) for m in files)
    return sources, problems


def _open_raw(source: Source) -> Any:
    if source.is_stdin:
        # sys.stdin is None when fd 0 is closed (`logsentry parse - <&-`).
        stdin = getattr(sys.stdin, "buffer", None)
        if stdin is None or stdin.closed:
            raise InputError("<stdin>: standard input is closed; pass the log files as arguments")
        return stdin
    name = source.name
    try:
        if os.path.isdir(name):
            raise InputError(
                f"{name}: is a directory; pass the log files in it (e.g. {name}/*.log)"
            )
        return open(name, "rb", buffering=1 << 16)  # closed by read_batches
    except FileNotFoundError:
        raise InputError(f"{name}: no such file; check the path") from None
    except PermissionError:
        raise InputError(f"{name}: permission denied; run as a user who can read it") from None
    except OSError as exc:
        raise InputError(f"{name}: cannot open ({exc.strerror})") from None


def looks_binary(sample: bytes) -> bool:
    """NUL bytes, or more than 10% control bytes that text logs never contain."""
    if not sample:
        return False
    if b"\x00" in sample:
        return True
    controls = len(sample) - len(sample.translate(_BINARY_TABLE, _BINARY_BYTES))
    return controls * 10 > len(sample)


def _decode(raw: bytes) -> tuple[str, bool]:
    try:
        return raw.decode("utf-8"), False
    except UnicodeDecodeError:
        return raw.decode("utf-8", "replace"), True


def _cut_at_char_boundary(raw: bytes, limit: int) -> bytes:
    cut = limit
    # Step back over UTF-8 continuation bytes (10xxxxxx) so no character is split.
    while cut > 0 and cut > limit - 4 and (raw[cut] & 0xC0) == 0x80:
        cut -= 1
    return raw[:cut]


def open_stream(source: Source, *, force: bool = False) -> BinaryIO:
    """Open a source for reading lines: gzip unwrapped, binary refused unless ``force``."""
    raw = _open_raw(source)
    buffered: io.BufferedReader[Any] = (
        raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(raw)
    )
    try:
        head = buffered.peek(SAMPLE_BYTES)[:SAMPLE_BYTES]
        if head == _GZIP_MAGIC[:1]:
            # A pipe can deliver the first byte alone; the magic needs both.
            head = buffered.read(2)
            prefixed = _Prefixed(head, buffered, owns_rest=not source.is_stdin)
            buffered = io.BufferedReader(prefixed)
        stream: BinaryIO = buffered
        if head[:2] == _GZIP_MAGIC:
            stream = gzip.GzipFile(fileobj=buffered, mode="rb")  # type: ignore[assignment]
            head = stream.peek(SAMPLE_BYTES)[:SAMPLE_BYTES]  # type: ignore[attr-defined]
        if not force and looks_binary(head):
            raise InputError(
                f"{source.display}: looks like binary data, not a log "
                "(NUL or control bytes at the start); pass --force to read it anyway"
            )
        return stream
    except (OSError, EOFError, zlib.error) as exc:
        if not source.is_stdin:
            raw.close()
        raise InputError(f"{source.display}: cannot read ({_reason(exc)})") from None
    except InputError:
        if not source.is_stdin:
            raw.close()
        raise


class _Prefixed(io.RawIOBase):
    """Bytes already read from ``rest``, then the rest of it."""

    def __init__(self, prefix: bytes, rest: io.BufferedReader[Any], *, owns_rest: bool) -> None:
        self.prefix = prefix
        self.rest = rest
        self.owns_rest = owns_rest  # False for stdin, which is never closed

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.prefix:
            data, self.prefix = self.prefix[: len(buffer)], self.prefix[len(buffer) :]
        else:
            data = self.rest.read1(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        super().close()
        if self.owns_rest:
            self.rest.close()


def _close(stream: BinaryIO) -> None:
    """Close a stream and what it wraps (GzipFile leaves a passed-in fileobj open)."""
    inner = getattr(stream, "fileobj", None)
    stream.close()
    if inner is not None:
        inner.close()


def _reason(exc: BaseException) -> str:
    if isinstance(exc, gzip.BadGzipFile | zlib.error | EOFError):
        return f"corrupt or truncated gzip data: {exc}"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


CHUNK_BYTES = 1 << 20


def _batch(source: str, number: int, pos: int, block: bytes, cap: int) -> LineBatch:
    """Split a block of complete lines (ending in b"\\n") into a decoded batch."""
    raw_parts = None
    truncated: set[int] = set()
    invalid: set[int] = set()
    if block.isascii():
        parts = block.decode("ascii").split("\n")
        parts.pop()
    else:
        raw_parts = block.split(b"\n")
        raw_parts.pop()
        try:
            parts = block.decode("utf-8").split("\n")
            parts.pop()
        except UnicodeDecodeError:
            parts = []
            for i, raw in enumerate(raw_parts):
                text, bad = _decode(raw)
                if bad:
                    invalid.add(i)
                parts.append(text)
    lengths = map(len, raw_parts if raw_parts is not None else parts)
    offsets = list(accumulate(map((1).__add__, lengths), initial=pos))
    offsets.pop()
    if b"\r" in block:
        parts = [p[:-1] if p.endswith("\r") else p for p in parts]
    if parts and max(map(len, parts)) > (cap if raw_parts is None else cap // 4):
        for i, text in enumerate(parts):
            # The cap counts the line's bytes without its line ending (LF or CRLF).
            raw = raw_parts[i] if raw_parts is not None else text.encode("ascii")
            if len(raw) - raw.endswith(b"\r") > cap:
                parts[i], bad = _decode(_cut_at_char_boundary(raw, cap))
                truncated.add(i)
                # Flag what is kept: the skipped rest of a long line is never decoded
                # when it spans reads, so flagging it here would depend on chunking.
                if bad:
                    invalid.add(i)
                else:
                    invalid.discard(i)
    return LineBatch(source, number, parts, offsets, frozenset(truncated), frozenset(invalid))


def read_batches(
    source: Source,
    *,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    force: bool = False,
    stats: ReadStats | None = None,
) -> Iterator[LineBatch]:
    """Yield every line of ``source`` in batches; raises InputError if it cannot be opened.

    A read error part-way (a truncated .gz) raises InputError after the lines
    read so far have been yielded, so none of them is lost (the line the damage
    cut in two is yielded too, flagged truncated). Memory stays bounded by the
    chunk size plus the line cap, however long a line is. A UTF-8 byte-order
    mark at the start is not part of line 1's text (its bytes still count in
    offsets).
    """
    batches = _read_batches(source, max_line_bytes=max_line_bytes, force=force, stats=stats)
    first = next(batches, None)
    if first is None:
        return
    if first.texts and first.texts[0].startswith("\ufeff"):
        first.texts[0] = first.texts[0][1:]
    yield first
    yield from batches


def _read_batches(
    source: Source,
    *,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    force: bool = False,
    stats: ReadStats | None = None,
) -> Iterator[LineBatch]:
    """Yield every line of ``source`` in batches; raises InputError if it cannot be opened.

    A read error part-way (a truncated .gz) raises InputError after the lines
    read so far have been yielded, so none of them is lost (the line the damage
    cut in two is yielded too, flagged truncated). Memory stays
    bounded by the chunk size plus the line cap, however long a line is.
    """
    if max_line_bytes < 1:
        raise InputError("--max-line-bytes must be at least 1")
    stats = stats if stats is not None else ReadStats()
    stream = open_stream(source, force=force)
    name = source.display
    read = getattr(stream, "read1", stream.read)
    cap = max_line_bytes
    number = 1  # number of the next line
    pos = 0  # byte position of buf[0]
    buf = b""
    long_start = -1  # start of an over-long line being skipped, else -1
    long_head = b""
    failure: BaseException | None = None  # a read error part-way (damaged .gz)
    try:
        while True:
            try:
                chunk = read(CHUNK_BYTES)
            except (OSError, EOFError, zlib.error) as exc:
                failure = exc
                break
            if not chunk:
                break
            if long_start >= 0:
                newline = chunk.find(b"\n")
                if newline < 0:
                    pos += len(chunk)
                    continue
                yield _long_line(name, number, long_start, long_head, cap, stats)
                number += 1
                pos += newline + 1
                chunk = chunk[newline + 1 :]
                long_start = -1
            buf = buf + chunk if buf else chunk
            end = buf.rfind(b"\n") + 1  # end of the last complete line, or 0
            if end:
                batch = _batch(name, number, pos, buf[:end], cap)
                _count(batch, stats)
                number += len(batch.texts)
                pos += end
                buf = buf[end:]
                yield batch
            if len(buf) > cap + 1:  # cap + 1: the line may yet end in CRLF
                long_start, long_head = pos, buf[: cap + 1]
                pos += len(buf)
                buf = b""
        # The last line, even without its newline; after a read error it is
        # kept too (flagged truncated), as zcat prints what it could decompress.
        cut_short = failure is not None and (long_start >= 0 or bool(buf))
        if long_start >= 0:
            yield _long_line(name, number, long_start, long_head, cap, stats)
            number += 1
        elif buf:
            batch = _batch(name, number, pos, buf + b"\n", cap)
            if cut_short:
                batch.truncated = frozenset({0})
            _count(batch, stats)
            number += 1
            pos += len(buf)
            yield batch
        if failure is not None:
            kept = (f"line {number - 1} is cut short, the lines before it were read"
                    if cut_short else "the lines before it were read")
            raise InputError(f"{name}: input ends early after line {number - 1} "
                             f"({_reason(failure)}); {kept}")
    finally:
        stats.lines += number - 1
        stats.bytes += pos
        if not source.is_stdin:
            _close(stream)


def _count(batch: LineBatch, stats: ReadStats) -> None:
    stats.truncated_lines += len(batch.truncated)
    stats.invalid_utf8_lines += len(batch.invalid_utf8)


def _long_line(name: str, number: int, start: int, head: bytes, cap: int,
               stats: ReadStats) -> LineBatch:
    text, bad = _decode(_cut_at_char_boundary(head, cap))  # head is cap + 1 bytes
    stats.truncated_lines += 1
    stats.invalid_utf8_lines += int(bad)
    # No rstrip("\r"): the line's end was cut off, so a CR here is content.
    return LineBatch(name, number, [text], [start], frozenset({0}),
                     frozenset({0}) if bad else frozenset())


def iter_lines(batches: Iterable[LineBatch]) -> Iterator[tuple[int, int, str]]:
    """(line number, byte offset, text) for each line: a convenience for tests and tools."""
    for batch in batches:
        for i, text in enumerate(batch.texts):
            yield batch.first_number + i, batch.offsets[i], text


def read_all(
    sources: Iterable[Source],
    *,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    force: bool = False,
    stats: ReadStats | None = None,
    on_problem: Callable[[SourceProblem], None] | None = None,
) -> Iterator[tuple[Source, Iterator[LineBatch]]]:
    """Open each source in turn; a source that fails is reported and skipped."""
    stats = stats if stats is not None else ReadStats()
    for source in sources:
        try:
            # Open eagerly so a missing file is reported before its turn comes.
            lines = read_batches(source, max_line_bytes=max_line_bytes, force=force, stats=stats)
            first = next(lines, None)
        except InputError as exc:
            stats.skipped_sources.append(source.display)
            if on_problem:
                on_problem(SourceProblem(source.display, str(exc)))
            continue
        yield source, _guarded(first, lines, source, stats, on_problem)


def _guarded(
    first: LineBatch | None,
    lines: Iterator[LineBatch],
    source: Source,
    stats: ReadStats,
    on_problem: Callable[[SourceProblem], None] | None,
) -> Iterator[LineBatch]:
    if first is None:
        return
    yield first
    try:
        yield from lines
    except InputError as exc:
        stats.skipped_sources.append(source.display)
        if on_problem:
            on_problem(SourceProblem(source.display, str(exc)))
