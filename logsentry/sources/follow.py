"""Follow growing log files like ``tail -F``, and know exactly where each one is.

A followed file is identified by its device, inode and *fingerprint*: the
sha256 of its first line (at most ``FINGERPRINT_BYTES``), which never changes
while the file is only appended to (Filebeat fingerprints the first bytes
the same way). So a rotated, truncated or re-created file is told apart from
the one it replaces, an inode number reused by a new file is not mistaken for
the old one, and sequence ids built from it are the same after a restart. A
file whose first line has not ended yet is picked up once it has. Each poll:

* reads what was appended to every open file, complete lines only; a last
  line with no newline yet is held until its newline comes or it has been
  idle for ``partial_timeout`` seconds (then it is a line of its own);
* notices rotation by rename + create (the path now names another file): the
  old file, still open, is read to its end first, then the new one from its
  start;
* notices copytruncate (the file got shorter than what was read, or its
  first bytes changed): the file is read again from its start, as a new
  generation with its own fingerprint and line numbers;
* handles a file that disappears (kept open and drained; when it reappears,
  the new file is read from its start) and re-evaluates the patterns, so new
  files matching a glob are picked up (read from their start).

``Position`` (offset in bytes, number of lines) and the identity are what a
checkpoint stores; ``Follower(..., known=...)`` resumes a file from one.
"""

from __future__ import annotations

import glob
import hashlib
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import BinaryIO

from logsentry.sources.reader import (
    DEFAULT_MAX_LINE_BYTES,
    SAMPLE_BYTES,
    _batch,
    _count,
    looks_binary,
)
from logsentry.types import LineBatch, ReadStats

FINGERPRINT_BYTES = 1024
READ_BYTES = 1 << 20  # per file per poll: one busy file cannot starve the others


@dataclass(frozen=True, slots=True)
class Identity:
    dev: int
    ino: int
    fingerprint: str  # sha256 hex of the first ``fp_len`` bytes
    fp_len: int

    @property
    def key(self) -> str:
        return f"{self.dev}:{self.ino}:{self.fingerprint[:16]}"

    def short(self) -> str:
        return self.fingerprint[:12]


@dataclass(slots=True)
class Position:
    """How far a file has been consumed: bytes and lines of complete lines."""

    offset: int = 0
    lines: int = 0


@dataclass(slots=True)
class Followed:
    path: str
    identity: Identity
    fh: BinaryIO
    position: Position  # consumed (complete lines handed out)
    partial: bytes = b""  # a last line without its newline yet
    partial_since: float = 0.0
    detached: bool = False  # the path no longer names this file (rotated or deleted)
    newline_owed: bool = False  # a partial line went out on timeout; its newline is not a line
    skipping: bool = False  # an over-long line went out cut; skip the rest of it
    path_now: str = ""  # the name the pattern now matches it under (after a rotation)


def fingerprint(fh: BinaryIO, length: int = FINGERPRINT_BYTES) -> tuple[str, int] | None:
    """(sha256 of the first line, or of the first ``length`` bytes of a longer first
    line; how many bytes it covers), or None while the first line is incomplete."""
    fh.seek(0)
    head = fh.read(length)
    newline = head.find(b"\n")
    if newline >= 0:
        head = head[: newline + 1]
    elif len(head) < length:
        return None
    return hashlib.sha256(head).hexdigest(), len(head)


def matches(fh: BinaryIO, identity: Identity) -> bool:
    """Does this open file still start with the bytes ``identity`` was taken from?"""
    fh.seek(0)
    return hashlib.sha256(fh.read(identity.fp_len)).hexdigest() == identity.fingerprint


class Follower:
    """Poll a set of paths / glob patterns for new complete lines.

    ``known(path, identity, fh)`` returns a saved Position for a file (a
    checkpoint whose device, inode and fingerprint match the open file) or
    None; files found at start with no checkpoint begin at their end
    (``from_start=False``, the default, like ``tail -F``) or their start;
    files that appear later always begin at their start.
    """

    def __init__(self, patterns: Iterable[str], *,
                 known: Callable[[str, Identity, BinaryIO], Position | None] = (
                     lambda _p, _i, _f: None),
                 from_start: bool = False, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
                 leftovers: Callable[[], list[tuple[str, int, int]]] = list,
                 partial_timeout: float = 5.0, clock: Callable[[], float] = time.monotonic,
                 on_event: Callable[[str], None] = lambda _m: None,
                 on_problem: Callable[[str], None] = lambda _m: None,
                 force: bool = False) -> None:
        self.patterns = list(patterns)
        self.known = known
        self.leftovers = leftovers  # (path, device, inode) of every checkpointed file
        self._known_paths: set[str] | None = None
        self.from_start = from_start
        self.cap = max_line_bytes
        self.partial_timeout = partial_timeout
        self.clock = clock
        self.on_event = on_event
        self.on_problem = on_problem  # a path that cannot be followed (said once)
        self.force = force  # follow files that look binary
        self.reported: set[str] = set()
        self.stats = ReadStats()
        self.files: list[Followed] = []  # open files, including detached ones being drained
        self.finished: list[tuple[str, Identity, Position]] = []  # drained and closed since
        # the caller last took them (their final positions, for checkpoints)
        self._started = False

    # -- discovery -------------------------------------------------------------
    def paths(self) -> list[str]:
        found: dict[str, None] = {}
        for pattern in self.patterns:
            expanded = os.path.expanduser(pattern)
            if glob.has_magic(expanded):
                for path in sorted(glob.glob(expanded)):
                    if os.path.isfile(path):
                        found[path] = None
            else:
                found[expanded] = None
        return list(found)

    def _open(self, path: str, *, initial: bool, label: str | None = None,
              resume_only: bool = False) -> Followed | None:
        """Open ``path`` (reported under ``label``); ``resume_only``: only if a checkpoint
        matches it."""
        try:
            fh = open(path, "rb")  # noqa: SIM115 - kept open while followed
        except OSError:
            return None  # not there (yet), or unreadable: tried again next poll
        try:
            st = os.fstat(fh.fileno())
            if not os.path.isfile(path):
                fh.close()
                return None
            found = fingerprint(fh)
        except OSError:
            fh.close()
            return None
        if found is None:  # the first line has not ended: nothing to read yet
            fh.close()
            return None
        fh.seek(0)
        if not self.force and looks_binary(fh.read(SAMPLE_BYTES)):
            fh.close()
            self._problem(path, f"{path}: looks like binary data, not a log (NUL or control "
                                "bytes at the start); not followed (--force to read it)")
            return None
        identity = Identity(st.st_dev, st.st_ino, *found)
        saved = self.known(path, identity, fh)
        if resume_only and (saved is None or saved.offset > st.st_size):
            fh.close()
            return None
        if saved is not None and saved.offset <= st.st_size:
            position = Position(saved.offset, saved.lines)
            how = f"resumed at line {saved.lines + 1}"
        elif initial and not self.from_start and not self._succeeds(path):
            position = Position(st.st_size, _count_lines(fh, st.st_size))
            how = "from its end"
        else:
            position = Position()
            how = "from its start"
        fh.seek(position.offset)
        followed = Followed(label or path, identity, fh, position)
        shown = path if label is None else f"{label} (now {path})"
        self.on_event(f"following {shown} {how}")
        return followed

    def _succeeds(self, path: str) -> bool:
        """Is ``path`` a new file where a followed one was (rotated while we were not
        running)? Then it is read from its start, like any file that appears later."""
        if self._known_paths is None:
            self._known_paths = {os.path.abspath(p) for p, _dev, _ino in self.leftovers()}
        return os.path.abspath(path) in self._known_paths

    def _recover(self) -> None:
        """At start: a followed file rotated away while we were not running (app.log is
        now app.log.1, and no pattern names it) is found by its device and inode in the
        same directory and drained from its checkpoint, so its last lines are not lost."""
        open_inodes = {(f.identity.dev, f.identity.ino) for f in self.files}
        for path, dev, ino in self.leftovers():
            if (dev, ino) in open_inodes:
                continue
            try:
                entries = list(os.scandir(os.path.dirname(path) or "."))
            except OSError:
                continue
            for entry in entries:
                try:
                    st = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                if (st.st_dev, st.st_ino) != (dev, ino) or not entry.is_file(
                        follow_symlinks=False):
                    continue
                opened = self._open(entry.path, initial=False, label=path, resume_only=True)
                if opened is not None:
                    opened.detached = True
                    self.files.insert(0, opened)  # drained before the new file is read
                    open_inodes.add((dev, ino))
                break

    def _problem(self, path: str, message: str) -> None:
        """Report a problem with ``path`` once (not at every poll)."""
        if path not in self.reported:
            self.reported.add(path)
            self.on_problem(message)

    def _check_patterns(self) -> None:
        """At start: say which explicit paths are missing and which globs match nothing."""
        for pattern in self.patterns:
            expanded = os.path.expanduser(pattern)
            if glob.has_magic(expanded):
                if not any(os.path.isfile(p) for p in glob.glob(expanded)):
                    self.on_problem(f"{pattern}: no files match this pattern (yet)")
            elif os.path.isdir(expanded):
                self.on_problem(f"{pattern}: is a directory; pass the log files in it "
                                f"(e.g. '{pattern}/*.log')")
            elif not os.path.exists(expanded):
                self.on_problem(f"{pattern}: no such file (yet); check the path")
            elif not os.access(expanded, os.R_OK):
                self.on_problem(f"{pattern}: permission denied; run as a user who can read it")

    def _refresh(self) -> None:
        """Match paths to open files: rotation, deletion, new files, grown fingerprints."""
        initial = not self._started
        self._started = True
        if initial:
            self._check_patterns()
        for f in self.files:
            f.path_now = f.path
        by_path = {f.path: f for f in self.files if not f.detached}
        for path in self.paths():
            current = by_path.pop(path, None)
            try:
                st = os.stat(path)
            except OSError:
                st = None
            if current is not None:
                if st is None:  # deleted: drain what is left, then let it go
                    current.detached = True
                    self.on_event(f"{path} disappeared; reading what is left of it")
                    continue
                same = (st.st_dev, st.st_ino) == (current.identity.dev, current.identity.ino)
                if same:
                    continue
                current.detached = True  # rotated away: drain it, then let it go
                self.on_event(f"{path} was rotated; reading the rest of the old file first")
            if st is None:
                continue
            twin = next((f for f in self.files if (f.identity.dev, f.identity.ino)
                         == (st.st_dev, st.st_ino)), None)
            if twin is not None:  # a file we follow already, under a new name (rotated
                twin.detached = False  # into the pattern): keep reading it, once
                twin.path_now = path
                continue
            opened = self._open(path, initial=initial)
            if opened is not None:
                self.files.append(opened)
        for gone in by_path.values():  # no longer matched or no longer there
            if gone.path_now != gone.path:
                continue  # matched above under its new name
            if not os.path.exists(gone.path):
                gone.detached = True
                self.on_event(f"{gone.path} disappeared; reading what is left of it")
        if initial:
            self._recover()

    # -- reading ---------------------------------------------------------------
    def poll(self) -> list[tuple[Identity, LineBatch]]:
        """New complete lines of every file, as batches (file by file, in order), each
        with the identity of the file it came from."""
        self._refresh()
        out: list[tuple[Identity, LineBatch]] = []
        now = self.clock()
        for f in list(self.files):
            out.extend((f.identity, batch) for batch in self._read(f, now))
            if f.detached and not f.partial:
                self._close(f)
        return out

    def _read(self, f: Followed, now: float) -> list[LineBatch]:
        out: list[LineBatch] = []
        try:
            size = os.fstat(f.fh.fileno()).st_size
        except OSError:
            return out
        end = f.position.offset + len(f.partial)
        # Shorter than what was read, or other first bytes: truncated in place
        # (copytruncate), maybe already refilled past our offset.
        if size < end or not matches(f.fh, f.identity):
            if not self._restart(f, "was truncated (copytruncate?); reading it again from "
                                    "its start"):
                return out
            end = 0
        f.fh.seek(end)
        chunk = f.fh.read(READ_BYTES) if size > end else b""
        if f.skipping and chunk:  # the rest of an over-long line: consumed, not shown
            newline = chunk.find(b"\n")
            cut = len(chunk) if newline < 0 else newline + 1
            f.position.offset += cut
            self.stats.bytes += cut
            chunk = chunk[cut:]
            f.skipping = newline < 0
            f.newline_owed = False
        if f.newline_owed and chunk:
            f.newline_owed = False
            if chunk.startswith(b"\n"):  # ends the line already handed out on timeout
                chunk = chunk[1:]
                f.position.offset += 1
                self.stats.bytes += 1
        data = f.partial + chunk
        cut = data.rfind(b"\n") + 1
        if cut:
            out.extend(self._batches(f, data[:cut]))
            data = data[cut:]
        if data and chunk:
            f.partial_since = now
        f.partial = data
        if f.partial and len(f.partial) > self.cap + 1:  # over-long: out now, cut, rest skipped
            out.extend(self._batches(f, f.partial + b"\n", extra=-1))
            f.partial = b""
            f.skipping = True
        elif f.partial and now - f.partial_since >= self.partial_timeout:
            out.extend(self._batches(f, f.partial + b"\n", extra=-1))
            f.partial = b""
            f.newline_owed = True
        return out

    def _batches(self, f: Followed, block: bytes, extra: int = 0) -> list[LineBatch]:
        """``block`` holds complete lines; ``extra=-1`` when its last newline was added."""
        batch = _batch(f.path, f.position.lines + 1, f.position.offset, block, self.cap)
        if f.position.offset == 0 and batch.texts and batch.texts[0].startswith("\ufeff"):
            batch.texts[0] = batch.texts[0][1:]  # a byte-order mark, as the reader drops it
        _count(batch, self.stats)
        f.position.lines += len(batch.texts)
        f.position.offset += len(block) + extra
        self.stats.lines += len(batch.texts)
        self.stats.bytes += len(block) + extra
        return [batch]

    def _restart(self, f: Followed, why: str) -> bool:
        """Read ``f`` again from its start, as a new generation (False: its new first
        line is not complete yet; try again next poll)."""
        found = fingerprint(f.fh)
        if found is None:
            return False
        f.identity = Identity(f.identity.dev, f.identity.ino, *found)
        f.position = Position()
        f.partial = b""
        f.newline_owed = False
        self.on_event(f"{f.path} {why}")
        return True

    def _close(self, f: Followed) -> None:
        try:
            size = os.fstat(f.fh.fileno()).st_size
        except OSError:
            size = f.position.offset
        if size > f.position.offset + len(f.partial):
            return  # still growing (a writer holds it open): keep draining
        f.fh.close()
        self.files.remove(f)
        self.finished.append((f.path, f.identity, Position(f.position.offset,
                                                           f.position.lines)))

    def flush_partials(self) -> list[tuple[Identity, LineBatch]]:
        """Every held partial line, now (at shutdown)."""
        out: list[tuple[Identity, LineBatch]] = []
        for f in self.files:
            if f.partial:
                out.extend((f.identity, b) for b in self._batches(f, f.partial + b"\n", extra=-1))
                f.partial = b""
                f.newline_owed = True
        return out

    def positions(self) -> list[tuple[str, Identity, Position]]:
        return [(f.path, f.identity, Position(f.position.offset, f.position.lines))
                for f in self.files]

    def close(self) -> None:
        for f in self.files:
            f.fh.close()
        self.files = []


def _count_lines(fh: BinaryIO, end: int) -> int:
    """Lines in the first ``end`` bytes (so line numbers stay true from the end)."""
    fh.seek(0)
    count = 0
    remaining = end
    while remaining > 0:
        block = fh.read(min(remaining, 1 << 20))
        if not block:
            break
        count += block.count(b"\n")
        remaining -= len(block)
    return count
