"""Model bundles: a directory of ONNX files, arrays and JSON, with a checked manifest.

    NAME/
      manifest.json   format, version, and the sha256 of every other file
      bundle.json     what the bundle is: thresholds, embedding spec, log format,
                      window, training data, split, metrics, library versions
      *.onnx, *.npz, *.json   the models and arrays the bundle's kind needs

Every file is verified against the manifest when a bundle is opened; a
missing, corrupt or modified file is one clear ModelError. Bundles are
written to a staging directory next to the target (``.NAME.tmp-PID-xxxx``)
and renamed into place, so a crash never leaves a half-written bundle under
the real name; ``clean_staging`` removes what a crashed writer left. Nothing
is pickled: arrays are .npz read with ``allow_pickle=False``.

A bundle's versions are bundles too: ``NAME@N`` (N >= 2) next to ``NAME``
(version 1), see ``logsentry.ml.registry``; ``parse_ref`` reads such a reference.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from logsentry.errors import ConfigError, ModelError
from logsentry.files import sha256

FORMAT = "logsentry-bundle"
VERSION = 1
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_REF = re.compile(r"(?P<name>[^@]*)@(?P<version>[1-9][0-9]{0,8})")
# What a writer leaves next to its target: staging (tmp) and the replaced bundle (old).
_LEFTOVER = re.compile(r"\.(?P<target>.+)\.(?P<what>tmp|old)-(?P<pid>[0-9]+)-[A-Za-z0-9_]+")
STALE_AFTER = 3600.0  # seconds; a staging directory this old, whose writer is gone, is litter
_ABANDONED_AFTER = 7 * 86400.0  # even when the writer's pid seems alive (pids are reused)


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise ConfigError(f"model name {name!r}: use 1-64 letters, digits, '.', '_' or '-'")
    return name


def parse_ref(text: str) -> tuple[str, int | None]:
    """``NAME`` -> (NAME, None); ``NAME@N`` -> (NAME, N), where ``NAME@1`` is NAME itself."""
    if "@" not in text:
        return check_name(text), None
    match = _REF.fullmatch(text)
    if match is None:
        raise ConfigError(f"model {text!r}: use NAME or NAME@N, where N is a version number "
                          "1, 2, 3, ... (see `logsentry models list`)")
    return check_name(match["name"]), int(match["version"])


def ref_of(name: str, version: int) -> str:
    """The canonical reference: NAME for version 1, NAME@N after."""
    return name if version == 1 else f"{name}@{version}"


@dataclass(frozen=True)
class Bundle:
    """An opened, verified bundle."""

    path: Path
    info: dict[str, Any]  # bundle.json
    files: dict[str, str]  # file name -> sha256

    @property
    def name(self) -> str:
        return str(self.info.get("name", self.path.name))

    def file(self, name: str) -> Path:
        if name not in self.files:
            raise ModelError(f"model bundle {self.path}: has no {name} (retrain it)")
        return self.path / name

    def json(self, name: str) -> Any:
        try:
            return json.loads(self.file(name).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ModelError(f"model bundle {self.path}: {name} is unreadable ({exc})") from None


def open_bundle(path: Path) -> Bundle:
    """Open and verify a bundle directory (every file's sha256 against the manifest)."""
    manifest_path = path / "manifest.json"
    if not path.is_dir():
        raise ModelError(f"model bundle {path}: not found (see `logsentry models list`)")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        if manifest.get("format") != FORMAT:
            raise ValueError("not a logsentry model bundle")
        version = manifest.get("version")
        if not isinstance(version, int) or version > VERSION:
            raise ModelError(f"model bundle {path}: format version {version!r} is newer than "
                             "this logsentry understands; upgrade logsentry")
        files = {str(k): str(v) for k, v in manifest["files"].items()}
    except ModelError:
        raise
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ModelError(f"model bundle {path}: manifest.json is missing or corrupt ({exc}); "
                         "reinstall or retrain the bundle") from None
    for name, expected in files.items():
        target = path / name
        if "/" in name or name.startswith("."):
            raise ModelError(f"model bundle {path}: manifest names an odd file {name!r}")
        if not target.is_file():
            raise ModelError(f"model bundle {path}: {name} is missing; reinstall or retrain")
        if sha256(target) != expected:
            raise ModelError(f"model bundle {path}: {name} is corrupt or was modified "
                             "(sha256 mismatch); reinstall or retrain the bundle")
    if "bundle.json" not in files:
        raise ModelError(f"model bundle {path}: bundle.json is missing from the manifest")
    try:
        info = json.loads((path / "bundle.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"model bundle {path}: bundle.json is unreadable ({exc}); "
                         "reinstall or retrain the bundle") from None
    if not isinstance(info, dict):
        raise ModelError(f"model bundle {path}: bundle.json is not an object; retrain the bundle")
    return Bundle(path, info, files)


class BundleWriter:
    """Collect files in a staging directory, then ``commit()`` them under ``target``.

    With ``overwrite=False`` (model versions), ``commit()`` refuses a target that
    exists by then. Until the final rename nothing exists under the target's
    name; a failed commit leaves only the staging directory (``abort()`` it).
    """

    def __init__(self, target: Path, *, overwrite: bool = True) -> None:
        self.target = target
        self.overwrite = overwrite
        target.parent.mkdir(parents=True, exist_ok=True)
        self.staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-{os.getpid()}-",
                                             dir=target.parent))

    def path(self, name: str) -> Path:
        return self.staging / name

    def write_json(self, name: str, data: Any) -> None:
        self.path(name).write_text(json.dumps(data, indent=2, sort_keys=True) + "\n",
                                   encoding="utf-8")

    def commit(self, info: dict[str, Any]) -> Bundle:
        if not self.overwrite:
            self._refuse_existing()  # early, before hashing; checked again at the rename
        info = dict(info, created=info.get("created") or time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                         time.gmtime()))
        self.write_json("bundle.json", info)
        files = {p.name: sha256(p) for p in sorted(self.staging.iterdir())
                 if p.is_file() and p.name != "manifest.json"}
        self.write_json("manifest.json", {"format": FORMAT, "version": VERSION, "files": files})
        for p in self.staging.iterdir():
            with p.open("rb") as fh:
                os.fsync(fh.fileno())
        _fsync_dir(self.staging)
        if self.overwrite:
            self._replace()
        else:
            self._place()
        _fsync_dir(self.target.parent)
        return open_bundle(self.target)

    def _refuse_existing(self) -> None:
        if self.target.exists() or self.target.is_symlink():
            raise ModelError(f"model bundle {self.target}: already exists, and a version is "
                             "never overwritten; write the next version instead")

    def _place(self) -> None:
        self._refuse_existing()
        try:
            # rename(2) onto an existing directory fails unless it is empty, and a
            # bundle never is: a writer racing us to the same version loses here.
            os.rename(self.staging, self.target)
        except OSError as exc:
            if self.target.exists():
                self._refuse_existing()
            raise ModelError(f"model bundle {self.target}: cannot move it into place "
                             f"({exc.strerror or exc})") from None

    def _replace(self) -> None:
        old = None
        if self.target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{self.target.name}.old-{os.getpid()}-",
                                        dir=self.target.parent))
            # A crash between these two renames leaves the old bundle in ``old``;
            # clean_staging puts it back.
            os.replace(self.target, old)
        os.replace(self.staging, self.target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)

    def abort(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)


def clean_staging(folder: Path, *, max_age: float = STALE_AFTER) -> list[Path]:
    """Remove what crashed writers left in ``folder``; what was removed or restored.

    A staging directory goes once it is older than ``max_age`` and its writer's
    process is gone. A bundle a crashed overwrite had moved aside comes back
    under its name if nothing took its place, else it goes like staging does.
    """
    done: list[Path] = []
    try:
        children = sorted(folder.iterdir())
    except OSError:
        return done
    now = time.time()
    for child in children:
        match = _LEFTOVER.fullmatch(child.name)
        if match is None or child.is_symlink() or not child.is_dir():
            continue
        try:
            age = now - child.stat().st_mtime
        except OSError:
            continue
        gone = age > _ABANDONED_AFTER or not _running(int(match["pid"]))
        original = folder / match["target"]
        if match["what"] == "old" and gone and not original.exists():
            os.replace(child, original)
            done.append(original)
        elif gone and age > max_age:
            shutil.rmtree(child, ignore_errors=True)
            done.append(child)
    return done


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if os.name != "posix":
        return True  # no cheap, harmless check (os.kill terminates there); age decides
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _fsync_dir(path: Path) -> None:
    """Make a rename or new entries in ``path`` durable (POSIX; a no-op elsewhere)."""
    if os.name != "posix":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
