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
    from drain3.drain import Drain, LogCluster, Node

FORMAT = "logsentry-parser-state"
VERSION = 1
_MAX_TREE_DEPTH = 400  # a Drain tree is about `depth` levels deep; far deeper is not ours
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


def _node_from_json(data: Any, seen: list[int], depth: int = 0) -> Node:
    """Rebuild one prefix-tree node; the cluster ids it names are appended to ``seen``."""
    if not isinstance(data, dict):
        raise ValueError("tree: a node is not an object")
    if depth > _MAX_TREE_DEPTH:
        raise ValueError("tree: nested too deep")
    ids = data.get("c", [])
    children = data.get("k", {})
    if not isinstance(ids, list) or not all(_is_int(i) for i in ids):
        raise ValueError("tree: cluster ids are not a list of integers")
    if not isinstance(children, dict):
        raise ValueError("tree: children are not an object")
    from drain3.drain import Node

    node = Node()
    node.cluster_ids = list(ids)
    seen.extend(ids)
    node.key_to_child_node = {
        str(k): _node_from_json(v, seen, depth + 1) for k, v in children.items()
    }
    return node


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _clusters_from_json(rows: Any) -> dict[int, LogCluster]:
    if not isinstance(rows, list):
        raise ValueError("clusters: not a list")
    from drain3.drain import LogCluster

    clusters: dict[int, LogCluster] = {}
    for row in rows:
        if not (isinstance(row, list) and len(row) == 3):
            raise ValueError("clusters: a cluster is not [id, size, tokens]")
        cluster_id, size, tokens = row
        if not (_is_int(cluster_id) and cluster_id >= 1 and _is_int(size) and size >= 0):
            raise ValueError("clusters: a cluster id or size is not a valid integer")
        if not (isinstance(tokens, list) and all(isinstance(t, str) for t in tokens)):
            raise ValueError("clusters: template tokens are not a list of strings")
        if cluster_id in clusters:
            raise ValueError(f"clusters: id {cluster_id} occurs twice")
        cluster = LogCluster(tokens, cluster_id)
        cluster.size = size
        clusters[cluster_id] = cluster
    return clusters


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
    """Fill an empty Drain from ``dump_drain`` output.

    Raises StateError for a newer version, ValueError for anything malformed: every
    shape is checked here, because Drain would otherwise fail later, mid-run (a tree
    that names a cluster that does not exist crashes its tree search).
    """
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError("not a logsentry parser state file")
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ValueError(f"bad version {version!r}")
    if version > VERSION:
        raise StateError(
            f"parser state version {version!r} is newer than this logsentry understands; "
            "upgrade logsentry or use another --profile"
        )
    for key in ("clusters", "tree", "clusters_counter"):
        if key not in data:
            raise ValueError(f"{key!r} is missing")
    clusters = _clusters_from_json(data["clusters"])
    in_tree: list[int] = []
    root = _node_from_json(data["tree"], in_tree)
    if len(in_tree) != len(clusters) or set(in_tree) != set(clusters):
        raise ValueError("the prefix tree and the clusters do not match")
    empty = root.key_to_child_node.get("0")  # Drain reads cluster_ids[0] of this node
    if empty is not None and not empty.cluster_ids:
        raise ValueError("tree: the node for empty messages has no cluster")
    counter = data["clusters_counter"]
    if not _is_int(counter) or (clusters and counter < max(clusters)):
        raise ValueError("cluster counter missing or below the highest cluster id")
    drain.id_to_cluster.update(clusters)
    drain.clusters_counter = counter
    drain.root_node = root


def load_state(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    """Return (state, warning). A corrupt file is moved aside and reported."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, None
    except UnicodeDecodeError as exc:
        return None, _move_aside(path, f"cannot be read ({exc})")
    except IsADirectoryError:
        raise StateError(f"parser state {path} is a directory; move it away") from None
    except OSError as exc:
        # Not corrupt, just unreadable (permissions): the operator must decide.
        raise StateError(f"cannot read parser state {path}: {exc.strerror}; fix its "
                         "permissions or use another --profile") from None
    try:
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError("not a logsentry parser state file")
        return data, None
    except RecursionError:  # json.loads on absurdly nested input
        return None, _move_aside(path, "is corrupt (nested too deep)")
    except ValueError as exc:
        return None, _move_aside(path, f"is corrupt ({exc})")


def _move_aside(path: Path, why: str) -> str:
    stamp = time.strftime("%Y%m%dT%H%M%S")
    aside = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while aside.exists():  # never replace an earlier bad file moved aside in the same second
        aside = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
        n += 1
    try:
        os.replace(path, aside)
    except OSError as exc:
        raise StateError(
            f"parser state {path} {why} and cannot be moved aside: {exc.strerror or exc}"
        ) from None
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
        raise StateError(f"cannot save parser state to {path}: {exc.strerror or exc}") from None
