"""``logsentry tail``: judge what is new in log files, and with ``--follow`` keep going.

Every line of a followed file is judged once across rotations and restarts:
checkpoints (per file: device, inode, fingerprint of its first line, offset)
move only after the verdicts for the lines before them were written and
flushed. SIGTERM / SIGINT flush the open sequences and exit 0; SIGHUP reloads
the config file (LLM and timing settings).
"""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from logsentry.cli.common import (
    ColorOpt,
    ForceOpt,
    LogFormatOpt,
    MaxLineOpt,
    MultilineOpt,
    OutputOpt,
    ProfileOpt,
    QuietOpt,
    SessionKeyOpt,
    WindowOpt,
    check_output,
    detection_tiers,
    make_env,
    settings_from,
)
from logsentry.cli.scan_cmd import ModelOpt
from logsentry.errors import InputError
from logsentry.status import ExitCode


def tail(
    paths: Annotated[list[str], typer.Argument(
        help="Log files or glob patterns (quote globs so new files are picked up).",
        show_default=False)],
    follow: Annotated[bool, typer.Option(
        "--follow", "-F", help="Keep following (like tail -F): rotation, truncation, new "
        "files; stop with Ctrl-C or SIGTERM.")] = False,
    from_start: Annotated[bool | None, typer.Option(
        "--from-start/--from-end", help="Where to begin in a file with no checkpoint "
        "(default: --from-end when following, --from-start otherwise). A file with a "
        "checkpoint always resumes from it.", show_default=False)] = None,
    state_dir: Annotated[Path | None, typer.Option(
        "--state-dir", help="Where checkpoints live (default: the state directory).",
        show_default=False)] = None,
    session_idle: Annotated[float, typer.Option(
        "--session-idle", help="Seconds without a new line after which a sequence (session, "
        "or the open window of a quiet file) is closed and judged.")] = 30.0,
    poll: Annotated[float, typer.Option(
        "--poll", help="Seconds between looks at the files.")] = 0.5,
    alert_cmd: Annotated[str | None, typer.Option(
        "--alert-cmd", help="Run this shell command per anomaly: the verdict JSON on stdin, "
        "LOGSENTRY_SUMMARY and friends in the environment.", show_default=False)] = None,
    alert_webhook: Annotated[str | None, typer.Option(
        "--alert-webhook", help="POST the verdict JSON of each anomaly to this URL (retried).",
        show_default=False)] = None,
    alert_window: Annotated[float, typer.Option(
        "--alert-window", help="Seconds in which anomalies of the same shape are one alert "
        "(the repeats follow as a count).")] = 300.0,
    llm_queue: Annotated[int, typer.Option(
        "--llm-queue", help="Sequences that may wait for the LLM; beyond that they get the "
        "small model's verdict.")] = 32,
    llm_per_minute: Annotated[int, typer.Option(
        "--llm-per-minute", help="At most this many LLM calls a minute (0: no limit).")] = 0,
    auto_adapt: Annotated[bool, typer.Option(
        "--auto-adapt", help="Adapt the model in the background (a `logsentry adapt` child "
        "process) and swap in the new version between sequences.")] = False,
    adapt_every: Annotated[int, typer.Option(
        "--adapt-every", help="With --auto-adapt: adapt once this many new sequences were "
        "stored (escalated).")] = 500,
    adapt_interval: Annotated[float, typer.Option(
        "--adapt-interval", help="With --auto-adapt: or once this many seconds passed (and "
        "at least 10 new were stored).")] = 86_400.0,
    stats_interval: Annotated[float, typer.Option(
        "--stats-interval", help="Print a one-line status to stderr every so many seconds "
        "(0: never).")] = 0.0,
    model: ModelOpt = None,
    output: OutputOpt = "text",
    only_anomalies: Annotated[bool, typer.Option(
        "--only-anomalies", help="Print anomalous sequences only (JSON output).")] = False,
    no_llm: Annotated[bool, typer.Option("--no-llm", help="Small model only.")] = False,
    llm_model: Annotated[str | None, typer.Option(
        "--llm-model", help="GGUF model file or packaged model name for the LLM tier.",
        show_default=False)] = None,
    llm_endpoint: Annotated[str | None, typer.Option(
        "--llm-endpoint", help="OpenAI-compatible server URL instead of a local model.",
        show_default=False)] = None,
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
    """Judge new lines of log files; with --follow, forever (exit 1 if a run without
    --follow found anomalies)."""
    from logsentry.alerts import Alerter
    from logsentry.llm.worker import LLMWorker
    from logsentry.pipeline import Pipeline, tune_gc
    from logsentry.report.scan import ScanReport
    from logsentry.sources.checkpoints import CheckpointStore
    from logsentry.sources.follow import Follower
    from logsentry.stream import StreamEngine
    from logsentry.types import Sequence, Verdict

    if session_idle <= 0 or poll <= 0:
        raise InputError("--session-idle and --poll must be positive")
    if "-" in paths:
        raise InputError("tail follows files (it keeps checkpoints per file); for a pipe use "
                         "`logsentry scan -`")
    flags = dict(log_format=log_format, profile=profile, color=color, window=window,
                 session_key=session_key, max_line_bytes=max_line_bytes, multiline=multiline,
                 model=model, llm_model=llm_model, llm_endpoint=llm_endpoint,
                 llm=False if no_llm else None)
    settings = settings_from(**flags)
    env = make_env(color, quiet, settings)
    mode = check_output(output)
    if mode == "json":
        raise InputError("tail writes a stream: use -o jsonl (or text)")
    detector, escalator = detection_tiers(env, settings)
    adapter = None
    if auto_adapt:
        if not follow:
            raise InputError("--auto-adapt adapts while following: add --follow (or run "
                             "`logsentry adapt`)")
        if escalator is None:
            raise InputError("--auto-adapt learns from the sequences the LLM tier stores: "
                             "drop --no-llm")
        if adapt_every < 1 or adapt_interval <= 0:
            raise InputError("--adapt-every and --adapt-interval must be positive")
        from logsentry.adapt.auto import AutoAdapter
        from logsentry.ml import registry

        adapter = AutoAdapter(registry.active_name(env.dirs.data, settings.model),
                              escalator.store.path, every=adapt_every, interval=adapt_interval,
                              notice=env.notice)
    problems: list[str] = []  # without --follow: reported, and the exit status is 2
    store = CheckpointStore(state_dir.expanduser() if state_dir else env.dirs.state)
    tune_gc()
    pipe = Pipeline(settings, env.dirs, on_notice=env.notice)
    pipe.auto_size = detector.max_len  # "auto" windows: as many records as the model reads
    report = ScanReport(env, mode, only_anomalies=only_anomalies, show_source=True)
    report.llm = escalator
    follower = Follower(paths, known=store.known, leftovers=store.leftovers,
                        from_start=(not follow) if from_start is None else from_start,
                        max_line_bytes=settings.max_line_bytes,
                        partial_timeout=min(5.0, session_idle),
                        on_event=env.notice if follow else (lambda _m: None),
                        on_problem=problems.append if not follow else env.error, force=force)

    templates_of = pipe.templates_of
    if alert_webhook and not alert_webhook.startswith(("http://", "https://")):
        raise InputError(f"--alert-webhook {alert_webhook!r}: give an http(s) URL")
    alerter = Alerter(alert_cmd, alert_webhook, window=alert_window, notice=env.notice)
    alerter.start()

    worker = LLMWorker(escalator, size=llm_queue, per_minute=llm_per_minute) \
        if escalator is not None and escalator.backend is not None else None

    def publish(verdicts: list[Verdict]) -> None:
        report.add(verdicts)
        env.stdout.flush()  # the checkpoint moves only after this
        alerter.add(verdicts, templates_of)

    def judge(sequences: list[Sequence]) -> list[Sequence]:
        """Verdicts now, except those waiting for the LLM (returned: still owed)."""
        verdicts = detector.judge(sequences, pipe.parser)
        if escalator is None:
            publish(verdicts)
            return []
        out, asks = escalator.plan(verdicts, templates_of,
                                   pipe.format.name if pipe.format else None)
        waiting: set[int] = set()
        for ask in asks:
            refused = worker.offer(ask) if worker is not None else "no LLM"
            if refused is None:
                waiting.update([ask.index, *(i for i, _v, _t in ask.riders)])
                continue
            # the LLM is absent or busy: the small model's verdict, now, with the reason
            result = escalator.call(ask) if worker is None else refused
            for index, verdict in escalator.settle(ask, result):
                out[index] = verdict
        publish([v for i, v in enumerate(out) if i not in waiting])
        return [sequences[i] for i in sorted(waiting)]

    def collect(results: list[tuple[Any, Any]]) -> None:
        for ask, result in results:
            settled = [v for _i, v in escalator.settle(ask, result)]  # type: ignore[union-attr]
            publish(settled)
            engine.release([v.sequence for v in settled])

    engine = StreamEngine(pipe, follower, store, judge=judge, idle=session_idle)
    stop: list[int] = []
    reload: list[bool] = []

    def on_stop(signum: int, _frame: Any) -> None:
        stop.append(signum)

    def on_hup(_signum: int, _frame: Any) -> None:
        reload.append(True)

    previous = {sig: signal.signal(sig, on_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    previous[signal.SIGHUP] = signal.signal(signal.SIGHUP, on_hup)
    started = last_stats = time.monotonic()
    try:
        if not follow:
            while engine.poll():
                pass
        else:
            while not stop:
                got = engine.poll()
                if worker is not None:
                    collect(worker.done())
                outcome = adapter.poll() if adapter is not None else None
                if outcome is not None and adapter is not None:
                    env.notice(outcome.message)
                    if outcome.activated and outcome.ref:
                        detector = _swap(env, detector, escalator, outcome.ref)
                        adapter.model = outcome.ref
                if reload:
                    reload.clear()
                    fresh = settings_from(**flags)
                    engine.idle = session_idle
                    if escalator is not None:
                        from logsentry.llm.tier import options_from

                        escalator.options = options_from(fresh, escalator.options.role)
                    env.notice("SIGHUP: settings reloaded")
                now = time.monotonic()
                if stats_interval > 0 and now - last_stats >= stats_interval:
                    last_stats = now
                    _status(env, engine, escalator, worker, now - started)
                if not got:
                    time.sleep(poll)
            while engine.poll():  # what was written up to the signal, then stop
                pass
        engine.shutdown()
        if worker is not None:
            if not follow:  # a one-off run waits for its answers
                while worker.busy:
                    collect(worker.done())
                    time.sleep(0.05)
            collect(worker.close(grace=min(10.0, settings.llm_timeout)))
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        follower.close()
        pipe.close()
        alerter.close()
    if alerter.enabled:
        a = alerter.stats
        env.notice(f"alerts: {a.sent:,} sent, {a.failed:,} failed, {a.deduplicated:,} "
                   f"repeats folded, {a.rate_limited:,} over the rate limit")
    if not quiet:
        llm = ""
        if escalator is not None:
            st = escalator.stats
            llm = (f"; {st.escalated:,} escalated, {st.calls:,} LLM calls, {st.cache_hits:,} "
                   f"cached, {sum(st.fallbacks.values()):,} small-model fallbacks")
        env.notice(f"{engine.lines:,} new lines, {engine.sequences:,} sequences, "
                   f"{report.anomalies:,} anomalous{llm}")
    if report.json is not None:
        report.json.close()
    if follow:
        raise typer.Exit(int(ExitCode.OK))
    for message in problems:
        env.error(message)
    if problems:
        raise typer.Exit(int(ExitCode.USAGE))
    raise typer.Exit(int(ExitCode.ANOMALIES if report.anomalies else ExitCode.OK))


def _swap(env: Any, detector: Any, escalator: Any, ref: str) -> Any:
    """The detector of bundle ``ref``, in place of ``detector`` (between two batches)."""
    from logsentry.detect import SmallModelDetector
    from logsentry.errors import LogsentryError
    from logsentry.ml import registry

    try:
        fresh = SmallModelDetector(registry.load(ref, env.dirs.data), detector.vectors)
    except LogsentryError as exc:
        env.error(f"auto-adapt: cannot load {ref} ({exc}); keeping {detector.model_label}")
        return detector
    if escalator is not None:
        escalator.bundle = fresh.model_label
        escalator.examples = fresh.examples_for
    env.notice(f"auto-adapt: now judging with {ref}")
    return fresh


def _status(env: Any, engine: Any, escalator: Any, worker: Any, elapsed: float) -> None:
    llm = ""
    if escalator is not None:
        st = escalator.stats
        depth = worker.depth if worker is not None else 0
        llm = (f", {st.escalated:,} escalated, queue {depth}, {st.calls:,} LLM calls, "
               f"{st.cache_hits:,} cached, {sum(st.fallbacks.values()):,} fallbacks")
    env.notice(f"status: {engine.lines / max(elapsed, 1e-9):,.0f} lines/s, "
               f"{engine.lines:,} lines, {engine.sequences:,} sequences, "
               f"{len(engine.streams)} files{llm}")
