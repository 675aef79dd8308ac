#!/usr/bin/env python3
"""``tail --follow`` on a long, growing file: throughput, and memory that stays bounded.

Run by hand (not collected by pytest):

    python tests/bench/tail.py [--lines 2000000] [--rate 0] [--chunk 20000]

A writer appends the synthetic HDFS sample (regenerated with new seeds, so
block ids never repeat) in chunks while ``logsentry tail --follow --no-llm``
follows the file; the peak RSS of the tail process is sampled from
/proc/PID/status every 0.2 s. The baseline in the same run is ``logsentry
scan --no-llm`` of the finished file (one pass, no following). Reported: lines/s
of each, their ratio, and tail's RSS at 10%, 50% and 100% of the stream (flat
= bounded).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
EXE = Path(sys.executable).parent / "logsentry"


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def main() -> None:
    from logsentry.sample import sample_lines

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=2_000_000)
    ap.add_argument("--chunk", type=int, default=20_000, help="lines per append")
    ap.add_argument("--rate", type=float, default=0.0,
                    help="lines/s the writer aims at (0: as fast as it can)")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="logsentry-tail-bench-"))
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE", LOGSENTRY_HOME=str(work / "home"),
               LOGSENTRY_LLM="0")
    log, out = work / "app.log", work / "verdicts.jsonl"
    # The lines are made before the clock starts (generating them costs more than
    # judging them), and a first small scan exports the sentence encoder once.
    lines: list[str] = []
    seed = 0
    while len(lines) < args.lines:
        seed += 1
        lines.extend(sample_lines(200, seed, 0.03))
    del lines[args.lines:]
    warm = work / "warm.log"
    warm.write_text("\n".join(lines[:5000]) + "\n", encoding="utf-8")
    subprocess.run([str(EXE), "scan", str(warm), "-f", "hdfs", "--no-llm", "-q", "-o", "jsonl"],
                   stdout=subprocess.DEVNULL, env=env, check=False)
    log.write_text("", encoding="utf-8")
    tail = subprocess.Popen([str(EXE), "tail", "--follow", str(log), "--from-start", "-f", "hdfs",
                             "-o", "jsonl", "--session-idle", "2", "--poll", "0.2"],
                            stdout=out.open("w"), stderr=subprocess.DEVNULL, env=env)
    samples: list[tuple[int, float]] = []
    written = 0
    started = time.perf_counter()
    try:
        with log.open("a", encoding="utf-8") as fh:
            for start in range(0, len(lines), args.chunk):
                block = lines[start : start + args.chunk]
                fh.write("\n".join(block) + "\n")
                fh.flush()
                written += len(block)
                samples.append((written, rss_mb(tail.pid)))
                ahead = (written / args.rate if args.rate else 0.05) - (
                    time.perf_counter() - started)
                if ahead > 0:
                    time.sleep(ahead)
        # wait until every line is in a verdict (sessions close after 2 s idle)
        while True:
            time.sleep(0.5)
            samples.append((written, rss_mb(tail.pid)))
            judged = 0
            with out.open(encoding="utf-8") as fh2:
                for line in fh2:
                    if line.endswith("}\n"):
                        judged += len(json.loads(line)["lines"])
            if judged >= written:
                break
        tail_seconds = time.perf_counter() - started - 2.0  # minus the idle wait at the end
    finally:
        tail.terminate()
        tail.wait(timeout=60)
    before = time.perf_counter()
    subprocess.run([str(EXE), "scan", str(log), "-f", "hdfs", "--no-llm", "-o", "jsonl", "-q"],
                   stdout=subprocess.DEVNULL, env=env, check=False)
    scan_seconds = time.perf_counter() - before
    peak = max(r for _w, r in samples)

    def at(fraction: float) -> float:
        want = fraction * written
        return next((r for w, r in samples if w >= want), samples[-1][1])

    print(f"# {time.strftime('%Y-%m-%d')} on {platform.node()} ({os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}); {written:,} synthetic HDFS lines appended in "
          f"chunks of {args.chunk:,}" + (f" at {args.rate:,.0f} lines/s" if args.rate else ""))
    print("| run | lines/s | ratio | RSS MB at 10% / 50% / 100% | peak RSS MB |")
    print("|---|---:|---:|---|---:|")
    print(f"| scan --no-llm of the finished file (baseline) | {written / scan_seconds:,.0f} | "
          "1.00 | - | - |")
    print(f"| tail --follow --no-llm while it grows | {written / tail_seconds:,.0f} | "
          f"{scan_seconds / tail_seconds:.2f} | {at(0.1):.0f} / {at(0.5):.0f} / {at(1.0):.0f} | "
          f"{peak:.0f} |")


if __name__ == "__main__":
    main()
