"""Turn header timestamp text into ISO-8601 and epoch seconds, cheaply.

``strptime`` costs several microseconds, and a log repeats the same second
many times, so results are memoized per distinct timestamp text (bounded).
Naive timestamps stay naive in ISO output; their epoch is computed as if UTC,
which is all windows need (differences).

Formats without a year (syslog, Proxifier, klog) get the latest year that does
not put the line in the future, allowing ``FUTURE_SLACK`` for clocks and time
zones that run a little ahead of ours: the current year, else the year before
(``Dec 31`` read on ``Jan 1``), and for ``Feb 29`` the last leap year. A file
that spans a new year therefore reads its older lines as a year late only if
they would otherwise be in the future; there is no stream state here.

``%L`` at the end of a strptime format stands for milliseconds written without
leading zeros (HealthApp writes ``22:15:35:11`` for 11 ms, which ``%f`` would
read as 110 ms).
"""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta

_CACHE_LIMIT = 8192
FUTURE_SLACK = timedelta(days=2)
_YEARS_BACK = 8  # enough to reach the previous leap year from any year


class TimestampParser:
    def __init__(self, fmt: str, *, yearless: bool = False, now: datetime | None = None) -> None:
        self.millis = fmt.endswith("%L")
        if self.millis:
            fmt = fmt[:-2] + "%f"
        self.fmt = ("%Y " + fmt) if yearless else fmt
        self.yearless = yearless
        self._now = now or datetime.now()
        self._cache: dict[str, tuple[str, float] | None] = {}

    def __call__(self, text: str) -> tuple[str, float] | None:
        cache = self._cache
        hit = cache.get(text, False)
        if hit is not False:
            return hit  # type: ignore[return-value]
        result = self._parse(text)
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        cache[text] = result
        return result

    def _parse(self, text: str) -> tuple[str, float] | None:
        if self.millis:
            text = _pad_millis(text)
        when = self._yearless(text) if self.yearless else self._strptime(text)
        if when is None:
            return None
        return when.isoformat(), _epoch(when)

    def _strptime(self, text: str) -> datetime | None:
        try:
            return datetime.strptime(text, self.fmt)
        except ValueError:
            return None

    def _yearless(self, text: str) -> datetime | None:
        latest = self._now + FUTURE_SLACK
        year = self._now.year
        # Usually the first or second year answers; only Feb 29 (or text that
        # is no date at all, cached like any other) goes further back.
        for candidate in range(year, year - _YEARS_BACK, -1):
            when = self._strptime(f"{candidate} {text}")
            if when is not None and when <= latest:
                return when
        return None


def _pad_millis(text: str) -> str:
    """``...:35:11`` -> ``...:35:011``: the trailing digits are milliseconds."""
    digits = len(text) - len(text.rstrip("0123456789"))
    if digits == 0 or digits >= 3:
        return text
    return text[:-digits] + text[-digits:].zfill(3)


def _epoch(when: datetime) -> float:
    if when.tzinfo is not None:
        return when.timestamp()
    return calendar.timegm(when.timetuple()) + when.microsecond / 1e6


class EpochParser:
    """Unix epoch seconds in a header field (BGL, Thunderbird, HPC)."""

    def __call__(self, text: str) -> tuple[str, float] | None:
        try:
            seconds = float(text)
            when = datetime.fromtimestamp(seconds, tz=UTC)
        except (ValueError, OverflowError, OSError):
            return None
        return when.isoformat(), seconds


class IsoParser:
    """ISO-8601 / RFC 3339 in its common spellings (``T`` or space, ``,`` or ``.``, ``Z``)."""

    def __init__(self) -> None:
        self._cache: dict[str, tuple[str, float] | None] = {}

    def __call__(self, text: str) -> tuple[str, float] | None:
        cache = self._cache
        hit = cache.get(text, False)
        if hit is not False:
            return hit  # type: ignore[return-value]
        try:
            normal = text.replace(",", ".")
            if normal.endswith(("Z", "z")):
                normal = normal[:-1] + "+00:00"
            when = datetime.fromisoformat(normal)
            result: tuple[str, float] | None = (when.isoformat(), _epoch(when))
        except ValueError:
            result = None
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        cache[text] = result
        return result
