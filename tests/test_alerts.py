"""Alerts: a command and a webhook per anomaly, de-duplicated, rate-limited, never fatal."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from logsentry.alerts import Alerter
from tests.llm.conftest import make_sequence, make_verdict, templates_of

BAD = ["open file 1", "disk error on sda 3"]


class Hook(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []
    fail_first: ClassVar[int] = 0

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if Hook.fail_first > 0:
            Hook.fail_first -= 1
            self.send_response(503)
            self.end_headers()
            return
        Hook.received.append(body)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def hook() -> Iterator[str]:
    Hook.received = []
    Hook.fail_first = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()
    server.server_close()


def anomalies(n: int, lines: list[str] = BAD) -> list[Any]:
    return [make_verdict(make_sequence(lines, seq_id=f"s{i}", first=10 * i + 1), score=0.95)
            for i in range(n)]


def test_a_flood_of_one_anomaly_is_one_alert_plus_a_count(hook: str) -> None:
    clock = [0.0]
    alerter = Alerter(webhook=hook, window=60, clock=lambda: clock[0])
    alerter.start()
    alerter.add(anomalies(5), templates_of)  # same shape five times
    alerter.add([make_verdict(make_sequence(["all fine 1"]), score=0.01)], templates_of)
    clock[0] = 61.0  # the window closes: the repeats go out as one alert
    alerter.add([], templates_of)
    alerter.close()
    assert [a["alert"]["repeats"] for a in Hook.received] == [0, 4]
    assert Hook.received[0]["sequence_id"] == "s0" and Hook.received[0]["verdict"] == "anomalous"
    assert alerter.stats.sent == 2 and alerter.stats.deduplicated == 4


def test_webhook_retries_with_backoff_then_succeeds(hook: str) -> None:
    Hook.fail_first = 2
    alerter = Alerter(webhook=hook, retries=3)
    alerter.start()
    alerter.add(anomalies(1), templates_of)
    alerter.close()
    assert len(Hook.received) == 1 and alerter.stats.failed == 0


def test_a_dead_webhook_is_reported_not_fatal() -> None:
    messages: list[str] = []
    alerter = Alerter(webhook="http://127.0.0.1:9/nothing", retries=1, timeout=1,
                      notice=messages.append)
    alerter.start()
    alerter.add(anomalies(1), templates_of)
    alerter.close()
    assert alerter.stats.failed == 1 and "failed after 2 tries" in messages[0]


def test_command_gets_json_on_stdin_and_a_summary_without_log_text(tmp_path: Path) -> None:
    out = tmp_path / "alerts.txt"
    cmd = f'cat > "{out}.json"; printf "%s|%s" "$LOGSENTRY_SUMMARY" "$LOGSENTRY_LINES" > "{out}"'
    injected = ["open file 1", "$(touch pwned) `touch pwned2` ; rm -rf / #"]
    alerter = Alerter(command=cmd)
    alerter.start()
    alerter.add(anomalies(1, injected), templates_of)
    alerter.close()
    payload = json.loads(Path(f"{out}.json").read_text(encoding="utf-8"))
    assert payload["sequence_id"] == "s0" and payload["alert"]["repeats"] == 0
    summary, lines = out.read_text(encoding="utf-8").split("|")
    assert summary.startswith("logsentry: anomaly in app.log lines 1-2") and lines == "1-2"
    assert not (tmp_path / "pwned").exists() and not Path("pwned").exists()


def test_failing_or_slow_commands_are_reported(tmp_path: Path) -> None:
    messages: list[str] = []
    alerter = Alerter(command="echo broken >&2; exit 3", notice=messages.append)
    alerter.start()
    alerter.add(anomalies(1), templates_of)
    alerter.close()
    assert messages == ["--alert-cmd exited 3: broken"]
    slow = Alerter(command="sleep 5", timeout=0.2, notice=messages.append)
    slow.start()
    slow.add(anomalies(1), templates_of)
    slow.close()
    assert "timed out" in messages[-1]


def test_rate_limit_caps_alerts_per_minute(hook: str) -> None:
    alerter = Alerter(webhook=hook, per_minute=3)
    alerter.start()
    distinct = [make_verdict(make_sequence([f"kind{'x' * i} failure"], seq_id=f"s{i}"),
                             score=0.9) for i in range(6)]
    alerter.add(distinct, templates_of)
    alerter.close()
    assert len(Hook.received) == 3 and alerter.stats.rate_limited == 3
