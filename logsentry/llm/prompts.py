"""Prompts: versioned files under ``logsentry/llm/prompts/``, filled with quoted data.

A prompt file has a ``## system`` and a ``## user`` section; ``$name``
placeholders (``string.Template``) are filled with data that has been quoted
first: every log line is a JSON string (quotes, backslashes and control
characters escaped) after its line number, so a line cannot close the data
block or pass for an instruction. The file name (``verdict-v3``) is the prompt
version and part of every cache key.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources
from string import Template
from typing import Any

from logsentry.parse.masks import Masker
from logsentry.types import LogRecord, Sequence

PROMPT = "verdict-v3"
MAX_LINES = 24  # lines shown to the model: short prompts keep tiny models fast
MAX_CHARS = 240  # per line
EXAMPLE_KINDS = 12  # kinds of line shown per example

# Key order matters: small models tend to answer the first key from priors, so the
# explanation (the reasoning) comes before the verdict. Bounded lengths keep
# generation from looping until the token limit.
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "explanation": {"type": "string", "maxLength": 240},
        "anomalous": {"type": "boolean"},
        "evidence_lines": {"type": "array", "items": {"type": "integer"}, "maxItems": 3},
    },
    "required": ["explanation", "anomalous", "evidence_lines"],
}


LINE_PROMPT = "line-v1"
LINE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"meaning": {"type": "string", "maxLength": 200}},
    "required": ["meaning"],
}
TELLING_LINES = 3


@dataclass(frozen=True, slots=True)
class Prompt:
    version: str
    system: str
    user: Template

    @classmethod
    def load(cls, name: str = PROMPT) -> Prompt:
        text = resources.files("logsentry.llm").joinpath("prompts", f"{name}.txt").read_text(
            encoding="utf-8")
        sections: dict[str, list[str]] = {}
        current: list[str] | None = None
        for line in text.splitlines():
            if line.startswith("## "):
                current = sections.setdefault(line[3:].strip(), [])
            elif current is not None and not line.startswith("#"):
                current.append(line)
        if set(sections) != {"system", "user"}:
            raise ValueError(f"prompt {name}: needs '## system' and '## user' sections")
        return cls(name, "\n".join(sections["system"]).strip(),
                   Template("\n".join(sections["user"]).strip()))

    def render(self, seq: Sequence, *, focus: list[int] | None = None, system: str = "logs",
               examples: list[tuple[str, list[str]]] | None = None,
               context: str = "") -> tuple[str, str, list[int]]:
        """(system message, user message, line numbers shown).

        Each distinct kind of line (template) is shown once, at its first
        occurrence, with how many times and on which lines it occurs; the focus
        lines (the small model's evidence) are shown as well. Numbers, ids,
        addresses and paths are masked (``<IP>``, ``<BLK>``...): they cost the
        most tokens and say the least (20 HDFS lines: ~1,550 tokens raw).
        """
        rows, shown = [], []
        for i, others in pick_records(seq, focus or []):
            record = seq.records[i]
            row = f"{record.line}: {_quote(masked_text(record))}"
            if others:
                more = ", ".join(str(n) for n in others[:6]) + (", ..." if len(others) > 6 else "")
                row += f"  (also on {len(others)} more line(s): {more})"
            rows.append(row)
            shown.append(record.line)
        user = self.user.substitute(system=json.dumps(system), shown=len(rows),
                                    total=len(seq.records), lines="\n".join(rows),
                                    examples=render_examples(examples or []), context=context)
        return self.system, user, shown


def render_line(prompt: Prompt, record: LogRecord, system: str) -> tuple[str, str]:
    """(system message, user message) asking what one log line reports (role explain)."""
    return prompt.system, prompt.user.substitute(system=json.dumps(system),
                                                 line=_quote(masked_text(record)))


def masked_text(record: LogRecord) -> str:
    text = _masker().mask(record.headline)
    if record.level:
        text = f"{record.level} {text}"
    return text[:MAX_CHARS] + "…" if len(text) > MAX_CHARS else text


def telling_records(seq: Sequence, evidence: list[int], templates: list[str]) -> list[int]:
    """Indexes of the records an explanation should describe, one per kind of line: the
    small model's evidence lines, else the rarest kinds in the sequence (an escalated
    "normal" is usually one with an unfamiliar or unusual line)."""
    first: dict[str, int] = {}
    for i, t in enumerate(templates[: len(seq.records)]):
        first.setdefault(t, i)
    by_line = {r.line: i for i, r in enumerate(seq.records)}
    chosen: list[int] = []
    for n in evidence:
        at = by_line.get(n)
        if at is not None and at < len(templates) and first[templates[at]] not in chosen:
            chosen.append(first[templates[at]])
    if not chosen:
        counts: dict[str, int] = {}
        for t in templates:
            counts[t] = counts.get(t, 0) + 1
        chosen = sorted(first.values(), key=lambda i: (counts[templates[i]], i))
    return chosen[:TELLING_LINES]


def parse_meaning(raw: str) -> str:
    """The one-sentence meaning from a line answer; ValueError if there is none."""
    data = json.loads(raw, strict=False)
    meaning = data.get("meaning") if isinstance(data, dict) else None
    if not isinstance(meaning, str) or not meaning.strip():
        raise ValueError("no 'meaning' in the answer")
    meaning = " ".join(meaning.split())
    if not meaning.endswith((".", "!", "?")):  # cut off by the length limit
        end = meaning.rfind(". ")
        meaning = meaning[: end + 1] if end > len(meaning) // 3 else meaning + "…"
    return meaning


def _quote(text: str) -> str:
    """A JSON string in which "</" is written "<\\/" (the same string to a JSON reader),
    so no log text can close a block of the prompt."""
    return json.dumps(text, ensure_ascii=False).replace("</", "<\\/")


def render_examples(examples: list[tuple[str, list[str]]]) -> str:
    """Labeled example sequences as quoted kinds of line with counts (templates)."""
    if not examples:
        return ""
    out = ["<examples>", "Labeled sequences from this system's history, most similar first "
           "(each kind of line once, with its count):"]
    for n, (label, templates) in enumerate(examples, 1):
        out.append(f"Example {n}, labeled {label}:")
        counts: dict[str, int] = {}
        for t in templates:
            counts[t] = counts.get(t, 0) + 1
        for t, count in list(counts.items())[:EXAMPLE_KINDS]:
            text = t if len(t) <= MAX_CHARS else t[:MAX_CHARS] + "…"
            out.append(f"  {_quote(text)} x{count}")
    out.append("</examples>")
    return "\n".join(out) + "\n"


@functools.cache
def _masker() -> Masker:
    return Masker()


def pick_records(seq: Sequence, focus: list[int]) -> list[tuple[int, list[int]]]:
    """(index, other lines of the same template) of at most MAX_LINES records, in
    order: the first record of each template, and every focus line."""
    records = seq.records
    focus_set = set(focus)
    first: dict[object, int] = {}
    others: dict[int, list[int]] = {}
    chosen: dict[int, None] = {}
    for i, r in enumerate(records):
        key = r.template_id or r.template or r.headline
        if r.line in focus_set:
            chosen[i] = None
        if key not in first:
            first[key] = i
            chosen[i] = None
            others[i] = []
        elif i not in chosen:
            others[first[key]].append(r.line)
    picked = sorted(chosen)
    if len(picked) > MAX_LINES:  # keep the focus lines and the earliest of the rest
        keep = {i for i in picked if records[i].line in focus_set}
        for i in picked:
            if len(keep) >= MAX_LINES:
                break
            keep.add(i)
        picked = sorted(keep)[:MAX_LINES]
    return [(i, others.get(i, [])) for i in picked]


def parse_answer(raw: str) -> tuple[bool, str, list[int]]:
    """(anomalous, explanation, evidence lines) from the model's JSON; ValueError if bad."""
    data = json.loads(raw, strict=False)  # small models put raw newlines in strings
    if not isinstance(data, dict) or not isinstance(data.get("anomalous"), bool):
        raise ValueError("no boolean 'anomalous' in the answer")
    explanation = data.get("explanation")
    if not isinstance(explanation, str):
        explanation = ""
    evidence = data.get("evidence_lines")
    lines = [int(x) for x in evidence if isinstance(x, int) and not isinstance(x, bool)] \
        if isinstance(evidence, list) else []
    return data["anomalous"], " ".join(explanation.split()), lines[:3]
