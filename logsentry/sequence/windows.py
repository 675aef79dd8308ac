"""Session, fixed, sliding and time windows over one source's records.

Ownership: every record is owned by exactly one emitted sequence
(``Sequence.records[owned_from:]``). Only sliding windows overlap: a sliding
window owns the records that are new since the window before it (the first
window owns all of its records); at end of input one last window (the last
N records) owns whatever no window owned yet.

Memory is bounded (``Limits``): a session that reaches ``max_session_records``
is emitted and a new sequence starts for the same session id; when more than
``max_open_sessions`` sessions are open, or more than ``max_buffered_records``
records are held, the least recently active session is emitted early.
Records without a session id are grouped in arrival order into sequences of
up to ``max_session_records`` with ``session = None``.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import OrderedDict, deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from logsentry.errors import ConfigError
from logsentry.types import LogRecord, Sequence

# Records per window for "auto" when the format has no session id: as many as LogMoE
# reads by default (ml.features.DEFAULT_MAX_LEN); it ignores records past that, so a
# longer window would leave its tail unscored. scan/tail/train/eval use the model's own
# max_len (``Pipeline.auto_size``).
AUTO_FIXED_SIZE = 64
MIN_WINDOW_SECONDS = 0.001


@dataclass(frozen=True, slots=True)
class WindowSpec:
    kind: str  # "auto", "session", "fixed", "sliding", "time"
    size: int = 0
    step: int = 0
    seconds: float = 0.0

    @classmethod
    def parse(cls, text: str) -> WindowSpec:
        spec = text.strip().lower()
        kind, _, arg = spec.partition(":")
        try:
            if kind in {"auto", "session"} and not arg:
                return cls(kind)
            if kind == "fixed":
                size = int(arg)
                if size >= 1:
                    return cls("fixed", size=size)
            elif kind == "sliding":
                size_s, _, step_s = arg.partition(",")
                size, step = int(size_s), int(step_s)
                if size >= 1 and 1 <= step <= size:
                    return cls("sliding", size=size, step=step)
            elif kind == "time":
                seconds = float(arg)
                # Below a millisecond, epoch / seconds overflows to inf (time:1e-300 crashed).
                if MIN_WINDOW_SECONDS <= seconds < math.inf:
                    return cls("time", seconds=seconds)
        except ValueError:
            pass
        raise ConfigError(
            f"--window {text!r}: use auto, session, fixed:N, sliding:N,STEP (1 <= STEP <= N) "
            "or time:SECONDS"
        )

    def resolve(self, has_session_key: bool, max_records: int = AUTO_FIXED_SIZE,
                auto_size: int = AUTO_FIXED_SIZE) -> WindowSpec:
        """``auto`` becomes session windows, or fixed windows of ``auto_size`` records
        within the record cap."""
        if self.kind != "auto":
            return self
        if has_session_key:
            return WindowSpec("session")
        return WindowSpec("fixed", size=max(1, min(auto_size, max_records)))

    def __str__(self) -> str:
        if self.kind == "fixed":
            return f"fixed:{self.size}"
        if self.kind == "sliding":
            return f"sliding:{self.size},{self.step}"
        if self.kind == "time":
            return f"time:{self.seconds:g}"
        return self.kind


@dataclass(frozen=True, slots=True)
class Limits:
    max_open_sessions: int = 20_000
    max_session_records: int = 1_000
    max_buffered_records: int = 500_000


def sequence_id(source: str, session: str | None, first: int, last: int, count: int) -> str:
    """Deterministic: the same lines of the same source always get the same id."""
    key = f"{source}\0{session or ''}\0{first}\0{last}\0{count}".encode("utf-8", "replace")
    return hashlib.blake2b(key, digest_size=6).hexdigest()


class SessionKey:
    """Finds a record's session id: group 1 of the regex if it has one, else the match.

    Searched in the message, then the whole header line. A literal prefix of
    the regex (``blk_`` in ``blk_-?\\d+``) is located with ``str.find`` first,
    which is much cheaper than a regex search over every message.
    """

    def __init__(self, pattern: str) -> None:
        try:
            self.regex = re.compile(pattern)
        except re.error as exc:
            raise ConfigError(f"--session-key {pattern!r}: bad regex: {exc}") from None
        self.group = 1 if self.regex.groups else 0
        prefix = re.match(r"[A-Za-z0-9_ =:/-]*", pattern)
        literal = prefix.group(0) if prefix else ""
        rest = pattern[len(literal):]
        if rest[:1] in {"?", "*", "{"} and literal:
            literal = literal[:-1]  # the last literal character is optional
        # With an alternation a match need not start with the literal ("sid=\w+|id=\w+"
        # matched nothing but "sid=..."); any "|" turns the shortcut off, to be safe.
        usable = len(literal) >= 2 and not rest.startswith("+") and "|" not in pattern
        self.prefix = literal if usable else ""

    def find(self, text: str) -> str | None:
        if self.prefix:
            at = text.find(self.prefix)
            while at >= 0:
                m = self.regex.match(text, at)
                if m is not None:
                    return m.group(self.group)
                at = text.find(self.prefix, at + 1)
            return None
        m = self.regex.search(text)
        return m.group(self.group) if m is not None else None

    def __call__(self, record: LogRecord) -> str | None:
        found = self.find(record.headline)
        header = record.header
        if found is None and isinstance(header, str) and header is not record.headline:
            found = self.find(header)
        elif found is None and isinstance(record.header, dict):
            for value in record.header.values():
                if isinstance(value, str) and (found := self.find(value)) is not None:
                    break
        return found


def _make(source: str, session: str | None, window: str, records: list[LogRecord],
          owned_from: int = 0) -> Sequence:
    first, last = records[0].line, records[-1].end_line
    return Sequence(sequence_id(source, session, first, last, len(records)), source, session,
                    window, records, owned_from)


class _AddMany:
    def add(self, record: LogRecord) -> list[Sequence]:  # pragma: no cover - overridden
        raise NotImplementedError

    def add_many(self, records: list[LogRecord]) -> list[Sequence]:
        """Add records in order; the sequences they completed."""
        out: list[Sequence] = []
        add = self.add
        for record in records:
            done = add(record)
            if done:
                out.extend(done)
        return out


class SessionSequencer:
    def __init__(self, source: str, key: SessionKey | None, limits: Limits) -> None:
        self.source = source
        self.key = key
        self.limits = limits
        self.open: OrderedDict[str, list[LogRecord]] = OrderedDict()
        self.loose: list[LogRecord] = []  # records with no session id
        self.buffered = 0

    def add(self, record: LogRecord) -> list[Sequence]:
        session = self.key(record) if self.key is not None else None
        limits = self.limits
        out: list[Sequence] = []
        if session is None:
            self.loose.append(record)
            if len(self.loose) >= limits.max_session_records:
                out.append(_make(self.source, None, "session", self.loose))
                self.loose = []
            return out
        bucket = self.open.get(session)
        if bucket is None:
            self.open[session] = bucket = []
        else:
            self.open.move_to_end(session)
        bucket.append(record)
        self.buffered += 1
        if len(bucket) >= limits.max_session_records:
            del self.open[session]
            self.buffered -= len(bucket)
            out.append(_make(self.source, session, "session", bucket))
        while self.open and (len(self.open) > limits.max_open_sessions
                             or self.buffered > limits.max_buffered_records):
            oldest, records = self.open.popitem(last=False)
            self.buffered -= len(records)
            out.append(_make(self.source, oldest, "session", records))
        return out

    def add_many(self, records: list[LogRecord]) -> list[Sequence]:
        """Add records in order; the sequences they completed (the hot path, inlined)."""
        key = self.key
        if key is None:
            out: list[Sequence] = []
            for record in records:
                out.extend(self.add(record))
            return out
        out = []
        open_ = self.open
        get = open_.get
        move = open_.move_to_end
        limits = self.limits
        cap = limits.max_session_records
        max_open = limits.max_open_sessions
        max_buffered = limits.max_buffered_records
        find = key.find
        prefix = key.prefix
        match = key.regex.match
        group = key.group
        buffered = self.buffered
        for record in records:
            if prefix:  # key.find, inlined for the common case: the first occurrence matches
                headline = record.headline
                at = headline.find(prefix)
                if at < 0:
                    session = None
                else:
                    m = match(headline, at)
                    session = m.group(group) if m is not None else find(headline)
            else:
                session = find(record.headline)
            if session is None:
                self.buffered = buffered
                out.extend(self.add(record))  # looks in the header too, else a loose record
                buffered = self.buffered
                continue
            bucket = get(session)
            if bucket is None:
                if cap <= 1:
                    out.append(_make(self.source, session, "session", [record]))
                    continue
                open_[session] = bucket = [record]
            else:
                move(session)
                bucket.append(record)
                if len(bucket) >= cap:
                    del open_[session]
                    buffered -= len(bucket) - 1
                    out.append(_make(self.source, session, "session", bucket))
                    continue
            buffered += 1
            if buffered > max_buffered or len(open_) > max_open:
                while open_ and (len(open_) > max_open or buffered > max_buffered):
                    oldest, held = open_.popitem(last=False)
                    buffered -= len(held)
                    out.append(_make(self.source, oldest, "session", held))
        self.buffered = buffered
        return out

    def flush(self) -> list[Sequence]:
        out = [_make(self.source, s, "session", r) for s, r in self.open.items()]
        if self.loose:
            out.append(_make(self.source, None, "session", self.loose))
        self.open.clear()
        self.loose = []
        self.buffered = 0
        out.sort(key=lambda s: s.records[0].line)
        return out

    def expire(self, before_offset: int) -> list[Sequence]:
        """Close the sessions whose last record starts before ``before_offset`` (idle:
        streaming closes them on a timeout). The open dict is in order of last use."""
        out = []
        open_ = self.open
        while open_:
            session = next(iter(open_))
            held = open_[session]
            if held[-1].offset >= before_offset:
                break
            del open_[session]
            self.buffered -= len(held)
            out.append(_make(self.source, session, "session", held))
        if self.loose and self.loose[-1].offset < before_offset:
            out.append(_make(self.source, None, "session", self.loose))
            self.loose = []
        return out

    def held_from(self) -> LogRecord | None:
        """The earliest record not yet in an emitted sequence (None: nothing held)."""
        firsts = [held[0] for held in self.open.values()]
        if self.loose:
            firsts.append(self.loose[0])
        return min(firsts, key=lambda r: r.offset, default=None)


class FixedSequencer(_AddMany):
    def __init__(self, source: str, size: int) -> None:
        self.source, self.size = source, size
        self.records: list[LogRecord] = []

    def add(self, record: LogRecord) -> list[Sequence]:
        self.records.append(record)
        if len(self.records) < self.size:
            return []
        done, self.records = self.records, []
        return [_make(self.source, None, "fixed", done)]

    def flush(self) -> list[Sequence]:
        done, self.records = self.records, []
        return [_make(self.source, None, "fixed", done)] if done else []

    def held_from(self) -> LogRecord | None:
        return self.records[0] if self.records else None


class SlidingSequencer(_AddMany):
    def __init__(self, source: str, size: int, step: int) -> None:
        self.source, self.size, self.step = source, size, step
        self.window: deque[LogRecord] = deque(maxlen=size)
        self.unowned = 0  # records added since the last emitted window
        self.emitted = False

    def add(self, record: LogRecord) -> list[Sequence]:
        self.window.append(record)
        self.unowned += 1
        full = len(self.window) == self.size
        if full and (not self.emitted or self.unowned >= self.step):
            return [self._emit()]
        return []

    def _emit(self) -> Sequence:
        records = list(self.window)
        owned_from = len(records) - self.unowned if self.emitted else 0
        self.unowned = 0
        self.emitted = True
        return _make(self.source, None, "sliding", records, owned_from)

    def flush(self) -> list[Sequence]:
        if not self.unowned:
            return []
        seq = self._emit()
        self.window.clear()
        self.emitted = False
        return [seq]

    def held_from(self) -> LogRecord | None:
        return self.window[len(self.window) - self.unowned] if self.unowned else None


class TimeSequencer(_AddMany):
    """Tumbling windows of ``seconds`` by record time; time going backwards starts a window."""

    def __init__(self, source: str, seconds: float, cap: int) -> None:
        self.source, self.seconds, self.cap = source, seconds, cap
        self.records: list[LogRecord] = []
        self.bucket: int | None = None

    def add(self, record: LogRecord) -> list[Sequence]:
        out: list[Sequence] = []
        epoch = record.epoch if record.header is not None else None
        if epoch is not None:
            bucket = int(epoch // self.seconds)
            if self.bucket is not None and bucket != self.bucket and self.records:
                out.append(self._emit())
            self.bucket = bucket
        self.records.append(record)
        if len(self.records) >= self.cap:
            out.append(self._emit())
        return out

    def _emit(self) -> Sequence:
        done, self.records = self.records, []
        return _make(self.source, None, "time", done)

    def flush(self) -> list[Sequence]:
        return [self._emit()] if self.records else []

    def held_from(self) -> LogRecord | None:
        return self.records[0] if self.records else None


Sequencer = SessionSequencer | FixedSequencer | SlidingSequencer | TimeSequencer


def make_sequencer(spec: WindowSpec, source: str, key: SessionKey | None,
                   limits: Limits | None = None, auto_size: int = AUTO_FIXED_SIZE) -> Sequencer:
    limits = limits or Limits()
    spec = spec.resolve(key is not None, limits.max_session_records, auto_size)
    if spec.kind in {"fixed", "sliding"} and spec.size > limits.max_session_records:
        raise ConfigError(
            f"--window {spec}: windows of more than max_session_records "
            f"({limits.max_session_records:,}) records would be held in memory; "
            "raise max_session_records in the config if you mean it"
        )
    if spec.kind == "session":
        return SessionSequencer(source, key, limits)
    if spec.kind == "fixed":
        return FixedSequencer(source, spec.size)
    if spec.kind == "sliding":
        return SlidingSequencer(source, spec.size, spec.step)
    return TimeSequencer(source, spec.seconds, limits.max_session_records)


def sequences(records: Iterable[LogRecord], spec: WindowSpec, *, source: str,
              key: SessionKey | None = None, limits: Limits | None = None) -> Iterator[Sequence]:
    """Group one source's parsed records; every record ends up owned by one sequence."""
    sequencer = make_sequencer(spec, source, key, limits)
    add = sequencer.add
    for record in records:
        done = add(record)
        if done:
            yield from done
    yield from sequencer.flush()
