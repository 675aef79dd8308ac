"""Exit codes: one enum for the whole program (like grep: 1 means "found")."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    ANOMALIES = 1
    USAGE = 2  # usage or input error
    MODEL = 3  # model or LLM backend error
    INTERNAL = 70  # a bug in logsentry (sysexits EX_SOFTWARE)
    INTERRUPTED = 130
