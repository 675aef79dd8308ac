"""Verdicts from a bundle's small model (LogMoE or the normal memory) and router.

For each batch of sequences: template vectors (bundle table, then cache, then
encoder) -> arrays -> router (known / evolved, counting unseen templates) ->
small-model score against the bundle's threshold -> ``Verdict``. Evidence
lines: for LogMoE, the records whose per-position anomaly score is high
(at most ``EVIDENCE_LINES``); for the memory, the records whose template is
unseen or rarest in training.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Sequence as Seq

import numpy as np

from logsentry.embed import ENCODER_ID, TemplateVectors
from logsentry.errors import ModelError
from logsentry.ml.bundle import Bundle
from logsentry.ml.features import sequence_arrays
from logsentry.ml.logmoe import LogMoEScorer
from logsentry.ml.memory import NormalMemory
from logsentry.ml.router import RouterScorer
from logsentry.types import Sequence, Verdict

EVIDENCE_LINES = 3


class SmallModelDetector:
    def __init__(self, bundle: Bundle, vectors: TemplateVectors) -> None:
        info = bundle.info
        self.bundle = bundle
        self.kind = info.get("kind")
        embedding = info.get("embedding", {})
        if embedding.get("encoder") != ENCODER_ID:
            raise ModelError(f"model {bundle.name}: made for encoder {embedding.get('encoder')!r}, "
                             f"this logsentry has {ENCODER_ID!r}; retrain it")
        self.max_len = int(embedding.get("max_len", 64))
        self.known: list[str] = list(bundle.json("templates.json"))
        self.vectors = vectors
        self._seed_cache(bundle)
        self.router = RouterScorer(bundle.file("router.onnx"), float(info["router"]["threshold"]),
                                   self.known)
        self.model_label = f"{bundle.name}@{info.get('created', '?')}"
        if self.kind == "supervised":
            self.scorer: LogMoEScorer | None = LogMoEScorer(bundle.file("logmoe.onnx"))
            self.threshold = float(info["logmoe"]["threshold"])
            self.memory: NormalMemory | None = None
        elif self.kind == "unlabeled":
            self.scorer = None
            self.memory = NormalMemory.load(bundle.file("memory.npz"))
            self.threshold = float(self.memory.threshold)
        else:
            raise ModelError(f"model {bundle.name}: unknown kind {self.kind!r}")

    def _seed_cache(self, bundle: Bundle) -> None:
        """Known templates' vectors ship in the bundle: no encoder needed for them."""
        if "vectors.npy" not in bundle.files:
            return
        table = np.load(bundle.file("vectors.npy"), allow_pickle=False)
        if table.shape != (len(self.known), 384):
            raise ModelError(f"model {bundle.name}: vectors.npy does not match templates.json")
        missing = set(self.known) - set(self.vectors.cache.get_many(self.known))
        if missing:
            self.vectors.cache.put_many({t: table[i] for i, t in enumerate(self.known)
                                         if t in missing})

    def judge(self, sequences: Seq[Sequence],
              template_of: Callable[[int], str | None] | None = None) -> list[Verdict]:
        if not sequences:
            return []
        lists = [[(template_of(r.template_id) if template_of else None) or r.template
                  for r in seq.records] for seq in sequences]
        arrays = sequence_arrays(lists, self.vectors.vectors, max_len=self.max_len)
        evolved, _errors, unseen = self.router.route(arrays)
        known = set(self.known)
        if self.scorer is not None:
            scores, positions = self.scorer.predict(arrays)
        else:
            assert self.memory is not None
            scores = self.memory.score(arrays)
            positions = None
        verdicts = []
        for i, seq in enumerate(sequences):
            anomalous = bool(scores[i] >= self.threshold)
            if positions is not None:
                evidence = _top_positions(seq, positions[i])
            else:
                evidence = [r.line for r, t in zip(seq.records, lists[i], strict=True)
                            if t not in known][:EVIDENCE_LINES]
            verdicts.append(Verdict(
                sequence=seq,
                verdict="anomalous" if anomalous else "normal",
                score=float(scores[i]),
                routed="evolved" if evolved[i] else "known",
                decided_by="small_model",
                model=self.model_label,
                evidence=evidence if anomalous else [],
                unseen_templates=int(unseen[i]),
            ))
        return verdicts


def _top_positions(seq: Sequence, scores: np.ndarray) -> list[int]:
    count = min(len(seq.records), scores.shape[0])
    if count == 0:
        return []
    order = np.argsort(-scores[:count], kind="stable")
    return sorted(seq.records[int(i)].line for i in order[:EVIDENCE_LINES] if scores[int(i)] > 0.5)
