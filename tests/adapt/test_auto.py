"""The auto-adapt scheduler: when it starts an adaptation, and what it makes of the child's
answer. The child here is a stand-in script (its success path runs for real in
tests/cli/test_auto_adapt.py)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from logsentry.adapt.auto import CHECK_SECONDS, AutoAdapter, Outcome
from logsentry.llm.store import VerdictStore


def store_with(path: Path, n: int) -> None:
    store = VerdictStore(path)
    store.put_escalations([{"sequence_id": f"s{i}-{time.monotonic_ns()}", "created": 0.0,
                            "lines": [1], "shown": [], "templates": ["t"], "cache_key": "k",
                            "verdict": "normal", "decided_by": "small_model"}
                           for i in range(n)])
    store.close()


def child(report: object, code: int = 0) -> list[str]:
    """A command that prints ``report`` as the adapt child would, whatever the args."""
    script = (f"import sys; print({json.dumps(json.dumps(report))}); "
              f"print('logsentry: detail', file=sys.stderr); sys.exit({code})")
    return [sys.executable, "-c", script, "--"]


def finish(adapter: AutoAdapter, now: float) -> Outcome:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        now += CHECK_SECONDS
        got = adapter.poll(now)
        if got is not None:
            return got
        time.sleep(0.05)
    raise AssertionError("no outcome")


def test_adapts_after_every_new_samples_and_reports_the_version(tmp_path: Path) -> None:
    db = tmp_path / "verdicts.sqlite"
    store_with(db, 5)  # there before tail started: not new
    ok = {"version": "default@2", "activated": True, "reason": "F1 1.0 vs 1.0"}
    adapter = AutoAdapter("default", db, every=20, command=child(ok))
    assert adapter.poll(100.0) is None and adapter.runs == 0
    store_with(db, 19)
    assert adapter.poll(100.0 + CHECK_SECONDS) is None and adapter.runs == 0
    store_with(db, 1)
    assert adapter.poll(100.0 + 2 * CHECK_SECONDS) is None and adapter.runs == 1  # started
    outcome = finish(adapter, 100.0 + 2 * CHECK_SECONDS)
    assert outcome.ref == "default@2" and outcome.activated
    assert "wrote default@2, activated" in outcome.message
    # The count starts again from there.
    assert adapter.poll(500.0) is None and adapter.runs == 1


def test_the_interval_needs_a_few_new_samples_and_failures_are_one_line(
        tmp_path: Path) -> None:
    db = tmp_path / "verdicts.sqlite"
    failing = child({"error": "x"}, code=2)
    adapter = AutoAdapter("default", db, every=1000, interval=60, min_new=3, command=failing)
    store_with(db, 2)
    assert adapter.poll(adapter.last_adapt + 61) is None and adapter.runs == 0  # too few
    store_with(db, 1)
    assert adapter.poll(adapter.last_adapt + 61 + CHECK_SECONDS) is None and adapter.runs == 1
    outcome = finish(adapter, adapter.last_adapt + 200)
    assert outcome.ref is None and not outcome.activated
    assert outcome.message == "auto-adapt failed: logsentry: detail"


def test_an_unreadable_report_or_store_is_not_fatal(tmp_path: Path) -> None:
    db = tmp_path / "verdicts.sqlite"
    db.write_bytes(b"not a database at all" * 100)
    adapter = AutoAdapter("default", db, every=1, command=child("garbage"))
    assert adapter.baseline == 0 and adapter.poll(100.0) is None  # nothing counted
    db.unlink()
    store_with(db, 3)
    adapter.poll(100.0 + CHECK_SECONDS)
    outcome = finish(adapter, 200.0)
    assert outcome.message == "auto-adapt: unreadable report"
