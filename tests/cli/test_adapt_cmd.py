"""``logsentry adapt`` / ``feedback`` / ``models rollback`` end to end, on a log evolution
built from the real HDFS sample (tests/adapt/evolution.py, CoLA's rules).

The default bundle was trained on the first 80% of the HDFS blocks. The later 20% is
evolved (four frequent messages reworded, lines duplicated, removed, swapped) and cut in
two halves: the operator scans the first half with the LLM tier on (the real packaged
SmolLM2; a budget of a few calls, the rest fall back, and every escalation is stored),
adapts, and the second half, never seen by adapt, measures the effect.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from tests.adapt.evolution import build
from tests.cli.conftest import CallMain

pytestmark = [pytest.mark.data, pytest.mark.usefixtures("warm_encoder")]

TAU = 0.9  # the escalation rule's default confidence bound


def write_halves(folder: Path) -> tuple[Path, Path, Path]:
    scenario = build(seed=0, cut=0.8)
    block = re.compile(r"blk_-?\d+")
    first = set(scenario.after_blocks[: len(scenario.after_blocks) // 2])
    halves: tuple[list[str], list[str]] = ([], [])
    for line in scenario.after:
        m = block.search(line)
        assert m is not None
        halves[m.group() not in first].append(line)
    paths = folder / "period-a.log", folder / "period-b.log"
    for path, lines in zip(paths, halves, strict=True):
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    labels = folder / "labels.csv"
    labels.write_text("BlockId,Label\n" + "".join(
        f"{b},{'Anomaly' if bad else 'Normal'}\n" for b, bad in scenario.labels.items()),
        encoding="utf-8")
    return *paths, labels


def measure(call_main: CallMain, log: Path, labels: Path, model: str) -> dict[str, float]:
    """F1 against the labels and the share of sequences the escalation rule sends on."""
    result = call_main(["scan", str(log), "--no-llm", "--model", model, "-o", "jsonl"])
    assert result.code in (0, 1), result.err
    truth = {}
    for line in labels.read_text(encoding="utf-8").splitlines()[1:]:
        block, label = line.split(",")
        truth[block] = label == "Anomaly"
    tp = fp = fn = escalated = n = 0
    for raw in result.out.splitlines():
        v = json.loads(raw)
        n += 1
        said = v["verdict"] == "anomalous"
        real = truth[v["session"]]
        tp += said and real
        fp += said and not real
        fn += real and not said
        escalated += v["routed"] == "evolved" or said or (1 - v["score"]) < TAU
    return {"f1": 2 * tp / (2 * tp + fp + fn), "escalated": escalated / n, "sequences": n}


def test_adapt_on_an_evolved_period_cuts_escalations_and_keeps_f1(
        tmp_path: Path, call_main: CallMain, monkeypatch: pytest.MonkeyPatch,
        shared_data: Path) -> None:
    period_a, period_b, labels = write_halves(tmp_path)
    before = measure(call_main, period_b, labels, "default")

    monkeypatch.setenv("LOGSENTRY_LLM", "1")
    scanned = call_main(["scan", str(period_a), "--llm-model", "smollm2-135m",
                         "--llm-budget", "3", "-o", "jsonl"])
    assert scanned.code == 1, scanned.err
    stored = [json.loads(line) for line in scanned.out.splitlines()]
    assert sum(v["escalated"] for v in stored) > 0.9 * len(stored)  # the period is evolved

    # The operator corrects one verdict; the label is stored and wins in adapt.
    normal = next(v for v in stored if v["verdict"] == "normal")
    said = call_main(["feedback", normal["sequence_id"][:10], "--normal", "--note", "fine"])
    assert said.code == 0 and "confirms" in said.err
    assert call_main(["feedback", "nope", "--anomalous"]).code == 2
    assert call_main(["feedback", normal["sequence_id"], "--normal", "--anomalous"]).code == 2

    for bad in (["--tolerance", "5"], ["--tau-c", "0"], ["--epochs", "0"]):
        refused = call_main(["adapt", *bad])
        assert refused.code == 2 and refused.err.count("\n") == 1, refused.err
    dry = call_main(["adapt", "--dry-run", "-o", "json"])
    assert dry.code == 0, dry.err
    plan = json.loads(dry.out)
    plan = plan[0] if isinstance(plan, list) else plan
    assert plan["dry_run"] and plan["version"] is None and plan["operator"] == 1
    assert call_main(["models", "list", "-o", "json"]).out.count('"ref"') == 1  # nothing written

    adapted = call_main(["adapt"])
    assert adapted.code == 0, adapted.err
    assert "wrote default@2" in adapted.out and "activated" in adapted.out
    after = measure(call_main, period_b, labels, "default@2")
    report = sys.__stderr__ or sys.stderr  # capsys holds print and sys.stderr
    report.write(f"\nlater period ({before['sequences']:.0f} sequences): escalated "
          f"{before['escalated']:.3f} -> {after['escalated']:.3f}, F1 {before['f1']:.3f} -> "
          f"{after['f1']:.3f}\n")
    assert after["escalated"] <= before["escalated"] / 2
    assert after["f1"] >= before["f1"] - 0.01

    listed = call_main(["models", "list"])
    assert "* default@2" in listed.out
    back = call_main(["models", "rollback"])
    assert back.code == 0 and "default@2 -> default" in back.err
    assert call_main(["models", "rollback"]).code == 3  # version 1 has no parent
