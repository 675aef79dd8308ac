"""``logsentry sequences``: how records are grouped into the sequences that get judged."""

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
    SessionKeyOpt,
    WindowOpt,
    check_inputs,
    check_output,
    make_env,
    pipeline_run,
    settings_from,
)
from logsentry.report.serialize import sequence_dict
from logsentry.report.text import sequence_parts
from logsentry.report.writer import JsonWriter, TextWriter


def sequences(
    inputs: Inputs = None,
    window: WindowOpt = None,
    session_key: SessionKeyOpt = None,
    log_format: LogFormatOpt = None,
    profile: ProfileOpt = None,
    output: OutputOpt = "text",
    color: ColorOpt = None,
    force: ForceOpt = False,
    max_line_bytes: MaxLineOpt = None,
    multiline: MultilineOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Group records into sequences (sessions or windows) and list them."""
    settings = settings_from(log_format=log_format, profile=profile, color=color, window=window,
                             session_key=session_key, max_line_bytes=max_line_bytes,
                             multiline=multiline)
    env = make_env(color, quiet, settings)
    mode = check_output(output)
    names = check_inputs(inputs, env)
    show_source = len(names) > 1 or any(ch in n for n in names for ch in "*?[")
    count = 0
    with pipeline_run(env, settings, names, force=force) as (run, pipe):
        if mode == "text":
            text = TextWriter(env)
            for seq in pipe.sequences(names):
                count += 1
                text.line(*sequence_parts(seq, show_source=show_source))
            text.close()
        else:
            writer = JsonWriter(env.stdout, mode)
            for seq in pipe.sequences(names):
                count += 1
                writer.write(sequence_dict(seq))
            writer.close()
        window_used = str(pipe.resolved_window()) if pipe.format else str(pipe.window)
    run.summary(f"{count:,} sequences ({window_used} windows)")
    raise typer.Exit(int(run.exit_code()))
