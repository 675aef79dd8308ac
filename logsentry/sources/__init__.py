"""Sources: files, globs, stdin and gzip, read as numbered lines with byte offsets."""

from logsentry.sources.reader import (
    DEFAULT_MAX_LINE_BYTES,
    Source,
    SourceProblem,
    iter_lines,
    read_all,
    read_batches,
    resolve_inputs,
)

__all__ = [
    "DEFAULT_MAX_LINE_BYTES",
    "Source",
    "SourceProblem",
    "iter_lines",
    "read_all",
    "read_batches",
    "resolve_inputs",
]
