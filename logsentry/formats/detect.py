"""``--log-format auto``: pick the format whose header matches most sample lines.

On a tie the earlier format in the candidate list wins: user formats, then the
built-ins in registry order, where a generic format comes before the system
formats that share its header (``syslog`` before ``linux``, ``mac``,
``openssh``; ``thunderbird`` before ``spirit``). The tied ones are named in
the message, since they differ in Drain settings and masks, not in header.
"""

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
    also: tuple[str, ...] = ()  # other formats that matched exactly as many lines

    def describe(self) -> str:
        if self.sampled == 0:
            return f"log format: {self.format.name} (empty input)"
        if self.format.kind == "raw":
            return (f"log format: raw (no known header matched over half of {self.sampled} "
                    "sample lines); use --log-format or add a format to the config file")
        also = f", as for {', '.join(self.also)}" if self.also else ""
        return (f"log format: {self.format.name} ({self.matched}/{self.sampled} sample lines "
                f"match{also}); use --log-format to choose another")


def detect_format(sample: Sequence[str], candidates: Sequence[LogFormat]) -> Detection:
    """Score each candidate on header lines (continuations are not evidence either way)."""
    lines = [t for t in sample[:SAMPLE_LINES] if t and not CONTINUATION.match(t)]
    if not lines:
        return Detection(get_format("raw"), 0, 0)
    best: LogFormat | None = None
    best_hits = 0
    tied: list[str] = []
    for fmt in candidates:
        if fmt.kind == "raw":
            continue
        if fmt.kind == "jsonl":
            hits = sum(1 for t in lines if _is_json_object(t))
        else:
            match = fmt.regex.match
            hits = sum(1 for t in lines if match(t))
        if hits > best_hits:  # strict: earlier (user, or generic) formats win ties
            best, best_hits, tied = fmt, hits, []
        elif hits == best_hits and best is not None:
            tied.append(fmt.name)
    if best is None or best_hits < MIN_SHARE * len(lines):
        return Detection(get_format("raw"), best_hits, len(lines))
    return Detection(best, best_hits, len(lines), tuple(tied))


def _is_json_object(text: str) -> bool:
    if not text.startswith("{"):
        return False
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False
