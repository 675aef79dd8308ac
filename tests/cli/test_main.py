"""``logsentry.cli.main``: exceptions become one-line errors and grep-like exit codes."""

from __future__ import annotations

import gzip
import io
import json
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from logsentry import __version__
from logsentry.cli import main
from logsentry.status import ExitCode
from tests.cli.conftest import EXE, CallMain, RunExe, one_error_line


def test_missing_file_is_one_error_line_and_exit_2(call_main: CallMain, tmp_path: Path) -> None:
    outcome = call_main(["parse", str(tmp_path / "nope.log")])
    assert outcome.code == ExitCode.USAGE
    assert outcome.out == ""
    assert "nope.log" in one_error_line(outcome.err)


def test_missing_file_in_a_real_process_has_no_traceback(run_exe: RunExe, tmp_path: Path) -> None:
    done = run_exe(["templates", str(tmp_path / "nope.log")])
    assert done.returncode == 2
    assert done.stdout == b""
    one_error_line(done.stderr.decode())


def test_binary_input_is_refused_without_force(call_main: CallMain, tmp_path: Path) -> None:
    blob = tmp_path / "core.bin"
    blob.write_bytes(bytes(range(256)) * 16)
    refused = call_main(["parse", "-f", "raw", str(blob)])
    assert refused.code == ExitCode.USAGE
    assert "--force" in one_error_line(refused.err)
    forced = call_main(["parse", "-f", "raw", "--force", "-o", "jsonl", str(blob)])
    assert forced.code == ExitCode.OK
    assert forced.out.count("\n") >= 1


@pytest.mark.parametrize(
    ("args", "mentions"),
    [
        (["sequences", "--window", "fixed:0"], "--window"),
        (["sequences", "--window", "sliding:5,10"], "--window"),
        (["sequences", "--window", "hourly"], "--window"),
        (["parse", "--log-format", "nosuchformat"], "nosuchformat"),
        (["parse", "--output", "xml"], "--output"),
        (["templates", "--color", "pink"], "--color"),
        (["templates", "--sort", "size"], "--sort"),
        (["parse", "--profile", "../escape"], "profile"),
        (["parse", "--max-line-bytes", "0"], "--max-line-bytes"),
    ],
)
def test_bad_option_value_is_one_error_line_and_exit_2(
    call_main: CallMain, hdfs_log: Path, args: list[str], mentions: str
) -> None:
    outcome = call_main([*args, str(hdfs_log)])
    assert outcome.code == ExitCode.USAGE
    assert outcome.out == ""
    assert mentions in one_error_line(outcome.err)


@pytest.mark.parametrize("args", [["--profile", "a/b"], ["--max-line-bytes", "-1"]])
def test_bad_option_value_is_reported_once_even_for_empty_or_many_inputs(
    call_main: CallMain, tmp_path: Path, args: list[str]
) -> None:
    empty = tmp_path / "empty.log"
    empty.write_bytes(b"")
    for inputs in ([str(empty)], [str(empty)] * 3):
        outcome = call_main(["templates", *args, *inputs])
        assert outcome.code == ExitCode.USAGE
        one_error_line(outcome.err)


def test_unknown_option_is_a_usage_error(call_main: CallMain) -> None:
    outcome = call_main(["parse", "--frobnicate"])
    assert outcome.code == ExitCode.USAGE
    assert "--frobnicate" in outcome.err
    assert "Traceback" not in outcome.err


def test_invalid_toml_in_logsentry_config_is_exit_2(
    call_main: CallMain, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, hdfs_log: Path
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("log_format = \n", encoding="utf-8")
    monkeypatch.setenv("LOGSENTRY_CONFIG", str(bad))
    for args in (["templates", str(hdfs_log)], ["config", "show"], ["formats"]):
        outcome = call_main(args)
        assert outcome.code == ExitCode.USAGE, args
        assert str(bad) in one_error_line(outcome.err)


def test_invalid_toml_in_the_config_dir_is_exit_2(
    call_main: CallMain, isolated_home: Path, hdfs_log: Path
) -> None:
    config = isolated_home / "config" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text("[formats\n", encoding="utf-8")
    outcome = call_main(["parse", str(hdfs_log)])
    assert outcome.code == ExitCode.USAGE
    assert outcome.out == ""
    assert "config.toml" in one_error_line(outcome.err)


def test_config_file_that_is_not_utf8_is_exit_2(call_main: CallMain, isolated_home: Path) -> None:
    config = isolated_home / "config" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_bytes(b'log_format = "h\xe9dfs"\n')  # Latin-1, not UTF-8
    outcome = call_main(["config", "show"])
    assert outcome.code == ExitCode.USAGE
    assert "config.toml" in one_error_line(outcome.err)


def test_unknown_setting_in_config_is_exit_2(call_main: CallMain, isolated_home: Path) -> None:
    config = isolated_home / "config" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text('colour = "never"\n', encoding="utf-8")
    outcome = call_main(["config", "show"])
    assert outcome.code == ExitCode.USAGE
    assert "colour" in one_error_line(outcome.err)


def test_one_missing_file_among_several_still_processes_the_others(
    call_main: CallMain, hdfs_log: Path, tmp_path: Path
) -> None:
    missing = tmp_path / "gone.log"
    outcome = call_main(["parse", "-q", "-f", "hdfs", "-o", "jsonl", str(missing), str(hdfs_log)])
    assert outcome.code == ExitCode.USAGE
    records = [json.loads(line) for line in outcome.out.splitlines()]
    assert len(records) == 2000
    assert {r["source"] for r in records} == {str(hdfs_log)}
    assert "gone.log" in one_error_line(outcome.err)


def test_one_missing_file_after_another_still_shows_its_output(
    call_main: CallMain, hdfs_log: Path, tmp_path: Path
) -> None:
    gone = tmp_path / "gone.log"
    outcome = call_main(["templates", "-q", "-f", "hdfs", str(hdfs_log), str(gone)])
    assert outcome.code == ExitCode.USAGE
    assert "PacketResponder <NUM> for block <BLK> terminating" in outcome.out
    one_error_line(outcome.err)


@pytest.mark.parametrize("command", ["parse", "templates", "sequences"])
def test_empty_stdin_and_empty_file_are_ok(
    call_main: CallMain, tmp_path: Path, command: str
) -> None:
    empty = tmp_path / "empty.log"
    empty.write_bytes(b"")
    from_stdin = call_main([command, "-o", "jsonl", "-"], stdin=b"")
    assert (from_stdin.code, from_stdin.out, from_stdin.err) == (0, "", "")
    from_file = call_main([command, "-o", "json", str(empty)])
    assert (from_file.code, from_file.err) == (0, "")
    assert json.loads(from_file.out) == []


def test_empty_gzip_on_stdin_is_ok(call_main: CallMain) -> None:
    outcome = call_main(["parse", "-"], stdin=gzip.compress(b""))
    assert (outcome.code, outcome.out) == (0, "")


def test_truncated_gzip_keeps_the_lines_before_and_exits_2(
    call_main: CallMain, hdfs_log: Path
) -> None:
    packed = gzip.compress(hdfs_log.read_bytes())
    outcome = call_main(["parse", "-q", "-f", "hdfs", "-o", "jsonl", "-"],
                        stdin=packed[: len(packed) // 2])
    assert outcome.code == ExitCode.USAGE
    assert 0 < outcome.out.count("\n") < 2000
    assert "gzip" in one_error_line(outcome.err)


def test_unexpected_exception_is_an_internal_error_line(
    call_main: CallMain, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("logsentry.cli.formats_cmd.available_formats", broken)
    outcome = call_main(["formats"])
    assert outcome.code == ExitCode.INTERNAL
    assert outcome.err.startswith("logsentry: internal error: RuntimeError: boom")
    assert len(outcome.err.splitlines()) == 1
    with pytest.raises(RuntimeError):
        call_main(["--debug", "formats"])


def test_version(call_main: CallMain) -> None:
    outcome = call_main(["--version"])
    assert (outcome.code, outcome.out) == (0, f"logsentry {__version__}\n")


def test_no_arguments_shows_help(run_exe: RunExe) -> None:
    done = run_exe([])
    assert b"Usage" in done.stdout + done.stderr
    assert b"Traceback" not in done.stderr


def _big_log(tmp_path: Path, hdfs_log: Path, copies: int = 8) -> Path:
    big = tmp_path / "big.log"
    big.write_bytes(hdfs_log.read_bytes() * copies)
    return big


@pytest.mark.parametrize(
    "args", [["parse"], ["parse", "-o", "jsonl"], ["sequences", "-w", "fixed:1"]]
)
def test_closed_stdout_stops_quietly(tmp_path: Path, hdfs_log: Path, args: list[str]) -> None:
    """``logsentry parse big.log | head -1``: no traceback, no complaint."""
    big = _big_log(tmp_path, hdfs_log)
    proc = subprocess.Popen([str(EXE), *args, "-q", str(big)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()  # what `head -1` does after one line
    err = proc.stderr.read()
    code = proc.wait(timeout=60)
    assert first
    assert b"Traceback" not in err, err.decode()
    assert b"Exception ignored" not in err, err.decode()
    assert err == b""
    assert code == 0


def test_closed_stdout_through_a_shell_pipe(tmp_path: Path, hdfs_log: Path) -> None:
    big = _big_log(tmp_path, hdfs_log)
    done = subprocess.run(
        ["bash", "-c", f'"{EXE}" parse -q "{big}" | head -1; echo "status=${{PIPESTATUS[0]}}" >&2'],
        capture_output=True, timeout=60, check=False,
    )
    assert len(done.stdout.splitlines()) == 1
    assert done.stderr.decode().strip() == "status=0"


class _ClosedPipe(io.StringIO):
    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


@pytest.mark.parametrize("args", [["parse", "-q"], ["sample"], ["templates", "-q", "-o", "json"]])
def test_closed_stdout_that_is_not_a_file_stops_quietly_in_process(
    monkeypatch: pytest.MonkeyPatch, hdfs_log: Path, args: list[str]
) -> None:
    monkeypatch.setattr(sys, "stdout", _ClosedPipe())
    with pytest.raises(SystemExit) as exited:
        main([*args, str(hdfs_log)] if args[0] != "sample" else args)
    assert exited.value.code == 0


def test_sample_into_a_closed_pipe_stops_quietly() -> None:
    proc = subprocess.Popen([str(EXE), "sample", "--blocks", "5000"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == 0
    assert err == b"", err.decode()


def test_interrupt_exits_130_quietly_and_keeps_parser_state(
    hdfs_log: Path, isolated_home: Path
) -> None:
    """Ctrl-C while waiting for more input: exit 130, no traceback, state saved."""
    # A shell's background job inherits SIGINT ignored; Python then keeps it so.
    proc = subprocess.Popen([str(EXE), "parse", "-q", "-f", "hdfs", "-"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert proc.stdin is not None and proc.stdout is not None
    try:
        # Little enough that neither pipe fills up while nobody reads it (64 KiB).
        lines = hdfs_log.read_bytes().splitlines(keepends=True)[:300]
        proc.stdin.write(b"".join(lines))
        proc.stdin.flush()
        ready, _, _ = select.select([proc.stdout], [], [], 30)
        assert ready, "no output within 30 s"
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == ExitCode.INTERRUPTED
    assert b"Traceback" not in err, err.decode()
    assert (isolated_home / "state" / "parsers" / "hdfs.json").is_file()


# -- start-up ---------------------------------------------------------------

HEAVY = ("torch", "transformers", "onnxruntime", "llama_cpp", "sklearn", "numpy")
NOT_FOR_HELP = ("drain3", "jsonpickle")  # only commands that parse need Drain3


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["completions", "bash"]])
def test_start_up_is_fast_and_imports_no_heavy_module(args: list[str]) -> None:
    snippet = (
        "import sys, json\n"
        "from logsentry.cli import main\n"
        "try:\n"
        f"    main({args!r})\n"
        "except SystemExit as exc:\n"
        "    code = exc.code\n"
        "sys.stderr.write(json.dumps({'code': code, 'modules': sorted(sys.modules)}))\n"
    )
    done = subprocess.run([sys.executable, "-c", snippet], capture_output=True, timeout=60,
                          check=False)
    report = json.loads(done.stderr)
    assert report["code"] == 0
    loaded = {name.split(".")[0] for name in report["modules"]}
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))
    assert not loaded & set(NOT_FOR_HELP), sorted(loaded & set(NOT_FOR_HELP))


@pytest.mark.parametrize("args", [["--help"], ["--version"]])
def test_executable_help_and_version_finish(run_exe: RunExe, args: list[str]) -> None:
    started = time.monotonic()
    done = run_exe(args)
    elapsed = time.monotonic() - started
    assert done.returncode == 0
    assert b"logsentry" in done.stdout
    assert done.stderr == b""
    assert elapsed < 3, f"{args} took {elapsed:.2f}s (sanity bound only)"


def test_python_dash_m_runs_the_cli() -> None:
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "logsentry", "--help"],
                          capture_output=True, timeout=60, check=False)
    assert done.returncode == 0
    assert b"Usage" in done.stdout
    imported = {line.split("|")[-1].strip().split(".")[0]
                for line in done.stderr.decode().splitlines() if line.startswith("import time:")}
    assert "logsentry" in imported
    assert not imported & set(HEAVY)
