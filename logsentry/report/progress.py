"""A progress bar on stderr for inputs that take more than about a second.

Only when stderr is a terminal and not ``-q``; it appears after the first
second (so quick runs never flash a bar) and disappears when done.
"""

from __future__ import annotations

import time
from types import TracebackType
from typing import Any

from logsentry.context import Environment
from logsentry.sources import Source
from logsentry.types import LineBatch

DELAY_SECONDS = 1.0


class ProgressBar:
    def __init__(self, env: Environment, total_bytes: int | None) -> None:
        self.enabled = bool(env.stderr_isatty) and not env.quiet
        self.env = env
        self.total = total_bytes
        self.start = time.monotonic()
        self.done_bytes = 0  # bytes of sources already finished
        self.current = ""
        self.current_bytes = 0
        self.lines = 0
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._progress is not None:
            self._progress.stop()

    def advance(self, source: Source, batch: LineBatch) -> None:
        if not self.enabled:
            return
        if source.display != self.current:
            self.done_bytes += self.current_bytes
            self.current, self.current_bytes = source.display, 0
        self.lines += len(batch.texts)
        self.current_bytes = batch.offsets[-1] if batch.offsets else 0
        if self._progress is None:
            if time.monotonic() - self.start < DELAY_SECONDS:
                return
            self._start()
        self._progress.update(self._task, completed=self.done_bytes + self.current_bytes,
                              lines=f"{self.lines:,}")

    def _start(self) -> None:
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self._progress = Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TextColumn("{task.fields[lines]} lines"),
            TimeElapsedColumn(),
            console=self.env.console(stderr=True),
            transient=True,
        )
        self._task = self._progress.add_task("reading", total=self.total, lines="0")
        self._progress.start()
