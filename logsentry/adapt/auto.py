"""Adapting in the background while ``tail --follow`` reads (``--auto-adapt``).

The adaptation itself runs as ``logsentry adapt`` in a child process, started from
a watcher thread: torch and the fine-tuning stay out of the reading process (no
GIL contention, no memory kept after it), and reading never waits for it. When a
new version was written and activated, ``poll()`` hands its reference to the
reading loop, which swaps the detector between two batches of sequences.

When: once ``every`` new sequences were stored since the last adaptation (every
escalated sequence is stored; the noise filter decides which of them are clean),
or ``interval`` seconds passed with at least ``min_new`` new ones. The store is
counted at most every ``CHECK_SECONDS``.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

CHECK_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class Outcome:
    ref: str | None  # the version written, if any
    activated: bool
    message: str


class AutoAdapter:
    def __init__(self, model: str, store: Path, *, every: int = 500,
                 interval: float = 86_400.0, min_new: int = 10,
                 notice: Callable[[str], None] = lambda _m: None,
                 command: list[str] | None = None) -> None:
        self.model = model
        self.store = store
        self.every = every
        self.interval = interval
        self.min_new = min_new
        self.notice = notice
        self.command = command or [sys.executable, "-m", "logsentry"]
        self.baseline = 0
        self.baseline = self._count()
        self.last_adapt = time.monotonic()
        self._checked = 0.0
        self._thread: threading.Thread | None = None
        self._outcome: Outcome | None = None
        self.runs = 0

    def _count(self) -> int:
        if not self.store.is_file():
            return 0
        try:
            db = sqlite3.connect(f"file:{self.store}?mode=ro", uri=True, timeout=5)
            try:
                return int(db.execute("SELECT COUNT(*) FROM escalations").fetchone()[0])
            finally:
                db.close()
        except sqlite3.Error:  # unreadable now: count nothing new
            return self.baseline

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def poll(self, now: float | None = None) -> Outcome | None:
        """Cheap; call it from the reading loop. Returns a finished adaptation once."""
        now = time.monotonic() if now is None else now
        if self._thread is not None and not self._thread.is_alive():
            self._thread = None
            outcome, self._outcome = self._outcome, None
            return outcome
        if self.running or now - self._checked < CHECK_SECONDS:
            return None
        self._checked = now
        count = self._count()
        new = count - self.baseline
        due = new >= self.every or (now - self.last_adapt >= self.interval
                                    and new >= self.min_new)
        if due:
            self.baseline = count
            self.last_adapt = now
            self.runs += 1
            self.notice(f"auto-adapt: {new:,} new stored sequences; adapting {self.model} "
                        "in the background")
            self._thread = threading.Thread(target=self._run, name="logsentry-auto-adapt",
                                            daemon=True)
            self._thread.start()
        return None

    def _run(self) -> None:
        cmd = [*self.command, "adapt", "--model", self.model, "-o", "json"]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ),
                                  check=False)
        except OSError as exc:
            self._outcome = Outcome(None, False, f"auto-adapt could not start: {exc}")
            return
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no message"])[-1]
            self._outcome = Outcome(None, False, f"auto-adapt failed: {last}")
            return
        try:
            report = json.loads(done.stdout)
            report = report[0] if isinstance(report, list) else report
            ref = str(report["version"])
            activated = bool(report["activated"])
            reason = str(report["reason"])
        except (ValueError, KeyError, IndexError, TypeError):
            self._outcome = Outcome(None, False, "auto-adapt: unreadable report")
            return
        self._outcome = Outcome(ref, activated, f"auto-adapt: wrote {ref}, "
                                f"{'activated' if activated else 'not activated'} ({reason})")

    def close(self, timeout: float = 0.0) -> None:
        """Wait up to ``timeout`` for a running adaptation (it goes on in its own process
        otherwise and finishes or fails on its own; a version is written atomically)."""
        if self._thread is not None:
            self._thread.join(timeout)
