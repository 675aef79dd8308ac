"""How ``scan`` shows its verdicts: JSON lines for machines, a compact story for people.

Text: one colored line per anomalous sequence with its most telling lines
(the evidence, else its first lines), then a summary and a timeline of
anomalies over the input (a sparkline by line position). JSON/JSONL: one
verdict object per sequence (only anomalous ones with ``--only-anomalies``).
"""

from __future__ import annotations

import textwrap
import time
from typing import TYPE_CHECKING

from logsentry.context import Environment
from logsentry.report.escape import escape_text
from logsentry.report.serialize import line_ranges, verdict_dict
from logsentry.report.writer import JsonWriter, TextWriter
from logsentry.types import Verdict

if TYPE_CHECKING:
    from logsentry.cli.common import Run
    from logsentry.llm.escalate import Escalator

SHOWN_LINES = 3
SPARK = " ▁▂▃▄▅▆▇█"
TIMELINE_WIDTH = 60

EXPLANATION_LINES = 9  # wrapped lines of an explanation in text output


class ScanReport:
    def __init__(self, env: Environment, mode: str, *, only_anomalies: bool,
                 show_source: bool) -> None:
        self.env = env
        self.mode = mode
        self.only_anomalies = only_anomalies
        self.show_source = show_source
        self.json = JsonWriter(env.stdout, mode) if mode != "text" else None
        self.text = TextWriter(env) if mode == "text" else None
        self.sequences = 0
        self.anomalies = 0
        self.evolved = 0
        self.llm: Escalator | None = None  # set by scan when the LLM tier is on
        self.started = time.monotonic()
        self._source_base: dict[str, int] = {}
        self._source_max: dict[str, int] = {}
        self._marks: list[int] = []  # global line position of each anomaly

    def _position(self, v: Verdict) -> int:
        seq = v.sequence
        if seq.source not in self._source_base:
            self._source_base[seq.source] = sum(self._source_max.values())
        last = seq.records[-1].end_line
        self._source_max[seq.source] = max(self._source_max.get(seq.source, 0), last)
        return self._source_base[seq.source] + seq.records[0].line

    def add(self, verdicts: list[Verdict]) -> None:
        for v in verdicts:
            self.sequences += 1
            self.evolved += v.routed == "evolved"
            position = self._position(v)
            if v.anomalous:
                self.anomalies += 1
                self._marks.append(position)
            if self.json is not None:
                if v.anomalous or not self.only_anomalies:
                    self.json.write(verdict_dict(v))
            elif v.anomalous:
                self._show(v)

    def _show(self, v: Verdict) -> None:
        assert self.text is not None
        seq = v.sequence
        lines = seq.lines
        head = [("ANOMALY", "bold red"), (f"  score {v.score:.3f}", None)]
        if v.routed == "evolved":
            head.append(("  evolved", "yellow"))
        if self.show_source:
            head.append((f"  {escape_text(seq.source)}", "magenta"))
        if seq.session:
            head.append((f"  {escape_text(seq.session)}", "bold"))
        head.append((f"  lines {line_ranges(lines)} ({len(lines)})", "dim"))
        self.text.line(*head)
        wanted = set(v.evidence)
        chosen = [r for r in seq.records if r.line in wanted] or seq.records[:SHOWN_LINES]
        for record in chosen[:SHOWN_LINES]:
            first = escape_text(record.content.split("\n", 1)[0])
            style = "red" if record.line in wanted else None
            self.text.line((f"  {record.line:>8} │ ", "dim"), (first, style))
        if v.explanation:
            who = "LLM" if v.answered_by != "cache" else "LLM (cached)"
            chunks = textwrap.wrap(escape_text(v.explanation), 96)
            if len(chunks) > EXPLANATION_LINES:  # the whole text is in the JSON output
                chunks = chunks[:EXPLANATION_LINES]
                chunks[-1] += " …"
            for k, chunk in enumerate(chunks):
                self.text.line((f"  {who + ':' if k == 0 else '':<14}", "cyan"), (chunk, "italic"))
        if v.reason and not (self.llm is not None and v.reason == self.llm.unavailable):
            self.text.line(("  note: ", "dim"), (escape_text(v.reason), "dim"))

    def timeline(self) -> str:
        total = sum(self._source_max.values())
        if not self._marks or total <= 0:
            return ""
        width = min(TIMELINE_WIDTH, total)
        buckets = [0] * width
        for mark in self._marks:
            buckets[min(width - 1, (mark - 1) * width // total)] += 1
        peak = max(buckets)
        return "".join(SPARK[0 if b == 0 else max(1, round(b * 8 / peak))] for b in buckets)

    def finish(self, run: Run) -> None:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        lines = run.pipeline.stats.lines
        if self.json is not None:
            self.json.close()
        if self.text is not None and (self.sequences or not run.pipeline.problems):
            share = 100 * self.anomalies / self.sequences if self.sequences else 0.0
            if self.anomalies:
                self.text.line((f"anomalies over the input: |{self.timeline()}|", "dim"))
            self.text.line(
                (f"{self.sequences:,} sequences, ", None),
                (f"{self.anomalies:,} anomalous ({share:.1f}%)", "bold red" if self.anomalies
                 else "green"),
                (f", {self.evolved:,} evolved, {lines:,} lines in {elapsed:.1f}s "
                 f"({lines / elapsed:,.0f} lines/s)", None),
            )
            if self.llm is not None:
                st = self.llm.stats
                escalated = 100 * st.escalated / self.sequences if self.sequences else 0.0
                self.text.line((
                    f"LLM tier ({escape_text(self.llm.llm_label)}): {st.escalated:,} escalated "
                    f"({escalated:.1f}%), {st.cache_hits:,} cache hits, {st.calls:,} LLM calls "
                    f"in {st.seconds:.1f}s, {sum(st.fallbacks.values()):,} fallbacks", "dim"))
                for why, n in st.fallbacks.most_common(3):
                    self.text.line((f"  fallback x{n}: {escape_text(why)}", "yellow"))
            self.text.close()
        run.summary(f"{self.sequences:,} sequences, {self.anomalies:,} anomalous")
