"""Turn header timestamp text into ISO-8601 and epoch seconds, cheaply.

``strptime`` costs several microseconds, and a log repeats the same second
many times, so results are memoized per distinct timestamp text (bounded).
Naive timestamps stay naive in ISO output; their epoch is computed as if UTC,
which is all windows need (differences). Formats without a year (syslog) get
the current year, or the previous one if that would put the line in the future.
"""

from __future__ import annotations

import calendar
from datetime import datetime, timedelta, timezone

_CACHE_LIMIT = 8192


class TimestampParser:
    def __init__(self, fmt: str, *, yearless: bool = False, now: datetime | None = None) -> None:
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
        try:
            if self.yearless:
                when = datetime.strptime(f"{self._now.year} {text}", self.fmt)
                if when > self._now + timedelta(days=2):
                    when = when.replace(year=when.year - 1)
            else:
                when = datetime.strptime(text, self.fmt)
        except ValueError:
            return None
        return when.isoformat(), _epoch(when)


def _epoch(when: datetime) -> float:
    if when.tzinfo is not None:
        return when.timestamp()
    return calendar.timegm(when.timetuple()) + when.microsecond / 1e6


class EpochParser:
    """Unix epoch seconds in a header field (BGL, Thunderbird, HPC)."""

    def __call__(self, text: str) -> tuple[str, float] | None:
        try:
            seconds = float(text)
            when = datetime.fromtimestamp(seconds, tz=timezone.utc)
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
