"""Labeled (or unlabeled) sequence sets for train and eval, from the product's own pipeline."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from logsentry.embed import TemplateVectors
from logsentry.errors import InputError
from logsentry.ml.features import SequenceArrays, sequence_arrays
from logsentry.ml.labels import line_label, load_session_labels
from logsentry.pipeline import Pipeline
from logsentry.types import Sequence


@dataclass
class SequenceSet:
    sequences: list[Sequence]  # in time order
    y: np.ndarray | None  # 1 = anomalous; None when unlabeled
    unlabeled_dropped: int = 0  # sessions missing from the label file

    def __len__(self) -> int:
        return len(self.sequences)


def collect(pipe: Pipeline, inputs: list[str], *, labels: Path | None = None,
            label_field: str = "") -> SequenceSet:
    """All sequences of ``inputs``, ordered in time, with labels if asked for.

    With a session label file the order is the file's (first appearance);
    otherwise the order sequences start in their source.
    """
    sequences = list(pipe.sequences(inputs))
    if labels is not None:
        by_session = load_session_labels(labels)
        keyed = {s.session: s for s in sequences if s.session is not None}
        ordered = [keyed[k] for k in by_session if k in keyed]
        dropped = len(sequences) - len(ordered)
        if not ordered:
            raise InputError(f"{labels}: none of its session ids occur in the input "
                             "(is --window session, and the session key, right?)")
        y = np.array([by_session[s.session] for s in ordered if s.session is not None],
                     dtype=np.int64)
        return SequenceSet(ordered, y, dropped)
    sources = {name: i for i, name in enumerate(dict.fromkeys(s.source for s in sequences))}
    sequences.sort(key=lambda s: (sources[s.source], s.records[0].line))
    if label_field:
        y = np.array([line_label(s, label_field) for s in sequences], dtype=np.int64)
        return SequenceSet(sequences, y)
    return SequenceSet(sequences, None)


def arrays_for(sequences: list[Sequence], vectors: TemplateVectors, max_len: int,
               template_of: Callable[[int], str | None]) -> SequenceArrays:
    """Arrays using each template id's current (most general) template text."""
    lists = [[template_of(r.template_id) or r.template for r in s.records] for s in sequences]
    return sequence_arrays(lists, vectors.vectors, max_len=max_len)


@dataclass(frozen=True)
class DatasetSpec:
    """One labeled (or unlabeled) log set: ``path=...,format=...,window=...,labels=...``."""

    paths: tuple[str, ...]
    log_format: str = ""
    window: str = ""
    session_key: str = ""
    labels: str = ""  # session label CSV
    label_field: str = ""  # per-line label field
    sequences: bool = False  # paths[0] is JSONL of {"templates": [...], "label": 0|1}

    @classmethod
    def parse(cls, text: str) -> DatasetSpec:
        fields: dict[str, str] = {}
        for part in text.split(","):
            key, sep, value = part.partition("=")
            if not sep or key.strip() not in {"path", "format", "window", "session-key",
                                              "labels", "label-field", "sequences"}:
                raise InputError(f"--dataset {text!r}: use path=FILE[,format=NAME][,window=SPEC]"
                                 "[,labels=CSV | ,label-field=FIELD][,session-key=REGEX], or "
                                 "sequences=FILE.jsonl (parsed template sequences with labels)")
            fields[key.strip()] = value.strip()
        if fields.get("sequences"):
            return cls((fields["sequences"],), sequences=True)
        if not fields.get("path"):
            raise InputError(f"--dataset {text!r}: path=FILE is required")
        return cls((fields["path"],), fields.get("format", ""), fields.get("window", ""),
                   fields.get("session-key", ""), fields.get("labels", ""),
                   fields.get("label-field", ""))

    @property
    def labeled(self) -> bool:
        return bool(self.labels or self.label_field or self.sequences)

    def describe(self) -> dict[str, object]:
        if self.sequences:
            return {"template_sequences": self.paths[0], "labels": "in file"}
        return {"inputs": list(self.paths), "format": self.log_format or "auto",
                "window": self.window or "auto",
                "labels": self.labels or (f"field {self.label_field}" if self.label_field
                                          else None)}


@dataclass
class LoadedDataset:
    spec: DatasetSpec
    data: SequenceSet
    texts: list[tuple[str, ...]]  # each sequence's templates, in their final form
    log_format: str
    window: str


def load_dataset(spec: DatasetSpec, pipe: Pipeline) -> LoadedDataset:
    """Sequences, labels and final template texts of one data set through ``pipe``."""
    data = collect(pipe, list(spec.paths), labels=Path(spec.labels) if spec.labels else None,
                   label_field=spec.label_field)
    parser = pipe.parser
    if parser is None or not data.sequences:
        raise InputError(f"{', '.join(spec.paths)}: no sequences in the input")
    template = parser.template
    texts = [tuple(template(r.template_id) or r.template for r in s.records)
             for s in data.sequences]
    return LoadedDataset(spec, data, texts, pipe.format.name if pipe.format else "?",
                         str(pipe.resolved_window()))


def read_template_sequences(spec: DatasetSpec) -> LoadedDataset:
    """Already-parsed sequences, one JSON object per line (deep-loglizer's HDFS sessions):
    ``{"block_id": "...", "label": 0|1, "templates": ["...", ...]}``, gzip or plain."""
    import gzip
    import json

    from logsentry.types import LogRecord

    path = spec.paths[0]
    opener = gzip.open if path.endswith(".gz") else open
    sequences: list[Sequence] = []
    texts: list[tuple[str, ...]] = []
    labels: list[int] = []
    ids: dict[str, int] = {}
    try:
        with opener(path, "rt", encoding="utf-8") as fh:
            for number, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                    templates = [str(t) for t in obj["templates"]]
                    label = int(obj["label"])
                except (ValueError, KeyError, TypeError):
                    raise InputError(f"{path}:{number}: expected "
                                     '{"templates": [...], "label": 0|1}') from None
                session = str(obj.get("block_id") or obj.get("session") or number)
                records = [LogRecord(path, number, number, 0, t, t, template_id=ids.setdefault(
                    t, len(ids) + 1), template=t) for t in templates]
                if not records:
                    continue
                sequences.append(Sequence(session, path, session, "session", records))
                texts.append(tuple(templates))
                labels.append(1 if label else 0)
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if not sequences:
        raise InputError(f"{path}: no template sequences in it")
    data = SequenceSet(sequences, np.array(labels, dtype=np.int64))
    return LoadedDataset(spec, data, texts, "template-sequences", "session")
