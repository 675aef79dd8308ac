#!/usr/bin/env python3
"""Before/after one ``logsentry adapt`` on an evolved later period (issue 6's report).

Run by hand (not collected by pytest):

    python tests/bench/adapt.py [--llm-model qwen2.5-coder-0.5b] [--seed 0]

The last 20% of the shared HDFS sample (never in the default bundle's training data)
is evolved by CoLA's rules (tests/adapt/evolution.py) and cut in two halves. In a
fresh LOGSENTRY_HOME: scan half A with the LLM tier (this stores the escalations),
``adapt``, then scan half B with the parent and with the new version, each from the
same state (the store and caches as after half A). Prints escalated share, P/R/F1
against the labels and the LLM tier's calls and cache hits for both.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))


def run(args: list[str], home: Path, out: Path | None = None) -> tuple[str, str]:
    env = dict(os.environ, LOGSENTRY_HOME=str(home), OMP_WAIT_POLICY="PASSIVE")
    done = subprocess.run([sys.executable, "-m", "logsentry", *args], env=env,
                          capture_output=True, text=True, check=False)
    if done.returncode not in (0, 1):
        raise SystemExit(f"logsentry {' '.join(args)} failed: {done.stderr.strip()}")
    if out is not None:
        out.write_text(done.stdout, encoding="utf-8")
    return done.stdout, done.stderr


def scores(jsonl: Path, truth: dict[str, bool]) -> dict[str, float]:
    rows = [json.loads(line) for line in jsonl.read_text(encoding="utf-8").splitlines()]
    tp = sum(r["verdict"] == "anomalous" and truth[r["session"]] for r in rows)
    fp = sum(r["verdict"] == "anomalous" and not truth[r["session"]] for r in rows)
    fn = sum(r["verdict"] != "anomalous" and truth[r["session"]] for r in rows)
    return {"n": len(rows), "escalated": sum(r["escalated"] for r in rows),
            "p": tp / max(1, tp + fp), "r": tp / max(1, tp + fn),
            "f1": 2 * tp / max(1, 2 * tp + fp + fn)}


def llm_summary(text: str) -> str:
    m = re.search(r"(\d[\d,]*) cache hits, (\d[\d,]*) LLM calls in ([\d.]+)s", text)
    return f"{m.group(2)} ({m.group(1)} cache hits, {m.group(3)} s)" if m else "-"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--llm-model", default="qwen2.5-coder-0.5b")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    from tests.cli.test_adapt_cmd import write_halves

    work = Path(tempfile.mkdtemp(prefix="logsentry-adapt-bench-"))
    try:
        period_a, period_b, labels = write_halves(work)
        truth = {line.split(",")[0]: line.endswith("Anomaly")
                 for line in labels.read_text(encoding="utf-8").splitlines()[1:]}
        home = work / "home"
        llm = ["--llm-model", args.llm_model]
        started = time.perf_counter()
        run(["scan", str(period_a), *llm], home)
        before_home = work / "home-before"
        shutil.copytree(home, before_home)
        twin = work / "home-before-2"
        shutil.copytree(home, twin)
        report = json.loads(run(["adapt", "-o", "json"], home)[0])
        report = report[0] if isinstance(report, list) else report
        rows = []
        for name, h, model in (("before adapt (parent)", before_home, "default"),
                               (f"after one adapt ({report['version']})", home, None)):
            pick = ["--model", model] if model else []
            text = run(["scan", str(period_b), *llm, *pick], h)[0]
            out = work / f"{name[:6]}.jsonl"
            run(["scan", str(period_b), *llm, *pick, "-o", "jsonl"],
                twin if model else home, out)
            rows.append((name, scores(out, truth), llm_summary(text)))
        print(f"# {time.strftime('%Y-%m-%d %H:%M')} UTC; LLM {args.llm_model}; "
              f"{time.perf_counter() - started:.0f} s")
        print(f"adapt: {report['samples']:,} stored samples, {report['clean']:,} clean, "
              f"{report['dropped']:,} dropped, activated {report['activated']} "
              f"({report['reason']}); {report['seconds']} s")
        print("| later period, half B | sequences | escalated | P | R | F1 | LLM calls |")
        print("|---|---:|---:|---:|---:|---:|---|")
        for name, s, calls in rows:
            print(f"| {name} | {s['n']:,.0f} | {s['escalated']:,.0f} "
                  f"({s['escalated'] / s['n']:.1%}) | {s['p']:.3f} | {s['r']:.3f} | "
                  f"{s['f1']:.3f} | {calls} |")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
