"""Follow checkpoints: how far each followed file has been judged, across restarts.

One JSON file (``follow/checkpoints.json`` in the state directory), written
atomically (temp file, fsync, rename, fsync of the directory) and only after
the verdicts for the lines up to each offset have been written and flushed.
A record is keyed by device, inode and fingerprint; a file matches it only if
it has that device and inode *and* still starts with the fingerprinted bytes
(so a re-used inode or a truncated file starts afresh).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any, BinaryIO

from logsentry.errors import StateError
from logsentry.sources.follow import Identity, Position

FORMAT = "logsentry-checkpoints/1"
KEEP_SECONDS = 30 * 86400  # records of files not seen for this long are dropped


class CheckpointStore:
    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / "follow" / "checkpoints.json"
        self.records: dict[str, dict[str, Any]] = {}
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return
        except OSError as exc:
            raise StateError(f"follow checkpoints {self.path}: cannot read "
                             f"({exc.strerror or exc}); check --state-dir") from None
        except ValueError as exc:
            moved = self.path.with_suffix(f".corrupt-{int(time.time())}")
            try:
                os.replace(self.path, moved)
            except OSError:
                raise StateError(f"follow checkpoints {self.path}: unreadable ({exc}); move it "
                                 f"aside to start afresh") from None
            raise StateError(f"follow checkpoints {self.path} were corrupt and are now in "
                             f"{moved.name}; run again to start afresh (files are then read "
                             f"per --from-start/--from-end)") from None
        if not isinstance(raw, dict) or raw.get("format") != FORMAT or \
                not isinstance(raw.get("files"), dict):
            raise StateError(f"follow checkpoints {self.path}: not a {FORMAT} file")
        self.records = raw["files"]

    def known(self, path: str, identity: Identity, fh: BinaryIO) -> Position | None:
        """The saved position of the open file ``fh``, if a record matches it."""
        for record in self.records.values():
            if (record.get("dev"), record.get("ino")) != (identity.dev, identity.ino):
                continue
            length = int(record.get("fp_len", -1))
            if length < 0:
                continue
            fh.seek(0)
            if hashlib.sha256(fh.read(length)).hexdigest() != record.get("fingerprint"):
                continue
            return Position(int(record["offset"]), int(record["lines"]))
        return None

    def leftovers(self) -> list[tuple[str, int, int]]:
        """(path, device, inode) of every file with a checkpoint."""
        out = []
        for record in self.records.values():
            try:
                out.append((str(record["path"]), int(record["dev"]), int(record["ino"])))
            except (KeyError, TypeError, ValueError):
                continue
        return out

    def update(self, path: str, identity: Identity, position: Position) -> None:
        stale = [k for k, r in self.records.items()
                 if (r.get("dev"), r.get("ino")) == (identity.dev, identity.ino)
                 and k != identity.key]
        for key in stale:  # the same inode under an older fingerprint: superseded
            del self.records[key]
        self.records[identity.key] = {
            "path": os.path.abspath(path), "dev": identity.dev, "ino": identity.ino,
            "fingerprint": identity.fingerprint, "fp_len": identity.fp_len,
            "offset": position.offset, "lines": position.lines, "updated": time.time(),
        }

    def save(self) -> None:
        """Write atomically: a crash leaves the old file or the new one, never a mix."""
        cutoff = time.time() - KEEP_SECONDS
        self.records = {k: r for k, r in self.records.items() if r.get("updated", 0) >= cutoff}
        data = json.dumps({"format": FORMAT, "files": self.records}, indent=1).encode()
        folder = self.path.parent
        tmp = folder / f".checkpoints.{os.getpid()}.tmp"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with open(tmp, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
            fd = os.open(folder, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
            raise StateError(f"follow checkpoints {self.path}: cannot write "
                             f"({exc.strerror or exc}); check --state-dir") from None
