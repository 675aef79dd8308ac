"""``logsentry models``: list, show and choose model bundles."""

from __future__ import annotations

from typing import Annotated

import typer

from logsentry.cli.common import OutputOpt, check_output
from logsentry.config import load_settings
from logsentry.context import Environment
from logsentry.report.writer import JsonWriter, TextWriter

app = typer.Typer(help="List, show and choose model bundles.", no_args_is_help=True)


def _env() -> Environment:
    settings = load_settings()
    return Environment(color=settings.color if settings.color in {"auto", "always", "never"}
                       else "auto")


@app.command("list")
def list_models(output: OutputOpt = "text") -> None:
    """Bundles you trained and the shipped ones; the active one is marked."""
    from logsentry.ml import registry

    env = _env()
    mode = check_output(output)
    active = registry.active_name(env.dirs.data, load_settings().model)
    rows = []
    for located in registry.available(env.dirs.data):
        try:
            info = registry.open_bundle(located.path).info
            state = "ok"
        except Exception as exc:  # a broken bundle is listed, not fatal
            info, state = {}, f"broken: {exc}"
        metrics = info.get("metrics", {}).get("test", {})
        rows.append({"name": located.name, "active": located.name == active,
                     "shipped": located.shipped, "kind": info.get("kind"),
                     "created": info.get("created"), "log_format": info.get("log_format"),
                     "f1": metrics.get("f1"), "status": state, "path": str(located.path)})
    if mode != "text":
        out = JsonWriter(env.stdout, mode)
        for row in rows:
            out.write(row)
        out.close()
        return
    text = TextWriter(env)
    for row in rows:
        mark = "*" if row["active"] else " "
        f1 = f"F1 {row['f1']:.3f}" if isinstance(row["f1"], float) else "F1 -"
        where = "shipped" if row["shipped"] else "yours"
        text.line((f"{mark} {row['name']:<20}", "bold" if row["active"] else None),
                  (f" {row['kind'] or '?':<11} {row['log_format'] or '?':<10} {f1:<9} "
                   f"{row['created'] or '?':<21} {where}", None),
                  ("" if row["status"] == "ok" else f"  {row['status']}", "red"))
    if not rows:
        text.line(("no model bundles yet; train one with `logsentry train`", "dim"))
    text.close()


@app.command("show")
def show(name: Annotated[str, typer.Argument(help="Bundle name or path.")],
         output: OutputOpt = "json") -> None:
    """Everything a bundle records: data, split, thresholds, metrics, versions, files."""
    from logsentry.ml import registry

    env = _env()
    check_output(output)
    bundle = registry.load(name, env.dirs.data)
    out = JsonWriter(env.stdout, "json" if output == "text" else output)
    out.write({"path": str(bundle.path), "info": bundle.info, "files": bundle.files})
    out.close()


@app.command("use")
def use(name: Annotated[str, typer.Argument(help="Bundle name.")]) -> None:
    """Make NAME the model `scan` uses by default (checked before it is activated)."""
    from logsentry.ml import registry

    env = _env()
    registry.set_active(env.dirs.data, name)
    env.notice(f"active model: {name}")
