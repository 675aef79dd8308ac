"""Where bundles live and which one is active.

Bundles are directories under ``<data dir>/models/``; the default bundle that
ships with logsentry is ``models/default`` in the source tree. The active
bundle is named in ``<data dir>/models/ACTIVE`` (``logsentry models use``);
``--model`` / ``LOGSENTRY_MODEL`` / the config's ``model`` override it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from logsentry.errors import ModelError
from logsentry.ml.bundle import Bundle, check_name, open_bundle

DEFAULT = "default"
SHIPPED = Path(__file__).resolve().parent.parent.parent / "models"


@dataclass(frozen=True, slots=True)
class Located:
    name: str
    path: Path
    shipped: bool


def models_dir(data_dir: Path) -> Path:
    return data_dir / "models"


def locate(name: str, data_dir: Path) -> Located:
    """A bundle by name (or a path to a bundle directory)."""
    if os.sep in name or name.startswith("."):
        path = Path(name).expanduser()
        return Located(path.name, path, False)
    check_name(name)
    own = models_dir(data_dir) / name
    if own.is_dir():
        return Located(name, own, False)
    shipped = SHIPPED / name
    if shipped.is_dir():
        return Located(name, shipped, True)
    raise ModelError(f"no model named {name!r}; see `logsentry models list`, or train one "
                     "with `logsentry train ... --name NAME`")


def available(data_dir: Path) -> list[Located]:
    found: dict[str, Located] = {}
    for base, shipped in ((SHIPPED, True), (models_dir(data_dir), False)):
        if base.is_dir():
            for child in sorted(base.iterdir()):
                if child.is_dir() and (child / "manifest.json").is_file():
                    found[child.name] = Located(child.name, child, shipped)
    return sorted(found.values(), key=lambda located: located.name)


def active_name(data_dir: Path, configured: str = "") -> str:
    if configured:
        return configured
    marker = models_dir(data_dir) / "ACTIVE"
    try:
        name = marker.read_text(encoding="utf-8").strip()
    except OSError:
        return DEFAULT
    return name or DEFAULT


def set_active(data_dir: Path, name: str) -> None:
    located = locate(name, data_dir)
    open_bundle(located.path)  # refuse to activate a broken bundle
    folder = models_dir(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / "ACTIVE.tmp"
    tmp.write_text(name + "\n", encoding="utf-8")
    os.replace(tmp, folder / "ACTIVE")


def load(name: str, data_dir: Path) -> Bundle:
    return open_bundle(locate(name, data_dir).path)
