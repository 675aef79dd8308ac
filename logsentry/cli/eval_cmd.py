"""``logsentry eval``: precision, recall, F1 and cost of a model on labeled data sets."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

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
    check_output,
    make_env,
    settings_from,
)
from logsentry.cli.scan_cmd import ModelOpt
from logsentry.cli.train_cmd import (
    LabelFieldOpt,
    LabelsOpt,
    dataset_specs,
    load_all,
    train_loaded,
)
from logsentry.errors import InputError
from logsentry.report.writer import JsonWriter, TextWriter


def evaluate(
    inputs: Inputs = None,
    labels: LabelsOpt = None,
    label_field: LabelFieldOpt = None,
    dataset: Annotated[list[str] | None, typer.Option(
        "--dataset", help="path=FILE,format=NAME,window=SPEC,labels=CSV|label-field=FIELD "
        "(repeat; each is split and scored on its own).", show_default=False)] = None,
    train_on: Annotated[list[str] | None, typer.Option(
        "--train-on", help="Cross-system: train a throw-away model on these data sets "
        "(--dataset syntax, repeatable) and score --test-on with it.",
        show_default=False)] = None,
    test_on: Annotated[list[str] | None, typer.Option(
        "--test-on", help="Score these whole data sets (--dataset syntax, repeatable).",
        show_default=False)] = None,
    model: ModelOpt = None,
    split: Annotated[str, typer.Option("--split", help="chrono:FRACTION (default 0.8) or "
                                                       "random:FRACTION,SEED; the rest is "
                                                       "scored (chrono:0 scores everything: "
                                                       "cross-system).")] = "chrono:0.8",
    window: WindowOpt = None,
    session_key: SessionKeyOpt = None,
    log_format: LogFormatOpt = None,
    profile: ProfileOpt = None,
    output: OutputOpt = "text",
    plot: Annotated[Path | None, typer.Option(
        "--plot", help="Also draw score histograms, the precision-recall curve and the "
        "confusion matrix to this PNG.", show_default=False)] = None,
    llm: Annotated[bool, typer.Option(
        "--llm", help="Also run the LLM tier on the escalated test sequences and report both "
        "(answers cached in eval-verdicts.sqlite, apart from scan's store).")] = False,
    llm_model: Annotated[str | None, typer.Option(
        "--llm-model", help="GGUF file or packaged model name (with --llm).",
        show_default=False)] = None,
    llm_endpoint: Annotated[str | None, typer.Option(
        "--llm-endpoint", help="OpenAI-compatible server URL (with --llm).",
        show_default=False)] = None,
    llm_budget: Annotated[str | None, typer.Option(
        "--llm-budget", help="At most N LLM calls or Ns seconds per data set (with --llm); "
        "the rest falls back.", show_default=False)] = None,
    llm_role: Annotated[str | None, typer.Option(
        "--llm-role", help="explain, judge or auto (see scan).", show_default=False)] = None,
    llm_tau: Annotated[float | None, typer.Option(
        "--llm-tau", help="Escalate when confidence in normal is below this (default 0.9).",
        show_default=False)] = None,
    force: ForceOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Score the test part of labeled data: P/R/F1, confusion matrix, evolved share, speed."""
    import tempfile

    import numpy as np

    from logsentry.detect import SmallModelDetector
    from logsentry.embed import TemplateVectors
    from logsentry.ml import registry
    from logsentry.ml.dataset import DatasetSpec
    from logsentry.ml.features import DEFAULT_MAX_LEN
    from logsentry.ml.metrics import scores
    from logsentry.ml.split import Split, verbatim_duplicates

    mode = check_output(output)
    chosen_split = Split.parse(split)
    if train_on and not test_on:
        raise InputError("--train-on needs --test-on (the system to score)")
    if test_on:
        if inputs or dataset:
            raise InputError("with --test-on, give the data sets to score only there")
        specs = [DatasetSpec.parse(d) for d in test_on]
        chosen_split = Split("chrono", 0.0)  # a system never seen: all of it is test data
    else:
        specs = dataset_specs(inputs, dataset, log_format=log_format, window=window,
                              session_key=session_key, labels=labels, label_field=label_field)
    if not all(s.labeled for s in specs):
        raise InputError("eval needs labels: --labels FILE or --label-field FIELD (or "
                         "labels=/label-field= in each --dataset)")
    settings = settings_from(profile=profile, model=model, llm_model=llm_model,
                             llm_endpoint=llm_endpoint, llm_budget=llm_budget, llm_role=llm_role,
                             llm_tau=llm_tau)
    env = make_env(None, quiet, settings)
    scratch = tempfile.TemporaryDirectory(prefix="logsentry-cross-")
    if train_on:
        train_specs = [DatasetSpec.parse(d) for d in train_on]
        if not all(s.labeled for s in train_specs):
            raise InputError("--train-on data sets need labels (labels= or label-field=)")
        env.notice(f"training a cross-system model on {len(train_specs)} data set(s)")
        bundle = train_loaded(load_all(train_specs, env, profile=profile, force=force,
                                       max_len=DEFAULT_MAX_LEN),
                              env=env, name="cross-system",
                              target=Path(scratch.name) / "cross-system",
                              split=Split("chrono", 1.0), unlabeled=False, epochs=None,
                              max_len=DEFAULT_MAX_LEN)
    else:
        bundle = registry.load(registry.active_name(env.dirs.data, settings.model),
                               env.dirs.data)
    detector = SmallModelDetector(bundle, TemplateVectors(env.dirs.cache, on_notice=env.notice))
    loaded = load_all(specs, env, profile=profile, force=force, max_len=detector.max_len)
    reports: list[dict[str, Any]] = []
    all_y: list[np.ndarray] = []
    all_p: list[np.ndarray] = []
    all_scores: list[np.ndarray] = []
    for item in loaded:
        assert item.data.y is not None
        train_rows, test_rows = chosen_split.indices(len(item.data))
        test = [item.data.sequences[i] for i in test_rows]
        if not test:
            raise InputError(f"--split {split}: the test part of {item.spec.paths[0]} is empty")
        started = time.perf_counter()
        verdicts = detector.judge(test, texts_of=[item.texts[i] for i in test_rows])
        seconds = time.perf_counter() - started
        y = item.data.y[test_rows]
        predicted = np.array([v.anomalous for v in verdicts])
        all_y.append(y)
        all_p.append(predicted)
        all_scores.append(np.array([v.score for v in verdicts]))
        llm_report = None
        if llm:
            llm_report, combined = _with_llm(settings, env, detector, item, test_rows,
                                             verdicts, y)
            all_p[-1] = combined
        ids = [tuple(s.template_ids) for s in item.data.sequences]
        reports.append({
            "dataset": ", ".join(item.spec.paths),
            "format": item.log_format,
            "window": item.window,
            "split": str(chosen_split),
            "test_sequences": len(test),
            "test_anomalous": int(y.sum()),
            **scores(y, predicted).as_dict(),
            "evolved_fraction": round(float(np.mean([v.routed == "evolved"
                                                     for v in verdicts])), 4),
            "sequences_per_second": round(len(test) / max(seconds, 1e-9), 1),
            "test_in_train_verbatim": verbatim_duplicates([ids[i] for i in train_rows],
                                                          [ids[i] for i in test_rows]),
            **({"with_llm": llm_report} if llm_report is not None else {}),
        })
    overall = scores(np.concatenate(all_y), np.concatenate(all_p)).as_dict()
    if plot is not None:
        from logsentry.report.plot import eval_plot

        names = ", ".join(Path(r["dataset"]).name for r in reports)
        eval_plot(plot, np.concatenate(all_scores), np.concatenate(all_y), detector.threshold,
                  f"model {bundle.name} on {names} (split {chosen_split})")
    result = {"model": bundle.name, "datasets": reports, "overall": overall}
    if mode != "text":
        out = JsonWriter(env.stdout, mode)
        out.write(result if len(reports) > 1 else {"model": bundle.name, **reports[0]})
        out.close()
        raise typer.Exit(0)
    text = TextWriter(env)
    for r in reports:
        text.line((f"model {bundle.name} on {r['dataset']}: {r['test_sequences']:,} test "
                   f"sequences ({r['test_anomalous']:,} anomalous), split {r['split']}, "
                   f"{r['window']} windows", "bold"))
        text.line((f"  precision {r['precision']:.4f}  recall {r['recall']:.4f}  "
                   f"F1 {r['f1']:.4f}   confusion: TP {r['tp']}  FP {r['fp']}  FN {r['fn']}  "
                   f"TN {r['tn']}", None))
        text.line((f"  routed evolved {100 * r['evolved_fraction']:.2f}%, "
                   f"{r['sequences_per_second']:,.0f} sequences/s, "
                   f"{r['test_in_train_verbatim']:,} test sequences occur verbatim in "
                   "training", "dim"))
        w = r.get("with_llm")
        if w is not None:
            agree = (f"{w['llm_agrees_with_truth']}/{w['llm_answered']} LLM answers agree with "
                     f"the labels" if w["llm_answered"] else "no LLM answers")
            text.line((f"  with the LLM tier ({w['llm']}, role {w['role']}): precision "
                       f"{w['precision']:.4f}  recall {w['recall']:.4f}  F1 {w['f1']:.4f}", None))
            text.line((f"  escalated {w['escalated']:,} ({100 * w['escalated_fraction']:.2f}%), "
                       f"cache hits {w['cache_hits']:,} ({100 * w['cache_hit_rate']:.1f}%), "
                       f"{w['llm_calls']:,} LLM calls, {w['seconds_per_escalated']:.2f} s per "
                       f"escalated sequence, {w['fallbacks']:,} fallbacks; {agree}", "dim"))
    if len(reports) > 1:
        text.line((f"overall: precision {overall['precision']:.4f}  recall "
                   f"{overall['recall']:.4f}  F1 {overall['f1']:.4f}", "bold"))
    text.close()
    raise typer.Exit(0)


def _with_llm(settings: Any, env: Any, detector: Any, item: Any, test_rows: Any,
              verdicts: list[Any], y: Any) -> tuple[dict[str, Any], Any]:
    """The LLM tier over the test verdicts: its metrics, and the combined predictions."""
    import numpy as np

    from logsentry.llm.tier import make_escalator
    from logsentry.ml.metrics import scores

    escalator = make_escalator(settings, env.dirs.data, env.dirs.cache,
                               bundle=detector.model_label, system=item.log_format,
                               notice=env.notice, store="eval-verdicts.sqlite",
                               examples=detector.examples_for)
    texts = {id(item.data.sequences[i]): list(item.texts[i]) for i in test_rows}
    started = time.perf_counter()
    combined = escalator.review(verdicts, lambda seq: texts[id(seq)])
    seconds = time.perf_counter() - started
    predicted = np.array([v.anomalous for v in combined])
    st = escalator.stats
    answered = [(v.llm_verdict == "anomalous", bool(truth)) for v, truth in zip(combined, y,
                                                                               strict=True)
                if v.llm_verdict is not None]
    report = {
        **scores(y, predicted).as_dict(),
        "llm": escalator.llm_label, "role": escalator.options.role,
        "tau": escalator.options.tau, **st.as_dict(),
        "escalated_fraction": round(st.escalated / max(len(combined), 1), 4),
        "cache_hit_rate": round(st.cache_hits / st.escalated, 4) if st.escalated else 0.0,
        "seconds_per_escalated": round(seconds / st.escalated, 3) if st.escalated else 0.0,
        "llm_answered": len(answered),
        "llm_agrees_with_truth": sum(a == t for a, t in answered),
        "llm_answered_anomalous_truth": sum(t for _a, t in answered),
    }
    return report, predicted
