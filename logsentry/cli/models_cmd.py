"""``logsentry models``: list, show, choose and roll back model bundles."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from logsentry.cli.common import OutputOpt, check_output, settings_env
from logsentry.config import load_settings
from logsentry.context import Environment
from logsentry.errors import LogsentryError, ModelError
from logsentry.report.escape import escape_text
from logsentry.report.writer import JsonWriter, TextWriter

if TYPE_CHECKING:
    from logsentry.ml.registry import Located

app = typer.Typer(help="List, show, choose and roll back model bundles and their versions.",
                  no_args_is_help=True)


@app.command("list")
def list_models(output: OutputOpt = "text") -> None:
    """Every version of every bundle, yours and shipped; the active one is marked *."""
    from logsentry.ml import registry

    env = settings_env()
    mode = check_output(output)
    active = _active_path(env.dirs.data, load_settings().model)
    rows = [_row(located, active) for located in registry.available(env.dirs.data)]
    if mode != "text":
        out = JsonWriter(env.stdout, mode)
        for row in rows:
            out.write(row)
        out.close()
        return
    text = TextWriter(env)
    if not rows:
        text.line(("no model bundles yet; train one with `logsentry train`", "dim"))
    elif env.stdout_isatty:
        text.renderable(_table(rows))
    else:  # a pipe: aligned columns without rich's padding, one line per version
        cells = [_HEADER, *(_cells(row) for row in rows)]
        widths = [max(len(c[i]) for c in cells) for i in range(len(_HEADER))]
        for line in cells:
            text.line(("  ".join(cell.rjust(w) if i in _RIGHT else cell.ljust(w)
                                 for i, (cell, w) in enumerate(zip(line, widths, strict=True))
                                 ).rstrip(), None))
    text.close()


_HEADER = ("MODEL", "CREATED", "KIND", "FORMAT", "TRAIN SEQS", "F1", "ADAPT SAMPLES",
           "ADAPT F1", "ACTIVATED", "WHERE", "NOTE")
_RIGHT = {4, 5, 6, 7}  # the numbers


def _active_path(data_dir: Path, configured: str) -> Path | None:
    from logsentry.ml import registry

    try:
        located = registry.locate(registry.active_name(data_dir, configured), data_dir)
    except LogsentryError:  # listed anyway; `scan` will say what is wrong with it
        return None
    return Path(os.path.abspath(located.path))


def _row(located: Located, active: Path | None) -> dict[str, Any]:
    from logsentry.ml.bundle import open_bundle

    try:
        info = open_bundle(located.path).info
        state = "ok"
    except ModelError as exc:  # a broken bundle is listed, not fatal
        info, state = {}, f"broken: {exc}"
    data, metrics, adapt = (_dict(info, key) for key in ("data", "metrics", "adapt"))
    after = _dict(_dict(adapt, "metrics"), "after")
    return {"name": located.name, "ref": located.ref, "version": located.version,
            "parent": info.get("parent"), "active": Path(os.path.abspath(located.path)) == active,
            "shipped": located.shipped, "kind": info.get("kind"), "created": info.get("created"),
            "log_format": info.get("log_format"), "train_sequences": data.get("train"),
            "f1": _dict(metrics, "test").get("f1"), "adapt_samples": adapt.get("samples"),
            "adapt_f1": after.get("f1"), "adapt_activated": adapt.get("activated"),
            "adapt_reason": adapt.get("reason"), "status": state, "path": str(located.path)}


def _dict(info: dict[str, Any], key: str) -> dict[str, Any]:
    value = info.get(key)
    return value if isinstance(value, dict) else {}


def _cells(row: dict[str, Any]) -> tuple[str, ...]:
    """A row's text cells, in _HEADER order; bundle.json text escaped."""
    created = str(row["created"]).replace("T", " ")[:16] if row["created"] else None
    note = row["status"] if row["status"] != "ok" else row["adapt_reason"]
    return (("* " if row["active"] else "  ") + _cell(row["ref"]), _cell(created),
            _cell(row["kind"]), _cell(row["log_format"]), _cell(row["train_sequences"]),
            _cell(row["f1"]), _cell(row["adapt_samples"]), _cell(row["adapt_f1"]),
            _cell(row["adapt_activated"]), "shipped" if row["shipped"] else "local",
            _cell(note) if note else "")


def _table(rows: list[dict[str, Any]]) -> Any:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for i, column in enumerate(_HEADER):
        table.add_column(column, justify="right" if i in _RIGHT else "left",
                         no_wrap=column != "NOTE", overflow="fold")
    for row in rows:
        cells = [Text(cell) for cell in _cells(row)]
        if row["active"]:
            cells[0].stylize("bold")
        if row["status"] != "ok":
            cells[-1].stylize("red")
        table.add_row(*cells)
    return table


def _cell(value: Any) -> str:
    """A bundle.json value as table text: numbers formatted, the rest escaped, missing as -."""
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.3f}"
    return escape_text(str(value))


@app.command("show")
def show(name: Annotated[str, typer.Argument(help="Bundle NAME, NAME@VERSION or a path.")],
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
def use(name: Annotated[str, typer.Argument(help="Bundle NAME or NAME@VERSION.")]) -> None:
    """Make NAME the model `scan` uses by default (checked before it is activated)."""
    from logsentry.ml import registry

    env = settings_env()
    located = registry.set_active(env.dirs.data, name)
    env.notice(f"active model: {name if registry.is_path(name) else located.ref}")
    _note_override(env)


@app.command("rollback")
def rollback() -> None:
    """Make the active model's parent (the version it was derived from) the active one.

    Each rollback goes one version further back, to the first version.
    """
    from logsentry.ml import registry

    env = settings_env()
    before, after = registry.rollback(env.dirs.data, load_settings().model)
    env.notice(f"active model: {before} -> {after}")
    _note_override(env)


def _note_override(env: Environment) -> None:
    settings = load_settings()
    if settings.model:
        env.notice(f"note: {settings.origin.get('model', 'a setting')} sets model "
                   f"{settings.model!r}, which `scan` uses instead of the active model")


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
