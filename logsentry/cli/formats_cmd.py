"""``logsentry formats``: the log formats logsentry knows (built-in and from config)."""

from __future__ import annotations

import typer

from logsentry.cli.common import OutputOpt, check_output, make_env
from logsentry.config import load_settings
from logsentry.formats.registry import available_formats
from logsentry.report.writer import JsonWriter


def formats(output: OutputOpt = "text") -> None:
    """List log formats: name, aliases, session key and an example line."""
    mode = check_output(output)
    settings = load_settings()
    env = make_env(None, False, settings)
    found = available_formats(settings.formats)
    if mode != "text":
        out = JsonWriter(env.stdout, mode)
        for f in found:
            out.write({"name": f.name, "aliases": list(f.aliases), "description": f.description,
                       "kind": f.kind, "regex": f.pattern if f.kind == "regex" else None,
                       "session_key": f.session_key or None, "example": f.example or None})
        out.close()
        return
    if not env.stdout_isatty:
        for f in found:
            aliases = f" ({', '.join(f.aliases)})" if f.aliases else ""
            env.stdout.write(f"{f.name}{aliases}\t{f.session_key or '-'}\t{f.description}\n")
        raise typer.Exit(0)
    from rich import box
    from rich.table import Table
    from rich.text import Text

    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("FORMAT", style="cyan", no_wrap=True)
    table.add_column("SESSION KEY", no_wrap=True)
    table.add_column("DESCRIPTION")
    for f in found:
        name = f.name + (f" ({', '.join(f.aliases)})" if f.aliases else "")
        table.add_row(Text(name), Text(f.session_key or "-"), Text(f.description))
    env.console().print(table)
    raise typer.Exit(0)
