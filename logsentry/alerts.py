"""Alerts for ``tail``: run a command or POST a webhook per anomaly, without flooding.

* ``--alert-cmd 'CMD'`` runs ``sh -c CMD`` with the verdict JSON on stdin and a
  summary in environment variables (``LOGSENTRY_SUMMARY``,
  ``LOGSENTRY_SEQUENCE_ID``, ``LOGSENTRY_SOURCE``, ``LOGSENTRY_LINES``,
  ``LOGSENTRY_SCORE``, ``LOGSENTRY_REPEATS``). Log text never reaches the
  command line or the environment: only stdin, as JSON.
* ``--alert-webhook URL`` POSTs the same JSON, retried with exponential backoff.
* De-duplication: anomalies of the same shape (template set with bucketed
  counts, the LLM cache's key) within ``window`` seconds are one alert; the
  repeats are counted and sent as one follow-up alert (``"repeats": N``) when
  the window closes (or at shutdown).
* Rate limit: at most ``per_minute`` alerts a minute; the rest are counted
  and reported in the next alert that goes out and in the run's summary.

Alerts are sent by one background thread from a bounded queue, so a slow
command or webhook never stops reading; failures are reported, never fatal.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from logsentry.llm.store import sequence_key
from logsentry.report.serialize import line_ranges, verdict_dict
from logsentry.types import Verdict

QUEUE = 256


@dataclass(slots=True)
class AlertStats:
    sent: int = 0
    failed: int = 0
    deduplicated: int = 0
    rate_limited: int = 0
    dropped: int = 0  # queue full


@dataclass(slots=True)
class _Open:
    first: float
    payload: dict[str, Any]
    repeats: int = 0


@dataclass(slots=True)
class Alerter:
    command: str | None = None
    webhook: str | None = None
    window: float = 300.0
    per_minute: int = 20
    timeout: float = 10.0
    retries: int = 3
    notice: Callable[[str], None] = lambda _m: None
    clock: Callable[[], float] = time.monotonic
    stats: AlertStats = field(default_factory=AlertStats)
    _open: dict[str, _Open] = field(default_factory=dict)
    _sent_at: list[float] = field(default_factory=list)
    _queue: queue.Queue[dict[str, Any] | None] = field(
        default_factory=lambda: queue.Queue(QUEUE))
    _thread: threading.Thread | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.command or self.webhook)

    def start(self) -> None:
        if self.enabled and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="logsentry-alerts",
                                            daemon=True)
            self._thread.start()

    # -- deciding ------------------------------------------------------------------
    def add(self, verdicts: list[Verdict], templates_of: Callable[[Any], list[str]]) -> None:
        if not self.enabled:
            return
        now = self.clock()
        self._close_windows(now)
        for v in verdicts:
            if not v.anomalous:
                continue
            key = sequence_key(templates_of(v.sequence))
            held = self._open.get(key)
            if held is not None:
                held.repeats += 1
                self.stats.deduplicated += 1
                continue
            payload = {**verdict_dict(v), "alert": {"repeats": 0, "key": key[:16]}}
            self._open[key] = _Open(now, payload)
            self._send(payload, now)

    def _close_windows(self, now: float) -> None:
        for key in [k for k, o in self._open.items() if now - o.first >= self.window]:
            held = self._open.pop(key)
            if held.repeats:
                self._send(_repeat(held), now)

    def _send(self, payload: dict[str, Any], now: float) -> None:
        self._sent_at = [t for t in self._sent_at if now - t < 60.0]
        if len(self._sent_at) >= self.per_minute:
            self.stats.rate_limited += 1
            return
        self._sent_at.append(now)
        if self.stats.rate_limited:
            payload["alert"]["rate_limited_before"] = self.stats.rate_limited
        try:
            self._queue.put_nowait(payload)
        except queue.Full:
            self.stats.dropped += 1

    def close(self, wait: float = 30.0) -> None:
        """Send the pending repeat counts, then let the sender finish (at most ``wait`` s)."""
        if not self.enabled:
            return
        now = self.clock()
        for held in self._open.values():
            if held.repeats:
                self._send(_repeat(held), now)
        self._open.clear()
        if self._thread is not None:
            try:
                self._queue.put(None, timeout=wait)
            except queue.Full:
                return
            self._thread.join(wait)

    # -- sending (background thread) -----------------------------------------------
    def _run(self) -> None:
        while True:
            payload = self._queue.get()
            if payload is None:
                return
            body = json.dumps(payload, ensure_ascii=False).encode()
            if self.command:
                self._run_command(payload, body)
            if self.webhook:
                self._post(body)

    def _run_command(self, payload: dict[str, Any], body: bytes) -> None:
        lines = payload.get("lines") or []
        env = dict(os.environ,
                   LOGSENTRY_SUMMARY=_summary(payload),
                   LOGSENTRY_SEQUENCE_ID=str(payload.get("sequence_id")),
                   LOGSENTRY_SOURCE=str(payload.get("source")),
                   LOGSENTRY_LINES=line_ranges(lines),
                   LOGSENTRY_SCORE=f"{float(payload.get('score', 0.0)):.3f}",
                   LOGSENTRY_REPEATS=str(payload["alert"].get("repeats", 0)))
        try:
            done = subprocess.run(["/bin/sh", "-c", self.command or ""], input=body, env=env,
                                  capture_output=True, timeout=self.timeout, check=False)
        except subprocess.TimeoutExpired:
            self._failed(f"--alert-cmd timed out after {self.timeout:g} s")
            return
        except OSError as exc:
            self._failed(f"--alert-cmd could not run ({exc.strerror or exc})")
            return
        if done.returncode != 0:
            err = done.stderr.decode("utf-8", "replace").strip().splitlines()
            self._failed(f"--alert-cmd exited {done.returncode}"
                         + (f": {err[-1][:200]}" if err else ""))
        else:
            self.stats.sent += 1

    def _post(self, body: bytes) -> None:
        request = urllib.request.Request(self.webhook or "", body,
                                         {"Content-Type": "application/json"})
        delay = 0.5
        last = ""
        for attempt in range(self.retries + 1):
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    response.read(1 << 16)
                self.stats.sent += 1
                return
            except urllib.error.HTTPError as exc:
                last = f"HTTP {exc.code}"
                if 400 <= exc.code < 500 and exc.code != 429:
                    break  # the request itself is wrong: retrying will not help
            except (urllib.error.URLError, OSError, ValueError) as exc:
                last = str(getattr(exc, "reason", exc))
            if attempt < self.retries:
                time.sleep(delay)
                delay *= 2
        self._failed(f"--alert-webhook failed after {self.retries + 1} tries ({last[:200]})")

    def _failed(self, message: str) -> None:
        self.stats.failed += 1
        self.notice(message)


def _repeat(held: _Open) -> dict[str, Any]:
    payload = dict(held.payload)
    payload["alert"] = {**held.payload["alert"], "repeats": held.repeats}
    return payload


def _summary(payload: dict[str, Any]) -> str:
    repeats = payload["alert"].get("repeats", 0)
    again = f" ({repeats} more of the same)" if repeats else ""
    return (f"logsentry: anomaly in {payload.get('source')} lines "
            f"{line_ranges(payload.get('lines') or [])} (score "
            f"{float(payload.get('score', 0.0)):.2f}){again}")
