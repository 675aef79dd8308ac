"""EndpointBackend against a stub OpenAI-compatible chat server on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from logsentry.errors import ModelError
from logsentry.llm.backend import EndpointBackend, LLMError

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"anomalous": {"type": "boolean"}, "explanation": {"type": "string"}},
    "required": ["anomalous", "explanation"],
}
CONTENT = json.dumps({"anomalous": True, "explanation": "disk failure"})


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class Stub:
    """What the stub server got, and how it answers the next requests."""

    port: int
    mode: str = "ok"  # ok | 500 | notjson | nochoices | sleep
    requests: list[Recorded] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"


def _handler(stub: Stub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length) or b"null")
            stub.requests.append(Recorded(self.path, dict(self.headers.items()), body))
            if self.path != "/v1/chat/completions":
                self._send(404, b'{"error": "not found"}')
            elif stub.mode == "500":
                self._send(500, b'{"error": "boom"}')
            elif stub.mode == "notjson":
                self._send(200, b"<html>this is not json</html>")
            elif stub.mode == "nochoices":
                self._send(200, json.dumps({"id": "x", "object": "chat.completion"}).encode())
            else:
                if stub.mode == "sleep":
                    stub.release.wait(5)  # the fixture releases it at teardown
                answer = {"choices": [{"message": {"role": "assistant", "content": CONTENT}}]}
                self._send(200, json.dumps(answer).encode())

        def _send(self, code: int, payload: bytes) -> None:
            try:
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except OSError:  # the client gave up (timeout test)
                pass

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stub]:
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy",
                 "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    state = Stub(port=0)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


def _complete(backend: EndpointBackend, *, timeout: float = 5.0) -> str:
    return backend.complete("you judge logs", "line 1\nline 2", SCHEMA, max_tokens=77,
                            timeout=timeout)


def _llm_error(backend: EndpointBackend, *, timeout: float = 5.0) -> str:
    with pytest.raises(LLMError) as info:
        _complete(backend, timeout=timeout)
    message = str(info.value)
    assert message and "\n" not in message
    return message


def test_call_returns_content_and_sends_constrained_request(stub: Stub) -> None:
    assert _complete(EndpointBackend(stub.base)) == CONTENT
    (request,) = stub.requests
    assert request.path == "/v1/chat/completions"
    assert request.headers["Content-Type"] == "application/json"
    body = request.body
    assert body["messages"] == [{"role": "system", "content": "you judge logs"},
                                {"role": "user", "content": "line 1\nline 2"}]
    assert body["temperature"] == 0
    assert body["max_tokens"] == 77
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["schema"] == SCHEMA
    assert "model" not in body


def test_model_is_sent_only_when_given(stub: Stub) -> None:
    backend = EndpointBackend(stub.base, model="qwen2.5-1.5b")
    assert _complete(backend) == CONTENT
    assert stub.requests[-1].body["model"] == "qwen2.5-1.5b"
    assert backend.label == "endpoint:qwen2.5-1.5b"
    assert EndpointBackend(stub.base).label == f"endpoint:{stub.base}"


@pytest.mark.parametrize("suffix", ["/v1", "/v1/", "/v1/chat/completions"])
def test_base_and_full_urls_reach_the_same_route(stub: Stub, suffix: str) -> None:
    backend = EndpointBackend(f"http://127.0.0.1:{stub.port}{suffix}")
    assert backend.url == f"{stub.base}/chat/completions"
    assert _complete(backend) == CONTENT
    assert [r.path for r in stub.requests] == ["/v1/chat/completions"]


@pytest.mark.parametrize("url", ["127.0.0.1:8080/v1", "ftp://127.0.0.1/v1", "",
                                 "file:///etc/passwd", "localhost\n:8080"])
def test_non_http_url_is_a_one_line_model_error(url: str) -> None:
    with pytest.raises(ModelError) as info:
        EndpointBackend(url)
    message = str(info.value)
    assert "\n" not in message
    assert "http" in message


def test_api_key_from_environment_is_sent_as_bearer(stub: Stub,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGSENTRY_LLM_API_KEY", "sk-test-123")
    assert _complete(EndpointBackend(stub.base)) == CONTENT
    assert stub.requests[-1].headers["Authorization"] == "Bearer sk-test-123"


def test_no_api_key_means_no_authorization_header(stub: Stub,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOGSENTRY_LLM_API_KEY", raising=False)
    assert _complete(EndpointBackend(stub.base)) == CONTENT
    assert "authorization" not in {k.lower() for k in stub.requests[-1].headers}


def test_http_500_is_an_llm_error(stub: Stub) -> None:
    stub.mode = "500"
    assert "500" in _llm_error(EndpointBackend(stub.base))


def test_wrong_route_is_an_llm_error_with_the_status(stub: Stub) -> None:
    assert "404" in _llm_error(EndpointBackend(f"http://127.0.0.1:{stub.port}/v2"))


def test_answer_that_is_not_json_is_an_llm_error(stub: Stub) -> None:
    stub.mode = "notjson"
    assert "not JSON" in _llm_error(EndpointBackend(stub.base))


def test_json_without_choices_is_an_llm_error(stub: Stub) -> None:
    stub.mode = "nochoices"
    assert "choices" in _llm_error(EndpointBackend(stub.base))


def test_slow_server_times_out_as_an_llm_error(stub: Stub) -> None:
    stub.mode = "sleep"
    start = time.monotonic()
    message = _llm_error(EndpointBackend(stub.base), timeout=0.3)
    assert time.monotonic() - start < 3.0
    assert "timed out" in message
    assert len(stub.requests) == 1  # the request did reach the server


def test_nothing_listening_is_unreachable(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    start = time.monotonic()
    message = _llm_error(EndpointBackend(f"http://127.0.0.1:{port}/v1"), timeout=2.0)
    assert "unreachable" in message
    assert time.monotonic() - start < 2.0


def test_server_that_does_not_speak_http_is_an_llm_error() -> None:
    """E.g. the endpoint URL points at an SSH port: the answer has no HTTP status line."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]

        def answer() -> None:
            conn, _ = listener.accept()
            with conn:
                conn.recv(65536)
                conn.sendall(b"SSH-2.0-OpenSSH_9.0\r\n")

        thread = threading.Thread(target=answer, daemon=True)
        thread.start()
        message = _llm_error(EndpointBackend(f"http://127.0.0.1:{port}/v1"), timeout=2.0)
        thread.join(2)
    assert "endpoint" in message
