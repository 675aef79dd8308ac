"""VerdictStore: the LLM answer cache and the escalation log in one SQLite file."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from logsentry.errors import StateError
from logsentry.llm.store import Answer, VerdictStore, sequence_key

KEY = sequence_key(["open <*>", "write <*> bytes", "close <*>"])
ANSWER = Answer(anomalous=True, explanation="write after close",
                evidence=("close <*>", "write <*>"))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[VerdictStore]:
    s = VerdictStore(tmp_path / "state" / "verdicts.sqlite")
    yield s
    s.close()


def _row(sequence_id: str, **changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "sequence_id": sequence_id, "created": 1700000000.5, "source": "hdfs.log",
        "session": "blk_42", "window": None,
        "lines": ["081109 open blk_42", "081109 write blk_42 — 5 bytes"],
        "shown": [0, 1], "templates": ["open <*>", "write <*> — <*> bytes"],
        "cache_key": KEY, "small_score": 0.93, "small_verdict": "anomalous",
        "routed": "uncertain", "llm_anomalous": True, "explanation": "odd write",
        "evidence": [1], "verdict": "anomalous", "decided_by": "llm", "reason": None,
        "bundle": "bundle@abc", "llm": "qwen@def", "prompt": "p1",
    }
    row.update(changes)
    return row


def test_answer_round_trip(store: VerdictStore) -> None:
    assert store.answer(KEY, "b1", "llm1", "p1") is None
    store.put_answer(KEY, "b1", "llm1", "p1", ANSWER)
    assert store.answer(KEY, "b1", "llm1", "p1") == ANSWER
    assert store.count("llm_answers_v2") == 1


def test_answer_replaced_under_the_same_key(store: VerdictStore) -> None:
    store.put_answer(KEY, "b1", "llm1", "p1", ANSWER)
    other = Answer(anomalous=False, explanation="normal", evidence=())
    store.put_answer(KEY, "b1", "llm1", "p1", other)
    assert store.answer(KEY, "b1", "llm1", "p1") == other
    assert store.count("llm_answers_v2") == 1


@pytest.mark.parametrize("lookup", [
    (sequence_key(["open <*>"]), "b1", "llm1", "p1"),
    (KEY, "b2", "llm1", "p1"),
    (KEY, "b1", "llm2", "p1"),
    (KEY, "b1", "llm1", "p2"),
])
def test_different_key_bundle_llm_or_prompt_misses(store: VerdictStore,
                                                   lookup: tuple[str, str, str, str]) -> None:
    store.put_answer(KEY, "b1", "llm1", "p1", ANSWER)
    assert store.answer(*lookup) is None
    assert store.answer(KEY, "b1", "llm1", "p1") == ANSWER


def test_data_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "verdicts.sqlite"
    first = VerdictStore(path)
    first.put_answer(KEY, "b1", "llm1", "p1", ANSWER)
    first.put_escalations([_row("seq-1")])
    first.close()
    second = VerdictStore(path)
    try:
        assert second.answer(KEY, "b1", "llm1", "p1") == ANSWER
        row = second.escalation("seq-1")
        assert row is not None and row["templates"] == ["open <*>", "write <*> — <*> bytes"]
        assert second.count("escalations") == 1
    finally:
        second.close()


def test_sequence_key_is_the_template_set_with_bucketed_counts() -> None:
    templates = ["open <*>", "write <*>", "write <*>", "close <*>"]
    assert sequence_key(templates) == sequence_key(tuple(templates))
    assert len(sequence_key(templates)) == 64
    assert sequence_key(["a", "b"]) == sequence_key(["b", "a"])  # order does not count
    assert sequence_key(["a", "b", "b"]) == sequence_key(["b", "a", "b"])
    assert sequence_key(["a"] * 4) == sequence_key(["a"] * 7)  # same power-of-two bucket
    assert sequence_key(["a"] * 3) != sequence_key(["a"] * 4)
    assert sequence_key(["a"]) != sequence_key(["a", "a"])
    assert sequence_key(["a"]) != sequence_key(["a", "b"])  # a new kind of line
    assert sequence_key(["ab", "c"]) != sequence_key(["a", "bc"])
    assert sequence_key([]) != sequence_key([""])
    assert sequence_key(["a\x00b"]) != sequence_key(["a", "b"])
    # a fixed value: the key must not change between releases (it keys cached answers)
    assert sequence_key(["a", "b"]) == (
        "07e1cfd20bc2f993c8f2f77bbc826e769ab19c076f22ed84e2ddedc1d2297663")


def test_escalation_by_full_id_and_unique_prefix(store: VerdictStore) -> None:
    store.put_escalations([_row("3f2a9c01"), _row("77b0e5d2", evidence=[0, 1], verdict="normal",
                                                  llm_anomalous=False)])
    full = store.escalation("3f2a9c01")
    assert full is not None
    assert full["sequence_id"] == "3f2a9c01"
    assert full["lines"] == ["081109 open blk_42", "081109 write blk_42 — 5 bytes"]
    assert full["shown"] == [0, 1]
    assert full["templates"] == ["open <*>", "write <*> — <*> bytes"]
    assert full["evidence"] == [1]
    assert full["llm_anomalous"] == 1 and full["small_score"] == pytest.approx(0.93)
    assert full["window"] is None and full["reason"] is None
    prefix = store.escalation("77b0")
    assert prefix is not None
    assert prefix["sequence_id"] == "77b0e5d2"
    assert prefix["evidence"] == [0, 1] and prefix["verdict"] == "normal"
    assert prefix["llm_anomalous"] == 0


def test_unknown_escalation_is_none(store: VerdictStore) -> None:
    assert store.escalation("3f2a") is None  # empty store
    store.put_escalations([_row("3f2a9c01")])
    assert store.escalation("3f2b") is None
    assert store.escalation("3f2a9c01x") is None
    for short in ("", "0", "3f2"):  # like git: a prefix of fewer than 4 names nothing
        with pytest.raises(StateError, match="at least 4 characters"):
            store.escalation(short)
    store.put_escalations([_row("s9")])
    found = store.escalation("s9")  # a whole id is fine however short
    assert found is not None and found["sequence_id"] == "s9"


def test_ambiguous_prefix_is_a_state_error(store: VerdictStore) -> None:
    store.put_escalations([_row("3f2a9c01"), _row("3f2a0000")])
    with pytest.raises(StateError) as info:
        store.escalation("3f2a")
    assert "ambiguous" in str(info.value) and "\n" not in str(info.value)
    assert store.escalation("3f2a0") is not None  # a longer prefix is unique


def test_put_escalations_empty_is_a_no_op(store: VerdictStore) -> None:
    store.put_escalations([])
    assert store.count("escalations") == 0


def test_corrupt_database_is_a_one_line_state_error(tmp_path: Path) -> None:
    path = tmp_path / "verdicts.sqlite"
    path.write_bytes(b"this is not a database\n" * 200)
    with pytest.raises(StateError) as info:
        VerdictStore(path)
    message = str(info.value)
    assert "\n" not in message
    assert str(path) in message
    assert "move it aside" in message


def test_two_stores_on_one_file_see_each_others_writes(tmp_path: Path) -> None:
    path = tmp_path / "verdicts.sqlite"
    writer, reader = VerdictStore(path), VerdictStore(path)
    try:
        with sqlite3.connect(path) as raw:
            assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert reader.answer(KEY, "b1", "llm1", "p1") is None
        writer.put_answer(KEY, "b1", "llm1", "p1", ANSWER)
        writer.put_escalations([_row("seq-1")])
        assert reader.answer(KEY, "b1", "llm1", "p1") == ANSWER
        assert reader.count("escalations") == 1

        # WAL: an open read transaction elsewhere neither blocks nor sees a new commit
        snapshot = sqlite3.connect(path, isolation_level=None)
        try:
            snapshot.execute("BEGIN")
            assert snapshot.execute("SELECT COUNT(*) FROM escalations").fetchone()[0] == 1
            writer.put_escalations([_row("seq-2")])
            assert snapshot.execute("SELECT COUNT(*) FROM escalations").fetchone()[0] == 1
            snapshot.execute("COMMIT")
        finally:
            snapshot.close()
        row = reader.escalation("seq-2")
        assert row is not None and row["sequence_id"] == "seq-2"
    finally:
        writer.close()
        reader.close()
