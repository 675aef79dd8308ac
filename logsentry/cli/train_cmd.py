"""``logsentry train``: a model bundle from labeled logs, or a baseline from unlabeled ones."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Annotated

import typer

from logsentry.cli.common import (
    ForceOpt,
    Inputs,
    LogFormatOpt,
    ProfileOpt,
    QuietOpt,
    SessionKeyOpt,
    WindowOpt,
    check_inputs,
    make_env,
    pipeline_run,
    settings_from,
)
from logsentry.errors import InputError

LabelsOpt = Annotated[
    Path | None,
    typer.Option("--labels", show_default=False,
                 help="Session label CSV (id,Normal|Anomaly), e.g. HDFS anomaly_label.csv."),
]
LabelFieldOpt = Annotated[
    str | None,
    typer.Option("--label-field", show_default=False,
                 help="Per-line label header field ('-' = normal), e.g. label for BGL."),
]
SplitOpt = Annotated[
    str, typer.Option("--split", help="chrono:FRACTION (default) or random:FRACTION,SEED.")
]


def train(
    inputs: Inputs = None,
    name: Annotated[str, typer.Option("--name", help="Name of the model bundle to write.")] = "",
    out: Annotated[Path | None, typer.Option(
        "--out", help="Write the bundle to this directory instead of the data dir.",
        show_default=False)] = None,
    labels: LabelsOpt = None,
    label_field: LabelFieldOpt = None,
    unlabeled: Annotated[bool, typer.Option("--unlabeled", help="Learn a baseline from logs "
                                                                "assumed mostly normal.")] = False,
    split: SplitOpt = "chrono:1.0",
    epochs: Annotated[int | None, typer.Option("--epochs", help="LogMoE epochs (default 20).",
                                               show_default=False)] = None,
    max_len: Annotated[int, typer.Option("--max-len", help="Records per sequence the models "
                                                           "read.")] = 64,
    window: WindowOpt = None,
    session_key: SessionKeyOpt = None,
    log_format: LogFormatOpt = None,
    profile: ProfileOpt = None,
    force: ForceOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Train a model bundle; with --split chrono:0.8 the rest is held out and scored."""
    from logsentry.embed import TemplateVectors
    from logsentry.ml import registry
    from logsentry.ml.bundle import check_name
    from logsentry.ml.dataset import arrays_for, collect
    from logsentry.ml.logmoe import LogMoEConfig
    from logsentry.ml.split import Split
    from logsentry.ml.train import TrainSpec, train_bundle

    if not name:
        raise InputError("--name NAME is required (where the bundle is written)")
    check_name(name)
    chosen = sum([labels is not None, bool(label_field), unlabeled])
    if chosen != 1:
        raise InputError("give exactly one of --labels FILE, --label-field FIELD or --unlabeled")
    if max_len < 1:
        raise InputError("--max-len must be at least 1")
    spec_split = Split.parse(split)
    settings = settings_from(log_format=log_format, profile=profile, window=window,
                             session_key=session_key)
    env = make_env(None, quiet, settings)
    names = check_inputs(inputs, env)
    started = time.monotonic()
    with pipeline_run(env, settings, names, force=force) as (run, pipe):
        data = collect(pipe, names, labels=labels, label_field=label_field or "")
        parser = pipe.parser
        if parser is None or not data.sequences:
            raise InputError("no sequences in the input; nothing to train on")
        if data.unlabeled_dropped:
            env.notice(f"{data.unlabeled_dropped:,} sequences have no label in {labels} "
                       "and were left out")
        train_rows, test_rows = spec_split.indices(len(data))
        vectors = TemplateVectors(env.dirs.cache, on_notice=env.notice)
        arrays = arrays_for(data.sequences, vectors, max_len, parser.template)
        fmt = pipe.format.name if pipe.format else "?"
        y = data.y
        counts = {"sequences": len(data), "train": len(train_rows),
                  "test": len(test_rows)}
        if y is not None:
            counts |= {"train_anomalous": int(y[train_rows].sum()),
                       "test_anomalous": int(y[test_rows].sum())}
        config = LogMoEConfig() if epochs is None else dataclasses.replace(LogMoEConfig(),
                                                                           epochs=epochs)
        spec = TrainSpec(
            name=name, kind="unlabeled" if unlabeled else "supervised", max_len=max_len,
            log_format=fmt, window=str(pipe.resolved_window()),
            data={"inputs": names, "labels": str(labels) if labels else label_field or None,
                  "split": str(spec_split), **counts},
            logmoe=config,
        )
        if y is not None and not unlabeled and int(y[train_rows].sum()) == 0:
            raise InputError("the training part has no anomalous sequences; use --unlabeled "
                             "or a larger --split fraction")
        target = out if out is not None else registry.models_dir(env.dirs.data) / name
        test = (arrays.subset(test_rows), y[test_rows] if y is not None else None) \
            if len(test_rows) else None
        bundle = train_bundle(spec, arrays.subset(train_rows),
                              None if unlabeled or y is None else y[train_rows], target,
                              notice=env.notice, test=test)
    metrics = bundle.info.get("metrics", {}).get("test")
    summary = f"model {name} written to {bundle.path} in {time.monotonic() - started:.0f}s"
    if metrics:
        summary += f"; held-out {metrics['sequences']:,} sequences"
        if "f1" in metrics:
            summary += (f": P {metrics['precision']:.3f} R {metrics['recall']:.3f} "
                        f"F1 {metrics['f1']:.3f}")
    env.notice(summary)
    raise typer.Exit(int(run.exit_code()))
