"""``--log-format auto``: pick the format whose header matches most sample lines."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from logsentry.formats.records import CONTINUATION
from logsentry.formats.registry import LogFormat, get_format

SAMPLE_LINES = 200
MIN_SHARE = 0.5  # below this, no format is a convincing fit: fall back to raw


@dataclass(frozen=True, slots=True)
class Detection:
    format: LogFormat
    matched: int
    sampled: int

    def describe(self) -> str:
        if self.sampled == 0:
            return f"log format: {self.format.name} (empty input)"
        if self.format.kind == "raw":
            return (f"log format: raw (no known header matched over half of {self.sampled} "
                    "sample lines); use --log-format or add a format to the config file")
        return (f"log format: {self.format.name} ({self.matched}/{self.sampled} sample lines "
                "match); use --log-format to choose another")


def detect_format(sample: Sequence[str], candidates: Sequence[LogFormat]) -> Detection:
    """Score each candidate on header lines (continuations are not evidence either way)."""
    lines = [t for t in sample[:SAMPLE_LINES] if t and not CONTINUATION.match(t)]
    if not lines:
        return Detection(get_format("raw"), 0, 0)
    best: LogFormat | None = None
    best_hits = 0
    for fmt in candidates:
        if fmt.kind == "raw":
            continue
        if fmt.kind == "jsonl":
            hits = sum(1 for t in lines if _is_json_object(t))
        else:
            match = fmt.regex.match
            hits = sum(1 for t in lines if match(t))
        if hits > best_hits:  # strict: earlier (more specific, or user) formats win ties
            best, best_hits = fmt, hits
    if best is None or best_hits < MIN_SHARE * len(lines):
        return Detection(get_format("raw"), best_hits, len(lines))
    return Detection(best, best_hits, len(lines))


def _is_json_object(text: str) -> bool:
    if not text.startswith("{"):
        return False
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False
