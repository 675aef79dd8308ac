"""``logsentry templates``: what Drain3 sees: templates with counts and where they occur."""

from __future__ import annotations

from typing import Annotated

import typer

from logsentry.cli.common import (
    ColorOpt,
    ForceOpt,
    Inputs,
    LogFormatOpt,
    MaxLineOpt,
    MultilineOpt,
    OutputOpt,
    ProfileOpt,
    QuietOpt,
    check_inputs,
    check_output,
    make_env,
    pipeline_run,
    settings_from,
)
from logsentry.errors import InputError
from logsentry.report.text import TemplateRow, templates_plain, templates_table
from logsentry.report.writer import JsonWriter, TextWriter

SORTS = ("count", "id", "first")


def templates(
    inputs: Inputs = None,
    log_format: LogFormatOpt = None,
    profile: ProfileOpt = None,
    output: OutputOpt = "text",
    sort: Annotated[
        str, typer.Option("--sort", help="count (most first), id or first (appearance).")
    ] = "count",
    color: ColorOpt = None,
    force: ForceOpt = False,
    max_line_bytes: MaxLineOpt = None,
    multiline: MultilineOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """List the templates found in the input: id, count, first/last line, template text."""
    settings = settings_from(log_format=log_format, profile=profile, color=color,
                             max_line_bytes=max_line_bytes, multiline=multiline)
    env = make_env(color, quiet, settings)
    mode = check_output(output)
    if sort not in SORTS:
        raise InputError(f"--sort {sort!r}: choose count, id or first")
    names = check_inputs(inputs, env)
    show_source = len(names) > 1 or any(ch in n for n in names for ch in "*?[")
    rows: dict[int, TemplateRow] = {}
    with pipeline_run(env, settings, names, force=force) as (run, pipe):
        for record in pipe.records(names):
            row = rows.get(record.template_id)
            at = (record.source, record.line)
            if row is None:
                rows[record.template_id] = TemplateRow(record.template_id, "", 1, at, at)
            else:
                row.count += 1
                row.last = at
        parser = pipe.parser
        for row in rows.values():
            row.template = (parser.template(row.template_id) if parser else None) or ""
    # ``rows`` is in order of first appearance, across inputs in the order given;
    # sorting by (source name, line) would put a.log before b.log.
    ordered = list(rows.values()) if sort == "first" else sorted(rows.values(), key={
        "count": lambda r: (-r.count, r.template_id),
        "id": lambda r: (r.template_id,),
    }[sort])
    if mode == "text":
        writer = TextWriter(env)
        if ordered and env.stdout_isatty:
            writer.renderable(templates_table(ordered, show_source=show_source))
        elif ordered:
            for line in templates_plain(ordered, show_source=show_source):
                writer.line((line, None))
        writer.close()
    else:
        out = JsonWriter(env.stdout, mode)
        for r in ordered:
            out.write({
                "template_id": r.template_id,
                "template": r.template,
                "count": r.count,
                "first": {"source": r.first[0], "line": r.first[1]},
                "last": {"source": r.last[0], "line": r.last[1]},
            })
        out.close()
    run.summary()
    raise typer.Exit(int(run.exit_code()))
