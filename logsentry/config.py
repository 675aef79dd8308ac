"""One place for defaults, the config file, environment variables and flags.

Precedence: flags > ``LOGSENTRY_*`` environment > config file > defaults.
Directories come from platformdirs; ``LOGSENTRY_HOME`` relocates all of them
(tests point it at a tmpdir).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from logsentry.errors import ConfigError

APP = "logsentry"


@dataclass(frozen=True, slots=True)
class Dirs:
    config: Path  # config.toml
    data: Path  # model bundles, verdict store
    cache: Path  # template vectors, exported encoders
    state: Path  # parser state, follow checkpoints


def dirs(environ: Mapping[str, str] | None = None) -> Dirs:
    env = os.environ if environ is None else environ
    home = env.get("LOGSENTRY_HOME")
    if home:
        base = Path(home).expanduser()
        return Dirs(base / "config", base / "data", base / "cache", base / "state")
    import platformdirs

    return Dirs(
        Path(platformdirs.user_config_dir(APP)),
        Path(platformdirs.user_data_dir(APP)),
        Path(platformdirs.user_cache_dir(APP)),
        Path(platformdirs.user_state_dir(APP)),
    )


def config_path(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    explicit = env.get("LOGSENTRY_CONFIG")
    return Path(explicit).expanduser() if explicit else dirs(env).config / "config.toml"


@dataclass(frozen=True, slots=True)
class MaskSpec:
    name: str
    regex: str


@dataclass(slots=True)
class Settings:
    """Effective settings; every scalar here can come from file, env or flag."""

    log_format: str = "auto"
    window: str = "auto"  # session where the format has a session id, else fixed:64
    session_key: str = ""  # overrides the format's session regex when set
    profile: str = ""  # parser state profile; default: the log format's name
    model: str = ""  # model bundle; default: the active one (`logsentry models use`)
    llm: bool = True  # escalate to the LLM tier (``--no-llm``: small model only)
    llm_model: str = ""  # GGUF path or packaged name; default: the packaged default
    llm_endpoint: str = ""  # OpenAI-compatible URL; used instead of a local model
    llm_endpoint_model: str = ""  # "model" field sent to the endpoint
    llm_role: str = "auto"  # explain | judge | auto (judge for a GGUF file or endpoint)
    llm_tau: float = 0.9  # escalate when the small model's confidence in normal < tau
    llm_timeout: float = 60.0  # seconds per LLM call
    llm_budget: str = ""  # per run: N calls, or Ns seconds ("" = unlimited)
    llm_threads: int = 0  # llama.cpp threads; 0 = all cores (at most 8)
    max_line_bytes: int = 64 * 1024
    color: str = "auto"
    multiline: bool = True
    max_open_sessions: int = 20_000
    max_session_records: int = 1_000
    max_buffered_records: int = 500_000
    sim_th: float = 0.0  # 0 = the format's own Drain similarity threshold
    depth: int = 0  # 0 = the format's own Drain tree depth
    jsonl_message: str = "message,msg,log,text"
    jsonl_time: str = "time,timestamp,ts,@timestamp"
    jsonl_level: str = "level,severity,lvl"
    default_masks: bool = True  # use the built-in masks (then ``masks`` are added)
    masks: tuple[MaskSpec, ...] = ()
    formats: dict[str, dict[str, Any]] = field(default_factory=dict)
    origin: dict[str, str] = field(default_factory=dict)  # setting -> where it came from


_SCALARS = {
    f.name: f.type
    for f in fields(Settings)
    if f.name not in {"masks", "formats", "origin"}
}


def _coerce(name: str, value: Any, where: str) -> Any:
    kind = _SCALARS[name]
    try:
        if kind == "bool":
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in {"1", "true", "yes", "on"}:
                return True
            if text in {"0", "false", "no", "off"}:
                return False
            raise ValueError(value)
        if kind == "int":
            if isinstance(value, bool):
                raise ValueError(value)
            return int(value)
        if kind == "float":
            return float(value)
        return str(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: {name} must be a {kind}, got {value!r}") from None


def _read_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path}: {exc}; fix it or move it aside") from None
    except UnicodeDecodeError:
        raise ConfigError(f"config file {path}: not UTF-8 text; save it as UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"config file {path}: {exc.strerror}") from None


def load_settings(
    flags: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Build the effective settings: defaults < file < env < flags (None flags are unset)."""
    env = os.environ if environ is None else environ
    settings = Settings()
    origin = {name: "default" for name in _SCALARS}
    path = config_path(env)
    raw = _read_file(path)
    for key, value in raw.items():
        if key in _SCALARS:
            setattr(settings, key, _coerce(key, value, str(path)))
            origin[key] = f"file {path}"
        elif key == "masks":
            settings.masks = tuple(_mask_specs(value, path))
        elif key == "formats":
            if not isinstance(value, dict):
                raise ConfigError(f"config file {path}: [formats] must be a table")
            settings.formats = value
        else:
            raise ConfigError(f"config file {path}: unknown setting {key!r}")
    for name in _SCALARS:
        env_name = "LOGSENTRY_" + name.upper()
        if env_name in env:
            setattr(settings, name, _coerce(name, env[env_name], env_name))
            origin[name] = f"env {env_name}"
    for name, value in (flags or {}).items():
        if value is None:
            continue
        if name not in _SCALARS:
            raise KeyError(name)
        setattr(settings, name, _coerce(name, value, "--" + name.replace("_", "-")))
        origin[name] = "flag"
    settings.origin = origin
    return settings


def _mask_specs(value: Any, path: Path) -> list[MaskSpec]:
    if not isinstance(value, list):
        raise ConfigError(f"config file {path}: masks must be an array of tables [[masks]]")
    specs = []
    for item in value:
        if not isinstance(item, dict) or "name" not in item or "regex" not in item:
            raise ConfigError(f"config file {path}: each [[masks]] needs name and regex")
        specs.append(MaskSpec(str(item["name"]), str(item["regex"])))
    return specs
