"""Three ways to run the CLI, cheapest first.

* ``invoke``: typer's CliRunner, in-process (library exceptions are not
  turned into exit codes here: that is ``main()``'s job).
* ``call_main``: ``logsentry.cli.main(argv)`` in-process, with its
  ``SystemExit`` caught: the exit code and one-line errors users see.
* ``run_exe``: the installed ``logsentry`` executable in a subprocess
  (~0.3 s each; for stdin pipes, closed pipes, start-up and real shells).

Every way inherits the per-test ``LOGSENTRY_HOME`` from tests/conftest.py.
"""

from __future__ import annotations

import io
import os
import select
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from logsentry.cli import app, main

EXE = Path(sys.executable).parent / "logsentry"


@dataclass
class Outcome:
    code: int
    out: str
    err: str


Invoke = Callable[..., Result]
CallMain = Callable[..., Outcome]
RunExe = Callable[..., subprocess.CompletedProcess[bytes]]


@pytest.fixture
def invoke() -> Invoke:
    runner = CliRunner()

    def run(args: Sequence[str], input: bytes | str | None = None,
            env: Mapping[str, str | None] | None = None) -> Result:
        return runner.invoke(app, list(args), input=input, env=env, catch_exceptions=False)

    return run


@pytest.fixture
def call_main(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> CallMain:
    def run(args: Sequence[str], stdin: bytes | None = None) -> Outcome:
        if stdin is not None:
            monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
        with pytest.raises(SystemExit) as exited:
            main(list(args))
        captured = capsys.readouterr()
        code = exited.value.code
        assert isinstance(code, int), f"exit code {code!r} is not an int"
        return Outcome(code, captured.out, captured.err)

    return run


@pytest.fixture
def run_exe() -> RunExe:
    if not EXE.exists():
        pytest.skip(f"{EXE} not installed (pip install -e .)")

    def run(args: Sequence[str], input: bytes | None = None,
            env: Mapping[str, str] | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
        full_env = {**os.environ, **(env or {})}
        return subprocess.run([str(EXE), *args], input=input, capture_output=True,
                              env=full_env, timeout=timeout, check=False)

    return run


@pytest.fixture
def hdfs_log(shared_data: Path) -> Path:
    return shared_data / "loghub2k" / "HDFS" / "HDFS_2k.log"


@pytest.fixture
def bgl_log(shared_data: Path) -> Path:
    return shared_data / "loghub2k" / "BGL" / "BGL_2k.log"


def one_error_line(err: str) -> str:
    """The single ``logsentry: error:`` line of ``err`` (asserting there is exactly one)."""
    lines = err.splitlines()
    assert "Traceback" not in err, err
    assert len(lines) == 1, err
    assert lines[0].startswith("logsentry: error:"), err
    return lines[0]


def on_a_terminal(args: list[str], env: dict[str, str]) -> bytes:
    """Run the executable with stdout on a pseudo-terminal; what it printed there."""
    pty = pytest.importorskip("pty")
    controller, terminal = pty.openpty()
    full_env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "200", **env}
    proc = subprocess.Popen([str(EXE), *args], stdout=terminal, stderr=subprocess.DEVNULL,
                            env=full_env)
    os.close(terminal)
    chunks = []
    try:
        while select.select([controller], [], [], 30)[0]:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # EIO: the terminal's other end closed
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert proc.wait(timeout=30) == 0
    finally:
        os.close(controller)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return b"".join(chunks)


@pytest.fixture
def warm_encoder(isolated_home: Path, encoder_cache: Path) -> None:
    """This test's LOGSENTRY_HOME shares the session's exported encoder (export: ~10 s)."""
    from logsentry.embed.minilm import encoder_dir

    target = encoder_dir(isolated_home / "cache")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.symlink_to(encoder_dir(encoder_cache), target_is_directory=True)


class ChatStub:
    """An OpenAI-compatible chat server on 127.0.0.1 (a thread): ``answer(user_prompt)``
    gives (anomalous, explanation); every user prompt is kept in ``prompts``."""

    def __init__(self, answer: Callable[[str], tuple[bool, str]], delay: float = 0.0) -> None:
        import json
        import threading
        import time
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        stub = self
        self.prompts: list[str] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                prompt = body["messages"][1]["content"]
                stub.prompts.append(prompt)
                time.sleep(delay)
                anomalous, explanation = answer(prompt)
                content = json.dumps({"explanation": explanation, "anomalous": anomalous,
                                      "evidence_lines": []})
                data = json.dumps({"choices": [{"message": {"content": content}}]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
