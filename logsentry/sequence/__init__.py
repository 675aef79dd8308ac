"""Sequencing: group records into the sequences that are judged together."""

from logsentry.sequence.windows import (
    AUTO_FIXED_SIZE,
    Limits,
    SessionKey,
    WindowSpec,
    make_sequencer,
    sequence_id,
    sequences,
)

__all__ = ["AUTO_FIXED_SIZE", "Limits", "SessionKey", "WindowSpec", "make_sequencer",
           "sequence_id", "sequences"]
