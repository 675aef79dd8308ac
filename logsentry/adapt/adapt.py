"""Retrain a bundle locally from stored verdicts and operator feedback (``logsentry adapt``).

CoLA §4.3 (noisy-label filtering of the LLM's pseudo-labels) and CollaborLog's
adaptive evolve mechanism (sequences confirmed normal stop being routed as
evolved). One adaptation:

1. **Samples**: every escalated sequence in the verdict store, labeled by the
   operator's feedback where there is one, else by the collaboration's final
   verdict (the LLM's answer where the LLM judges; the small model's where the
   LLM only explains, or was absent). Plus a replay sample of the bundle's own
   training data (``replay.npz``), so the model does not forget.
2. **Held back**: the newest ``holdout`` share of the samples (and of the
   replay), in time order; it never trains anything and decides activation.
3. **Noise filtering**: a few warm-up epochs from the parent's weights on the
   pseudo-labels, per-sample loss, a two-component Gaussian mixture
   (``noise.split_clean``); samples with clean probability below ``tau_c``
   are dropped. Operator labels are never dropped.
4. **Poisoning caps**: whoever writes log lines can steer the LLM's labels. So
   an operator's label is never changed, the samples of one shape (the
   template set with bucketed counts, the cache key) weigh at most
   ``shape_cap`` sequences together, shapes carrying both labels are reported,
   and so is every predicted label the new model would flip.
5. **Fine-tune and re-route** (an unlabeled baseline instead refits its normal
   memory on the replay and the clean normal-labeled samples, see ``_fit_memory``):
   LogMoE fine-tuned from the parent's weights on
   the clean samples + replay; the decision threshold searched again on the
   held-back part; the router refitted on the normal sequences among them, so
   confirmed normal-but-evolved sequences are ``known`` next time.
6. **Versioned**: the result is a new bundle version ``NAME@N`` (never an
   overwrite), with its parent, counts and before/after metrics on the held-back
   part. It becomes active only if its F1 there, on the labels that do not come
   from a small model itself (the replay, the operator's, the LLM's), is not more
   than ``tolerance`` below its parent's.
"""

from __future__ import annotations

import dataclasses
import shutil
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from logsentry.errors import ConfigError, InputError, ModelError
from logsentry.ml.bundle import Bundle, BundleWriter, open_bundle, ref_of
from logsentry.ml.features import SequenceArrays, idf_mean, sequence_arrays, template_idf
from logsentry.ml.registry import Located

if TYPE_CHECKING:
    from logsentry.adapt.noise import NoiseSplit

MIN_SAMPLES = 10
INDEPENDENT = {"llm", "cache"}  # decided_by values whose label is the LLM's, not a small model's
FLIP_EXAMPLES = 5


@dataclass(frozen=True, slots=True)
class AdaptConfig:
    tau_c: float = 0.5  # keep pseudo-labels whose clean probability is at least this
    warmup_epochs: int = 2
    epochs: int = 6
    lr: float = 3e-4  # fine-tuning from the parent's weights (training uses 2e-3)
    warmup_lr: float = 1e-4
    holdout: float = 0.2  # newest share of the samples held back to decide activation
    tune: float = 0.1  # the share before it, held back to search the decision threshold
    tolerance: float = 0.01  # activate unless held-back F1 falls by more than this
    shape_cap: float = 5.0  # the samples of one shape weigh at most this many sequences
    min_samples: int = MIN_SAMPLES
    llm_tau: float = 0.9  # the escalation rule's confidence bound (for the report)
    seed: int = 0

    def check(self) -> AdaptConfig:
        if not 0 < self.tau_c < 1:
            raise ConfigError(f"--tau-c {self.tau_c}: use a value between 0 and 1")
        if not (0 < self.holdout < 1 and 0 < self.tune < 1 and self.holdout + self.tune < 1):
            raise ConfigError(f"holdout {self.holdout} + tune {self.tune}: use shares "
                              "between 0 and 1 that leave samples to train on")
        if not 0 <= self.tolerance < 1:
            raise ConfigError(f"tolerance {self.tolerance}: use a value in [0, 1)")
        if self.epochs < 1 or self.warmup_epochs < 1:
            raise ConfigError("--epochs and the warm-up need at least one epoch")
        if self.shape_cap <= 0:
            raise ConfigError(f"shape cap {self.shape_cap}: must be positive")
        return self


@dataclass(slots=True)
class Samples:
    """Stored escalations as training samples, oldest first."""

    ids: list[str]
    templates: list[list[str]]
    labels: np.ndarray  # int64, 1 = anomalous
    operator: np.ndarray  # bool: labeled by operator feedback
    independent: np.ndarray  # bool: the label is not a small model's own (operator, LLM)
    keys: list[str]  # shape (cache key) of each sample

    def __len__(self) -> int:
        return len(self.ids)


def collect(rows: list[dict[str, Any]]) -> Samples:
    """``VerdictStore.samples()`` rows -> samples; the operator's label wins."""
    ids, templates, labels, operator, independent, keys = [], [], [], [], [], []
    for row in rows:
        if not row["templates"]:
            continue
        by_operator = row["feedback"] is not None
        anomalous = row["feedback"] if by_operator else row["verdict"] == "anomalous"
        ids.append(str(row["sequence_id"]))
        templates.append(list(row["templates"]))
        labels.append(int(bool(anomalous)))
        operator.append(by_operator)
        independent.append(by_operator or row["decided_by"] in INDEPENDENT)
        keys.append(str(row["cache_key"]))
    return Samples(ids, templates, np.array(labels, dtype=np.int64),
                   np.array(operator, dtype=bool), np.array(independent, dtype=bool), keys)


@dataclass(slots=True)
class Report:
    """What one adaptation did (or, with ``dry_run``, would do)."""

    parent: str
    samples: int
    operator: int
    held_back: int
    replay: int
    clean: int
    dropped: int
    dropped_examples: list[dict[str, Any]]
    dropped_ids: list[str]
    capped_shapes: int
    conflicting_shapes: int
    new_templates: int
    before: dict[str, Any]
    after: dict[str, Any]
    flips: dict[str, Any]
    activated: bool
    reason: str
    version: str | None = None
    dry_run: bool = False
    seconds: float = 0.0
    noise_means: tuple[float, float] = (float("nan"), float("nan"))
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["noise_means"] = [None if np.isnan(m) else round(float(m), 4)
                              for m in self.noise_means]
        return out


def adapt(
    located: Located,
    store_rows: list[dict[str, Any]],
    vectors_for: Callable[[list[str]], np.ndarray],
    target: Path | None,
    lineage: dict[str, Any],
    *,
    config: AdaptConfig = AdaptConfig(),
    dry_run: bool = False,
    notice: Callable[[str], None] = lambda _m: None,
) -> Report:
    """Adapt the bundle at ``located`` from ``store_rows`` and write the new version to
    ``target`` (its ``lineage`` fields: name, version, parent), or with ``dry_run``
    (``target`` None) write nothing."""
    from logsentry.ml.router import RouterConfig, export_router, train_router
    from logsentry.ml.train import save_replay

    config.check()
    started = time.perf_counter()
    bundle = open_bundle(located.path)
    info = bundle.info
    kind = info.get("kind")
    model_file = {"supervised": "logmoe.npz", "unlabeled": "memory.npz"}.get(str(kind))
    if model_file is None:
        raise ModelError(f"model {located.ref}: unknown kind {kind!r}")
    for needed in (model_file, "replay.npz"):
        if needed not in bundle.files:
            raise ModelError(f"model {located.ref} has no {needed} (trained before adapt "
                             "existed); retrain it with `logsentry train`")
    samples = collect(store_rows)
    if len(samples) < config.min_samples:
        raise InputError(f"only {len(samples)} stored sample(s), adapt needs at least "
                         f"{config.min_samples}: scan or tail with the LLM tier on (it stores "
                         "every escalated sequence), or label sequences with `logsentry "
                         "feedback`")
    if target is None and not dry_run:
        raise ValueError("adapt needs a target directory unless dry_run")
    known: list[str] = list(bundle.json("templates.json"))
    max_len = int(info.get("embedding", {}).get("max_len", 64))
    replay_texts, replay_y = _replay(bundle, known)
    notice(f"adapting {located.ref}: {len(samples):,} stored samples "
           f"({int(samples.operator.sum())} labeled by the operator), "
           f"{len(replay_texts):,} replayed training sequences")
    arrays = sequence_arrays(samples.templates + replay_texts, vectors_for, max_len=max_len,
                             vocabulary=known)
    n, r = len(samples), len(replay_texts)
    rows = _Rows(*time_split(n, config, 0), *_spread_split(r, config, n))
    y = np.concatenate([samples.labels, replay_y]).astype(np.int64)

    scratch = None
    if target is None:
        import tempfile

        scratch = Path(tempfile.mkdtemp(prefix="logsentry-adapt-"))
        target = scratch / "dry-run"
    writer = BundleWriter(target, overwrite=False)
    try:
        fit_model = _fit_logmoe if kind == "supervised" else _fit_memory
        fitted = fit_model(bundle, arrays, y, samples, rows, config, writer, notice)
        held_rows = np.concatenate([rows.held, rows.replay_held])
        held_arrays = arrays.subset(held_rows)
        stored = np.arange(len(held_rows)) < len(rows.held)
        decisive = ~stored | np.concatenate([samples.independent[rows.held],
                                             np.zeros(len(rows.replay_held), dtype=bool)])

        # Re-route (AEM): the router learns the normal sequences it now knows.
        train_rows = fitted.train_rows
        normal_rows = train_rows[y[train_rows] == 0]
        idf = template_idf(arrays.subset(train_rows))
        unseen_idf = float(np.log(1 + len(train_rows)) + 1)
        router_cfg = RouterConfig(**info["router"].get("config", {}))
        router, router_threshold = train_router(
            idf_mean(arrays.subset(normal_rows), idf, unseen_idf), router_cfg)
        export_router(router, writer.path("router.onnx"))
        child_info = _child_info(info, arrays, idf, unseen_idf, router_threshold)
        child_info |= fitted.info

        before = _evaluate(fitted.parent, bundle.path / "router.onnx", info, known,
                           held_arrays, y[held_rows], stored, decisive, config.llm_tau)
        after = _evaluate(fitted.child, writer.path("router.onnx"), child_info,
                          arrays.templates, held_arrays, y[held_rows], stored, decisive,
                          config.llm_tau)
        flips = _flips(fitted.parent, fitted.child, arrays, n, samples.ids)
        activate, reason = _activation(before["decisive"], after["decisive"], config.tolerance)
        kept, dropped, split = fitted.kept, fitted.dropped, fitted.split
        report = Report(
            parent=located.ref, samples=n, operator=int(samples.operator.sum()),
            held_back=len(held_rows), replay=r, clean=len(kept), dropped=len(dropped),
            dropped_examples=[{"sequence_id": samples.ids[i], "label": _name(int(y[i])),
                               "clean_probability": round(float(w), 4)}
                              for i, w in sorted(
                                  zip(dropped, split.clean_probability[~fitted.clean],
                                      strict=True),
                                  key=lambda item: item[1])[:FLIP_EXAMPLES]],
            dropped_ids=[samples.ids[i] for i in dropped],
            capped_shapes=fitted.capped, conflicting_shapes=fitted.conflicting,
            new_templates=len(arrays.templates) - len(known), before=before, after=after,
            flips=flips, activated=activate and not dry_run, reason=reason, dry_run=dry_run,
            noise_means=split.means,
            extra={"threshold": {"parent": fitted.parent.threshold,
                                 "child": fitted.child.threshold},
                   "router_threshold": {"parent": float(info["router"]["threshold"]),
                                        "child": float(router_threshold)}})
        if dry_run:
            report.seconds = round(time.perf_counter() - started, 1)
            return report
        fitted.save(writer)
        writer.write_json("templates.json", arrays.templates)
        np.save(writer.path("vectors.npy"), arrays.table[1:].astype(np.float32))
        if "examples.json" in bundle.files:  # its row ids index the same first templates
            writer.path("examples.json").write_bytes(bundle.file("examples.json").read_bytes())
        save_replay(writer.path("replay.npz"), arrays.subset(train_rows), y[train_rows])
        report.seconds = round(time.perf_counter() - started, 1)
        child_info |= lineage
        child_info["created"] = None  # a fresh creation time
        child_info["adapt"] = {k: v for k, v in report.as_dict().items()
                               if k not in {"dropped_examples", "dropped_ids", "extra"}}
        child_info["adapt"]["activated"] = activate
        child_info["adapt"]["metrics"] = {"before": before["decisive"],
                                          "after": after["decisive"]}
        child_info["adapt"]["config"] = dataclasses.asdict(config)
        writer.commit(child_info)
        report.version = ref_of(str(lineage["name"]), int(lineage["version"]))
        return report
    finally:
        writer.abort()  # a no-op once committed
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


@dataclass(frozen=True, slots=True)
class _Rows:
    """Row indexes into the arrays: samples (oldest first), then the replay."""

    fit: np.ndarray
    tune: np.ndarray
    held: np.ndarray
    replay_fit: np.ndarray
    replay_tune: np.ndarray
    replay_held: np.ndarray


@dataclass(frozen=True, slots=True)
class _Scorer:
    """A model's anomaly scores and its decision threshold."""

    scores: Callable[[SequenceArrays], np.ndarray]
    threshold: float
    calibrated: bool = True  # scores are probabilities (see escalate.should_escalate)


@dataclass(slots=True)
class _Fitted:
    parent: _Scorer
    child: _Scorer
    train_rows: np.ndarray
    clean: np.ndarray  # over the noise-filtered candidates
    kept: np.ndarray
    dropped: np.ndarray
    split: NoiseSplit
    capped: int
    conflicting: int
    info: dict[str, Any]  # bundle.json fields of the child's model
    save: Callable[[BundleWriter], None]


def _noise_split(losses: np.ndarray, candidates: np.ndarray, samples: Samples,
                 config: AdaptConfig) -> tuple[NoiseSplit, np.ndarray]:
    from logsentry.adapt.noise import split_clean

    split = split_clean(losses, config.tau_c, forced_clean=samples.operator[candidates],
                        seed=config.seed)
    return split, split.clean


def _shapes(kept: np.ndarray, samples: Samples, y: np.ndarray, cap: float
            ) -> tuple[Counter[str], int, int]:
    """Pseudo-labeled samples per shape, shapes over the cap, shapes with both labels."""
    count = Counter(samples.keys[i] for i in kept if not samples.operator[i])
    labels_of: dict[str, set[int]] = {}
    for i in kept:
        labels_of.setdefault(samples.keys[i], set()).add(int(y[i]))
    return (count, sum(1 for c in count.values() if c > cap),
            sum(1 for v in labels_of.values() if len(v) > 1))


def _fit_logmoe(bundle: Bundle, arrays: SequenceArrays, y: np.ndarray, samples: Samples,
                rows: _Rows, config: AdaptConfig, writer: BundleWriter,
                notice: Callable[[str], None]) -> _Fitted:
    """Supervised bundles: warm-up, noise filter, fine-tune LogMoE, re-search the threshold."""
    from logsentry.ml.logmoe import (
        LogMoEConfig,
        export_logmoe,
        load_weights,
        sample_losses,
        save_weights,
        train_logmoe,
    )
    from logsentry.ml.threshold import margin_threshold

    info = bundle.info
    logmoe_config = LogMoEConfig(**info["logmoe"]["config"])
    tuning = dataclasses.replace(logmoe_config, lr=config.lr, seed=config.seed)
    parent = load_weights(logmoe_config, bundle.file("logmoe.npz"), arrays.table.shape[1])
    fit = rows.fit
    fit_arrays = arrays.subset(fit)
    # The warm-up starts from the trained parent, so it is short and gentle: at the
    # fine-tuning rate (or 3x it) a strong model fits the flipped labels within one epoch
    # and their losses stop standing out (measured on 20% injected flips in HDFS: noisy-set
    # recall 0.07 at lr 1e-3, 0.93 at 3e-4 for one epoch, 0.96 at 1e-4 for two).
    warm = train_logmoe(fit_arrays, y[fit], dataclasses.replace(
        tuning, epochs=config.warmup_epochs, lr=config.warmup_lr), init=parent)
    split, clean = _noise_split(sample_losses(warm, fit_arrays, y[fit]), fit, samples,
                                config)
    kept, dropped = fit[clean], fit[~clean]
    notice(f"noise filter: {len(kept):,} clean, {len(dropped):,} dropped "
           f"(tau_c {config.tau_c})")
    # Poisoning caps: one shape's pseudo-labeled samples weigh at most shape_cap together.
    count, capped, conflicting = _shapes(kept, samples, y, config.shape_cap)
    weights = np.ones(len(kept) + len(rows.replay_fit), dtype=np.float64)
    for j, i in enumerate(kept):
        if not samples.operator[i]:
            weights[j] = min(1.0, config.shape_cap / count[samples.keys[i]])
    train_rows = np.concatenate([kept, rows.replay_fit])
    child = train_logmoe(arrays.subset(train_rows), y[train_rows], dataclasses.replace(
        tuning, epochs=config.epochs), init=parent, sample_weight=weights)
    notice(f"fine-tuned LogMoE on {len(train_rows):,} sequences, {config.epochs} epochs")
    onnx = writer.path("logmoe.onnx")
    max_len = int(info.get("embedding", {}).get("max_len", 64))
    export_logmoe(child, onnx, max_len)
    search = np.concatenate([rows.tune, rows.replay_tune])
    child_scores = _logmoe_scores(onnx)
    choice = margin_threshold(child_scores(arrays.subset(search)), y[search])
    threshold = (float(choice.threshold) if np.isfinite(choice.threshold)
                 and y[search].any() else float(info["logmoe"]["threshold"]))
    return _Fitted(
        parent=_Scorer(_logmoe_scores(bundle.file("logmoe.onnx")),
                       float(info["logmoe"]["threshold"])),
        child=_Scorer(child_scores, threshold),
        train_rows=train_rows, clean=clean, kept=kept, dropped=dropped, split=split,
        capped=capped, conflicting=conflicting,
        info={"logmoe": dict(info["logmoe"], threshold=threshold)},
        save=lambda w: save_weights(child, w.path("logmoe.npz")))


def _fit_memory(bundle: Bundle, arrays: SequenceArrays, y: np.ndarray, samples: Samples,
                rows: _Rows, config: AdaptConfig, writer: BundleWriter,
                notice: Callable[[str], None]) -> _Fitted:
    """Unlabeled bundles: the normal memory learns the normal-labeled samples.

    The "warm-up" is a memory fitted on the replay and every normal-labeled sample; a
    normal label on a sequence that still looks anomalous to it (its score) is the
    suspicious kind, and the mixture on those scores drops it. Samples labeled anomalous
    are never fitted (the memory models normal behaviour); they only count in evaluation.
    A shape's pseudo-labeled samples are kept at most ``shape_cap`` times (the memory
    has no sample weights).
    """
    import math

    from logsentry.ml.memory import MemoryConfig, NormalMemory

    info = bundle.info
    memory_config = MemoryConfig(**info["memory"]["config"])
    parent = NormalMemory.load(bundle.file("memory.npz"))
    normal = rows.fit[y[rows.fit] == 0]
    warm = NormalMemory(memory_config).fit(arrays.subset(np.concatenate([rows.replay_fit,
                                                                         normal])))
    split, clean = _noise_split(warm.score(arrays.subset(normal)), normal, samples, config)
    kept, dropped = normal[clean], normal[~clean]
    _count, capped, conflicting = _shapes(kept, samples, y, config.shape_cap)
    seen: Counter[str] = Counter()
    limited = []
    for i in kept:
        key = samples.keys[i]
        if samples.operator[i] or seen[key] < math.ceil(config.shape_cap):
            limited.append(i)
            seen[key] += not samples.operator[i]
    train_rows = np.concatenate([np.array(limited, dtype=np.int64), rows.replay_fit])
    child = NormalMemory(memory_config).fit(arrays.subset(train_rows))
    notice(f"noise filter: {len(kept):,} clean, {len(dropped):,} dropped "
           f"(tau_c {config.tau_c}); normal memory refitted on {len(train_rows):,} sequences")

    def save(w: BundleWriter) -> None:
        child.save(w.path("memory.npz"))

    return _Fitted(
        parent=_Scorer(parent.score, float(parent.threshold), calibrated=False),
        child=_Scorer(child.score, float(child.threshold), calibrated=False),
        train_rows=train_rows, clean=clean, kept=kept, dropped=dropped, split=split,
        capped=capped, conflicting=conflicting,
        info={"memory": dict(info["memory"], threshold=float(child.threshold))}, save=save)


def _activation(before: dict[str, Any], after: dict[str, Any], tolerance: float
                ) -> tuple[bool, str]:
    """Not worse on the held-back independent labels: F1 where they hold anomalies, else
    the share of normal sequences called anomalous."""
    if before["tp"] + before["fn"] > 0:
        ok = after["f1"] >= before["f1"] - tolerance
        said = (f"F1 on held-back independent labels {after['f1']:.4f} vs parent's "
                f"{before['f1']:.4f} (tolerance {tolerance})")
    else:
        def fpr(m: dict[str, Any]) -> float:
            return float(m["fp"]) / max(1, m["fp"] + m["tn"])

        ok = fpr(after) <= fpr(before) + tolerance
        said = (f"false-positive rate on held-back independent labels (no anomalies among "
                f"them) {fpr(after):.4f} vs parent's {fpr(before):.4f} (tolerance {tolerance})")
    return ok, said + ("" if ok else ": kept, not activated")


def _name(label: int) -> str:
    return "anomalous" if label else "normal"


def _replay(bundle: Bundle, known: list[str]) -> tuple[list[list[str]], np.ndarray]:
    try:
        with np.load(bundle.file("replay.npz"), allow_pickle=False) as data:
            ids, lengths, labels = data["ids"], data["lengths"], data["labels"]
        texts = [[known[int(t) - 1] for t in row[: int(length)]]
                 for row, length in zip(ids, lengths, strict=True)]
    except (OSError, ValueError, KeyError, IndexError) as exc:
        raise ModelError(f"model {bundle.path}: replay.npz is unreadable ({exc}); retrain "
                         "it") from None
    return texts, np.asarray(labels, dtype=np.int64)


def _child_info(info: dict[str, Any], arrays: SequenceArrays, idf: dict[str, float],
                unseen_idf: float, router_threshold: float) -> dict[str, Any]:
    child = dict(info)
    child["router"] = dict(info["router"], threshold=float(router_threshold),
                           idf=[idf.get(t, unseen_idf) for t in arrays.templates],
                           unseen_idf=unseen_idf)
    child.pop("metrics", None)  # the parent's held-out test does not describe the child
    return child


def _logmoe_scores(path: Path) -> Callable[[SequenceArrays], np.ndarray]:
    """p(anomalous) of an exported LogMoE (one onnxruntime session for all calls)."""
    from logsentry.ml.logmoe import LogMoEScorer

    scorer = LogMoEScorer(path)
    return lambda arrays: scorer.predict(arrays, batch_size=64)[0]


def time_split(n: int, config: AdaptConfig, offset: int
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows oldest first: (fit, tune: threshold search, held back: validation)."""
    held = max(1, round(n * config.holdout)) if n else 0
    tune = max(1, round(n * config.tune)) if n > held + 1 else 0
    rows = offset + np.arange(n)
    return rows[: n - held - tune], rows[n - held - tune : n - held], rows[n - held :]


def _spread_split(n: int, config: AdaptConfig, offset: int
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The replay is not in one time order (a bundle trained on several systems stores
    them one after another), so its held-back shares are spread evenly over it."""
    rows = np.arange(n)
    position = (rows * 0.6180339887) % 1.0  # golden-ratio stride: even, deterministic
    held = position < config.holdout
    tune = ~held & (position < config.holdout + config.tune)
    return offset + rows[~held & ~tune], offset + rows[tune], offset + rows[held]


def _evaluate(model: _Scorer, router_path: Path, info: dict[str, Any], known: list[str],
              arrays: SequenceArrays, y: np.ndarray, stored: np.ndarray, decisive: np.ndarray,
              llm_tau: float) -> dict[str, Any]:
    """F1 against the labels and the share the escalation rule would send on: for the
    held-back stored samples (the new period), the held-back replay, both, and the
    ``decisive`` ones: replay and stored samples labeled by the operator or the LLM. A
    sample labeled by a small model's own verdict cannot judge that model's parent (it
    agrees with itself by construction), so activation is decided on the decisive set."""
    from logsentry.ml.metrics import scores
    from logsentry.ml.router import RouterScorer

    p = model.scores(arrays)
    threshold = model.threshold
    router = RouterScorer(router_path, float(info["router"]["threshold"]), known)
    idf = dict(zip(known, map(float, info["router"]["idf"]), strict=True))
    errors = router.errors(idf_mean(arrays, idf, float(info["router"]["unseen_idf"])))
    evolved = (errors > router.threshold) | (router.unseen(arrays) > 0)
    anomalous = p >= threshold
    escalated = evolved | anomalous | (model.calibrated & ((1 - p) < llm_tau))
    out = {}
    parts = (("stored", stored), ("replay", ~stored), ("all", np.ones_like(stored)),
             ("decisive", decisive))
    for part, rows in parts:
        m = scores(y[rows], anomalous[rows]).as_dict()
        count = int(rows.sum())
        m |= {"sequences": count, "escalated": int(escalated[rows].sum()),
              "escalated_fraction": round(float(escalated[rows].mean()), 4) if count else 0.0,
              "evolved": int(evolved[rows].sum())}
        out[part] = m
    return out


def _flips(parent: _Scorer, child: _Scorer, arrays: SequenceArrays, n_samples: int,
           ids: list[str]) -> dict[str, Any]:
    """Predicted labels the new model changes: on the stored samples and on the replay."""
    before = parent.scores(arrays) >= parent.threshold
    after = child.scores(arrays) >= child.threshold
    changed = before != after
    sample_changed = np.flatnonzero(changed[:n_samples])
    return {
        "samples_to_anomalous": int((changed[:n_samples] & after[:n_samples]).sum()),
        "samples_to_normal": int((changed[:n_samples] & ~after[:n_samples]).sum()),
        "replay_to_anomalous": int((changed[n_samples:] & after[n_samples:]).sum()),
        "replay_to_normal": int((changed[n_samples:] & ~after[n_samples:]).sum()),
        "examples": [{"sequence_id": ids[i], "now": _name(int(after[i]))}
                     for i in sample_changed[:FLIP_EXAMPLES]],
    }
