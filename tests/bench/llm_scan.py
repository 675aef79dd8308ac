#!/usr/bin/env python3
"""``scan`` with the LLM tier (cache warm) vs ``scan --no-llm`` on the same input.

Run by hand (not collected by pytest):

    python tests/bench/llm_scan.py [--repeat 3] [--input PATH] [--llm-model NAME|FILE]

A first, untimed pass fills the knowledge-reuse cache of a scratch
LOGSENTRY_HOME (its LLM calls are reported); then ``scan --no-llm`` and
``scan`` with the LLM run in interleaved rounds, each as the real executable in
its own process, best round each. The figure of merit is the LLM scan's wall
time over the ``--no-llm`` scan's (goal <= 2: with a warm cache the LLM tier
costs lookups, not calls).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
EXE = Path(sys.executable).parent / "logsentry"


def _run(args: list[str], env: dict[str, str]) -> tuple[float, str]:
    before = time.perf_counter()
    out = subprocess.run([str(EXE), *args], capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - before
    if out.returncode not in (0, 1):
        raise SystemExit(f"logsentry {' '.join(args)} exited {out.returncode}: {out.stderr}")
    return seconds, out.stdout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--input", help="log file (default: the shared HDFS 2% sample)")
    ap.add_argument("--llm-model", default="", help="default: the packaged default LLM")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    if not args.input:
        from tests.datasets import data_dir

        args.input = str(data_dir() / "hdfs_loglead_2pct" / "HDFS_2pct.log.gz")
    home = tempfile.mkdtemp(prefix="logsentry-bench-")
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE", LOGSENTRY_HOME=home, LOGSENTRY_LLM="1")
    base = ["scan", args.input, "-f", "hdfs", "--color", "never"]
    llm = base + (["--llm-model", args.llm_model] if args.llm_model else [])
    seconds, out = _run(llm, env)  # warm-up: fills the cache
    first = next((line for line in out.splitlines() if line.startswith("LLM tier")), "")
    timings: dict[str, float] = {}
    summaries: dict[str, str] = {}
    for _ in range(args.repeat):
        for name, cmd in (("no-llm", [*base, "--no-llm"]), ("llm", llm)):
            took, out = _run(cmd, env)
            if name not in timings or took < timings[name]:
                timings[name] = took
                summaries[name] = next((line for line in out.splitlines()
                                        if line.startswith("LLM tier")), "")
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"# {time.strftime('%Y-%m-%d')} on {platform.node()} ({os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}); input {Path(args.input).name}; best of "
          f"{args.repeat} interleaved rounds, each the logsentry executable in its own process")
    print(f"warm-up pass (cold cache): {seconds:.1f} s; {re.sub(r'^LLM tier ', '', first)}")
    print("| run | wall s | ratio vs --no-llm |")
    print("|---|---:|---:|")
    for name in ("no-llm", "llm"):
        print(f"| scan {'--no-llm' if name == 'no-llm' else 'with the LLM tier, cache warm'} | "
              f"{timings[name]:.2f} | {timings[name] / timings['no-llm']:.2f} |")
    print(f"\nwarm LLM pass: {summaries['llm']}")
    print(f"peak RSS of any run: {rss:.0f} MB")


if __name__ == "__main__":
    main()
