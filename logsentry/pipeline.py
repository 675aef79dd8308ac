"""The read -> records -> templates -> sequences path, as one library call.

    from logsentry.pipeline import Pipeline
    from logsentry.config import load_settings, dirs
    pipe = Pipeline(load_settings(), dirs())
    for seq in pipe.sequences(["app.log"]):
        print(seq.sequence_id, seq.lines, seq.template_ids)
    pipe.close()   # saves the parser state of the profile

Inputs in one run share one log format (auto-detected on the first input
that has lines) and one parser profile, so template ids are comparable.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator
from itertools import chain

from logsentry.config import Dirs, Settings
from logsentry.formats import Detection, LogFormat, RecordBuilder, detect_format, get_format
from logsentry.formats.registry import available_formats
from logsentry.parse import DEFAULT_MASKS, TemplateParser, state_path
from logsentry.sequence import AUTO_FIXED_SIZE, Limits, SessionKey, WindowSpec, make_sequencer
from logsentry.sources import Source, SourceProblem, read_all, resolve_inputs
from logsentry.types import LineBatch, LogRecord, ReadStats, Sequence


def tune_gc() -> None:
    """Pipelines allocate millions of small acyclic objects; the default GC
    thresholds make the collector run every 700 of them for nothing."""
    gc.set_threshold(100_000, 50, 100)


# Batch commands (scan, train, ...) can hold every record of the input until its end
# (HDFS blocks stay open for a whole file). The cyclic collector traverses each held
# record again and again for nothing (they are acyclic and freed by reference counting
# when their sequence is done): with ``freeze_gc`` the pipeline moves what exists to
# the permanent generation after each batch (O(1)), and ``close`` moves it back. Measured
# on the shared HDFS sample: scan 1.19 s -> 1.08 s. ``tail`` does not freeze: it runs
# for days, and cyclic garbage from other work would wait for ``close``.


class Pipeline:
    def __init__(
        self,
        settings: Settings,
        dirs: Dirs | None,
        *,
        force: bool = False,
        on_problem: Callable[[SourceProblem], None] | None = None,
        on_notice: Callable[[str], None] | None = None,
        on_batch: Callable[[Source, LineBatch], None] | None = None,
        freeze_gc: bool = False,
    ) -> None:
        self.settings = settings
        self.dirs = dirs
        self.force = force
        self.on_problem = on_problem
        self.on_notice = on_notice or (lambda _msg: None)
        self.on_batch = on_batch
        self.freeze_gc = freeze_gc
        self.stats = ReadStats()
        self.problems: list[SourceProblem] = []
        self.format: LogFormat | None = None
        self.detection: Detection | None = None
        self.parser: TemplateParser | None = None
        self.window = WindowSpec.parse(settings.window)
        # Records per "auto" window where the format has no session id: commands that
        # run a model set it to the records the model reads (its max_len).
        self.auto_size = AUTO_FIXED_SIZE
        self.records_seen = 0
        if settings.log_format != "auto":
            self.format = get_format(settings.log_format, settings.formats)

    # -- stages ------------------------------------------------------------
    def _problem(self, problem: SourceProblem) -> None:
        self.problems.append(problem)
        if self.on_problem:
            self.on_problem(problem)

    def _choose_format(self, first: LineBatch) -> LogFormat:
        if self.format is None:
            self.detection = detect_format(first.texts, available_formats(self.settings.formats))
            self.format = self.detection.format
            self.on_notice(self.detection.describe())
        return self.format

    def _make_parser(self, fmt: LogFormat) -> TemplateParser:
        s = self.settings
        masks = tuple(fmt.masks) + (DEFAULT_MASKS if s.default_masks else ()) + tuple(s.masks)
        profile = s.profile or fmt.name
        state_file = state_path(self.dirs.state, profile) if self.dirs is not None else None
        parser = TemplateParser(
            masks=masks,
            sim_th=s.sim_th or fmt.sim_th,
            depth=s.depth or fmt.depth,
            state_file=state_file,
        )
        for warning in parser.warnings:
            self.on_notice(warning)
        return parser

    def session_key(self) -> SessionKey | None:
        pattern = self.settings.session_key or (self.format.session_key if self.format else "")
        return SessionKey(pattern) if pattern else None

    def sources(self, inputs: Iterable[str]) -> list[Source]:
        found, problems = resolve_inputs(inputs)
        for problem in problems:
            self._problem(problem)
        return found

    def record_batches(
        self, inputs: Iterable[str]
    ) -> Iterator[tuple[Source, Iterator[list[LogRecord]]]]:
        """Parsed records in lists, one iterator per readable source (consume each in turn)."""
        s = self.settings
        for source, batches in read_all(
            self.sources(inputs),
            max_line_bytes=s.max_line_bytes,
            force=self.force,
            stats=self.stats,
            on_problem=self._problem,
        ):
            first = next(batches, None)
            if first is None:
                continue
            fmt = self._choose_format(first)
            if self.parser is None:
                self.parser = self._make_parser(fmt)
            yield source, self._parsed(source, fmt, chain([first], batches))

    def _parsed(self, source: Source, fmt: LogFormat,
                batches: Iterator[LineBatch]) -> Iterator[list[LogRecord]]:
        s = self.settings
        builder = RecordBuilder(fmt, multiline=s.multiline,
                                jsonl_keys=(s.jsonl_message, s.jsonl_time, s.jsonl_level))
        parser = self.parser
        assert parser is not None
        hook = self.on_batch
        freeze = self.freeze_gc
        for batch in batches:
            if hook:
                hook(source, batch)
            records = builder.feed(batch)
            if records:
                parser.parse_batch(records)
                self.records_seen += len(records)
                yield records
                if freeze:
                    gc.freeze()
        last = builder.finish()
        if last is not None:
            parser.parse_batch([last])
            self.records_seen += 1
            yield [last]

    def records(self, inputs: Iterable[str]) -> Iterator[LogRecord]:
        for _source, batches in self.record_batches(inputs):
            for records in batches:
                yield from records

    def sequences(self, inputs: Iterable[str]) -> Iterator[Sequence]:
        s = self.settings
        limits = Limits(s.max_open_sessions, s.max_session_records, s.max_buffered_records)
        for source, batches in self.record_batches(inputs):
            sequencer = make_sequencer(self.window, source.display, self.session_key(), limits,
                                       self.auto_size)
            for records in batches:
                yield from sequencer.add_many(records)
            yield from sequencer.flush()

    def templates_of(self, seq: Sequence) -> list[str]:
        """The current (most general) template text of each record of ``seq``."""
        template = self.parser.template if self.parser is not None else (lambda _i: None)
        return [template(r.template_id) or r.template for r in seq.records]

    def resolved_window(self) -> WindowSpec:
        return self.window.resolve(self.session_key() is not None,
                                   self.settings.max_session_records, self.auto_size)

    def close(self) -> None:
        """Persist the parser state (template ids stay stable across runs); hand frozen
        objects back to the cyclic collector."""
        if self.freeze_gc:
            gc.unfreeze()
        if self.parser is not None:
            self.parser.save()
