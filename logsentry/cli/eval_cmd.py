"""``logsentry eval``: precision, recall, F1 and cost of a model on a labeled data set."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from logsentry.cli.common import (
    ForceOpt,
    Inputs,
    LogFormatOpt,
    OutputOpt,
    ProfileOpt,
    QuietOpt,
    SessionKeyOpt,
    WindowOpt,
    check_inputs,
    check_output,
    make_env,
    pipeline_run,
    settings_from,
)
from logsentry.cli.scan_cmd import ModelOpt
from logsentry.cli.train_cmd import LabelFieldOpt, LabelsOpt
from logsentry.errors import InputError
from logsentry.report.writer import JsonWriter, TextWriter


def evaluate(
    inputs: Inputs = None,
    labels: LabelsOpt = None,
    label_field: LabelFieldOpt = None,
    model: ModelOpt = None,
    split: Annotated[str, typer.Option("--split", help="chrono:FRACTION (default 0.8) or "
                                                       "random:FRACTION,SEED; the test part is "
                                                       "scored.")] = "chrono:0.8",
    window: WindowOpt = None,
    session_key: SessionKeyOpt = None,
    log_format: LogFormatOpt = None,
    profile: ProfileOpt = None,
    output: OutputOpt = "text",
    force: ForceOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Score the test part of a labeled data set: P/R/F1, confusion matrix, evolved share."""
    import numpy as np

    from logsentry.detect import SmallModelDetector
    from logsentry.embed import TemplateVectors
    from logsentry.ml import registry
    from logsentry.ml.dataset import collect
    from logsentry.ml.metrics import scores
    from logsentry.ml.split import Split, verbatim_duplicates

    if (labels is None) == (not label_field):
        raise InputError("give exactly one of --labels FILE or --label-field FIELD")
    mode = check_output(output)
    chosen_split = Split.parse(split)
    settings = settings_from(log_format=log_format, profile=profile, window=window,
                             session_key=session_key, model=model)
    env = make_env(None, quiet, settings)
    names = check_inputs(inputs, env)
    bundle = registry.load(registry.active_name(env.dirs.data, settings.model), env.dirs.data)
    detector = SmallModelDetector(bundle, TemplateVectors(env.dirs.cache, on_notice=env.notice))
    with pipeline_run(env, settings, names, force=force) as (run, pipe):
        data = collect(pipe, names, labels=labels, label_field=label_field or "")
        assert data.y is not None
        train_rows, test_rows = chosen_split.indices(len(data))
        test = [data.sequences[i] for i in test_rows]
        if not test:
            raise InputError(f"--split {split}: the test part is empty")
        started = time.perf_counter()
        verdicts = []
        template_of = pipe.parser
        for start in range(0, len(test), 512):
            verdicts += detector.judge(test[start : start + 512], template_of)
        seconds = time.perf_counter() - started
        y = data.y[test_rows]
        predicted = np.array([v.anomalous for v in verdicts])
        result = scores(y, predicted)
        ids = [tuple(s.template_ids) for s in data.sequences]
        duplicates = verbatim_duplicates([ids[i] for i in train_rows], [ids[i] for i in test_rows])
        report = {
            "model": bundle.name,
            "inputs": names,
            "split": str(chosen_split),
            "window": str(pipe.resolved_window()),
            "test_sequences": len(test),
            "test_anomalous": int(y.sum()),
            **result.as_dict(),
            "evolved_fraction": round(float(np.mean([v.routed == "evolved" for v in verdicts])), 4),
            "sequences_per_second": round(len(test) / max(seconds, 1e-9), 1),
            "test_in_train_verbatim": duplicates,
        }
    if mode != "text":
        out = JsonWriter(env.stdout, mode)
        out.write(report)
        out.close()
    else:
        text = TextWriter(env)
        text.line((f"model {bundle.name} on {len(test):,} test sequences "
                   f"({report['test_anomalous']:,} anomalous), split {chosen_split}, "
                   f"{report['window']} windows", "bold"))
        text.line((f"precision {result.precision:.4f}  recall {result.recall:.4f}  "
                   f"F1 {result.f1:.4f}", None))
        text.line((f"confusion: TP {result.tp}  FP {result.fp}  FN {result.fn}  TN {result.tn}",
                   None))
        text.line((f"routed evolved {100 * report['evolved_fraction']:.2f}%, "
                   f"{report['sequences_per_second']:,.0f} sequences/s, "
                   f"{duplicates:,} test sequences occur verbatim in training", "dim"))
        text.close()
    raise typer.Exit(int(run.exit_code()))
