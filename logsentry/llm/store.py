"""The verdict store: one SQLite database in the data directory.

* ``llm_answers``: the knowledge-reuse cache. An LLM answer is stored under
  (key, bundle, llm, prompt). The key is the sha256 of the sequence's
  *normalized* form: the set of its templates, each with its count bucketed
  by powers of two (1, 2-3, 4-7, ...). Measured on the 11,501 HDFS blocks in
  file order: a repeat hit for 99.1% of them against 86.7% with the exact
  ordered template sequence, and no key ever shared by a normal and an
  anomalous block (the template *set* alone: 99.6%, but 7 wrong reuses). It
  is also what the LLM sees: the prompt shows each kind of line once, with
  its count. Evidence is kept as template texts (mapped back to the first
  line of each in the sequence at hand).
* ``escalations``: every escalated sequence (lines shown to the LLM, template
  texts, small-model score, LLM label and explanation, final verdict, models)
  for ``explain`` and for ``adapt``.
* ``line_meanings``: what one kind of line (template) reports, in the LLM's
  words (role ``explain``): asked once per template, LLM and prompt.
* ``feedback``: an operator's label for a stored sequence (``logsentry
  feedback``); it overrides the LLM's and is never filtered out by ``adapt``.

WAL mode: many readers and one writer at a time (``busy_timeout`` waits for it).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections import Counter
from collections.abc import Sequence as Seq
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from logsentry.errors import StateError

SCHEMA = """
CREATE TABLE IF NOT EXISTS llm_answers_v2 (
    key TEXT NOT NULL, bundle TEXT NOT NULL, llm TEXT NOT NULL, prompt TEXT NOT NULL,
    anomalous INTEGER NOT NULL, explanation TEXT NOT NULL, evidence TEXT NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (key, bundle, llm, prompt)
);
CREATE TABLE IF NOT EXISTS escalations (
    sequence_id TEXT PRIMARY KEY, created REAL NOT NULL, source TEXT, session TEXT,
    window TEXT, lines TEXT NOT NULL, shown TEXT NOT NULL, templates TEXT NOT NULL,
    cache_key TEXT NOT NULL, small_score REAL, small_verdict TEXT, routed TEXT,
    llm_anomalous INTEGER, explanation TEXT, evidence TEXT, verdict TEXT NOT NULL,
    decided_by TEXT NOT NULL, reason TEXT, bundle TEXT, llm TEXT, prompt TEXT
);
CREATE TABLE IF NOT EXISTS line_meanings (
    template TEXT NOT NULL, llm TEXT NOT NULL, prompt TEXT NOT NULL, meaning TEXT NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (template, llm, prompt)
);
CREATE TABLE IF NOT EXISTS feedback (
    sequence_id TEXT PRIMARY KEY, anomalous INTEGER NOT NULL, note TEXT NOT NULL,
    created REAL NOT NULL
);
"""


MIN_ID_PREFIX = 4  # a shorter prefix of a sequence id names no sequence in particular


def sequence_key(templates: Seq[str]) -> str:
    """The cache key of a template sequence: its templates with log2-bucketed counts."""
    digest = hashlib.sha256()
    for template, count in sorted(Counter(templates).items()):
        data = template.encode("utf-8", "surrogatepass")
        digest.update(len(data).to_bytes(8, "little"))  # length-prefixed: no join ambiguity
        digest.update(data)
        digest.update(count.bit_length().to_bytes(2, "little"))  # 1 | 2-3 | 4-7 | ...
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class Answer:
    anomalous: bool
    explanation: str
    evidence: tuple[str, ...]  # the templates of the lines the LLM named


class VerdictStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        db: sqlite3.Connection | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(path, timeout=30, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA busy_timeout=30000")
            db.executescript(SCHEMA)
            db.commit()
            self._db = db
        except sqlite3.DatabaseError as exc:
            if db is not None:
                db.close()
            raise StateError(f"verdict store {path}: {exc}; move it aside to start a fresh "
                             f"one (cached LLM answers and escalations are lost)") from None
        except OSError as exc:
            raise StateError(f"verdict store {path}: {exc.strerror or exc}") from None

    def answer(self, key: str, bundle: str, llm: str, prompt: str) -> Answer | None:
        row = self._db.execute(
            "SELECT anomalous, explanation, evidence FROM llm_answers_v2 "
            "WHERE key = ? AND bundle = ? AND llm = ? AND prompt = ?",
            (key, bundle, llm, prompt)).fetchone()
        if row is None:
            return None
        try:
            evidence = tuple(str(t) for t in json.loads(row[2]))
        except (ValueError, TypeError):
            evidence = ()
        return Answer(bool(row[0]), str(row[1]), evidence)

    def put_answer(self, key: str, bundle: str, llm: str, prompt: str, answer: Answer) -> None:
        with self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO llm_answers_v2 VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (key, bundle, llm, prompt, int(answer.anomalous), answer.explanation,
                 json.dumps(list(answer.evidence)), time.time()))

    def put_escalations(self, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        columns = list(rows[0])
        marks = ",".join("?" * len(columns))
        values = [[_sql(row[c]) for c in columns] for row in rows]
        with self._db:
            self._db.executemany(
                f"INSERT OR REPLACE INTO escalations ({','.join(columns)}) VALUES ({marks})",
                values)

    def escalation(self, sequence_id: str) -> dict[str, Any] | None:
        """The stored escalation whose id is ``sequence_id``, or else starts with it (a
        unique prefix of at least ``MIN_ID_PREFIX`` characters)."""
        cursor = self._db.execute("SELECT * FROM escalations WHERE sequence_id = ?",
                                  (sequence_id,))
        rows = cursor.fetchall()
        if not rows:
            if len(sequence_id) < MIN_ID_PREFIX:
                raise StateError(f"sequence id {sequence_id!r}: give at least {MIN_ID_PREFIX} "
                                 "characters of it")
            cursor = self._db.execute(
                "SELECT * FROM escalations WHERE sequence_id >= ? AND sequence_id < ? "
                "ORDER BY sequence_id LIMIT 2", (sequence_id, sequence_id + "\uffff"))
            rows = cursor.fetchall()
        names = [d[0] for d in cursor.description]
        if len(rows) != 1:
            if len(rows) > 1:
                raise StateError(f"sequence id {sequence_id!r} is ambiguous: give more of it")
            return None
        out = dict(zip(names, rows[0], strict=True))
        for name in ("lines", "shown", "templates", "evidence"):
            if out.get(name) is not None:
                out[name] = json.loads(out[name])
        return out

    def meanings(self, templates: Seq[str], llm: str, prompt: str) -> dict[str, str]:
        out: dict[str, str] = {}
        for template in dict.fromkeys(templates):
            row = self._db.execute(
                "SELECT meaning FROM line_meanings WHERE template = ? AND llm = ? AND prompt = ?",
                (template, llm, prompt)).fetchone()
            if row is not None:
                out[template] = str(row[0])
        return out

    def put_meanings(self, meanings: dict[str, str], llm: str, prompt: str) -> None:
        if not meanings:
            return
        now = time.time()
        with self._db:
            self._db.executemany("INSERT OR REPLACE INTO line_meanings VALUES (?, ?, ?, ?, ?)",
                                 [(t, llm, prompt, m, now) for t, m in meanings.items()])

    def put_feedback(self, sequence_id: str, anomalous: bool, note: str = "") -> None:
        with self._db:
            self._db.execute("INSERT OR REPLACE INTO feedback VALUES (?, ?, ?, ?)",
                             (sequence_id, int(anomalous), note, time.time()))

    def feedback(self) -> dict[str, tuple[bool, str]]:
        """sequence id -> (anomalous, note) for every operator label."""
        rows = self._db.execute("SELECT sequence_id, anomalous, note FROM feedback")
        return {str(r[0]): (bool(r[1]), str(r[2])) for r in rows}

    def samples(self) -> list[dict[str, Any]]:
        """Every stored escalation, oldest first, with its templates and verdicts, and the
        operator's label where there is one: what ``adapt`` learns from."""
        cursor = self._db.execute(
            "SELECT e.sequence_id, e.created, e.templates, e.cache_key, e.verdict, "
            "e.llm_anomalous, e.decided_by, e.bundle, f.anomalous, f.note "
            "FROM escalations e LEFT JOIN feedback f ON f.sequence_id = e.sequence_id "
            "ORDER BY e.created, e.sequence_id")
        out = []
        for row in cursor:
            try:
                templates = [str(t) for t in json.loads(row[2])]
            except (ValueError, TypeError):
                continue  # an unreadable row is skipped, not fatal
            out.append({"sequence_id": row[0], "created": row[1], "templates": templates,
                        "cache_key": row[3], "verdict": row[4],
                        "llm_anomalous": None if row[5] is None else bool(row[5]),
                        "decided_by": row[6], "bundle": row[7],
                        "feedback": None if row[8] is None else bool(row[8]),
                        "note": row[9]})
        return out

    def count(self, table: str) -> int:
        assert table in {"llm_answers_v2", "escalations", "feedback", "line_meanings"}
        return int(self._db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])

    def close(self) -> None:
        self._db.close()


def _sql(value: Any) -> Any:
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return int(value)
    return value
