"""``adapt`` in-process on real HDFS sequences: noise filtering of injected label flips,
operator labels, poisoning caps, crash safety of the version write, and refusals.

The stored samples are built the way scan stores escalations (templates, shape key,
verdict, who decided), from the evolved later period of the real HDFS sample.
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from logsentry.adapt.adapt import AdaptConfig, Report, adapt, collect, time_split
from logsentry.config import load_settings
from logsentry.embed import TemplateVectors
from logsentry.errors import InputError, ModelError
from logsentry.llm.store import sequence_key
from logsentry.ml import registry
from logsentry.pipeline import Pipeline
from tests.adapt.evolution import build

pytestmark = pytest.mark.data

FAST = AdaptConfig(epochs=3, warmup_epochs=2)


@pytest.fixture(scope="module")
def later_period(shared_data: Path, tmp_path_factory: pytest.TempPathFactory
                 ) -> list[dict[str, Any]]:
    """Store rows for the evolved later period: the last 20% of the HDFS blocks (the
    default bundle never trained on them), labeled with the truth ("a perfect LLM")."""
    scenario = build(seed=0, cut=0.8)
    log = tmp_path_factory.mktemp("evolved") / "after.log"
    log.write_text("\n".join(scenario.after) + "\n", encoding="utf-8")
    pipe = Pipeline(load_settings({"log_format": "hdfs"}), None)
    rows = []
    for n, seq in enumerate(pipe.sequences([str(log)])):
        templates = pipe.templates_of(seq)
        truth = scenario.labels[str(seq.session)]
        rows.append({"sequence_id": f"{n:05d}-{seq.session}", "created": float(n),
                     "templates": templates, "cache_key": sequence_key(templates),
                     "verdict": "anomalous" if truth else "normal", "llm_anomalous": truth,
                     "decided_by": "llm", "bundle": "default", "feedback": None, "note": None})
    assert len(rows) == 2300 and sum(r["verdict"] == "anomalous" for r in rows) == 30
    return rows[:1200]  # the first half of the period: what an operator would adapt on


@pytest.fixture(scope="module")
def vectors(encoder_cache: Path) -> TemplateVectors:
    return TemplateVectors(encoder_cache)


def default() -> registry.Located:
    return registry.locate("default", Path("/nonexistent"))


def flip(rows: list[dict[str, Any]], share: float, seed: int) -> tuple[list[dict[str, Any]],
                                                                       set[str]]:
    rng = random.Random(seed)
    flipped = set(rng.sample([r["sequence_id"] for r in rows], round(share * len(rows))))
    out = [dict(r, verdict=("normal" if r["verdict"] == "anomalous" else "anomalous"))
           if r["sequence_id"] in flipped else r for r in rows]
    return out, flipped


def test_gmm_filtering_finds_most_injected_label_flips(later_period: list[dict[str, Any]],
                                                       vectors: TemplateVectors) -> None:
    rows, flipped = flip(later_period, 0.2, seed=1)
    report = adapt(default(), rows, vectors.vectors, None, {}, config=FAST, dry_run=True)
    dropped = set(report.dropped_ids)
    # Only the fit part (the oldest) is filtered; the rest is held back, never trained on.
    fit, _tune, _held = time_split(len(rows), FAST, 0)
    fit_ids = {rows[i]["sequence_id"] for i in fit}
    candidates = flipped & fit_ids
    caught = dropped & candidates
    recall = len(caught) / len(candidates)
    precision = len(caught) / max(1, len(dropped))
    print(f"\nnoise filter on 20% injected flips: {len(candidates)} flipped in the fit part, "
          f"{len(dropped)} dropped, recall {recall:.3f}, precision {precision:.3f}")
    assert recall >= 0.9 and precision >= 0.8, (recall, precision)
    assert report.clean + report.dropped == len(fit_ids)


def test_operator_labels_win_are_never_dropped_and_poisoned_shapes_are_capped(
        later_period: list[dict[str, Any]], vectors: TemplateVectors) -> None:
    rows = [dict(r) for r in later_period]
    # The operator marks two normal blocks anomalous and one anomalous block normal: their
    # labels win over the LLM's, and the filter may not drop them however odd they look.
    normal_ids = [r["sequence_id"] for r in rows[:600] if r["verdict"] == "normal"][:2]
    anomalous_id = next(r["sequence_id"] for r in rows[:600] if r["verdict"] == "anomalous")
    for r in rows:
        if r["sequence_id"] in normal_ids:
            r["feedback"] = True
        elif r["sequence_id"] == anomalous_id:
            r["feedback"] = False
    # An attacker repeats one crafted sequence 300 times, labeled (by a fooled LLM) normal,
    # and the same shape also arrives labeled anomalous: it is capped and reported.
    poison = rows[5]["templates"]
    extra = [{**rows[5], "sequence_id": f"p{k:04d}", "created": 0.5 + k / 1000,
              "verdict": "normal" if k % 10 else "anomalous", "feedback": None}
             for k in range(300)]
    rows = sorted(rows + extra, key=lambda r: r["created"])
    samples = collect(rows)
    by_id = dict(zip(samples.ids, samples.labels.tolist(), strict=True))
    assert [by_id[i] for i in normal_ids] == [1, 1] and by_id[anomalous_id] == 0
    assert samples.operator.sum() == 3
    report = adapt(default(), rows, vectors.vectors, None, {}, config=FAST, dry_run=True)
    assert not set(report.dropped_ids) & {*normal_ids, anomalous_id}
    assert report.capped_shapes >= 1 and report.conflicting_shapes >= 1
    assert report.operator == 3 and poison
    flips = report.flips
    assert {"samples_to_anomalous", "samples_to_normal", "replay_to_anomalous",
            "replay_to_normal"} <= set(flips)


def test_a_crash_while_writing_leaves_no_version_and_the_active_model(
        later_period: list[dict[str, Any]], vectors: TemplateVectors, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    import logsentry.ml.train as train

    data = tmp_path / "data"
    located = registry.locate("default", data)
    target = registry.version_target("default", data)
    lineage = registry.version_fields(located, 2)

    def crash(*_args: object, **_kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(train, "save_replay", crash)
    with pytest.raises(OSError, match="No space left"):
        adapt(located, later_period[:300], vectors.vectors, target, lineage, config=FAST)
    assert not target.exists()
    leftovers = [p.name for p in registry.models_dir(data).iterdir()] \
        if registry.models_dir(data).exists() else []
    assert leftovers == []  # no staging directory either
    assert registry.active_name(data) == "default"
    assert registry.load("default", data).info["name"] == "default"


def test_refusals_are_one_clear_error(later_period: list[dict[str, Any]],
                                      vectors: TemplateVectors, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="at least 10"):
        adapt(default(), later_period[:4], vectors.vectors, None, {}, dry_run=True)
    bundle = tmp_path / "old"
    shutil.copytree(registry.locate("default", tmp_path).path, bundle)
    (bundle / "logmoe.npz").unlink()
    manifest = (bundle / "manifest.json").read_text(encoding="utf-8")
    data = json.loads(manifest)
    del data["files"]["logmoe.npz"]
    (bundle / "manifest.json").write_text(json.dumps(data), encoding="utf-8")
    old = registry.Located("old", bundle, False)
    with pytest.raises(ModelError, match=r"no logmoe\.npz"):
        adapt(old, later_period, vectors.vectors, None, {}, dry_run=True)


def test_report_round_trips_to_json(later_period: list[dict[str, Any]]) -> None:
    report = Report(parent="default", samples=1, operator=0, held_back=1, replay=0, clean=1,
                    dropped=0, dropped_examples=[], dropped_ids=[], capped_shapes=0,
                    conflicting_shapes=0, new_templates=0, before={}, after={}, flips={},
                    activated=False, reason="r", noise_means=(0.1, float("nan")))
    out = report.as_dict()
    assert out["noise_means"] == [0.1, None] and np.isfinite(out["noise_means"][0])


def test_an_unlabeled_baseline_learns_the_evolved_normal_sequences(
        later_period: list[dict[str, Any]], vectors: TemplateVectors, tmp_path: Path,
        isolated_home: Path) -> None:
    """A bundle from `train --unlabeled` (normal memory + router): adapt refits the memory
    and the router on the normal-labeled samples; the evolved period stops being routed
    evolved, and the new version is written, with the memory's files, and activated."""
    from logsentry.cli import main

    scenario = build(seed=0, cut=0.8)
    before = tmp_path / "before.log"
    before.write_text("\n".join(scenario.before[:60_000]) + "\n", encoding="utf-8")
    with pytest.raises(SystemExit) as done:
        main(["train", str(before), "-f", "hdfs", "--unlabeled", "--name", "base", "-q"])
    assert done.value.code == 0
    data = isolated_home / "data"
    located = registry.locate("base", data)
    assert registry.load("base", data).info["kind"] == "unlabeled"
    target = registry.version_target("base", data)
    report = adapt(located, later_period[:600], vectors.vectors, target,
                   registry.version_fields(located, 2), config=FAST)
    assert report.version == "base@2" and report.activated, report.reason
    stored_before, stored_after = report.before["stored"], report.after["stored"]
    assert stored_before["evolved"] == stored_before["sequences"]  # every block evolved
    assert stored_after["escalated"] <= stored_before["escalated"] / 2, (stored_before,
                                                                           stored_after)
    child = registry.load("base@2", data)
    assert "memory.npz" in child.files and child.info["parent"] == "base"
    assert len(child.json("templates.json")) > len(registry.load("base", data)
                                                   .json("templates.json"))
