"""Streaming detection for ``tail --follow``: followed files -> records -> sequences ->
verdicts -> checkpoints, one poll at a time.

Per followed file (per *generation*: a rotated or truncated file is a new one)
there is a record builder and a sequencer. Sessions close when they have been
idle for ``idle`` seconds (their last line is older than what was read
``idle`` seconds ago) or reach their cap; fixed and time windows close as they
fill, and every window of a file that has been quiet for ``idle`` seconds is
flushed. After the verdicts of a poll are written and flushed, each file's
checkpoint moves to its earliest line not yet judged, so a restart re-reads
at most the lines of sequences still open (at-least-once); at an idle moment
nothing is open and a restart repeats nothing. Sequence ids include the file's
fingerprint, so a consumer can drop the repeats a crash may cause.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from logsentry.formats import RecordBuilder
from logsentry.pipeline import Pipeline
from logsentry.sequence.windows import (
    Limits,
    Sequencer,
    SessionSequencer,
    make_sequencer,
    sequence_id,
)
from logsentry.sources.checkpoints import CheckpointStore
from logsentry.sources.follow import Follower, Identity, Position
from logsentry.types import LineBatch, LogRecord, Sequence


@dataclass(slots=True)
class FileStream:
    path: str
    identity: Identity
    builder: RecordBuilder
    sequencer: Sequencer
    last_data: float = 0.0  # clock time of the last new line
    idle_before: int = 0  # read offset ``idle`` seconds ago: lines before it are idle
    marks: list[tuple[float, int]] = field(default_factory=list)  # (time, read offset) history


class StreamEngine:
    """``poll()`` once per tick; ``judge(sequences)`` writes the verdicts (and flushes)
    and returns the sequences whose verdicts it still owes (waiting for the LLM): their
    lines hold the checkpoint back until ``release(sequences)``."""

    def __init__(self, pipe: Pipeline, follower: Follower, store: CheckpointStore, *,
                 judge: Callable[[list[Sequence]], list[Sequence]], idle: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.pipe = pipe
        self.follower = follower
        self.store = store
        self.judge = judge
        self.idle = idle
        self.clock = clock
        self.streams: dict[str, FileStream] = {}
        s = pipe.settings
        self.limits = Limits(s.max_open_sessions, s.max_session_records, s.max_buffered_records)
        self.lines = 0
        self.sequences = 0
        self._committed: dict[str, tuple[int, int, str]] = {}  # last checkpoint written
        self._owner: dict[str, str] = {}  # sequence id -> stream key, while being judged
        self.deferred: dict[str, tuple[str, LogRecord]] = {}  # id -> (stream key, first)

    def _stream(self, identity: Identity, batch: LineBatch) -> FileStream:
        stream = self.streams.get(identity.key)
        if stream is None:
            pipe = self.pipe
            fmt = pipe._choose_format(batch)
            if pipe.parser is None:
                pipe.parser = pipe._make_parser(fmt)
            s = pipe.settings
            builder = RecordBuilder(fmt, multiline=s.multiline,
                                    jsonl_keys=(s.jsonl_message, s.jsonl_time, s.jsonl_level))
            sequencer = make_sequencer(pipe.window, batch.source, pipe.session_key(),
                                       self.limits, pipe.auto_size)
            stream = FileStream(batch.source, identity, builder, sequencer)
            self.streams[identity.key] = stream
        return stream

    def _records(self, stream: FileStream, records: list[LogRecord]) -> list[Sequence]:
        if not records:
            return []
        parser = self.pipe.parser
        assert parser is not None
        parser.parse_batch(records)
        return self._named(stream, stream.sequencer.add_many(records))

    def _named(self, stream: FileStream, sequences: list[Sequence]) -> list[Sequence]:
        """Ids from the file's fingerprint and the line range: the same after a restart."""
        tag = f"{stream.path}#{stream.identity.short()}"
        for seq in sequences:
            seq.sequence_id = sequence_id(tag, seq.session, seq.records[0].line,
                                          seq.records[-1].end_line, len(seq.records))
            self._owner[seq.sequence_id] = stream.identity.key
        return sequences

    def poll(self) -> int:
        """Read, sequence, judge and checkpoint once; the number of new lines."""
        now = self.clock()
        done: list[Sequence] = []
        new_lines = 0
        for identity, batch in self.follower.poll():
            stream = self._stream(identity, batch)
            new_lines += len(batch.texts)
            stream.last_data = now
            done.extend(self._records(stream, stream.builder.feed(batch)))
        for stream in self.streams.values():
            stream.marks.append((now, self._read_offset(stream)))
            done.extend(self._expire(stream, now))
        self._emit(done)
        self.lines += new_lines
        self._drop_finished()
        return new_lines

    def _read_offset(self, stream: FileStream) -> int:
        for _path, identity, position in self.follower.positions():
            if identity.key == stream.identity.key:
                return position.offset
        return 0

    def _expire(self, stream: FileStream, now: float) -> list[Sequence]:
        """Close what has been idle for ``self.idle`` seconds."""
        cutoff = now - self.idle
        while stream.marks and stream.marks[0][0] <= cutoff:
            stream.idle_before = stream.marks.pop(0)[1]
        before = stream.idle_before
        out: list[Sequence] = []
        quiet = now - stream.last_data >= self.idle
        if quiet:  # nothing new for a while: the pending multi-line record is complete
            last = stream.builder.finish()
            if last is not None:
                out.extend(self._records(stream, [last]))
        sequencer = stream.sequencer
        if isinstance(sequencer, SessionSequencer):
            out.extend(self._named(stream, sequencer.expire(1 << 62 if quiet else before)))
        elif quiet:
            out.extend(self._named(stream, sequencer.flush()))
        return out

    def _emit(self, done: list[Sequence]) -> None:
        if done:
            owed = self.judge(done)  # written and flushed before the checkpoint moves
            self.sequences += len(done)
            for seq in owed:
                key = self._owner.get(seq.sequence_id)
                if key is not None:
                    self.deferred[seq.sequence_id] = (key, seq.records[0])
            self._owner.clear()
        self._checkpoint()

    def release(self, sequences: list[Sequence]) -> None:
        """Verdicts owed for these sequences were written and flushed: the checkpoint
        may move past them."""
        for seq in sequences:
            self.deferred.pop(seq.sequence_id, None)
        self._checkpoint()

    def _checkpoint(self) -> None:
        """Each file: its earliest line not yet in a judged sequence."""
        changed = False
        for path, identity, position in self.follower.positions():
            stream = self.streams.get(identity.key)
            commit = position
            owed = [first for key, first in self.deferred.values() if key == identity.key]
            if stream is not None or owed:
                held = stream.sequencer.held_from() if stream is not None else None
                pending = stream.builder._pending if stream is not None else None
                firsts = [r for r in (held, pending, *owed) if r is not None]
                if firsts:
                    first = min(firsts, key=lambda r: r.offset)
                    commit = Position(first.offset, first.line - 1)
            mark = (commit.offset, commit.lines, path)
            if self._committed.get(identity.key) != mark:  # write (and fsync) only changes
                self._committed[identity.key] = mark
                self.store.update(path, identity, commit)
                changed = True
        if changed:
            self.store.save()

    def _drop_finished(self) -> None:
        """Files the follower drained and let go (rotated away, deleted): close their
        sequences, judge them, then checkpoint them at their end."""
        finished, self.follower.finished = self.follower.finished, []
        for path, identity, position in finished:
            stream = self.streams.pop(identity.key, None)
            if stream is not None:
                out = []
                last = stream.builder.finish()
                if last is not None:
                    out.extend(self._records(stream, [last]))
                out.extend(self._named(stream, stream.sequencer.flush()))
                if out:
                    owed = self.judge(out)
                    self.sequences += len(out)
                    for seq in owed:
                        self.deferred[seq.sequence_id] = (identity.key, seq.records[0])
                    self._owner.clear()
            owed_first = [f for key, f in self.deferred.values() if key == identity.key]
            if owed_first:  # verdicts still owed: hold the checkpoint at the first of them
                first = min(owed_first, key=lambda r: r.offset)
                position = Position(first.offset, first.line - 1)
            self.store.update(path, identity, position)
        if finished:
            self.store.save()

    def shutdown(self) -> None:
        """Flush everything: held partial lines, pending records, open sequences."""
        done: list[Sequence] = []
        for identity, batch in self.follower.flush_partials():
            stream = self._stream(identity, batch)
            done.extend(self._records(stream, stream.builder.feed(batch)))
            self.lines += len(batch.texts)
        for stream in self.streams.values():
            last = stream.builder.finish()
            if last is not None:
                done.extend(self._records(stream, [last]))
            done.extend(self._named(stream, stream.sequencer.flush()))
        self._emit(done)
