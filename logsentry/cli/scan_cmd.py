"""``logsentry scan``: a verdict per sequence from the small model; exit 1 on any anomaly."""

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
    SessionKeyOpt,
    WindowOpt,
    check_inputs,
    check_output,
    make_env,
    pipeline_run,
    settings_from,
)
from logsentry.status import ExitCode

BATCH = 512  # sequences judged together (one ONNX call per chunk of them)

ModelOpt = Annotated[
    str | None,
    typer.Option("--model", "-m", help="Model bundle (name or path); default: the active one.",
                 show_default=False),
]


def scan(
    inputs: Inputs = None,
    model: ModelOpt = None,
    output: OutputOpt = "text",
    only_anomalies: Annotated[bool, typer.Option("--only-anomalies",
                                                 help="Print anomalous sequences only.")] = False,
    no_llm: Annotated[bool, typer.Option(
        "--no-llm", help="Small model only (the LLM tier is not built yet: always so).")] = False,
    window: WindowOpt = None,
    session_key: SessionKeyOpt = None,
    log_format: LogFormatOpt = None,
    profile: ProfileOpt = None,
    color: ColorOpt = None,
    force: ForceOpt = False,
    max_line_bytes: MaxLineOpt = None,
    multiline: MultilineOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Judge every sequence: normal or anomalous (exit 1 if any is anomalous)."""
    from logsentry.detect import SmallModelDetector
    from logsentry.embed import TemplateVectors
    from logsentry.ml import registry
    from logsentry.report.scan import ScanReport

    settings = settings_from(log_format=log_format, profile=profile, color=color, window=window,
                             session_key=session_key, max_line_bytes=max_line_bytes,
                             multiline=multiline, model=model)
    env = make_env(color, quiet, settings)
    mode = check_output(output)
    names = check_inputs(inputs, env)
    bundle = registry.load(registry.active_name(env.dirs.data, settings.model), env.dirs.data)
    if settings.log_format == "auto" and bundle.info.get("log_format") not in (None, "?"):
        pass  # auto-detection still decides; the bundle's format is only a hint for now
    vectors = TemplateVectors(env.dirs.cache, on_notice=env.notice)
    detector = SmallModelDetector(bundle, vectors)
    report = ScanReport(env, mode, only_anomalies=only_anomalies,
                        show_source=len(names) > 1 or any(c in n for n in names for c in "*?["))
    with pipeline_run(env, settings, names, force=force) as (run, pipe):
        pending = []
        for seq in pipe.sequences(names):
            pending.append(seq)
            if len(pending) >= BATCH:
                report.add(detector.judge(pending, pipe.parser))
                pending = []
        if pending:
            report.add(detector.judge(pending, pipe.parser))
        report.finish(run)
    code = run.exit_code()
    if code == ExitCode.OK and report.anomalies:
        code = ExitCode.ANOMALIES
    raise typer.Exit(int(code))
