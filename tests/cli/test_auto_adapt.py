"""``tail --follow --auto-adapt``: the model adapts in a child process while reading goes
on, and the new version judges the sequences that close after the swap."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.cli.test_adapt_cmd import write_halves
from tests.cli.test_tail_cmd import Tail, tails, wait_for  # noqa: F401 (fixture)

pytestmark = [pytest.mark.data, pytest.mark.usefixtures("warm_encoder")]


def test_auto_adapt_swaps_in_the_new_version_without_stopping(
        tmp_path: Path, tails: list[Tail], monkeypatch: pytest.MonkeyPatch,  # noqa: F811
        shared_data: Path) -> None:
    period_a, period_b, _labels = write_halves(tmp_path)
    log = tmp_path / "app.log"
    log.write_text("", encoding="utf-8")
    monkeypatch.setenv("LOGSENTRY_LLM", "1")
    out = tmp_path / "out.jsonl"
    t = Tail([str(log), "--auto-adapt", "--adapt-every", "300", "--llm-model", "smollm2-135m",
              "--llm-queue", "2", "-o", "jsonl", "--session-idle", "0.6", "--poll", "0.1",
              "-f", "hdfs"], out)
    tails.append(t)
    time.sleep(1.0)
    with log.open("a", encoding="utf-8") as fh:
        fh.write(period_a.read_text(encoding="utf-8"))
    wait_for(lambda: "now judging with default@2" in t.events(), timeout=240)
    assert "adapting default in the background" in t.events()
    before = len(out.read_text(encoding="utf-8").splitlines())
    with log.open("a", encoding="utf-8") as fh:
        fh.write(period_b.read_text(encoding="utf-8"))
    wait_for(lambda: len(out.read_text(encoding="utf-8").splitlines()) >= before + 1150,
             timeout=120)
    assert t.stop() == 0
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    old, new = rows[:before], rows[before:]
    assert len({v["model"] for v in old}) == 1 and len({v["model"] for v in new}) == 1
    assert new[0]["model"] != old[0]["model"]  # judged by the adapted version
    evolved_before = sum(v["routed"] == "evolved" for v in old) / len(old)
    evolved_after = sum(v["routed"] == "evolved" for v in new) / len(new)
    assert evolved_before > 0.9 and evolved_after < 0.1, (evolved_before, evolved_after)
