"""Sequencing: group records into the sequences that are judged together."""

from logsentry.sequence.windows import (
    Limits,
    SessionKey,
    WindowSpec,
    make_sequencer,
    sequence_id,
    sequences,
)

__all__ = ["Limits", "SessionKey", "WindowSpec", "make_sequencer", "sequence_id", "sequences"]
