"""Line batches -> records: match each header, join multi-line records.

A line continues the record before it (when multi-line joining is on) if it
does not match the format's header and looks like part of a stack trace: it
starts with whitespace, ``at ``, ``Caused by:``, ``Suppressed:``, ``...``, or
is a Java exception line (``java.io.IOException: ...``); blank lines join
too. A joined record keeps all its line numbers (``line``..``end_line``);
the parser mines only its first line (``headline``). A record takes at most
``MAX_CONTINUATION_LINES`` continuation lines; the next starts a new record.
A line that matches neither header nor continuation becomes a record of its
own with no header fields, so no line is ever dropped.

Header fields are decoded lazily (``LogRecord.timestamp`` etc.): the record
keeps its first line's text and a decoder that re-matches it on demand. Not
keeping the match objects halves the objects the garbage collector tracks
per held record, which is most of the cost of holding long sessions.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from logsentry.formats.registry import LogFormat
from logsentry.formats.timestamps import EpochParser, IsoParser, TimestampParser
from logsentry.types import LineBatch, LogRecord

MAX_CONTINUATION_LINES = 1000
CONTINUATION = re.compile(
    r"(?:[ \t]|at |Caused by:|Suppressed:|\.\.\.|$"
    r"|(?:[a-z][\w$]*\.)+[A-Z][\w$]*(?:Exception|Error)\b)"
)
_SPECIAL_GROUPS = {"content", "level", "component"}

TimeParser = Callable[[str], tuple[str, float] | None]


def _time_parser(fmt: LogFormat) -> TimeParser | None:
    if not fmt.time_groups:
        return None
    if fmt.time_format == "epoch":
        return EpochParser()
    if fmt.time_format == "iso" or not fmt.time_format:
        return IsoParser()
    return TimestampParser(fmt.time_format, yearless=fmt.yearless)


class RegexDecoder:
    """Decodes the header fields of a regex format from the line's text."""

    def __init__(self, fmt: LogFormat) -> None:
        self._regex_match = fmt.regex.match
        self._last: tuple[str, re.Match[str] | None] = ("", None)
        index = fmt.regex.groupindex
        self.content_group = index["content"]
        self._level = index.get("level")
        self._component = index.get("component")
        self._time_groups = [index[g] for g in fmt.time_groups]
        self._extra = [(name, i) for name, i in index.items() if name not in _SPECIAL_GROUPS]
        self._parse_time = _time_parser(fmt)

    def match(self, text: str) -> re.Match[str] | None:
        last_text, last = self._last
        if last_text is text:  # the same record asked again (timestamp, then level, ...)
            return last
        m = self._regex_match(text)
        self._last = (text, m)
        return m

    def timestamp(self, header: str) -> tuple[str, float] | None:
        m = self.match(header) if self._parse_time is not None else None
        if m is None or self._parse_time is None:
            return None
        raw = " ".join(m.group(i) or "" for i in self._time_groups).strip()
        return self._parse_time(raw) if raw else None

    def level(self, header: str) -> str | None:
        m = self.match(header) if self._level else None
        return m.group(self._level) if m is not None and self._level else None

    def component(self, header: str) -> str | None:
        m = self.match(header) if self._component else None
        value = m.group(self._component) if m is not None and self._component else None
        return value.strip() if value else value

    def fields(self, header: str) -> dict[str, str]:
        m = self.match(header)
        if m is None:
            return {}
        return {name: v for name, i in self._extra if (v := m.group(i)) is not None}


def _keys(spec: str) -> list[str]:
    return [k.strip() for k in spec.split(",") if k.strip()]


class JsonDecoder:
    """JSON-lines records: the first present key of each configured list is used."""

    def __init__(self, message_keys: str, time_keys: str, level_keys: str) -> None:
        self.messages = _keys(message_keys)
        self.times = _keys(time_keys)
        self.levels = _keys(level_keys)
        self.components = ["logger", "component", "name", "module", "caller"]
        self._used = set(self.messages) | set(self.times) | set(self.levels)
        self._iso = IsoParser()
        self._epoch = EpochParser()

    @staticmethod
    def _first(obj: dict[str, Any], keys: list[str]) -> Any:
        for key in keys:
            value = obj.get(key)
            if value is not None:
                return value
        return None

    def message(self, obj: dict[str, Any]) -> str:
        value = self._first(obj, self.messages)
        if value is None:
            return ""
        return value if isinstance(value, str) else json.dumps(value)

    def timestamp(self, header: dict[str, Any]) -> tuple[str, float] | None:
        when = self._first(header, self.times)
        if isinstance(when, bool):
            return None
        if isinstance(when, int | float):  # epoch seconds, or milliseconds
            return self._epoch(str(when / 1000 if when > 1e11 else when))
        if isinstance(when, str):
            return self._iso(when)
        return None

    def level(self, header: dict[str, Any]) -> str | None:
        value = self._first(header, self.levels)
        return None if value is None else str(value)

    def component(self, header: dict[str, Any]) -> str | None:
        value = self._first(header, self.components)
        return None if value is None else str(value)

    def fields(self, header: dict[str, Any]) -> dict[str, str]:
        return {k: str(v) for k, v in header.items()
                if k not in self._used and isinstance(v, str | int | float | bool)}


class RecordBuilder:
    """Feed line batches in order; get back each record once it is complete."""

    def __init__(self, fmt: LogFormat, *, multiline: bool = True,
                 jsonl_keys: tuple[str, str, str] | None = None) -> None:
        self.fmt = fmt
        self.multiline = multiline and fmt.kind != "jsonl"
        self._pending: LogRecord | None = None
        self._joined = 0
        self._regex: RegexDecoder | None = None
        self._json: JsonDecoder | None = None
        if fmt.kind == "regex":
            self._regex = RegexDecoder(fmt)
        elif fmt.kind == "jsonl":
            keys = jsonl_keys or ("message,msg,log,text", "time,timestamp,ts,@timestamp",
                                  "level,severity,lvl")
            self._json = JsonDecoder(*keys)

    def feed(self, batch: LineBatch) -> list[LogRecord]:
        """All records completed by this batch (the last one may stay pending)."""
        out: list[LogRecord] = []
        append = out.append
        source = batch.source
        number = batch.first_number
        truncated = batch.truncated
        continuation = CONTINUATION.match if self.multiline else None
        pending = self._pending
        regex = self._regex
        match = self.fmt.regex.match if regex is not None else None
        content_group = regex.content_group if regex is not None else 0
        json_record = self._json_record if self._json is not None else None
        n = number - 1
        joined = self._joined
        for text, offset in zip(batch.texts, batch.offsets, strict=True):
            n += 1
            cut = (n - number) in truncated if truncated else False
            record = None
            if match is not None:
                m = match(text)
                if m is not None:
                    content = m.group(content_group)
                    record = LogRecord(source, n, n, offset, content, content, text, regex, cut)
            elif json_record is not None:
                record = json_record(source, n, offset, text, cut)
            if record is None:
                if pending is not None and continuation is not None and continuation(text) \
                        and joined < MAX_CONTINUATION_LINES:
                    joined += 1
                    pending.content += "\n" + text
                    pending.end_line = n
                    if cut:
                        pending.truncated = True
                    continue
                record = LogRecord(source, n, n, offset, text, text, None, None, cut)
            if pending is not None:
                append(pending)
            pending = record
            joined = 0
        self._pending = pending
        self._joined = joined
        return out

    def _json_record(self, source: str, n: int, offset: int, text: str,
                     truncated: bool) -> LogRecord | None:
        if not text.startswith("{"):
            return None
        try:
            obj = json.loads(text)
        except ValueError:
            return None
        if not isinstance(obj, dict):
            return None
        assert self._json is not None
        content = self._json.message(obj)
        return LogRecord(source, n, n, offset, content.split("\n", 1)[0], content, obj,
                         self._json, truncated)

    def finish(self) -> LogRecord | None:
        pending, self._pending = self._pending, None
        self._joined = 0
        return pending


def to_records(batches: Iterable[LineBatch], fmt: LogFormat, *, multiline: bool = True,
               jsonl_keys: tuple[str, str, str] | None = None) -> Iterator[LogRecord]:
    builder = RecordBuilder(fmt, multiline=multiline, jsonl_keys=jsonl_keys)
    for batch in batches:
        yield from builder.feed(batch)
    last = builder.finish()
    if last is not None:
        yield last
