"""LLM backends: a local GGUF model through llama-cpp-python, or any
OpenAI-compatible chat endpoint (llama.cpp server, vLLM). Both answer one
JSON-schema-constrained chat completion; every failure is an ``LLMError`` with
a one-line reason, which the escalator turns into a fallback verdict.
"""

from __future__ import annotations

import http.client
import json
import os
import threading
import time
import urllib.error
import urllib.request
from typing import Any, Protocol

from logsentry.errors import ModelError
from logsentry.llm.models import LLMModel

CONTEXT = 4096  # tokens: up to 24 lines, two examples and the answer (2,048 overflowed once
#                 on a Thunderbird window with SmolLM2)


class LLMError(Exception):
    """One call failed (timeout, bad answer, dead server); the run goes on."""


class Backend(Protocol):
    label: str  # identifies the model in cache keys: name@sha256-prefix or endpoint model

    def complete(self, system: str, user: str, schema: dict[str, Any], *, max_tokens: int,
                 timeout: float) -> str: ...


class LlamaBackend:
    """A GGUF model in-process. Loaded on first use (a scan with no escalation never
    pays for it); GPU layers are offloaded when llama.cpp was built with a GPU."""

    def __init__(self, model: LLMModel, *, threads: int = 0, gpu_layers: int = -1,
                 seed: int = 0) -> None:
        self.model = model
        self.label = model.label
        self.threads = threads or max(1, min(8, os.cpu_count() or 1))
        self.gpu_layers = gpu_layers
        self.seed = seed
        self._llm: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        if self._llm is None:
            os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see RUNTIME: spinning stalls
            try:
                from llama_cpp import Llama
            except ImportError:
                raise ModelError("llama-cpp-python is not installed (see the README: "
                                 "CMAKE_ARGS=-DGGML_NATIVE=OFF pip install llama-cpp-python)"
                                 ) from None
            try:
                self._llm = Llama(model_path=str(self.model.path), n_ctx=CONTEXT,
                                  n_threads=self.threads, n_gpu_layers=self.gpu_layers,
                                  seed=self.seed, verbose=False)
            except Exception as exc:  # llama.cpp raises ValueError/RuntimeError variously
                raise ModelError(f"LLM model {self.model.path}: cannot load it "
                                 f"({_first_line(exc)})") from None
        return self._llm

    def load(self) -> None:
        """Load now (a missing or corrupt file fails here, before any reading)."""
        with self._lock:
            self._load()

    def complete(self, system: str, user: str, schema: dict[str, Any], *, max_tokens: int,
                 timeout: float) -> str:
        with self._lock:
            llm = self._load()
            deadline = time.monotonic() + timeout
            parts: list[str] = []
            try:
                # No reset(): llama.cpp keeps the evaluated prefix (the system prompt and
                # preamble, the same in every call) and evaluates only what differs.
                # Streamed, so a call past its deadline is cut off between two tokens.
                chunks = llm.create_chat_completion(
                    messages=[{"role": "system", "content": system},
                              {"role": "user", "content": user}],
                    response_format={"type": "json_object", "schema": schema},
                    temperature=0.0, repeat_penalty=1.15, max_tokens=max_tokens, seed=self.seed,
                    stream=True)
                for chunk in chunks:
                    delta = chunk["choices"][0].get("delta", {}).get("content")
                    if delta:
                        parts.append(delta)
                    if time.monotonic() > deadline:
                        chunks.close()
                        raise LLMError(f"timed out after {timeout:g} s")
            except ValueError as exc:  # e.g. the prompt does not fit the context
                raise LLMError(_first_line(exc)) from None
            return "".join(parts)


class EndpointBackend:
    """An OpenAI-compatible ``/v1/chat/completions`` server. The API key, if any,
    comes from ``LOGSENTRY_LLM_API_KEY`` (never from a flag: it would show in ps)."""

    def __init__(self, url: str, model: str = "") -> None:
        base = url.rstrip("/")
        if not base.startswith(("http://", "https://")):
            raise ModelError(f"LLM endpoint {url!r}: give an http(s) URL such as "
                             f"http://127.0.0.1:8080/v1")
        self.url = base if base.endswith("/chat/completions") else base + "/chat/completions"
        self.model = model
        self.label = f"endpoint:{model or base}"

    def complete(self, system: str, user: str, schema: dict[str, Any], *, max_tokens: int,
                 timeout: float) -> str:
        body = {
            "messages": [{"role": "system", "content": system},
                         {"role": "user", "content": user}],
            "temperature": 0, "max_tokens": max_tokens,
            "response_format": {"type": "json_schema",
                                "json_schema": {"name": "verdict", "schema": schema,
                                                "strict": True}},
        }
        if self.model:
            body["model"] = self.model
        headers = {"Content-Type": "application/json"}
        key = os.environ.get("LOGSENTRY_LLM_API_KEY")
        if key:
            headers["Authorization"] = f"Bearer {key}"
        request = urllib.request.Request(self.url, json.dumps(body).encode(), headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                payload = json.loads(response.read(4 << 20))
        except urllib.error.HTTPError as exc:
            raise LLMError(f"endpoint answered HTTP {exc.code}") from None
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            reason = getattr(exc, "reason", exc)
            raise LLMError(f"endpoint unreachable ({_first_line(reason)})") from None
        except ValueError:
            raise LLMError("endpoint answered something that is not JSON") from None
        try:
            return str(payload["choices"][0]["message"]["content"] or "")
        except (KeyError, IndexError, TypeError):
            raise LLMError("endpoint answer has no choices[0].message.content") from None


def _first_line(exc: object) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__
