from __future__ import annotations

import json
from pathlib import Path

import pytest

from logsentry.errors import StateError
from logsentry.sources.checkpoints import CheckpointStore
from logsentry.sources.follow import Follower, Position


def _identity(path: Path):  # the follower's identity of a file, and its open handle
    seen = []
    follower = Follower([str(path)], from_start=True,
                        known=lambda _p, identity, fh: seen.append((identity, fh)) or None)
    follower.poll()
    follower.close()
    return seen[0][0]


def test_a_checkpoint_resumes_only_the_same_file(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"first line\nsecond\nthird\n")
    identity = _identity(log)
    store = CheckpointStore(tmp_path / "state")
    store.update(str(log), identity, Position(18, 2))
    store.save()
    again = CheckpointStore(tmp_path / "state")  # survives a restart
    with log.open("rb") as fh:
        assert again.known(str(log), identity, fh) == Position(18, 2)
    log.write_bytes(b"another first line\n")  # same inode, other content: no match
    with log.open("rb") as fh:
        assert again.known(str(log), identity, fh) is None
    saved = json.loads((tmp_path / "state" / "follow" / "checkpoints.json").read_text())
    assert saved["format"] == "logsentry-checkpoints/1" and len(saved["files"]) == 1
    assert not list((tmp_path / "state" / "follow").glob(".checkpoints.*"))  # no temp left


def test_corrupt_checkpoints_are_moved_aside(tmp_path: Path) -> None:
    folder = tmp_path / "state" / "follow"
    folder.mkdir(parents=True)
    (folder / "checkpoints.json").write_text("{oops", encoding="utf-8")
    with pytest.raises(StateError) as info:
        CheckpointStore(tmp_path / "state")
    assert "corrupt" in str(info.value) and "\n" not in str(info.value)
    assert CheckpointStore(tmp_path / "state").records == {}  # the next run starts afresh
    assert list(folder.glob("checkpoints.corrupt-*"))


def test_an_unwritable_state_dir_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "state"
    blocker.write_text("a file where the directory should be", encoding="utf-8")
    with pytest.raises(StateError) as info:
        CheckpointStore(blocker)
    assert "--state-dir" in str(info.value)
    blocker.unlink()
    blocker.mkdir()
    (blocker / "follow").write_text("not a directory", encoding="utf-8")
    store = CheckpointStore(tmp_path / "elsewhere")
    store.path = blocker / "follow" / "checkpoints.json"
    with pytest.raises(StateError) as info:
        store.save()
    assert "cannot write" in str(info.value) and "--state-dir" in str(info.value)
