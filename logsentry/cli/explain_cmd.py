"""``logsentry explain SEQUENCE_ID``: a stored escalated verdict, its explanation and lines."""

from __future__ import annotations

import textwrap
from typing import Annotated

import typer

from logsentry.cli.common import NOT_STORED, OutputOpt, check_output, settings_env, stored_verdicts
from logsentry.errors import InputError
from logsentry.report.escape import escape_text
from logsentry.report.serialize import line_ranges
from logsentry.report.writer import JsonWriter, TextWriter


def explain(
    sequence_id: Annotated[str, typer.Argument(
        help="A sequence id from scan output (a unique prefix of 4 or more characters is "
        "enough).")],
    output: OutputOpt = "text",
) -> None:
    """Re-show the stored verdict of an escalated sequence, with its explanation and lines."""
    env = settings_env()
    mode = check_output(output)
    store = stored_verdicts(env)
    try:
        row = store.escalation(sequence_id.strip())
    finally:
        store.close()
    if row is None:
        raise InputError(f"sequence {sequence_id!r} {NOT_STORED}")
    if mode != "text":
        out = JsonWriter(env.stdout, mode)
        out.write(row)
        out.close()
        return
    text = TextWriter(env)
    anomalous = row["verdict"] == "anomalous"
    text.line(("ANOMALY" if anomalous else "normal", "bold red" if anomalous else "green"),
              (f"  {row['sequence_id']}", "bold"),
              (f"  {escape_text(str(row['source']))}", "magenta"),
              (f"  lines {line_ranges(row['lines'])} ({len(row['lines'])})", "dim"))
    text.line((f"  decided by {row['decided_by']}; small model {row['small_verdict']} "
               f"(score {row['small_score']:.3f}, {row['routed']})", None),
              ("" if row["llm_anomalous"] is None else
               f"; LLM said {'anomalous' if row['llm_anomalous'] else 'normal'}", None))
    text.line((f"  model {escape_text(str(row['bundle']))}, LLM {escape_text(str(row['llm']))}, "
               f"prompt {row['prompt']}", "dim"))
    if row.get("reason"):
        text.line(("  note: ", "dim"), (escape_text(row["reason"]), "dim"))
    if row.get("explanation"):
        for k, chunk in enumerate(textwrap.wrap(escape_text(row["explanation"]), 96)):
            text.line((f"  {'LLM:' if k == 0 else '':<6}", "cyan"), (chunk, "italic"))
    evidence = set(row.get("evidence") or [])
    for number, content in row["shown"]:
        first = escape_text(str(content).split("\n", 1)[0])
        style = "red" if number in evidence else None
        text.line((f"  {number:>8} │ ", "dim"), (first, style))
    text.close()
