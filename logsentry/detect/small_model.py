"""Verdicts from a bundle's small model (LogMoE or the normal memory) and router.

For each batch of sequences: template vectors (bundle table, then cache, then
encoder) -> arrays -> router (known / evolved, counting unseen templates) ->
small-model score against the bundle's threshold -> ``Verdict``. Evidence
lines: for LogMoE, the records whose per-position anomaly score is high
(at most ``EVIDENCE_LINES``); for the memory, the records whose template is
unseen or rarest in training.
"""

from __future__ import annotations

from collections.abc import Sequence as Seq

import numpy as np

from logsentry.embed import ENCODER_ID, TemplateVectors
from logsentry.errors import ModelError
from logsentry.ml.bundle import Bundle
from logsentry.ml.features import idf_mean, sequence_arrays
from logsentry.ml.logmoe import LogMoEScorer
from logsentry.ml.memory import NormalMemory
from logsentry.ml.router import RouterScorer
from logsentry.parse import TemplateParser
from logsentry.types import Sequence, Verdict

EVIDENCE_LINES = 3
MEMO_LIMIT = 100_000  # distinct template sequences remembered (cleared when full)


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
        self._memo: dict[tuple[object, ...], tuple[float, bool, int, tuple[int, ...]]] = {}
        self._generation = -1
        self._seed_cache(bundle)
        self.router = RouterScorer(bundle.file("router.onnx"), float(info["router"]["threshold"]),
                                   self.known)
        self.model_label = f"{bundle.name}@{info.get('created', '?')}"
        router_info = info["router"]
        self.idf: dict[str, float] | None = None
        self.unseen_idf = float(router_info.get("unseen_idf", 1.0))
        if "idf" in router_info:
            if len(router_info["idf"]) != len(self.known):
                raise ModelError(f"model {bundle.name}: router idf does not match templates")
            self.idf = dict(zip(self.known, map(float, router_info["idf"]), strict=True))
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

    def judge(self, sequences: Seq[Sequence], parser: TemplateParser | None = None,
              texts_of: Seq[tuple[str, ...]] | None = None) -> list[Verdict]:
        """Verdicts in order. Identical template sequences are scored once (memoised):
        the models are deterministic, and logs repeat the same shapes endlessly.

        With the ``parser``, templates are read in their current (most general) form
        and the memo is keyed by template ids, dropped whenever a template changes.
        """
        if not sequences:
            return []
        keys: list[tuple[object, ...]]
        texts: dict[tuple[object, ...], tuple[str, ...]]
        if texts_of is not None:  # template texts given (e.g. final ones, after parsing a file)
            keys = list(texts_of)
            texts = {k: k for k in keys if k not in self._memo}  # type: ignore[misc]
        elif parser is not None:
            if parser.generation != self._generation:
                self._memo.clear()
                self._generation = parser.generation
            template = parser.template
            keys = []
            texts = {}
            for seq in sequences:
                ids = tuple(r.template_id for r in seq.records)
                keys.append(ids)
                if ids not in self._memo and ids not in texts:
                    texts[ids] = tuple(template(r.template_id) or r.template for r in seq.records)
        else:
            keys = []
            texts = {}
            for seq in sequences:
                words = tuple(r.template for r in seq.records)
                keys.append(words)
                if words not in self._memo:
                    texts[words] = words
        if texts:
            self._score(list(texts), list(texts.values()))
        verdicts = []
        for seq, key in zip(sequences, keys, strict=True):
            score, evolved, unseen, positions = self._memo[key]
            anomalous = score >= self.threshold
            verdicts.append(Verdict(
                sequence=seq,
                verdict="anomalous" if anomalous else "normal",
                score=score,
                routed="evolved" if evolved else "known",
                decided_by="small_model",
                model=self.model_label,
                evidence=sorted(seq.records[i].line for i in positions
                                if i < len(seq.records)) if anomalous else [],
                unseen_templates=unseen,
            ))
        return verdicts

    def _score(self, keys: list[tuple[object, ...]], texts: list[tuple[str, ...]]) -> None:
        order = sorted(range(len(keys)), key=lambda i: len(texts[i]))  # batches of like length
        keys = [keys[i] for i in order]
        texts = [texts[i] for i in order]
        arrays = sequence_arrays(texts, self.vectors.vectors, max_len=self.max_len)
        if self.idf is not None:  # TF-IDF weighted means (bundles since the router uses them)
            errors = self.router.errors(idf_mean(arrays, self.idf, self.unseen_idf))
            unseen = self.router.unseen(arrays)
            evolved = (errors > self.router.threshold) | (unseen > 0)
        else:
            evolved, _errors, unseen = self.router.route(arrays)
        if self.scorer is not None:
            # Batches of 64 sequences sorted by length: measured faster than 256 (less padding).
            scores, positions = self.scorer.predict(arrays, batch_size=64)
        else:
            assert self.memory is not None
            scores = self.memory.score(arrays)
            positions = None
        known = set(self.known)
        if len(self._memo) + len(keys) > MEMO_LIMIT:
            self._memo.clear()
        for i, key in enumerate(keys):
            if positions is not None:
                evidence = _top_positions(len(key), positions[i])
            else:
                evidence = tuple(j for j, t in enumerate(texts[i])
                                 if t not in known)[:EVIDENCE_LINES]
            self._memo[key] = (float(scores[i]), bool(evolved[i]), int(unseen[i]), evidence)


def _top_positions(count: int, scores: np.ndarray) -> tuple[int, ...]:
    """Indices of the records with the highest per-position anomaly scores (> 0.5)."""
    count = min(count, scores.shape[0])
    if count == 0:
        return ()
    order = np.argsort(-scores[:count], kind="stable")
    return tuple(int(i) for i in order[:EVIDENCE_LINES] if scores[int(i)] > 0.5)
