#!/usr/bin/env python3
"""Throughput and peak memory of ``scan --no-llm`` vs parse-only on the same input.

Run by hand (not collected by pytest):

    python tests/bench/scan.py [--repeat 3] [--input PATH.gz] [--model default]

Stages run in their own subprocesses (peak RSS per stage) in interleaved
rounds; the figure of merit is scan lines/s / parse lines/s (goal >= 0.5:
the model must not be the bottleneck).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

STAGES = {
    "parse": "parse only: read + header + templates (the baseline)",
    "group": "read + parse + bare grouping by block id (a dict of lists: the floor)",
    "sequences": "read + parse + session windows",
    "scan": "scan --no-llm: + template vectors, router, LogMoE (default bundle)",
    "fixed": "read + parse + fixed:100 windows (nothing held)",
    "scan_fixed": "scan --no-llm with fixed:100 windows (model cost when windows close early)",
}


def _stage(name: str, path: str, model: str) -> dict[str, float]:
    import resource

    from logsentry.config import dirs, load_settings
    from logsentry.pipeline import Pipeline, tune_gc

    tune_gc()
    window = "fixed:100" if name in {"fixed", "scan_fixed"} else "auto"
    # as the batch commands build it (cli.common.pipeline_run)
    pipe = Pipeline(load_settings({"log_format": "hdfs", "window": window}), None,
                    freeze_gc=True)
    sequences = 0
    anomalies = 0
    if name.startswith("scan"):
        from logsentry.cli.scan_cmd import BATCH, BATCH_RECORDS
        from logsentry.detect import SmallModelDetector
        from logsentry.embed import TemplateVectors
        from logsentry.ml import registry

        d = dirs()
        detector = SmallModelDetector(registry.load(model, d.data), TemplateVectors(d.cache))
    start = time.perf_counter()
    if name == "parse":
        for _source, batches in pipe.record_batches([path]):
            for _records in batches:
                pass
    elif name == "group":  # what any Python session grouping costs at least
        import re

        block = re.compile(r"blk_-?\d+")
        held: dict[str | None, list[object]] = {}
        for _source, batches in pipe.record_batches([path]):
            for records in batches:
                for record in records:
                    m = block.search(record.headline)
                    held.setdefault(m.group() if m else None, []).append(record)
        sequences = len(held)
    elif name in {"sequences", "fixed"}:
        sequences = sum(1 for _ in pipe.sequences([path]))
    else:
        pending = []
        held_records = 0
        for seq in pipe.sequences([path]):
            pending.append(seq)
            held_records += len(seq.records)
            if len(pending) >= BATCH or held_records >= BATCH_RECORDS:
                held_records = 0
                verdicts = detector.judge(pending, pipe.parser)
                anomalies += sum(v.anomalous for v in verdicts)
                sequences += len(pending)
                pending = []
        verdicts = detector.judge(pending, pipe.parser)
        anomalies += sum(v.anomalous for v in verdicts)
        sequences += len(pending)
    elapsed = time.perf_counter() - start
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"lines": pipe.stats.lines, "sequences": sequences, "anomalies": anomalies,
            "seconds": elapsed, "rss_mb": rss_mb}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--input", help="gzip'd HDFS log (default: the shared 222,579-line sample)")
    ap.add_argument("--model", default="default")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--stage", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.stage:
        print(json.dumps(_stage(args.stage, args.input, args.model)))
        return
    if not args.input:
        from tests.datasets import data_dir

        args.input = str(data_dir() / "hdfs_loglead_2pct" / "HDFS_2pct.log.gz")
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
    results: dict[str, dict[str, float]] = {}
    for _ in range(args.repeat):
        for stage in STAGES:
            cmd = [sys.executable, __file__, "--stage", stage, "--input", args.input,
                   "--model", args.model]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env)
            got = json.loads(out.stdout)
            if stage not in results or got["seconds"] < results[stage]["seconds"]:
                results[stage] = got
    base = results["parse"]["lines"] / results["parse"]["seconds"]
    print(f"# {time.strftime('%Y-%m-%d')} on {platform.node()} ({os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}); input {Path(args.input).name}, model "
          f"{args.model}, best of {args.repeat} interleaved rounds")
    print("| stage | lines/s | sequences/s | ratio vs parse | peak RSS MB |")
    print("|---|---:|---:|---:|---:|")
    for stage, label in STAGES.items():
        r = results[stage]
        rate = r["lines"] / r["seconds"]
        seq_rate = f"{r['sequences'] / r['seconds']:,.0f}" if r["sequences"] else "-"
        print(f"| {label} | {rate:,.0f} | {seq_rate} | {rate / base:.2f} | {r['rss_mb']:.0f} |")
    print(f"\nscan verdicts: {int(results['scan']['sequences']):,} sequences, "
          f"{int(results['scan']['anomalies']):,} anomalous")
    model = results["scan"]["seconds"] - results["sequences"]["seconds"]
    print(f"model + verdicts after session windows: {model:.2f} s; parse only "
          f"{results['parse']['seconds']:.2f} s; bare grouping "
          f"{results['group']['seconds'] - results['parse']['seconds']:.2f} s")


if __name__ == "__main__":
    main()
