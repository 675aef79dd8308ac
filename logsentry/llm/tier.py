"""Setting up the LLM tier for a run from the settings: backend, role, budget.

A model the operator named (``--llm-model``, ``--llm-endpoint``, or the same in
the config or environment) must work: a missing or corrupt file is an error
(exit 3). The packaged default is best effort: when it cannot be found or
loaded, the run goes on with the small model's verdicts
(``small_model_fallback``) after one warning.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from logsentry.config import Settings
from logsentry.errors import ConfigError, ModelError
from logsentry.llm.backend import Backend, EndpointBackend, LlamaBackend
from logsentry.llm.escalate import Escalator, LLMOptions
from logsentry.llm.models import resolve
from logsentry.llm.prompts import LINE_PROMPT, Prompt
from logsentry.llm.store import VerdictStore

ROLES = ("auto", "explain", "judge")


def parse_budget(text: str) -> tuple[int, float]:
    """``"50"`` -> (50 calls, 0); ``"120s"`` -> (0, 120 s); ``""`` -> unlimited."""
    text = text.strip().lower()
    if not text:
        return 0, 0.0
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(s|sec|m|min)?", text)
    if m is None:
        raise ConfigError(f"--llm-budget {text!r}: give a number of calls (50) or seconds "
                          f"(120s, 5m)")
    value, unit = float(m.group(1)), m.group(2)
    if unit is None:
        if value != int(value):
            raise ConfigError(f"--llm-budget {text!r}: a number of calls is a whole number")
        return int(value), 0.0
    return 0, value * (60 if unit.startswith("m") else 1)


def explicit(settings: Settings, name: str) -> bool:
    return settings.origin.get(name, "default") != "default"


def make_backend(settings: Settings, cache: Path) -> Backend:
    """The backend the settings ask for (may raise ModelError)."""
    if settings.llm_endpoint:
        return EndpointBackend(settings.llm_endpoint, settings.llm_endpoint_model)
    model = resolve(settings.llm_model, cache)
    return LlamaBackend(model, threads=settings.llm_threads)


def options_from(settings: Settings, role: str) -> LLMOptions:
    """The per-call options (also re-read on SIGHUP by ``tail``)."""
    calls, seconds = parse_budget(settings.llm_budget)
    if settings.llm_role in ("explain", "judge"):
        role = settings.llm_role
    return LLMOptions(tau=settings.llm_tau, role=role, timeout=settings.llm_timeout,
                      budget_calls=calls, budget_seconds=seconds)


def make_escalator(settings: Settings, data: Path, cache: Path, *, bundle: str,
                   system: str, notice: Callable[[str], None],
                   store: str = "verdicts.sqlite",
                   examples: Callable[[list[str]], list[tuple[str, list[str]]]] | None = None
                   ) -> Escalator:
    """``store``: the database under ``data`` (eval keeps its own, so labeled test data
    never mixes with the escalations ``adapt`` learns from)."""
    if settings.llm_role not in ROLES:
        raise ConfigError(f"llm_role {settings.llm_role!r}: use one of {', '.join(ROLES)}")
    if not 0.0 <= settings.llm_tau <= 1.0:
        raise ConfigError(f"llm_tau {settings.llm_tau}: must be between 0 and 1")
    if settings.llm_timeout <= 0:
        raise ConfigError(f"llm_timeout {settings.llm_timeout}: must be positive")
    chosen = explicit(settings, "llm_model") or bool(settings.llm_endpoint)
    backend: Backend | None = None
    unavailable = ""
    try:
        backend = make_backend(settings, cache)
        if chosen and isinstance(backend, LlamaBackend):
            backend.load()  # a model you named must load: fail before reading anything
    except ModelError as exc:
        if chosen:
            raise
        unavailable = f"LLM unavailable: {exc}"
        notice(f"{unavailable}; using the small model's verdicts (or pass --no-llm)")
    role = settings.llm_role
    if role == "auto":  # the packaged tiny models explain; a model file or server you bring judges
        packaged = backend is None or (isinstance(backend, LlamaBackend)
                                       and backend.model.origin != "file")
        role = "explain" if packaged else "judge"
    options = options_from(settings, role)
    return Escalator(backend, VerdictStore(data / store), bundle=bundle, prompt=Prompt.load(),
                     options=options, system=system, unavailable=unavailable, strict=chosen,
                     notice=notice, examples=examples,
                     line_prompt=Prompt.load(LINE_PROMPT) if role == "explain" else None)
