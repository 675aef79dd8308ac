"""LLM calls off the reading path: a bounded queue and one worker thread (for ``tail``).

``offer`` never blocks: when the queue is full, or the calls of the last minute
have used ``per_minute``, it says no and the caller settles the sequence with
the small model's verdict (``small_model_fallback``). Finished answers are
collected with ``done()`` in the caller's thread, which settles them (the
store is only touched there).
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque

from logsentry.llm.escalate import Ask, Escalator
from logsentry.llm.store import Answer


class LLMWorker:
    def __init__(self, escalator: Escalator, *, size: int = 32, per_minute: int = 0) -> None:
        self.escalator = escalator
        self.per_minute = per_minute
        self._todo: queue.Queue[Ask | None] = queue.Queue(size)
        self._done: queue.Queue[tuple[Ask, Answer | str]] = queue.Queue()
        self._recent: deque[float] = deque()
        self.busy = 0  # asks accepted and not yet collected
        self._thread = threading.Thread(target=self._run, name="logsentry-llm", daemon=True)
        self._thread.start()

    def offer(self, ask: Ask) -> str | None:
        """Queue ``ask``; None if queued, else why not (the fallback reason)."""
        if self.per_minute:
            now = time.monotonic()
            while self._recent and now - self._recent[0] >= 60.0:
                self._recent.popleft()
            if len(self._recent) >= self.per_minute:
                return f"LLM budget of {self.per_minute} calls a minute spent"
        try:
            self._todo.put_nowait(ask)
        except queue.Full:
            return "LLM queue full (the LLM is slower than the log)"
        if self.per_minute:
            self._recent.append(time.monotonic())
        self.busy += 1
        return None

    @property
    def depth(self) -> int:
        return self._todo.qsize()

    def done(self) -> list[tuple[Ask, Answer | str]]:
        out = []
        while True:
            try:
                out.append(self._done.get_nowait())
            except queue.Empty:
                break
        self.busy -= len(out)
        return out

    def close(self, grace: float = 10.0) -> list[tuple[Ask, Answer | str]]:
        """Stop: the call in progress gets ``grace`` seconds; the rest are given back
        with a fallback reason. Returns everything not yet collected."""
        pending: list[Ask] = []
        while True:
            try:
                item = self._todo.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                pending.append(item)
        self._todo.put(None)
        self._thread.join(grace)
        out = self.done()
        out.extend((ask, "LLM answer not awaited at shutdown") for ask in pending)
        self.busy = 0
        return out

    def _run(self) -> None:
        while True:
            ask = self._todo.get()
            if ask is None:
                return
            try:
                result = self.escalator.call(ask)
            except Exception as exc:  # a backend bug must not kill the worker silently
                result = f"LLM failed: {type(exc).__name__}: {exc}"
            self._done.put((ask, result))
