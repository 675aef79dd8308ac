#!/usr/bin/env python3
"""The detection table of the README, every row from its own ``logsentry`` commands.

    python tests/bench/eval_table.py [--only NAME ...]

Runs ``logsentry train`` and ``logsentry eval`` as an operator would (a fresh
``LOGSENTRY_HOME`` per row, so no row inherits another's saved parser state;
the shipped ``default`` bundle for its row), on the shared data, and prints
one Markdown row per setting with P / R / F1, the counts and the exact
commands. About 10 minutes on 2 cores (LogMoE trainings; the cross-system
rows train throw-away models).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))


@dataclass(frozen=True)
class Row:
    name: str
    what: str
    train: list[str]  # logsentry train arguments (empty: none)
    eval: list[str]  # logsentry eval arguments (JSON output is added)


def rows(d: Path) -> list[Row]:
    hdfs = d / "hdfs_loglead_2pct"
    log, labels = str(hdfs / "HDFS_2pct.log.gz"), str(hdfs / "anomaly_label.csv")
    h = f"path={log},format=hdfs,labels={labels}"
    t = (f"path={d / 'thunderbird_19k' / 'Thunderbird_19k.sorted.log.gz'},format=thunderbird,"
         "window=fixed:20,label-field=label")
    b = f"path={d / 'loghub2k' / 'BGL' / 'BGL_2k.log'},format=bgl,window=fixed:20,label-field=label"
    s100 = d / "hdfs_100k_sessions"
    split = ["--split", "chrono:0.8"]
    return [
        Row("hdfs", "supervised (LogMoE), HDFS reference split",
            [log, "--labels", labels, *split, "--name", "hdfs"],
            [log, "--labels", labels, *split, "--model", "hdfs"]),
        Row("hdfs-unlabeled", "unlabeled baseline, HDFS reference split (labels only score)",
            [log, "--labels", labels, "--unlabeled", *split, "--name", "hdfs-unl"],
            [log, "--labels", labels, *split, "--model", "hdfs-unl"]),
        Row("default", "shipped default bundle, HDFS / Thunderbird / BGL test parts", [],
            ["--dataset", h, "--dataset", t, "--dataset", b, *split, "--model", "default"]),
        Row("thunderbird", "Thunderbird 19k alone, fixed:20",
            ["--dataset", t, *split, "--name", "tb"], ["--dataset", t, *split, "--model", "tb"]),
        Row("bgl", "BGL 2k alone, fixed:20",
            ["--dataset", b, *split, "--name", "bgl"], ["--dataset", b, *split, "--model", "bgl"]),
        Row("hdfs100k", "HDFS 100k sessions, deep-loglizer's random split",
            ["--dataset", f"sequences={s100 / 'train.jsonl.gz'}", "--name", "h100k"],
            ["--dataset", f"sequences={s100 / 'test.jsonl.gz'}", "--split", "chrono:0",
             "--model", "h100k"]),
        Row("cross-hdfs", "cross-system: Thunderbird + BGL -> all of HDFS 2%", [],
            ["--train-on", t, "--train-on", b, "--test-on", h]),
        Row("cross-tb", "cross-system: HDFS + BGL -> all of Thunderbird", [],
            ["--train-on", h, "--train-on", b, "--test-on", t]),
        Row("cross-bgl", "cross-system: HDFS + Thunderbird -> all of BGL 2k", [],
            ["--train-on", h, "--train-on", t, "--test-on", b]),
    ]


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "logsentry", *args], env=env,
                          capture_output=True, text=True, cwd=REPO, check=False)


def _shown(args: list[str], d: Path) -> str:
    return "logsentry " + shlex.join(args).replace(str(d), "$D")


def main() -> None:
    from tests.datasets import data_dir

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", action="append", help="row name (repeat): " + ", ".join(
        r.name for r in rows(Path("D"))))
    args = ap.parse_args()
    d = data_dir()
    chosen = [r for r in rows(d) if not args.only or r.name in args.only]
    from logsentry.embed import ensure_encoder
    from logsentry.embed.minilm import encoder_dir

    base = Path(tempfile.mkdtemp(prefix="logsentry-eval-"))
    ensure_encoder(base / "encoder")  # exported once, shared by every row's home
    print(f"# {time.strftime('%Y-%m-%d %H:%M')} UTC; D={d}\n")
    print("| setting | P | R | F1 | test sequences (anomalous) | commands |")
    print("|---|---:|---:|---:|---|---|")
    for row in chosen:
        # A fresh LOGSENTRY_HOME per row: template mining continues a profile's saved
        # parser state, so rows sharing a home would depend on the rows before them.
        home = base / row.name
        target = encoder_dir(home / "cache")
        target.parent.mkdir(parents=True)
        target.symlink_to(encoder_dir(base / "encoder"), target_is_directory=True)
        env = dict(os.environ, LOGSENTRY_HOME=str(home), OMP_WAIT_POLICY="PASSIVE")
        commands = []
        if row.train:
            trained = _run(["train", *row.train, "-q"], env)
            commands.append(_shown(["train", *row.train], d))
            if trained.returncode != 0:
                print(f"| {row.what} | train failed: {trained.stderr.strip()[:200]} |||||")
                continue
        evaluated = _run(["eval", *row.eval, "-o", "json", "-q"], env)
        commands.append(_shown(["eval", *row.eval], d))
        if evaluated.returncode != 0:
            print(f"| {row.what} | eval failed: {evaluated.stderr.strip()[:200]} |||||")
            continue
        reports = []
        for entry in json.loads(evaluated.stdout):
            if "datasets" in entry:  # several data sets: one report each, then all together
                reports += entry["datasets"]
                tests = sum(r["test_sequences"] for r in entry["datasets"])
                anomalous = sum(r["test_anomalous"] for r in entry["datasets"])
                reports.append(dict(entry["overall"], dataset="all together",
                                    test_sequences=tests, test_anomalous=anomalous))
            else:
                reports.append(entry)
        for k, report in enumerate(reports):
            name = row.what
            if len(reports) > 1:
                name = f"{row.what}: {Path(report['dataset']).name}"
            shown = f"`{'`; `'.join(commands)}`" if k == 0 else "(the same)"
            print(f"| {name} | {report['precision']:.3f} | {report['recall']:.3f} | "
                  f"{report['f1']:.3f} | {report['test_sequences']:,} "
                  f"({report['test_anomalous']:,}) | {shown} |")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
