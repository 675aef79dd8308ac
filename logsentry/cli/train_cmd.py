"""``logsentry train``: a model bundle from labeled logs, or a baseline from unlabeled ones."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from logsentry.cli.common import (
    ForceOpt,
    Inputs,
    LogFormatOpt,
    ProfileOpt,
    QuietOpt,
    SessionKeyOpt,
    WindowOpt,
    make_env,
    pipeline_run,
    settings_from,
)
from logsentry.context import Environment
from logsentry.errors import InputError

if TYPE_CHECKING:
    from logsentry.ml.bundle import Bundle
    from logsentry.ml.dataset import DatasetSpec, LoadedDataset
    from logsentry.ml.split import Split

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
    dataset: Annotated[list[str] | None, typer.Option(
        "--dataset", help="path=FILE,format=NAME,window=SPEC,labels=CSV|label-field=FIELD "
        "(repeat to train on several systems at once).", show_default=False)] = None,
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
    """Train a model bundle; with --split chrono:0.8 the rest is held out and scored.

    Several systems at once: repeat --dataset path=FILE,format=NAME,window=SPEC,labels=CSV
    (or label-field=FIELD); each is split in time order on its own.
    """

    from logsentry.ml import registry
    from logsentry.ml.bundle import check_name
    from logsentry.ml.split import Split

    if not name:
        raise InputError("--name NAME is required (where the bundle is written)")
    check_name(name)
    if max_len < 1:
        raise InputError("--max-len must be at least 1")
    spec_split = Split.parse(split)
    if spec_split.fraction <= 0:
        raise InputError("--split: the training fraction must be above 0")
    specs = dataset_specs(inputs, dataset, log_format=log_format, window=window,
                          session_key=session_key, labels=labels, label_field=label_field)
    if not unlabeled and not all(s.labeled for s in specs):
        raise InputError("give labels for every data set (--labels FILE, --label-field FIELD, "
                         "or labels=/label-field= in each --dataset), or --unlabeled")
    started = time.monotonic()
    env = make_env(None, quiet, settings_from(profile=profile))
    if unlabeled and any(s.labeled for s in specs):
        env.notice("--unlabeled: the labels only score the held-out part; training never "
                   "reads them")
    loaded = load_all(specs, env, profile=profile, force=force, max_len=max_len)
    target = out if out is not None else registry.models_dir(env.dirs.data) / name
    bundle = train_loaded(loaded, env=env, name=name, target=target, split=spec_split,
                          unlabeled=unlabeled, epochs=epochs, max_len=max_len)
    metrics = bundle.info.get("metrics", {}).get("test")
    summary = f"model {name} written to {bundle.path} in {time.monotonic() - started:.0f}s"
    if metrics:
        summary += f"; held-out {metrics['sequences']:,} sequences"
        if "f1" in metrics:
            summary += (f": P {metrics['precision']:.3f} R {metrics['recall']:.3f} "
                        f"F1 {metrics['f1']:.3f}")
    env.notice(summary)
    raise typer.Exit(0)


def train_loaded(loaded: list[LoadedDataset], *, env: Environment, name: str, target: Path,
                 split: Split, unlabeled: bool, epochs: int | None, max_len: int) -> Bundle:
    """Split each loaded data set, train on the training parts, score the rest; the bundle."""
    import numpy as np

    from logsentry.embed import TemplateVectors
    from logsentry.ml.features import sequence_arrays
    from logsentry.ml.logmoe import LogMoEConfig
    from logsentry.ml.train import TrainSpec, train_bundle

    spec_split = split
    train_texts: list[tuple[str, ...]] = []
    test_texts: list[tuple[str, ...]] = []
    train_y: list[np.ndarray] = []
    groups: list[int] = []
    test_y: list[np.ndarray] = []
    described = []
    for number, item in enumerate(loaded):
        train_rows, test_rows = spec_split.indices(len(item.data))
        groups += [number] * len(train_rows)
        train_texts += [item.texts[i] for i in train_rows]
        test_texts += [item.texts[i] for i in test_rows]
        entry = item.spec.describe() | {"format": item.log_format, "window": item.window,
                                        "sequences": len(item.data), "train": len(train_rows),
                                        "test": len(test_rows)}
        if item.data.y is not None:
            train_y.append(item.data.y[train_rows])
            test_y.append(item.data.y[test_rows])
            entry |= {"train_anomalous": int(item.data.y[train_rows].sum()),
                      "test_anomalous": int(item.data.y[test_rows].sum())}
        described.append(entry)
    y_train = np.concatenate(train_y) if train_y else None
    y_test = np.concatenate(test_y) if test_y else None
    if y_train is not None and not unlabeled and int(y_train.sum()) == 0:
        raise InputError("the training part has no anomalous sequences; use --unlabeled "
                         "or a larger --split fraction")
    vectors = TemplateVectors(env.dirs.cache, on_notice=env.notice)
    train_arrays = sequence_arrays(train_texts, vectors.vectors, max_len=max_len)
    test = (sequence_arrays(test_texts, vectors.vectors, max_len=max_len), y_test) \
        if test_texts else None
    config = LogMoEConfig() if epochs is None else dataclasses.replace(LogMoEConfig(),
                                                                       epochs=epochs)
    formats = sorted({item.log_format for item in loaded})
    spec = TrainSpec(
        name=name, kind="unlabeled" if unlabeled else "supervised", max_len=max_len,
        log_format=formats[0] if len(formats) == 1 else "+".join(formats),
        window=loaded[0].window if len(loaded) == 1 else "per data set",
        data={"split": str(spec_split), "datasets": described,
              "train": len(train_texts), "test": len(test_texts)},
        logmoe=config,
    )
    return train_bundle(spec, train_arrays, None if unlabeled else y_train, target,
                        notice=env.notice, test=test, groups=np.array(groups))


def dataset_specs(inputs: list[str] | None, datasets: list[str] | None, *, log_format: str | None,
                  window: str | None, session_key: str | None, labels: Path | None,
                  label_field: str | None) -> list[DatasetSpec]:
    """``--dataset`` specs, or one data set made of INPUTS and the single-set options."""
    from logsentry.ml.dataset import DatasetSpec

    if datasets:
        if inputs or labels or label_field:
            raise InputError("with --dataset, give files and labels inside each --dataset")
        return [DatasetSpec.parse(d) for d in datasets]
    if not inputs:
        raise InputError("no input: give log files, or --dataset path=FILE,...")
    return [DatasetSpec(tuple(inputs), log_format or "", window or "", session_key or "",
                        str(labels) if labels else "", label_field or "")]


def load_all(specs: list[DatasetSpec], env: Environment, *, profile: str | None,
             force: bool, max_len: int) -> list[LoadedDataset]:
    """Each data set through its own pipeline (its own format, window and parser profile);
    ``auto`` windows hold ``max_len`` records, what the model reads."""
    from logsentry.ml.dataset import load_dataset, read_template_sequences

    loaded = []
    for spec in specs:
        if spec.sequences:
            loaded.append(read_template_sequences(spec))
            continue
        settings = settings_from(log_format=spec.log_format or None, window=spec.window or None,
                                 session_key=spec.session_key or None, profile=profile)
        with pipeline_run(env, settings, list(spec.paths), force=force) as (run, pipe):
            pipe.auto_size = max_len
            item = load_dataset(spec, pipe)
            if run.exit_code():
                raise InputError(f"{', '.join(spec.paths)}: could not be read completely")
        if item.data.unlabeled_dropped:
            env.notice(f"{item.data.unlabeled_dropped:,} sequences have no label in "
                       f"{spec.labels} and were left out")
        loaded.append(item)
    return loaded
