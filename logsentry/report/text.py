"""Human-readable renderings of records, templates and sequences."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from logsentry.report.escape import escape_text
from logsentry.report.serialize import line_ranges
from logsentry.report.writer import Part
from logsentry.types import LogRecord, Sequence

if TYPE_CHECKING:
    from rich.table import Table

LEVEL_STYLES = {
    "ERROR": "bold red", "ERR": "bold red", "FATAL": "bold red", "CRITICAL": "bold red",
    "SEVERE": "bold red", "CRIT": "bold red", "E": "bold red", "F": "bold red",
    "WARN": "yellow", "WARNING": "yellow", "W": "yellow",
}


def record_parts(record: LogRecord, *, show_source: bool) -> list[Part]:
    where = f"{escape_text(record.source)}:{record.line}" if show_source else f"{record.line}"
    level = record.level
    parts: list[Part] = [(where, "magenta"), (" ", None), (f"T{record.template_id}", "cyan"),
                         (" ", None)]
    if level:
        parts += [(escape_text(level), LEVEL_STYLES.get(level.upper(), "green")), (" ", None)]
    parts.append((escape_text(record.content, keep_newlines=True), None))
    return parts


@dataclass(slots=True)
class TemplateRow:
    template_id: int
    template: str
    count: int
    first: tuple[str, int]
    last: tuple[str, int]


def templates_table(rows: Iterable[TemplateRow], *, show_source: bool) -> Table:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("ID", justify="right", style="cyan", no_wrap=True)
    table.add_column("COUNT", justify="right", no_wrap=True)
    table.add_column("FIRST", justify="right", style="magenta", no_wrap=True)
    table.add_column("LAST", justify="right", style="magenta", no_wrap=True)
    table.add_column("TEMPLATE", overflow="fold")

    def where(at: tuple[str, int]) -> Text:
        return Text(f"{escape_text(at[0])}:{at[1]}" if show_source else str(at[1]))

    for row in rows:
        table.add_row(Text(str(row.template_id)), Text(f"{row.count:,}"), where(row.first),
                      where(row.last), Text(escape_text(row.template)))
    return table


def templates_plain(rows: Iterable[TemplateRow], *, show_source: bool) -> list[str]:
    """The templates table as aligned plain text, for pipes (no width limit, no wrapping)."""
    def where(at: tuple[str, int]) -> str:
        return f"{escape_text(at[0])}:{at[1]}" if show_source else str(at[1])

    cells = [(str(r.template_id), f"{r.count}", where(r.first), where(r.last),
              escape_text(r.template)) for r in rows]
    header = ("ID", "COUNT", "FIRST", "LAST", "TEMPLATE")
    widths = [max(len(header[i]), *(len(c[i]) for c in cells)) for i in range(4)]
    out = []
    for row in [header, *cells]:
        left = "  ".join(row[i].rjust(widths[i]) for i in range(4))
        out.append(f"{left}  {row[4]}")
    return out


def sequence_parts(seq: Sequence, *, show_source: bool) -> list[Part]:
    parts: list[Part] = [(seq.sequence_id, "cyan"), ("  ", None)]
    if show_source:
        parts += [(escape_text(seq.source), "magenta"), ("  ", None)]
    parts += [(seq.window, "dim"), ("  ", None)]
    if seq.session is not None:
        parts += [(escape_text(seq.session), "bold"), ("  ", None)]
    lines = seq.lines
    parts += [(f"lines {line_ranges(lines)}", None), ("  ", None)]
    ids = seq.template_ids
    shown = " ".join(str(i) for i in ids[:40]) + (" …" if len(ids) > 40 else "")
    parts.append((f"templates [{shown}]", "dim"))
    return parts
