"""``logsentry status``: the files ``tail`` follows, how far each is judged, and the lag."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from logsentry.cli.common import OutputOpt, check_output, settings_env
from logsentry.report.escape import escape_text
from logsentry.report.writer import JsonWriter, TextWriter


def status(
    state_dir: Annotated[Path | None, typer.Option(
        "--state-dir", help="Where tail keeps its checkpoints (default: the state directory).",
        show_default=False)] = None,
    output: OutputOpt = "text",
) -> None:
    """Followed files: checkpoint (line, byte offset), current size, lag, last update."""
    from logsentry.sources.checkpoints import CheckpointStore

    env = settings_env()
    mode = check_output(output)
    store = CheckpointStore(state_dir.expanduser() if state_dir else env.dirs.state)
    now = time.time()
    rows: list[dict[str, Any]] = []
    for record in sorted(store.records.values(), key=lambda r: (str(r.get("path")),
                                                                 -float(r.get("updated", 0)))):
        path = str(record.get("path"))
        try:
            st = os.stat(path)
            current = (st.st_dev, st.st_ino) == (record.get("dev"), record.get("ino"))
            size: int | None = st.st_size if current else None
        except OSError:
            current, size = False, None
        offset = int(record.get("offset", 0))
        rows.append({
            "path": path, "lines": int(record.get("lines", 0)), "offset": offset,
            "size": size, "lag_bytes": None if size is None else max(size - offset, 0),
            "state": "current" if current else "rotated or gone",
            "fingerprint": str(record.get("fingerprint", ""))[:12],
            "updated": round(float(record.get("updated", 0)), 3),
            "seconds_since_update": round(now - float(record.get("updated", now)), 1),
        })
    if mode != "text":
        out = JsonWriter(env.stdout, mode)
        for row in rows:
            out.write(row)
        out.close()
        return
    text = TextWriter(env)
    if not rows:
        text.line((f"no followed files yet (checkpoints: {store.path})", "dim"))
    for row in rows:
        lag = "-" if row["lag_bytes"] is None else f"{row['lag_bytes']:,} B behind"
        style = "yellow" if row["lag_bytes"] else None
        text.line((f"{escape_text(row['path'])}", "bold"),
                  (f"  line {row['lines']:,} (byte {row['offset']:,})", None),
                  (f"  {lag}", style),
                  (f"  {row['state']}, updated {row['seconds_since_update']:,.0f}s ago", "dim"))
    text.close()
