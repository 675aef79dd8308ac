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
        self._known_set = frozenset(self.known)
        self.longer = 0  # sequences judged that hold more records than the model reads
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
        self._examples: tuple[list[list[str]], np.ndarray, np.ndarray] | None = None  # lazy
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

    def _load_examples(self, bundle: Bundle) -> tuple[list[list[str]], np.ndarray, np.ndarray]:
        """The bundle's labeled example sequences, their labels and unit TF-IDF means."""
        if "examples.json" not in bundle.files or self.idf is None:
            return [], np.zeros(0, dtype=np.int64), np.zeros((0, 384), dtype=np.float32)
        data = bundle.json("examples.json")
        try:
            sequences = [[self.known[int(t) - 1] for t in row] for row in data["sequences"]]
            labels = np.array([int(x) for x in data["labels"]], dtype=np.int64)
        except (KeyError, TypeError, ValueError, IndexError):
            raise ModelError(f"model {bundle.name}: examples.json does not match its "
                             f"templates") from None
        if not sequences or len(labels) != len(sequences):
            return [], np.zeros(0, dtype=np.int64), np.zeros((0, 384), dtype=np.float32)
        arrays = sequence_arrays(sequences, self.vectors.vectors, max_len=self.max_len)
        return sequences, labels, _unit(idf_mean(arrays, self.idf, self.unseen_idf))

    def examples_for(self, templates: list[str], per_class: int = 1
                     ) -> list[tuple[str, list[str]]]:
        """The labeled training sequences nearest to ``templates`` (cosine of TF-IDF
        weighted template-vector means), ``per_class`` of each class, nearest first:
        in-context examples for the LLM tier."""
        if self._examples is None:
            self._examples = self._load_examples(self.bundle)
        sequences, labels, vectors = self._examples
        if not sequences or not templates:
            return []
        assert self.idf is not None
        query = _unit(idf_mean(sequence_arrays([templates], self.vectors.vectors,
                                               max_len=self.max_len), self.idf,
                               self.unseen_idf))[0]
        similarity = vectors @ query
        picked: list[tuple[float, str, list[str]]] = []
        for label, name in ((0, "normal"), (1, "anomalous")):
            rows = np.nonzero(labels == label)[0]
            for i in rows[np.argsort(-similarity[rows], kind="stable")][:per_class]:
                picked.append((float(similarity[i]), name, sequences[int(i)]))
        picked.sort(key=lambda item: -item[0])
        return [(name, seq) for _sim, name, seq in picked]

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
        max_len = self.max_len
        self.longer += sum(len(seq.records) > max_len for seq in sequences)
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
                calibrated=self.scorer is not None,
            ))
        return verdicts

    def _score(self, keys: list[tuple[object, ...]], texts: list[tuple[str, ...]]) -> None:
        order = sorted(range(len(keys)), key=lambda i: len(texts[i]))  # batches of like length
        keys = [keys[i] for i in order]
        texts = [texts[i] for i in order]
        arrays = sequence_arrays(texts, self.vectors.vectors, max_len=self.max_len)
        if self.idf is not None:  # TF-IDF weighted means (bundles since the router uses them)
            errors = self.router.errors(idf_mean(arrays, self.idf, self.unseen_idf))
        else:
            errors = self.router.errors(arrays.mean)
        # Never-seen templates anywhere in the sequence, also past the max_len records the
        # models read: one new kind of line is enough to route a sequence to the LLM tier.
        known = self._known_set
        new = {t for t in arrays.templates if t not in known}
        unseen = np.array([sum(t in new for t in text) if new else 0 for text in texts],
                          dtype=np.int64)
        evolved = (errors > self.router.threshold) | (unseen > 0)
        if self.scorer is not None:
            # Batches of 64 sequences sorted by length: measured faster than 256 (less padding).
            scores, positions = self.scorer.predict(arrays, batch_size=64)
        else:
            assert self.memory is not None
            scores = self.memory.score(arrays)
            positions = None
        if len(self._memo) + len(keys) > MEMO_LIMIT:
            self._memo.clear()
        for i, key in enumerate(keys):
            if positions is not None:
                evidence = _top_positions(len(key), positions[i])
            else:
                evidence = tuple(j for j, t in enumerate(texts[i])
                                 if t not in known)[:EVIDENCE_LINES]
            self._memo[key] = (float(scores[i]), bool(evolved[i]), int(unseen[i]), evidence)


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def _top_positions(count: int, scores: np.ndarray) -> tuple[int, ...]:
    """Indices of the records with the highest per-position anomaly scores (> 0.5)."""
    count = min(count, scores.shape[0])
    if count == 0:
        return ()
    order = np.argsort(-scores[:count], kind="stable")
    return tuple(int(i) for i in order[:EVIDENCE_LINES] if scores[int(i)] > 0.5)
