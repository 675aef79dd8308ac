"""Parser state on disk: versioned JSON of our own, never jsonpickle.

Drain3's own snapshots are jsonpickle, and loading one runs code chosen by
whoever wrote the file. We write the clusters and the prefix tree as plain
JSON and rebuild Drain3's objects from it. Writes are atomic (temp file,
fsync, rename). A file that cannot be read is moved aside, never deleted.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any


from logsentry.errors import ConfigError, StateError

if TYPE_CHECKING:
    from drain3.drain import Drain, Node

FORMAT = "logsentry-parser-state"
VERSION = 1
_PROFILE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def state_path(state_dir: Path, profile: str) -> Path:
    if not _PROFILE.fullmatch(profile):
        raise ConfigError(
            f"profile {profile!r}: use 1-64 letters, digits, '.', '_' or '-' (e.g. --profile web1)"
        )
    return state_dir / "parsers" / f"{profile}.json"


def _node_to_json(node: Node) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if node.cluster_ids:
        out["c"] = list(node.cluster_ids)
    if node.key_to_child_node:
        out["k"] = {key: _node_to_json(child) for key, child in node.key_to_child_node.items()}
    return out


def _node_from_json(data: dict[str, Any]) -> Node:
    from drain3.drain import Node

    node = Node()
    node.cluster_ids = [int(i) for i in data.get("c", [])]
    node.key_to_child_node = {str(k): _node_from_json(v) for k, v in data.get("k", {}).items()}
    return node


def dump_drain(drain: Drain, settings: dict[str, Any]) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "version": VERSION,
        "saved": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "settings": settings,
        "clusters_counter": drain.clusters_counter,
        "clusters": [[c.cluster_id, c.size, list(c.log_template_tokens)] for c in drain.clusters],
        "tree": _node_to_json(drain.root_node),
    }


def restore_drain(drain: Drain, data: dict[str, Any]) -> None:
    """Fill an empty Drain from ``dump_drain`` output; raises ValueError if malformed."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError("not a logsentry parser state file")
    version = data.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise StateError(
            f"parser state version {version!r} is newer than this logsentry understands; "
            "upgrade logsentry or use another --profile"
        )
    from drain3.drain import LogCluster

    clusters: dict[int, LogCluster] = {}
    for cluster_id, size, tokens in data["clusters"]:
        cluster = LogCluster([str(t) for t in tokens], int(cluster_id))
        cluster.size = int(size)
        clusters[cluster.cluster_id] = cluster
    root = _node_from_json(data["tree"])
    counter = int(data["clusters_counter"])
    if clusters and counter < max(clusters):
        raise ValueError("cluster counter below the highest cluster id")
    drain.id_to_cluster.update(clusters)
    drain.clusters_counter = counter
    drain.root_node = root


def load_state(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    """Return (state, warning). A corrupt file is moved aside and reported."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, None
    except (OSError, UnicodeDecodeError) as exc:
        return None, _move_aside(path, f"cannot be read ({exc})")
    try:
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError("not a logsentry parser state file")
        return data, None
    except ValueError as exc:
        return None, _move_aside(path, f"is corrupt ({exc})")


def _move_aside(path: Path, why: str) -> str:
    stamp = time.strftime("%Y%m%dT%H%M%S")
    aside = path.with_name(f"{path.name}.corrupt-{stamp}")
    try:
        os.replace(path, aside)
    except OSError as exc:
        raise StateError(f"parser state {path} {why} and cannot be moved aside: {exc.strerror}") from None
    return f"parser state {path} {why}; moved it to {aside.name} and started a fresh one"


def save_state(path: Path, data: dict[str, Any]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh, separators=(",", ":"))
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise StateError(f"cannot save parser state to {path}: {exc.strerror}") from None
