"""``logsentry completions``: print the shell completion script (bash, zsh or fish).

The script is typer's own (the one ``--install-completion`` would write): it
calls ``logsentry`` back with ``_LOGSENTRY_COMPLETE`` set, so completions
always match the installed version. Copies are kept in ``completions/`` for
packagers; a test keeps them equal to this command's output.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

PROG_NAME = "logsentry"
COMPLETE_VAR = "_LOGSENTRY_COMPLETE"


class Shell(StrEnum):
    bash = "bash"
    zsh = "zsh"
    fish = "fish"


def completion_script(shell: Shell | str) -> str:
    """The completion script for ``shell``, ending in a newline."""
    # typer imports shellingham for this; keep it off the start-up path.
    from typer._completion_shared import get_completion_script

    name = Shell(shell).value
    return get_completion_script(prog_name=PROG_NAME, complete_var=COMPLETE_VAR, shell=name) + "\n"


def completions(
    shell: Annotated[Shell, typer.Argument(help="bash, zsh or fish.", show_default=False)],
) -> None:
    """Print the completion script for a shell.

    bash: eval "$(logsentry completions bash)" in ~/.bashrc;
    zsh: logsentry completions zsh > "${fpath[1]}/_logsentry";
    fish: logsentry completions fish > ~/.config/fish/completions/logsentry.fish
    """
    typer.echo(completion_script(shell), nl=False)
