"""``logsentry feedback SEQUENCE_ID --normal|--anomalous``: an operator's label for adapt."""

from __future__ import annotations

from typing import Annotated

import typer

from logsentry.cli.common import NOT_STORED, settings_env, stored_verdicts
from logsentry.errors import ConfigError, InputError


def feedback(
    sequence_id: Annotated[str, typer.Argument(
        help="A stored sequence id from scan or tail output (a unique prefix of 4 or more "
        "characters is enough).")],
    normal: Annotated[bool, typer.Option("--normal", help="The sequence is normal.")] = False,
    anomalous: Annotated[bool, typer.Option(
        "--anomalous", help="The sequence is anomalous.")] = False,
    note: Annotated[str, typer.Option(help="Why (kept with the label).")] = "",
) -> None:
    """Label a stored sequence. The label overrides the LLM's, is never filtered out by
    `logsentry adapt`, and is used the next time you adapt."""
    if normal == anomalous:
        raise ConfigError("give exactly one of --normal or --anomalous")
    env = settings_env()
    store = stored_verdicts(env)
    try:
        row = store.escalation(sequence_id.strip())
        if row is None:
            raise InputError(f"sequence {sequence_id!r} {NOT_STORED}")
        store.put_feedback(row["sequence_id"], anomalous, note)
    finally:
        store.close()
    was = row["verdict"]
    now = "anomalous" if anomalous else "normal"
    change = "confirms" if was == now else f"corrects ({was} -> {now})"
    env.notice(f"feedback stored for {row['sequence_id']}: {now}; it {change} the stored "
               "verdict and is used by the next `logsentry adapt`")
