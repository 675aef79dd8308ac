"""``logsentry models``: list, show and choose model bundles."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from logsentry.cli.common import OutputOpt, check_output, settings_env
from logsentry.config import load_settings
from logsentry.report.writer import JsonWriter, TextWriter

app = typer.Typer(help="List, show and choose model bundles.", no_args_is_help=True)


@app.command("list")
def list_models(output: OutputOpt = "text") -> None:
    """Bundles you trained and the shipped ones; the active one is marked."""
    from logsentry.ml import registry

    env = settings_env()
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

    env = settings_env()
    check_output(output)
    bundle = registry.load(name, env.dirs.data)
    out = JsonWriter(env.stdout, "json" if output == "text" else output)
    out.write({"path": str(bundle.path), "info": bundle.info, "files": bundle.files})
    out.close()


@app.command("use")
def use(name: Annotated[str, typer.Argument(help="Bundle name.")]) -> None:
    """Make NAME the model `scan` uses by default (checked before it is activated)."""
    from logsentry.ml import registry

    env = settings_env()
    registry.set_active(env.dirs.data, name)
    env.notice(f"active model: {name}")


@app.command("llm")
def llm(
    llm_model: Annotated[str | None, typer.Option(
        "--llm-model", help="Show this GGUF file or packaged model instead.",
        show_default=False)] = None,
    output: OutputOpt = "text",
) -> None:
    """The LLM the scan escalates to: name, size, sha256 and where it came from."""
    from logsentry.llm import models

    env = settings_env()
    mode = check_output(output)
    settings = load_settings({"llm_model": llm_model} if llm_model else {})
    rows: list[dict[str, Any]] = []
    if settings.llm_endpoint:
        rows.append({"name": f"endpoint {settings.llm_endpoint}", "in_use": True,
                     "origin": "endpoint", "model": settings.llm_endpoint_model or None})
    chosen = models.resolve(settings.llm_model, env.dirs.cache)
    for name in models.PACKAGED:
        if name == chosen.name and chosen.origin != "file":
            continue
        p = models.PACKAGED[name]
        rows.append({"name": name, "in_use": False, "installed": name in models.installed(),
                     "description": p.description, "size": p.size, "sha256": p.sha256,
                     "license": p.license, "origin": "package " + " ".join(
                         m.replace("_", "-") for m in p.packages)})
    rows.insert(0 if not settings.llm_endpoint else 1, {
        "name": chosen.name, "in_use": not settings.llm_endpoint, "installed": True,
        "description": models.PACKAGED[chosen.name].description
        if chosen.name in models.PACKAGED and chosen.origin != "file" else "GGUF file",
        "size": chosen.size, "sha256": chosen.sha256, "origin": chosen.origin,
        "path": str(chosen.path), "setting": settings.origin.get("llm_model")})
    if mode != "text":
        out = JsonWriter(env.stdout, mode)
        for row in rows:
            out.write(row)
        out.close()
        return
    text = TextWriter(env)
    for row in rows:
        mark = "*" if row.get("in_use") else " "
        size = f"{row['size'] / 1e6:,.0f} MB" if row.get("size") else ""
        state = "" if row.get("installed", True) else "  (not installed)"
        text.line((f"{mark} {row['name']:<22}", "bold" if row.get("in_use") else None),
                  (f" {size:>8}  {row.get('description', '')}  [{row['origin']}]{state}", None))
        if row.get("in_use"):
            if row.get("path"):
                text.line((f"    path    {row['path']}", "dim"))
            if row.get("sha256"):
                how = "computed" if row["origin"] == "file" else "verified"
                text.line((f"    sha256  {row['sha256']} ({how})", "dim"))
    text.close()
