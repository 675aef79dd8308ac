"""Options shared by commands, and the glue from options to the core."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import typer

from logsentry.config import Settings, load_settings
from logsentry.context import Environment
from logsentry.errors import InputError
from logsentry.parse import state_path
from logsentry.sources import Source
from logsentry.status import ExitCode
from logsentry.types import LineBatch

if TYPE_CHECKING:
    from logsentry.detect import SmallModelDetector
    from logsentry.llm.escalate import Escalator
    from logsentry.llm.store import VerdictStore
    from logsentry.pipeline import Pipeline

OUTPUTS = ("text", "json", "jsonl")

Inputs = Annotated[
    list[str] | None,
    typer.Argument(help="Log files, globs, or - for stdin (the default when piped). "
                        ".gz is read transparently.",
                   show_default=False),
]
LogFormatOpt = Annotated[
    str | None,
    typer.Option("--log-format", "-f",
                 help="auto, raw, jsonl or a system name (see `logsentry formats`).",
                 show_default=False),
]
ProfileOpt = Annotated[
    str | None,
    typer.Option("--profile",
                 help="Parser state profile: template ids are stable within it. "
                      "Default: the log format.",
                 show_default=False),
]
OutputOpt = Annotated[str, typer.Option("--output", "-o", help="text, json or jsonl.")]
ColorOpt = Annotated[
    str | None,
    typer.Option("--color", help="auto, always or never (auto honors NO_COLOR and TTYs).",
                 show_default=False),
]
ForceOpt = Annotated[bool, typer.Option("--force", help="Read input that looks binary.")]
MaxLineOpt = Annotated[
    int | None,
    typer.Option("--max-line-bytes",
                 help="Truncate longer lines (flagged, never fatal). Default 65536.",
                 show_default=False),
]
MultilineOpt = Annotated[
    bool | None,
    typer.Option("--multiline/--no-multiline",
                 help="Join stack-trace lines to the record before them.",
                 show_default=False),
]
QuietOpt = Annotated[
    bool, typer.Option("--quiet", "-q", help="No notices, summary or progress on stderr.")
]
WindowOpt = Annotated[
    str | None,
    typer.Option("--window", "-w", help="auto, session, fixed:N, sliding:N,STEP or time:SECONDS.",
                 show_default=False),
]
SessionKeyOpt = Annotated[
    str | None,
    typer.Option("--session-key",
                 help="Regex for the session id (group 1 if any); overrides the format's.",
                 show_default=False),
]


def check_output(output: str) -> str:
    value = output.lower()
    if value not in OUTPUTS:
        raise InputError(f"--output {output!r}: choose text, json or jsonl")
    return value


def make_env(color: str | None, quiet: bool, settings: Settings | None = None) -> Environment:
    chosen = color or (settings.color if settings else "auto")
    if chosen not in {"auto", "always", "never"}:
        where = "--color" if color or settings is None else \
            f"color (from {settings.origin.get('color', 'settings')})"
        raise InputError(f"{where} {chosen!r}: choose auto, always or never")
    return Environment(color=chosen, quiet=quiet)


def settings_from(**flags: Any) -> Settings:
    return load_settings({k: v for k, v in flags.items() if v is not None})


def check_inputs(inputs: list[str] | None, env: Environment) -> list[str]:
    if inputs:
        return inputs
    if os.isatty(0):
        raise InputError("no input: give log files (or -), or pipe logs into logsentry")
    return ["-"]


def total_bytes(inputs: list[str]) -> int | None:
    total = 0
    for name in inputs:
        if name == "-" or name.endswith(".gz"):
            return None
        size = Source(name).size()
        if size is None:
            return None
        total += size
    return total


@dataclass
class Run:
    """One command's run: environment, settings, pipeline and what to report at the end."""

    env: Environment
    settings: Settings
    pipeline: Pipeline
    started: float

    def summary(self, extra: str = "") -> None:
        env, pipe = self.env, self.pipeline
        stats = pipe.stats
        if stats.invalid_utf8_lines:
            env.notice(f"{stats.invalid_utf8_lines:,} line(s) had invalid UTF-8; "
                       "the bad bytes are shown as U+FFFD")
        if stats.truncated_lines:
            env.notice(f"{stats.truncated_lines:,} line(s) were longer than "
                       f"{self.settings.max_line_bytes:,} bytes and were truncated "
                       "(flagged \"truncated\"; raise --max-line-bytes to keep more)")
        if not env.stderr_isatty or env.quiet:
            return
        elapsed = max(time.monotonic() - self.started, 1e-9)
        templates = len(pipe.parser.templates()) if pipe.parser else 0
        new = pipe.parser.new_templates if pipe.parser else 0
        parts = [f"{stats.lines:,} lines", f"{pipe.records_seen:,} records",
                 f"{templates:,} templates ({new:,} new)"]
        if extra:
            parts.append(extra)
        parts.append(f"{elapsed:.2f}s ({stats.lines / elapsed:,.0f} lines/s)")
        env.notice(", ".join(parts))

    def exit_code(self) -> ExitCode:
        return ExitCode.USAGE if self.pipeline.problems else ExitCode.OK


@contextmanager
def pipeline_run(env: Environment, settings: Settings, inputs: list[str], *,
                 force: bool) -> Iterator[tuple[Run, Any]]:
    """Build the pipeline with progress and problem reporting; save parser state at the end."""
    from logsentry.pipeline import Pipeline, tune_gc
    from logsentry.report.progress import ProgressBar

    # Check option values now, once: not when the first line has been read (never, for
    # empty input), nor once per input file.
    if settings.profile:
        state_path(env.dirs.state, settings.profile)
    if settings.max_line_bytes < 1:
        raise InputError("--max-line-bytes must be at least 1")
    tune_gc()
    bar = ProgressBar(env, total_bytes(inputs))

    def on_batch(source: Source, batch: LineBatch) -> None:
        bar.advance(source, batch)

    pipe = Pipeline(settings, env.dirs, force=force,
                    on_problem=lambda p: env.error(p.message),
                    on_notice=env.notice, on_batch=on_batch if bar.enabled else None,
                    freeze_gc=True)
    run = Run(env, settings, pipe, time.monotonic())
    try:
        with bar:
            yield run, pipe
    finally:
        pipe.close()


def detection_tiers(env: Environment, settings: Settings
                    ) -> tuple[SmallModelDetector, Escalator | None]:
    """The active (or ``--model``) bundle's small-model detector, and the LLM tier's
    escalator when it is on (else None): what ``scan`` and ``tail`` judge with."""
    from logsentry.detect import SmallModelDetector
    from logsentry.embed import TemplateVectors
    from logsentry.ml import registry

    bundle = registry.load(registry.active_name(env.dirs.data, settings.model), env.dirs.data)
    detector = SmallModelDetector(bundle, TemplateVectors(env.dirs.cache, on_notice=env.notice))
    if not settings.llm:
        return detector, None
    from logsentry.llm.tier import make_escalator

    return detector, make_escalator(settings, env.dirs.data, env.dirs.cache,
                                    bundle=detector.model_label, system=settings.log_format,
                                    notice=env.notice, examples=detector.examples_for)


def stored_verdicts(env: Environment) -> VerdictStore:
    """The verdict store that scan and tail fill (explain, feedback, adapt read it); a
    one-line error when nothing was stored yet. The caller closes it."""
    from logsentry.llm.store import VerdictStore

    path = env.dirs.data / "verdicts.sqlite"
    if not path.is_file():
        raise InputError(f"no stored verdicts yet ({path}): scan or tail with the LLM tier "
                         "on first (it stores every escalated sequence)")
    return VerdictStore(path)


NOT_STORED = ("is not stored: only sequences escalated to the LLM tier are kept (scan "
              "without --no-llm)")


def settings_env() -> Environment:
    """The environment for commands that read no logs (models, explain, status): colors
    from the settings, where a bad value falls back to auto."""
    settings = load_settings()
    return Environment(color=settings.color if settings.color in {"auto", "always", "never"}
                       else "auto")
