"""The environment a command runs in: streams, TTY flags, colors, directories.

Injectable (as in httpie's ``Environment``) so tests can fake a terminal or
a pipe in-process instead of patching globals.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TextIO

from logsentry.config import Dirs, dirs
from logsentry.report.escape import escape_text

if TYPE_CHECKING:
    from rich.console import Console


@dataclass
class Environment:
    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    stdout_isatty: bool | None = None
    stderr_isatty: bool | None = None
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    color: str = "auto"  # auto | always | never
    quiet: bool = False

    def __post_init__(self) -> None:
        if self.stdout_isatty is None:
            self.stdout_isatty = _isatty(self.stdout)
        if self.stderr_isatty is None:
            self.stderr_isatty = _isatty(self.stderr)

    @property
    def dirs(self) -> Dirs:
        return dirs(self.environ)

    def colors_for(self, isatty: bool | None) -> bool:
        if self.color == "always":
            return True
        if self.color == "never":
            return False
        # https://no-color.org: a non-empty NO_COLOR disables color unless asked for.
        return (bool(isatty) and not self.environ.get("NO_COLOR")
                and self.environ.get("TERM") != "dumb")

    @property
    def stdout_color(self) -> bool:
        return self.colors_for(self.stdout_isatty)

    def console(self, *, stderr: bool = False) -> Console:
        """A rich console that never interprets markup, emoji codes or highlights."""
        from rich.console import Console

        isatty = self.stderr_isatty if stderr else self.stdout_isatty
        color = self.colors_for(isatty)
        console = Console(
            file=self.stderr if stderr else self.stdout,
            force_terminal=color,
            no_color=not color,
            color_system="auto" if color else None,
            markup=False,
            emoji=False,
            highlight=False,
            soft_wrap=not isatty,
            width=None if isatty else 4096,
        )
        # Rich's default on_broken_pipe dup2()s /dev/null over fd 1 and raises
        # SystemExit(1), the code for "anomalies found"; ours stops quietly.
        console.on_broken_pipe = _output_closed  # type: ignore[method-assign]
        return console

    def notice(self, message: str) -> None:
        """A one-line message on stderr (suppressed by -q)."""
        if not self.quiet:
            self.stderr.write(f"logsentry: {escape_text(message)}\n")
            self.stderr.flush()

    def error(self, message: str) -> None:
        """One line; file names and other text from outside are escaped."""
        self.stderr.write(f"logsentry: error: {escape_text(message)}\n")
        self.stderr.flush()


def _output_closed() -> None:
    from logsentry.errors import OutputClosed

    raise OutputClosed


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError, OSError):
        return False
