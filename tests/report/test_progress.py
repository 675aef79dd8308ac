"""The progress bar: stderr only, TTY only, after a delay, gone when done."""

from __future__ import annotations

import io

import pytest

from logsentry.context import Environment
from logsentry.report import progress
from logsentry.sources import Source
from logsentry.types import LineBatch


def _batch(n: int) -> LineBatch:
    return LineBatch("x.log", 1, ["line"] * n, list(range(0, 5 * n, 5)))


def test_no_bar_when_stderr_is_not_a_tty() -> None:
    err = io.StringIO()
    env = Environment(stdout=io.StringIO(), stderr=err, stdout_isatty=False, stderr_isatty=False)
    with progress.ProgressBar(env, 1000) as bar:
        bar.advance(Source("x.log"), _batch(10))
    assert not bar.enabled and err.getvalue() == ""


def test_no_bar_when_quiet() -> None:
    env = Environment(stdout=io.StringIO(), stderr=io.StringIO(), stderr_isatty=True, quiet=True)
    assert not progress.ProgressBar(env, 1000).enabled


def test_bar_appears_only_after_the_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    err = io.StringIO()
    env = Environment(stdout=io.StringIO(), stderr=err, stdout_isatty=False, stderr_isatty=True,
                      color="always")
    with progress.ProgressBar(env, 10_000) as bar:
        bar.advance(Source("x.log"), _batch(10))
        assert bar._progress is None  # a quick run never shows a bar
        monkeypatch.setattr(progress, "DELAY_SECONDS", 0.0)
        bar.advance(Source("x.log"), _batch(10))
        assert bar._progress is not None
    assert "reading" in err.getvalue()
