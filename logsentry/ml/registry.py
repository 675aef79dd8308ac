"""Where bundles live, their versions, and which one is active.

Bundles are directories under ``<data dir>/models/``; the default bundle that
ships with logsentry is ``models/default`` in the source tree. The active
bundle is named in ``<data dir>/models/ACTIVE`` (``logsentry models use``);
``--model`` / ``LOGSENTRY_MODEL`` / the config's ``model`` override it.

Versions: ``NAME`` (yours, or else the shipped one) is version 1 of NAME;
version N >= 2 is the bundle directory ``<data dir>/models/NAME@N``, written
once with ``BundleWriter(version_target(...), overwrite=False)`` and never
overwritten. Its bundle.json says where it came from: ``version_fields``
gives ``name`` (NAME), ``version`` (N) and ``parent`` (the reference of the
bundle it was derived from, e.g. ``NAME@2`` or ``NAME``).

Rollback is "activate the active bundle's parent": it follows the recorded
lineage, not a history of ``models use``, so it means the same thing however
the active version was chosen, and repeated rollbacks walk back to version 1.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from logsentry.errors import LogsentryError, ModelError
from logsentry.ml.bundle import Bundle, clean_staging, open_bundle, parse_ref, ref_of

DEFAULT = "default"
SHIPPED = Path(__file__).resolve().parent.parent.parent / "models"
_VERSION_DIR = re.compile(r"(?P<name>[^@]+)@(?P<version>[1-9][0-9]{0,8})")


@dataclass(frozen=True, slots=True)
class Located:
    name: str
    path: Path
    shipped: bool
    version: int = 1

    @property
    def ref(self) -> str:
        """``NAME`` for version 1, ``NAME@N`` after: what `models use` takes."""
        return ref_of(self.name, self.version)


def models_dir(data_dir: Path) -> Path:
    return data_dir / "models"


def is_path(text: str) -> bool:
    """Whether a --model / `models use` value is a path rather than NAME or NAME@N."""
    return os.sep in text or "/" in text or text.startswith(".")


def locate(name: str, data_dir: Path) -> Located:
    """A bundle by reference (``NAME`` or ``NAME@N``) or a path to a bundle directory."""
    if is_path(name):
        path = Path(name).expanduser()
        return Located(path.name, path, False)
    base, version = parse_ref(name)
    version = version or 1
    for located in _candidates(base, data_dir):
        if located.version == version:
            return located
    known = versions(base, data_dir)
    if not known:
        raise ModelError(f"no model named {base!r}; see `logsentry models list`, or train one "
                         "with `logsentry train ... --name NAME`")
    raise ModelError(f"model {base!r} has no version {version}; it has "
                     f"{', '.join(v.ref for v in known)} (see `logsentry models list`)")


def _candidates(name: str, data_dir: Path) -> list[Located]:
    """Every version directory of ``name``, yours before shipped ones (which they shadow)."""
    found = []
    for base, shipped in ((models_dir(data_dir), False), (SHIPPED, True)):
        if (base / name).is_dir():
            found.append(Located(name, base / name, shipped))
        if base.is_dir():
            for child in base.glob(f"{name}@*"):
                match = _VERSION_DIR.fullmatch(child.name)
                if match and match["name"] == name and child.is_dir():
                    found.append(Located(name, child, shipped, int(match["version"])))
    return found


def versions(name: str, data_dir: Path) -> list[Located]:
    """The versions of bundle ``name`` there are, version 1 (the base) first."""
    parse_ref(name)
    chosen: dict[int, Located] = {}
    for located in _candidates(name, data_dir):
        chosen.setdefault(located.version, located)
    return [chosen[v] for v in sorted(chosen)]


def next_version(name: str, data_dir: Path) -> int:
    """The number the next version of ``name`` gets (one more than the highest)."""
    known = versions(name, data_dir)
    if not known:
        raise ModelError(f"no model named {name!r} to make a version of; "
                         "see `logsentry models list`")
    return max(2, known[-1].version + 1)


def version_target(name: str, data_dir: Path) -> Path:
    """The directory for the next version of ``name``: ``<data dir>/models/NAME@N``."""
    return models_dir(data_dir) / ref_of(name, next_version(name, data_dir))


def version_fields(parent: Located, version: int) -> dict[str, Any]:
    """What a new version's bundle.json records about its lineage."""
    return {"name": parent.name, "version": version, "parent": parent.ref}


def available(data_dir: Path) -> list[Located]:
    """Every bundle version, yours and shipped, by name then version."""
    clean_staging(models_dir(data_dir))
    found: dict[tuple[str, int], Located] = {}
    for base, shipped in ((SHIPPED, True), (models_dir(data_dir), False)):
        if not base.is_dir():
            continue
        for child in sorted(base.iterdir()):
            if child.name.startswith(".") or not (child / "manifest.json").is_file():
                continue  # staging directories of writers, and anything not a bundle
            match = _VERSION_DIR.fullmatch(child.name)
            if match is None and "@" in child.name:
                continue  # not a name `models use` could take
            name, version = (match["name"], int(match["version"])) if match else (child.name, 1)
            found[(name, version)] = Located(name, child, shipped, version)
    return [found[key] for key in sorted(found)]


def active_name(data_dir: Path, configured: str = "") -> str:
    """The active bundle's reference (``NAME`` or ``NAME@N``) or path."""
    if configured:
        return configured
    marker = models_dir(data_dir) / "ACTIVE"
    try:
        name = marker.read_text(encoding="utf-8").strip()
    except OSError:
        return DEFAULT
    return name or DEFAULT


def set_active(data_dir: Path, name: str) -> Located:
    """Make ``name`` (a reference or a path) the active bundle, once it opens and verifies."""
    located = locate(name, data_dir)
    open_bundle(located.path)  # refuse to activate a broken bundle
    folder = models_dir(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / "ACTIVE.tmp"
    tmp.write_text((name if is_path(name) else located.ref) + "\n", encoding="utf-8")
    os.replace(tmp, folder / "ACTIVE")
    return located


def parent_of(located: Located) -> str | None:
    """The reference of the bundle ``located`` was derived from, if it records one.

    Read without verifying the bundle: rolling back from a damaged version
    must work (the parent is verified before it is activated).
    """
    try:
        info = json.loads((located.path / "bundle.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"model {located.ref}: bundle.json is unreadable ({exc}), so its "
                         "earlier version is unknown; choose one with `logsentry models use`"
                         ) from None
    parent = info.get("parent") if isinstance(info, dict) else None
    if parent is None:
        return None
    if not isinstance(parent, str) or not parent or is_path(parent):
        raise ModelError(f"model {located.ref}: bundle.json has an odd parent {parent!r}; "
                         "choose a version with `logsentry models use`")
    return parent


def rollback(data_dir: Path, configured: str = "") -> tuple[str, str]:
    """Activate the active bundle's parent; (from, to) as references."""
    current = active_name(data_dir, configured)
    located = locate(current, data_dir)
    parent = parent_of(located)
    if parent is None:
        raise ModelError(f"model {located.ref} has no earlier version to roll back to; "
                         "choose one with `logsentry models use NAME@N`")
    try:
        target = set_active(data_dir, parent)
    except LogsentryError as exc:  # a missing, broken or misnamed parent
        raise ModelError(f"cannot roll back from {located.ref} to {parent}: {exc}") from None
    return (current if is_path(current) else located.ref), target.ref


def load(name: str, data_dir: Path) -> Bundle:
    return open_bundle(locate(name, data_dir).path)
