"""A persistent cache of template vectors (SQLite in the cache directory).

Keyed by encoder id and template text, so a new encoder version never reuses
an old vector. WAL mode: many readers (scans) and one writer at a time.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

from logsentry.errors import StateError

SCHEMA = """
CREATE TABLE IF NOT EXISTS vectors (
    encoder TEXT NOT NULL,
    template TEXT NOT NULL,
    dim INTEGER NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (encoder, template)
)
"""


class VectorCache:
    def __init__(self, path: Path, encoder_id: str) -> None:
        self.path = path
        self.encoder_id = encoder_id
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(SCHEMA)
            self._db.commit()
        except sqlite3.DatabaseError as exc:
            raise StateError(f"template vector cache {path}: {exc}; delete it to start a "
                             "fresh one (it is only a cache)") from None

    def get_many(self, templates: Iterable[str]) -> dict[str, np.ndarray]:
        wanted = list(dict.fromkeys(templates))
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                f"SELECT template, dim, vector FROM vectors WHERE encoder = ? "
                f"AND template IN ({marks})",
                [self.encoder_id, *chunk],
            )
            for template, dim, blob in rows:
                vector = np.frombuffer(blob, dtype=np.float32)
                if vector.shape == (dim,):
                    found[template] = vector
        return found

    def put_many(self, vectors: Mapping[str, np.ndarray]) -> None:
        rows = [(self.encoder_id, t, int(v.shape[0]), np.asarray(v, np.float32).tobytes())
                for t, v in vectors.items()]
        with self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO vectors (encoder, template, dim, vector) "
                "VALUES (?, ?, ?, ?)", rows)

    def __len__(self) -> int:
        row = self._db.execute("SELECT COUNT(*) FROM vectors WHERE encoder = ?",
                               [self.encoder_id]).fetchone()
        return int(row[0])

    def close(self) -> None:
        self._db.close()
