"""Model bundles: a directory of ONNX files, arrays and JSON, with a checked manifest.

    NAME/
      manifest.json   format, version, and the sha256 of every other file
      bundle.json     what the bundle is: thresholds, embedding spec, log format,
                      window, training data, split, metrics, library versions
      *.onnx, *.npz, *.json   the models and arrays the bundle's kind needs

Every file is verified against the manifest when a bundle is opened; a
missing, corrupt or modified file is one clear ModelError. Bundles are
written to a temporary directory next to the target and renamed into place,
so a crash never leaves a half-written bundle under the real name. Nothing
is pickled: arrays are .npz read with ``allow_pickle=False``.
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


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise ConfigError(f"model name {name!r}: use 1-64 letters, digits, '.', '_' or '-'")
    return name


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
    info = json.loads((path / "bundle.json").read_text(encoding="utf-8"))
    return Bundle(path, info, files)


class BundleWriter:
    """Collect files in a staging directory, then ``commit()`` them under ``target``."""

    def __init__(self, target: Path) -> None:
        self.target = target
        target.parent.mkdir(parents=True, exist_ok=True)
        self.staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))

    def path(self, name: str) -> Path:
        return self.staging / name

    def write_json(self, name: str, data: Any) -> None:
        self.path(name).write_text(json.dumps(data, indent=2, sort_keys=True) + "\n",
                                   encoding="utf-8")

    def commit(self, info: dict[str, Any]) -> Bundle:
        info = dict(info, created=info.get("created") or time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                         time.gmtime()))
        self.write_json("bundle.json", info)
        files = {p.name: sha256(p) for p in sorted(self.staging.iterdir())
                 if p.is_file() and p.name != "manifest.json"}
        self.write_json("manifest.json", {"format": FORMAT, "version": VERSION, "files": files})
        for p in self.staging.iterdir():
            with p.open("rb") as fh:
                os.fsync(fh.fileno())
        old = None
        if self.target.exists():
            old = self.target.with_name(f".{self.target.name}.old-{os.getpid()}")
            os.replace(self.target, old)
        os.replace(self.staging, self.target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return open_bundle(self.target)

    def abort(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)
