"""A seeded log-evolution scenario built from real HDFS logs, the way CoLA synthesizes one.

CoLA (§3.2.1) simulates a system's logs evolving across releases with two kinds
of edits that leave labels unchanged: *rewrite* (slightly reword some
messages) and *duplicate / remove / shuffle* lines inside a sequence. Here:

* Blocks (HDFS sessions) are taken in order of first appearance in
  ``HDFS_2pct.log.gz``; the first ``cut`` fraction of them is the *before*
  period, left as is, the rest the *after* period, which is evolved. A block's
  lines all go to one period, so the two files overlap in time (a block's
  ``Deleting block`` lines come hours after it was written).
* Rewrite: in *after*, ``rewrite`` frequent normal templates are reworded as a
  release would (``REWORDINGS``, most frequent first); block ids, addresses and
  sizes stay where they were, so sessions still group.
* Duplicate / remove / shuffle touch only INFO lines of routine templates
  (``ROUTINE``: the block life cycle every normal block goes through), never a
  WARN line, an exception, or a rare template that may be the evidence of an
  anomaly. A block never loses its last line.
* Interleaving: every source line is a *slot* in file order. A removed line
  empties its slot, a duplicate is emitted right after its original in the same
  slot, and a shuffle swaps the messages of two adjacent lines of one block
  while each slot keeps its timestamp, so the output stays in file order and
  chronological, with the lines of different blocks interleaved as in the source.
"""

from __future__ import annotations

import csv
import functools
import gzip
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

from tests.datasets import data_dir

BLOCK = re.compile(r"blk_-?\d+")
# yyMMdd HHmmss | pid LEVEL component: message
LINE = re.compile(r"^(\d{6} \d{6}) (\d+ ([A-Z]+) [^\s:]+: )(.*)$")


@dataclass(frozen=True, slots=True)
class Rewording:
    old: str  # a literal phrase of the message, as the before period writes it
    new: str  # the phrase after the "release"
    where: re.Pattern[str]  # the messages (of one template) that get it


def _rewording(old: str, new: str, template: str) -> Rewording:
    return Rewording(old, new, re.compile(template))


# Frequent NORMAL HDFS templates, most frequent first (counts in HDFS_2pct).
REWORDINGS: tuple[Rewording, ...] = (
    _rewording("Receiving block", "Started receiving block",  # 34,397
               r"^Receiving block blk_-?\d+ src: \S+ dest: \S+$"),
    _rewording("BLOCK* NameSystem.addStoredBlock: blockMap updated:",  # 34,299
               "BLOCK* addStoredBlock: block map updated:",
               r"^BLOCK\* NameSystem\.addStoredBlock: blockMap updated: \S+ is added to "),
    _rewording("terminating", "exiting",  # 34,109
               r"^PacketResponder \d+ for block blk_-?\d+ terminating$"),
    _rewording("Received block", "Got block",  # 34,106
               r"^Received block blk_-?\d+ of size \d+ from \S+$"),
    _rewording("Deleting block", "Removing block",  # 27,822
               r"^Deleting block blk_-?\d+ file "),
    _rewording("BLOCK* NameSystem.delete:", "BLOCK* NameSystem.invalidate:",  # 27,742
               r"^BLOCK\* NameSystem\.delete: blk_-?\d+ is added to invalidSet of "),
)

# Templates every normal block goes through: the only lines duplicated, removed, shuffled.
ROUTINE = re.compile(
    r"^(?:Receiving block blk_|Received block blk_|PacketResponder \d+ for block \S+ terminating$"
    r"|BLOCK\* NameSystem\.(?:addStoredBlock: blockMap updated|delete|allocateBlock):"
    r"|\S+ Served block blk_|Deleting block blk_|Verification succeeded for blk_)"
)


@dataclass(frozen=True, slots=True)
class Edits:
    """How much of the after period was changed (counted in lines)."""

    reworded: int = 0
    duplicated: int = 0
    removed: int = 0
    swapped: int = 0  # pairs of adjacent lines whose order was exchanged


@dataclass
class Scenario:
    before: list[str]  # lines, no newline
    after: list[str]
    labels: dict[str, bool]  # block id -> anomalous, for every block, first-appearance order
    rewritten: dict[str, str]  # old phrase -> new phrase
    after_blocks: list[str] = field(default_factory=list)  # the evolved blocks, in order
    edits: Edits = field(default_factory=Edits)

    def write(self, folder: Path) -> tuple[Path, Path, Path]:
        """``before.log``, ``after.log`` and ``labels.csv`` (as ``anomaly_label.csv``)."""
        folder.mkdir(parents=True, exist_ok=True)
        before, after, labels = folder / "before.log", folder / "after.log", folder / "labels.csv"
        before.write_text("".join(f"{line}\n" for line in self.before), encoding="utf-8")
        after.write_text("".join(f"{line}\n" for line in self.after), encoding="utf-8")
        with labels.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(["BlockId", "Label"])
            writer.writerows((b, "Anomaly" if bad else "Normal") for b, bad in self.labels.items())
        return before, after, labels


@dataclass(frozen=True, slots=True)
class _Source:
    lines: tuple[str, ...]  # file order
    block_of: tuple[str, ...]  # the block id of each line
    blocks: tuple[str, ...]  # first-appearance order
    labels: dict[str, bool]


def source_paths() -> tuple[Path, Path]:
    folder = data_dir() / "hdfs_loglead_2pct"
    return folder / "HDFS_2pct.log.gz", folder / "anomaly_label.csv"


@functools.lru_cache(maxsize=2)
def _read(log: Path, label_file: Path) -> _Source:
    with gzip.open(log, "rt", encoding="utf-8") as fh:
        lines = tuple(fh.read().splitlines())
    block_of: list[str] = []
    for line in lines:
        m = BLOCK.search(line)
        if m is None:
            raise ValueError(f"{log}: a line without a block id: {line!r}")
        block_of.append(m.group())
    with label_file.open(newline="", encoding="utf-8") as fh:
        labels = {row["BlockId"]: row["Label"] == "Anomaly" for row in csv.DictReader(fh)}
    blocks = tuple(dict.fromkeys(block_of))
    return _Source(lines, tuple(block_of), blocks, labels)


def build(
    seed: int = 0,
    *,
    blocks: int | None = None,
    cut: float = 0.5,
    rewrite: int = 4,
    p_duplicate: float = 0.05,
    p_remove: float = 0.05,
    p_shuffle: float = 0.05,
) -> Scenario:
    """Before/after logs of the first ``blocks`` HDFS blocks (all if None); same seed, same logs."""
    if not 0.0 < cut < 1.0:
        raise ValueError(f"cut must be in (0, 1), got {cut}")
    if not 0 <= rewrite <= len(REWORDINGS):
        raise ValueError(f"rewrite must be in 0..{len(REWORDINGS)}, got {rewrite}")
    if p_duplicate < 0 or p_remove < 0 or p_duplicate + p_remove > 1 or not 0 <= p_shuffle <= 1:
        raise ValueError("probabilities must be >= 0, p_duplicate + p_remove <= 1, p_shuffle <= 1")
    src = _read(*source_paths())
    chosen = src.blocks if blocks is None else src.blocks[:blocks]
    n_before = max(1, min(len(chosen) - 1, round(cut * len(chosen))))
    before_set, after_set = set(chosen[:n_before]), set(chosen[n_before:])

    before: list[str] = []
    slots: list[int] = []  # source index of each after-period line, file order
    for i, block in enumerate(src.block_of):
        if block in before_set:
            before.append(src.lines[i])
        elif block in after_set:
            slots.append(i)

    rewordings = REWORDINGS[:rewrite]
    evolver = _Evolver(random.Random(seed), p_duplicate, p_remove, p_shuffle)
    after = evolver.evolve(src, slots, rewordings)
    return Scenario(
        before=before,
        after=after,
        labels={b: src.labels[b] for b in chosen},
        rewritten={r.old: r.new for r in rewordings},
        after_blocks=list(chosen[n_before:]),
        edits=evolver.edits(),
    )


@dataclass
class _Line:
    stamp: str  # "yyMMdd HHmmss": stays with its slot
    head: str  # "pid LEVEL component: "
    message: str
    routine: bool  # may be duplicated, removed, shuffled


class _Evolver:
    def __init__(self, rng: random.Random, p_duplicate: float, p_remove: float,
                 p_shuffle: float) -> None:
        self.rng = rng
        self.p_duplicate, self.p_remove, self.p_shuffle = p_duplicate, p_remove, p_shuffle
        self.reworded = self.duplicated = self.removed = self.swapped = 0

    def edits(self) -> Edits:
        return Edits(self.reworded, self.duplicated, self.removed, self.swapped)

    def evolve(self, src: _Source, slots: list[int],
               rewordings: tuple[Rewording, ...]) -> list[str]:
        by_block: dict[str, list[int]] = {}
        for i in slots:
            by_block.setdefault(src.block_of[i], []).append(i)
        emitted: dict[int, list[_Line]] = {}  # slot -> lines emitted there (0, 1 or 2)
        for indexes in by_block.values():  # first-appearance order: deterministic
            lines = [self._reword(_split(src.lines[i]), rewordings) for i in indexes]
            kept = self._duplicate_or_remove(list(zip(indexes, lines, strict=True)))
            self._shuffle(kept)
            for slot, line in kept:
                emitted.setdefault(slot, []).append(line)
        return [f"{line.stamp} {line.head}{line.message}"
                for i in slots for line in emitted.get(i, ())]

    def _reword(self, line: _Line, rewordings: tuple[Rewording, ...]) -> _Line:
        if line.head.split(" ", 2)[1] != "INFO":
            return line
        for r in rewordings:
            if r.where.search(line.message):
                self.reworded += 1
                line.message = line.message.replace(r.old, r.new, 1)
                break
        return line

    def _duplicate_or_remove(self, block: list[tuple[int, _Line]]) -> list[tuple[int, _Line]]:
        out: list[tuple[int, _Line]] = []
        remaining = len(block)  # lines of the block still present if nothing more is removed
        for slot, line in block:
            if not line.routine:
                out.append((slot, line))
                continue
            draw = self.rng.random()
            if draw < self.p_remove and remaining > 1:
                self.removed += 1
                remaining -= 1
            elif self.p_remove <= draw < self.p_remove + self.p_duplicate:
                self.duplicated += 1
                remaining += 1
                out += [(slot, line), (slot, _Line(line.stamp, line.head, line.message, True))]
            else:
                out.append((slot, line))
        return out

    def _shuffle(self, block: list[tuple[int, _Line]]) -> None:
        """Swap adjacent routine lines' messages (the slots keep their timestamps)."""
        k = 0
        while k + 1 < len(block):
            a, b = block[k][1], block[k + 1][1]
            if (a.routine and b.routine and (a.head, a.message) != (b.head, b.message)
                    and self.rng.random() < self.p_shuffle):
                a.head, b.head = b.head, a.head
                a.message, b.message = b.message, a.message
                self.swapped += 1
                k += 2
            else:
                k += 1


def _split(text: str) -> _Line:
    m = LINE.match(text)
    if m is None:
        raise ValueError(f"not an HDFS line: {text!r}")
    stamp, head, level, message = m.groups()
    return _Line(stamp, head, message, level == "INFO" and ROUTINE.match(message) is not None)
