"""Helpers for the LLM-tier tests: sequences and small-model verdicts built by hand."""

from __future__ import annotations

import re

from logsentry.types import LogRecord, Sequence, Verdict


def make_sequence(lines: list[str], *, seq_id: str = "s1", first: int = 1) -> Sequence:
    records = []
    for i, text in enumerate(lines):
        n = first + i
        # template = the text with digits dropped: enough for keys and grouping here
        template = re.sub(r"\d+", "<*>", text)
        records.append(LogRecord("app.log", n, n, n * 80, text, text, template_id=0,
                                 template=template))
    return Sequence(seq_id, "app.log", None, "fixed", records)


def make_verdict(seq: Sequence, *, score: float, threshold: float = 0.5,
                 routed: str = "known", evidence: list[int] | None = None) -> Verdict:
    return Verdict(sequence=seq, verdict="anomalous" if score >= threshold else "normal",
                   score=score, routed=routed, decided_by="small_model", model="m@1",
                   evidence=evidence or [])


def templates_of(seq: Sequence) -> list[str]:
    return [r.template for r in seq.records]
