"""``logsentry config``: where the config file is, and the effective settings."""

from __future__ import annotations

import typer

from logsentry.cli.common import OutputOpt, check_output, make_env
from logsentry.config import config_path, dirs, load_settings
from logsentry.report.writer import JsonWriter, TextWriter

app = typer.Typer(help="Show the config file location and the effective settings.",
                  no_args_is_help=True)


@app.command("path")
def path() -> None:
    """Print the config file path (it may not exist yet)."""
    typer.echo(str(config_path()))


@app.command("show")
def show(output: OutputOpt = "text") -> None:
    """Effective settings and where each comes from (default, file, env)."""
    mode = check_output(output)
    settings = load_settings()
    env = make_env(None, False, settings)
    d = dirs()
    values = {name: getattr(settings, name) for name in settings.origin}
    if mode != "text":
        out = JsonWriter(env.stdout, mode)
        out.write({
            "config_file": str(config_path()),
            "dirs": {"config": str(d.config), "data": str(d.data), "cache": str(d.cache),
                     "state": str(d.state)},
            "settings": values,
            "origin": settings.origin,
            "masks": [{"name": m.name, "regex": m.regex} for m in settings.masks],
            "formats": sorted(settings.formats),
        })
        out.close()
        return
    text = TextWriter(env)
    text.line((f"# config file: {config_path()}", "dim"))
    for label, where in (("config", d.config), ("data", d.data), ("cache", d.cache),
                         ("state", d.state)):
        text.line((f"# {label} dir: {where}", "dim"))
    for name, value in values.items():
        shown = repr(value) if isinstance(value, str) else str(value).lower() \
            if isinstance(value, bool) else str(value)
        text.line((name, "cyan"), (" = ", None), (shown.replace("'", '"'), None),
                  (f"    # {settings.origin[name]}", "dim"))
    for mask in settings.masks:
        text.line(("mask ", "cyan"), (f"{mask.name} = {mask.regex}", None))
    for name in sorted(settings.formats):
        text.line(("format ", "cyan"), (name, None), ("    # file", "dim"))
    text.close()
