"""The stable JSON shapes of records and sequences (documented in the README)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from logsentry.parse import extract_params
from logsentry.types import LogRecord, Sequence, Verdict


def record_dict(record: LogRecord, *, params: bool = True) -> dict[str, Any]:
    return {
        "source": record.source,
        "line": record.line,
        "end_line": record.end_line,
        "offset": record.offset,
        "timestamp": record.timestamp,
        "level": record.level,
        "component": record.component,
        "content": record.content,
        "template_id": record.template_id,
        "template": record.template,
        "params": extract_params(record.headline, record.template) if params else [],
        "fields": record.fields,
        "truncated": record.truncated,
    }


def sequence_dict(seq: Sequence) -> dict[str, Any]:
    return {
        "sequence_id": seq.sequence_id,
        "source": seq.source,
        "session": seq.session,
        "window": seq.window,
        "lines": seq.lines,
        "owned_from": _owned_line_index(seq),
        "template_ids": seq.template_ids,
        "start": seq.records[0].timestamp,
        "end": seq.records[-1].timestamp,
    }


def verdict_dict(v: Verdict) -> dict[str, Any]:
    """The verdict schema (stable, documented in the README)."""
    seq = v.sequence
    return {
        "sequence_id": seq.sequence_id,
        "source": seq.source,
        "lines": seq.lines,
        "session": seq.session,
        "window": seq.window,
        "verdict": v.verdict,
        "score": round(float(v.score), 6),
        "routed": v.routed,
        "decided_by": v.decided_by,
        "explanation": v.explanation,
        "evidence": v.evidence,
        "model": v.model,
        "unseen_templates": v.unseen_templates,
        "escalated": v.escalated,
        "llm_verdict": v.llm_verdict,
        "reason": v.reason,
        "llm": v.llm,
    }


def _owned_line_index(seq: Sequence) -> int:
    """``owned_from`` counted in lines (records can span several lines)."""
    if not seq.owned_from:
        return 0
    return sum(r.end_line - r.line + 1 for r in seq.records[: seq.owned_from])


def line_ranges(numbers: Iterable[int]) -> str:
    """1,2,3,7,9,10 -> "1-3,7,9-10"."""
    parts: list[str] = []
    start = prev = None
    for n in numbers:
        if start is None:
            start = prev = n
        elif n == prev + 1:  # type: ignore[operator]
            prev = n
        else:
            parts.append(f"{start}" if start == prev else f"{start}-{prev}")
            start = prev = n
    if start is not None:
        parts.append(f"{start}" if start == prev else f"{start}-{prev}")
    return ",".join(parts)
