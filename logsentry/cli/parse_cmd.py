"""``logsentry parse``: one line (or JSON object) per log record, with its template."""

from __future__ import annotations

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
from logsentry.report.serialize import record_dict
from logsentry.report.text import record_parts
from logsentry.report.writer import JsonWriter, TextWriter


def parse(
    inputs: Inputs = None,
    log_format: LogFormatOpt = None,
    profile: ProfileOpt = None,
    output: OutputOpt = "text",
    color: ColorOpt = None,
    force: ForceOpt = False,
    max_line_bytes: MaxLineOpt = None,
    multiline: MultilineOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Parse logs into records and templates (one per record; -o jsonl for machines)."""
    settings = settings_from(log_format=log_format, profile=profile, color=color,
                             max_line_bytes=max_line_bytes, multiline=multiline)
    env = make_env(color, quiet, settings)
    mode = check_output(output)
    names = check_inputs(inputs, env)
    show_source = len(names) > 1 or any(ch in n for n in names for ch in "*?[")
    with pipeline_run(env, settings, names, force=force) as (run, pipe):
        if mode == "text":
            text = TextWriter(env)
            for record in pipe.records(names):
                text.line(*record_parts(record, show_source=show_source))
            text.close()
        else:
            writer = JsonWriter(env.stdout, mode)
            for record in pipe.records(names):
                writer.write(record_dict(record))
            writer.close()
    run.summary()
    raise typer.Exit(int(run.exit_code()))
