"""The few exception types the core raises; the CLI maps each to an exit code."""

from __future__ import annotations

from logsentry.status import ExitCode


class LogsentryError(Exception):
    """Base class: a message an operator can act on, and the exit code it implies."""

    exit_code: ExitCode = ExitCode.USAGE


class InputError(LogsentryError):
    """A source cannot be read (missing, unreadable, binary, bad option value)."""


class ConfigError(LogsentryError):
    """The config file or an option is invalid."""


class StateError(LogsentryError):
    """Persistent state (parser state, checkpoints) cannot be read or written."""


class ModelError(LogsentryError):
    """A model bundle or backend is missing, corrupt or failing."""

    exit_code = ExitCode.MODEL


class OutputClosed(Exception):
    """stdout was closed by its reader (``| head``); stop quietly, like grep."""
