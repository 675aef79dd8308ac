"""``logsentry completions``: the committed scripts stay current, and completion works."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.cli.conftest import EXE, CallMain, Invoke, RunExe
from tests.datasets import REPO

SCRIPTS = {"bash": "logsentry.bash", "zsh": "_logsentry", "fish": "logsentry.fish"}


@pytest.mark.parametrize("shell", sorted(SCRIPTS))
def test_committed_script_equals_generated_output(invoke: Invoke, shell: str) -> None:
    result = invoke(["completions", shell])
    assert result.exit_code == 0, result.output
    committed = (REPO / "completions" / SCRIPTS[shell]).read_text(encoding="utf-8")
    assert result.stdout == committed, (
        f"completions/{SCRIPTS[shell]} is stale: regenerate it with "
        f"`logsentry completions {shell} > completions/{SCRIPTS[shell]}`"
    )


def test_scripts_call_back_with_the_logsentry_complete_variable(invoke: Invoke) -> None:
    for shell in SCRIPTS:
        assert "_LOGSENTRY_COMPLETE=complete_" in invoke(["completions", shell]).stdout
    assert invoke(["completions", "zsh"]).stdout.startswith("#compdef logsentry\n")


def test_unknown_shell_is_a_usage_error(call_main: CallMain) -> None:
    outcome = call_main(["completions", "tcsh"])
    assert outcome.code == 2
    assert outcome.out == ""
    assert "tcsh" in outcome.err


def _complete_bash(invoke: Invoke, words: str) -> list[str]:
    cword = len(words.split(" ")) - 1
    result = invoke([], env={"_LOGSENTRY_COMPLETE": "complete_bash", "COMP_WORDS": words,
                             "COMP_CWORD": str(cword)})
    assert result.exit_code == 0, result.output
    return result.stdout.split()


def test_bash_protocol_completes_commands_options_and_shells(invoke: Invoke) -> None:
    assert _complete_bash(invoke, "logsentry te") == ["templates"]
    assert _complete_bash(invoke, "logsentry completions ") == ["bash", "zsh", "fish"]
    assert _complete_bash(invoke, "logsentry sequences --wi") == ["--window"]
    assert _complete_bash(invoke, "logsentry config ") == ["path", "show"]


def test_zsh_and_fish_protocols_offer_templates(invoke: Invoke) -> None:
    zsh = invoke([], env={"_LOGSENTRY_COMPLETE": "complete_zsh",
                          "_TYPER_COMPLETE_ARGS": "logsentry te"})
    assert '"templates"' in zsh.stdout
    fish = invoke([], env={"_LOGSENTRY_COMPLETE": "complete_fish",
                           "_TYPER_COMPLETE_ARGS": "logsentry te",
                           "_TYPER_COMPLETE_FISH_ACTION": "get-args"})
    assert fish.stdout.split("\t")[0] == "templates"


def test_installed_executable_offers_templates(run_exe: RunExe) -> None:
    done = run_exe([], env={"_LOGSENTRY_COMPLETE": "complete_bash",
                            "COMP_WORDS": "logsentry te", "COMP_CWORD": "1"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode().split() == ["templates"]


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash not installed")
def test_committed_bash_script_completes_in_real_bash(run_exe: RunExe) -> None:
    script = REPO / "completions" / "logsentry.bash"
    probe = (
        f'source "{script}"\n'
        'COMP_WORDS=(logsentry te); COMP_CWORD=1; _logsentry_completion logsentry\n'
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
        'COMP_WORDS=(logsentry parse --ou); COMP_CWORD=2; _logsentry_completion logsentry\n'
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    env = {**os.environ, "PATH": f"{EXE.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run(["bash", "--norc", "--noprofile", "-c", probe], capture_output=True,
                          env=env, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    offered = done.stdout.decode().splitlines()
    assert offered[0] == "templates"
    assert offered[1:] == ["--output"]


def test_completion_scripts_exist_for_packagers() -> None:
    assert sorted(p.name for p in Path(REPO / "completions").iterdir()) == sorted(SCRIPTS.values())
