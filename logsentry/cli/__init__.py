"""The command-line interface: a thin typer shell over the library.

``main()`` turns library exceptions into one line on stderr and an exit code
from ``logsentry.status.ExitCode``; ``--debug`` shows the traceback instead.
Heavy modules are imported inside the commands that need them.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer

from logsentry import __version__
from logsentry.cli import completions_cmd, config_cmd, models_cmd
from logsentry.cli.adapt_cmd import adapt
from logsentry.cli.eval_cmd import evaluate
from logsentry.cli.explain_cmd import explain
from logsentry.cli.feedback_cmd import feedback
from logsentry.cli.formats_cmd import formats
from logsentry.cli.parse_cmd import parse
from logsentry.cli.sample_cmd import sample
from logsentry.cli.scan_cmd import scan
from logsentry.cli.sequences_cmd import sequences
from logsentry.cli.status_cmd import status
from logsentry.cli.tail_cmd import tail
from logsentry.cli.templates_cmd import templates
from logsentry.cli.train_cmd import train
from logsentry.errors import LogsentryError, OutputClosed
from logsentry.status import ExitCode

app = typer.Typer(
    name="logsentry",
    help="Find anomalies in logs and explain them.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"logsentry {__version__}")
        raise typer.Exit(0)


@contextmanager
def _closed_pipe_is_quiet() -> Iterator[None]:
    # Click turns a BrokenPipeError that leaves a command into exit status 1,
    # which here means "anomalies found"; main() exits 0 quietly instead.
    try:
        yield
    except BrokenPipeError:
        raise OutputClosed from None


@app.callback()
def _root(
    ctx: typer.Context,
    version: Annotated[
        bool, typer.Option("--version", "-V", callback=_version, is_eager=True,
                           help="Show the version and exit.")
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
) -> None:
    """Find anomalies in logs and explain them.

    Exit status: 0 ok, 1 anomalies found, 2 usage or input error, 3 model or
    LLM backend error, 130 interrupted.
    """
    ctx.with_resource(_closed_pipe_is_quiet())


app.command("scan")(scan)
app.command("parse")(parse)
app.command("templates")(templates)
app.command("sequences")(sequences)
app.command("formats")(formats)
app.command("sample")(sample)
app.command("train")(train)
app.command("eval")(evaluate)
app.command("explain")(explain)
app.command("tail")(tail)
app.command("status")(status)
app.command("feedback")(feedback)
app.command("adapt")(adapt)
app.command("completions")(completions_cmd.completions)
app.add_typer(config_cmd.app, name="config")
app.add_typer(models_cmd.app, name="models")


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the flush at exit cannot fail on the closed pipe."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # not a real file (an embedding caller's)
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``logsentry`` console script."""
    try:  # typer >= 0.20 vendors click
        from typer._click import exceptions as click_exceptions
    except ImportError:  # pragma: no cover - older typer
        from click import exceptions as click_exceptions  # type: ignore[no-redef]

    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args or bool(os.environ.get("LOGSENTRY_DEBUG"))
    try:
        code = app(args=args, prog_name="logsentry", standalone_mode=False)
    except click_exceptions.UsageError as exc:
        exc.show()
        code = ExitCode.USAGE
    except typer.Abort:
        code = ExitCode.INTERRUPTED
    except KeyboardInterrupt:
        sys.stderr.write("logsentry: interrupted\n")
        code = ExitCode.INTERRUPTED
    except (BrokenPipeError, OutputClosed):
        # The reader went away (`| head`): stop quietly, like grep.
        _silence_stdout()
        code = ExitCode.OK
    except LogsentryError as exc:
        if debug:
            raise
        from logsentry.report.escape import escape_text

        sys.stderr.write(f"logsentry: error: {escape_text(str(exc))}\n")
        code = exc.exit_code
    except click_exceptions.ClickException as exc:
        exc.show()
        code = exc.exit_code
    except Exception as exc:
        if debug:
            raise
        sys.stderr.write(f"logsentry: internal error: {type(exc).__name__}: {exc} "
                         "(run with --debug for the traceback, and please report it)\n")
        code = ExitCode.INTERNAL
    sys.exit(int(code or 0))
