"""``logsentry adapt``: retrain the active bundle from stored verdicts and feedback."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from logsentry.cli.common import OutputOpt, check_output, settings_env, stored_verdicts
from logsentry.report.escape import escape_text
from logsentry.report.writer import JsonWriter, TextWriter


def adapt(
    model: Annotated[str | None, typer.Option(
        "--model", "-m", help="Bundle to adapt (NAME or NAME@N; default: the active one).")
    ] = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Show the samples, the clean/noisy split and the expected effect; "
                          "write nothing.")] = False,
    tau_c: Annotated[float, typer.Option(
        "--tau-c", help="Keep pseudo-labels whose clean probability is at least this.")
    ] = 0.5,
    epochs: Annotated[int, typer.Option(help="Fine-tuning epochs.")] = 6,
    tolerance: Annotated[float, typer.Option(
        help="Activate unless held-back F1 (on labels not from a small model) falls by more "
             "than this; 0: only if not lower.")] = 0.01,
    min_samples: Annotated[int, typer.Option(
        help="Refuse to adapt on fewer stored samples.")] = 10,
    output: OutputOpt = "text",
) -> None:
    """Fine-tune the model on the LLM's stored verdicts and your feedback; write a new
    version (NAME@N) and activate it if it is not worse on held-back samples."""
    from logsentry.adapt.adapt import AdaptConfig
    from logsentry.adapt.adapt import adapt as run_adapt
    from logsentry.config import load_settings
    from logsentry.embed import TemplateVectors
    from logsentry.ml import registry

    env = settings_env()
    mode = check_output(output)
    settings = load_settings()
    data = env.dirs.data
    ref = model or registry.active_name(data, settings.model)
    located = registry.locate(ref, data)
    config = AdaptConfig(tau_c=tau_c, epochs=epochs, min_samples=min_samples,
                         tolerance=tolerance, llm_tau=settings.llm_tau).check()
    store = stored_verdicts(env)
    try:
        rows = store.samples()
    finally:
        store.close()
    target = None
    lineage: dict[str, Any] = {}
    if not dry_run:
        version = registry.next_version(located.name, data)
        target = registry.models_dir(data) / registry.ref_of(located.name, version)
        lineage = registry.version_fields(located, version)
    vectors = TemplateVectors(env.dirs.cache, on_notice=env.notice)
    try:
        report = run_adapt(located, rows, vectors.vectors, target, lineage, config=config,
                           dry_run=dry_run, notice=env.notice)
    finally:
        vectors.close()
    if report.activated:
        registry.set_active(data, report.version or located.ref)
        if settings.model:
            env.notice(f"note: the model setting ({settings.model}) still overrides the "
                       "active bundle for scan and tail")
    if mode != "text":
        out = JsonWriter(env.stdout, mode)
        out.write(report.as_dict())
        out.close()
        return
    _render(TextWriter(env), report)


def _render(text: TextWriter, r: Any) -> None:
    head = "dry run: nothing written" if r.dry_run else f"wrote {r.version}"
    text.line((f"adapt {escape_text(r.parent)}: {head} ({r.seconds:.0f} s)", "bold"))
    text.line((f"  samples {r.samples:,} ({r.operator:,} labeled by you), held back "
               f"{r.held_back:,} (with replay), replayed {r.replay:,}, new templates "
               f"{r.new_templates:,}", None))
    text.line((f"  noise filter: {r.clean:,} clean, {r.dropped:,} dropped; shapes capped "
               f"{r.capped_shapes}, shapes with both labels {r.conflicting_shapes}", None))
    for d in r.dropped_examples:
        text.line((f"    dropped {d['sequence_id']} (labeled {d['label']}, clean "
                   f"probability {d['clean_probability']:.2f})", "dim"))
    text.line(("  held back                          P      R      F1     escalated", "dim"))
    for part, label in (("stored", "new samples"), ("replay", "replayed"),
                        ("decisive", "independent labels")):
        for name, m in (("before", r.before[part]), ("after", r.after[part])):
            text.line((f"  {label + ', ' + name:<32} {m['precision']:.3f}  {m['recall']:.3f}  "
                       f"{m['f1']:.3f}  {m['escalated']:,}/{m['sequences']:,} "
                       f"({m['escalated_fraction']:.1%})", None))
    f = r.flips
    text.line((f"  label flips: stored samples -> anomalous {f['samples_to_anomalous']}, "
               f"-> normal {f['samples_to_normal']}; replayed training data -> anomalous "
               f"{f['replay_to_anomalous']}, -> normal {f['replay_to_normal']}", None))
    for e in f["examples"]:
        text.line((f"    {e['sequence_id']} now {e['now']}", "dim"))
    style = "green" if r.activated else "yellow"
    verb = "activated" if r.activated else ("would activate" if r.dry_run and
                                            "not activated" not in r.reason else "not activated")
    text.line((f"  {verb}: {escape_text(r.reason)}", style))
    text.close()
