"""``logsentry tail``: real files in a temp dir, the real ``logsentry`` executable in a
subprocess; every line written must appear in exactly one emitted verdict."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from logsentry.sample import sample_lines
from tests.cli.conftest import EXE, CallMain, ChatStub

LINES = list(sample_lines(30, 5, 0.1))
FAST = ["--no-llm", "-o", "jsonl", "--session-idle", "0.6", "--poll", "0.1", "-f", "hdfs"]


def write(path: Path, lines: list[str], mode: str = "a") -> None:
    with path.open(mode, encoding="utf-8") as fh:
        fh.write("".join(line + "\n" for line in lines))


def verdicts(out: Path) -> list[dict[str, object]]:
    text = out.read_text(encoding="utf-8") if out.exists() else ""
    return [json.loads(line) for line in text.splitlines() if line.endswith("}")]


def covered(out: Path) -> Counter[tuple[str, int]]:
    """(sequence-id file tag is not exposed; source + line) -> times judged."""
    seen: Counter[tuple[str, int]] = Counter()
    for v in verdicts(out):
        for n in v["lines"]:  # type: ignore[union-attr]
            seen[(str(v["source"]), int(n))] += 1
    return seen


def wait_for(check: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting")


class Tail:
    def __init__(self, args: list[str], out: Path) -> None:
        self.out = out
        self.err = out.with_suffix(".err")
        with out.open("a") as stdout, self.err.open("a") as stderr:
            self.proc = subprocess.Popen([str(EXE), "tail", "--follow", *args], stdout=stdout,
                                         stderr=stderr)

    def events(self) -> str:
        return self.err.read_text(encoding="utf-8")

    def stop(self, sig: int = signal.SIGTERM) -> int:
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=30)


@pytest.fixture
def tails() -> Iterator[list[Tail]]:
    started: list[Tail] = []
    yield started
    for t in started:
        if t.proc.poll() is None:
            t.proc.kill()
            t.proc.wait()


def start(tails: list[Tail], args: list[str], out: Path) -> Tail:
    t = Tail(args, out)
    tails.append(t)
    wait_for(lambda: "following" in t.events() or t.proc.poll() is not None)
    return t


def test_appended_lines_are_judged_once_and_sigterm_flushes(tmp_path: Path,
                                                           tails: list[Tail]) -> None:
    log, out = tmp_path / "app.log", tmp_path / "out.jsonl"
    write(log, LINES[:100])
    t = start(tails, [str(log), "--from-start", *FAST], out)
    write(log, LINES[100:250])
    wait_for(lambda: sum(covered(out).values()) >= 100)
    write(log, LINES[250:])
    assert t.stop() == 0  # SIGTERM: flush the open sequences, exit 0
    seen = covered(out)
    assert seen == Counter({(str(log), n): 1 for n in range(1, len(LINES) + 1)})
    ids = [v["sequence_id"] for v in verdicts(out)]
    assert len(ids) == len(set(ids))


def test_from_end_is_the_default_for_a_new_file(tmp_path: Path, tails: list[Tail]) -> None:
    log, out = tmp_path / "app.log", tmp_path / "out.jsonl"
    write(log, LINES[:100])
    t = start(tails, [str(log), *FAST], out)
    write(log, LINES[100:160])
    wait_for(lambda: sum(covered(out).values()) >= 60)
    assert t.stop(signal.SIGINT) == 0
    assert set(covered(out)) == {(str(log), n) for n in range(101, 161)}


def test_rotation_copytruncate_and_recreate_lose_nothing(tmp_path: Path,
                                                         tails: list[Tail]) -> None:
    log, out = tmp_path / "app.log", tmp_path / "out.jsonl"
    write(log, LINES[:80])
    t = start(tails, [str(log), "--from-start", *FAST], out)
    wait_for(lambda: sum(covered(out).values()) >= 80)
    write(log, LINES[80:120])  # written just before the rename: must not be lost
    os.rename(log, tmp_path / "app.log.1")
    write(log, LINES[120:200], "w")
    wait_for(lambda: "rotated" in t.events())
    wait_for(lambda: sum(covered(out).values()) >= 200)
    # copytruncate: copy away, truncate in place, keep writing
    log.write_text("", encoding="utf-8")
    write(log, LINES[200:260])
    wait_for(lambda: "truncated" in t.events())
    wait_for(lambda: sum(covered(out).values()) >= 260)
    log.unlink()  # delete + recreate
    time.sleep(0.3)
    write(log, LINES[260:300], "w")
    wait_for(lambda: sum(covered(out).values()) >= 300)
    assert t.stop() == 0
    # four generations of app.log, each numbered from line 1: the old file (120 lines),
    # the new one after the rename (80), after the truncation (60), after re-creation (40)
    expected: Counter[tuple[str, int]] = Counter()
    for size in (120, 80, 60, 40):
        expected.update((str(log), n) for n in range(1, size + 1))
    assert covered(out) == expected
    ids = [v["sequence_id"] for v in verdicts(out)]
    assert len(ids) == len(set(ids))  # generations get their own ids (file fingerprint)


def test_glob_picks_up_new_files_and_partial_lines_wait(tmp_path: Path,
                                                        tails: list[Tail]) -> None:
    out = tmp_path / "out.jsonl"
    write(tmp_path / "a.log", LINES[:50])
    t = start(tails, [str(tmp_path / "*.log"), "--from-start", *FAST], out)
    write(tmp_path / "b.log", LINES[50:90], "w")  # a new file: read from its start
    (tmp_path / "c.txt").write_text(LINES[0] + "\n", encoding="utf-8")  # not matched
    with (tmp_path / "a.log").open("a", encoding="utf-8") as fh:
        fh.write(LINES[50][:20])  # a partial line, completed a moment later
        fh.flush()
        time.sleep(0.3)
        fh.write(LINES[50][20:] + "\n")
    wait_for(lambda: sum(covered(out).values()) >= 91)
    assert t.stop() == 0
    seen = covered(out)
    assert {s for s, _ in seen} == {str(tmp_path / "a.log"), str(tmp_path / "b.log")}
    assert sum(seen.values()) == 91 and max(seen.values()) == 1


def test_kill_9_at_an_idle_moment_then_restart_repeats_and_loses_nothing(
        tmp_path: Path, tails: list[Tail]) -> None:
    log, out = tmp_path / "app.log", tmp_path / "out.jsonl"
    write(log, LINES[:120])
    t = start(tails, [str(log), "--from-start", *FAST], out)
    wait_for(lambda: sum(covered(out).values()) >= 120)
    time.sleep(0.5)  # idle: every sequence judged, the checkpoint at the end
    t.stop(signal.SIGKILL)
    write(log, LINES[120:])  # written while nobody watches
    t2 = start(tails, [str(log), *FAST], out)  # --from-end would skip; the checkpoint wins
    wait_for(lambda: sum(covered(out).values()) >= len(LINES))
    assert t2.stop() == 0
    assert covered(out) == Counter({(str(log), n): 1 for n in range(1, len(LINES) + 1)})


def test_without_follow_it_judges_only_what_is_new(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    write(log, LINES[:200])
    env = dict(os.environ)
    first = subprocess.run([str(EXE), "tail", str(log), *FAST], capture_output=True, text=True,
                           env=env)
    assert first.returncode in (0, 1), first.stderr
    lines = sum(len(json.loads(v)["lines"]) for v in first.stdout.splitlines())
    assert lines == 200
    again = subprocess.run([str(EXE), "tail", str(log), *FAST], capture_output=True,
                           text=True, env=env)
    assert again.returncode == 0 and again.stdout == ""
    write(log, LINES[200:260])
    third = subprocess.run([str(EXE), "tail", str(log), *FAST], capture_output=True,
                           text=True, env=env)
    numbers = sorted(n for v in third.stdout.splitlines() for n in json.loads(v)["lines"])
    assert numbers == list(range(201, 261))


def test_corrupt_checkpoints_are_moved_aside_with_a_clear_error(
        tmp_path: Path, isolated_home: Path) -> None:
    state = isolated_home / "state" / "follow"
    state.mkdir(parents=True)
    (state / "checkpoints.json").write_text("{broken", encoding="utf-8")
    log = tmp_path / "app.log"
    write(log, LINES[:10])
    result = subprocess.run([str(EXE), "tail", str(log), *FAST], capture_output=True,
                            text=True)
    assert result.returncode == 2
    assert "were corrupt" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    retry = subprocess.run([str(EXE), "tail", str(log), *FAST], capture_output=True, text=True)
    assert retry.returncode in (0, 1)


def test_status_shows_followed_files_and_their_lag(tmp_path: Path, call_main: CallMain) -> None:
    log = tmp_path / "app.log"
    write(log, LINES[:50])
    assert subprocess.run([str(EXE), "tail", str(log), *FAST], capture_output=True).returncode \
        in (0, 1)
    write(log, LINES[50:60])
    result = call_main(["status", "-o", "jsonl"])
    assert result.code == 0, result.err
    (row,) = [json.loads(line) for line in result.out.splitlines()]
    assert row["path"] == str(log) and row["lines"] == 50 and row["state"] == "current"
    assert row["lag_bytes"] == sum(len(line) + 1 for line in LINES[50:60])
    text = call_main(["status"])
    assert str(log) in text.out and "behind" in text.out


def test_alert_command_runs_per_anomaly_shape(tmp_path: Path) -> None:
    log, alerts = tmp_path / "app.log", tmp_path / "alerts.jsonl"
    write(log, LINES)
    result = subprocess.run([str(EXE), "tail", str(log), *FAST, "--alert-cmd",
                             f'cat >> "{alerts}"; echo >> "{alerts}"'],
                            capture_output=True, text=True)
    anomalous = [json.loads(v) for v in result.stdout.splitlines()
                 if json.loads(v)["verdict"] == "anomalous"]
    assert result.returncode == 1 and anomalous
    sent = [json.loads(line) for line in alerts.read_text(encoding="utf-8").splitlines() if line]
    assert sent and all(a["verdict"] == "anomalous" and "alert" in a for a in sent)
    assert {a["sequence_id"] for a in sent} <= {v["sequence_id"] for v in anomalous}
    assert "alerts: " in result.stderr and " sent" in result.stderr


def test_a_slow_llm_never_holds_up_reading_and_a_full_queue_falls_back(
        tmp_path: Path, tails: list[Tail], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGSENTRY_LLM", "1")
    stub = ChatStub(lambda _prompt: (True, "slow stub"), delay=0.7)
    try:
        lines = list(sample_lines(60, 8, 0.25))
        log, out = tmp_path / "app.log", tmp_path / "out.jsonl"
        write(log, lines)
        args = [str(log), "--from-start", *[a for a in FAST if a != "--no-llm"],
                "--llm-endpoint", stub.url,
                "--llm-queue", "1"]
        t = start(tails, args, out)
        # every line is judged although the LLM answers one sequence per 0.7 s
        wait_for(lambda: sum(covered(out).values()) >= len(lines), timeout=30)
        assert t.stop() == 0
    finally:
        stub.close()
    seen = covered(out)
    assert seen == Counter({(str(log), n): 1 for n in range(1, len(lines) + 1)})
    escalated = [v for v in verdicts(out) if v["escalated"]]
    by = Counter(str(v["decided_by"]) for v in escalated)
    assert by["llm"] >= 1  # some were answered ...
    reasons = {v["reason"] for v in escalated if v["decided_by"] == "small_model_fallback"}
    assert "LLM queue full (the LLM is slower than the log)" in reasons  # ... some not


def test_sighup_reloads_and_stats_interval_reports(tmp_path: Path, tails: list[Tail]) -> None:
    log, out = tmp_path / "app.log", tmp_path / "out.jsonl"
    write(log, LINES[:40])
    t = start(tails, [str(log), "--from-start", "--stats-interval", "0.2", *FAST], out)
    wait_for(lambda: "status: " in t.events())
    t.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: "SIGHUP: settings reloaded" in t.events())
    write(log, LINES[40:80])  # still following after the reload
    wait_for(lambda: sum(covered(out).values()) >= 80)
    assert t.stop() == 0
    status = next(line for line in t.events().splitlines() if "status: " in line)
    assert "lines/s" in status and "sequences" in status


def test_tail_refuses_stdin_and_json_arrays(call_main: CallMain) -> None:
    piped = call_main(["tail", "-"])
    assert piped.code == 2 and "logsentry scan -" in piped.err
    array = call_main(["tail", "x.log", "-o", "json"])
    assert array.code == 2 and "-o jsonl" in array.err


def test_a_rotation_while_stopped_loses_nothing(tmp_path: Path, tails: list[Tail]) -> None:
    log, out = tmp_path / "app.log", tmp_path / "out.jsonl"
    write(log, LINES[:100])
    t = start(tails, [str(log), "--from-start", *FAST], out)
    wait_for(lambda: sum(covered(out).values()) >= 100)
    assert t.stop() == 0
    write(log, LINES[100:150])  # written after the stop, then rotated away
    os.rename(log, tmp_path / "app.log.1")
    write(log, LINES[150:200], "w")
    t2 = start(tails, [str(log), *FAST], out)  # only app.log is named
    wait_for(lambda: sum(covered(out).values()) >= 200)
    assert t2.stop() == 0
    expected = Counter({(str(log), n): 1 for n in range(1, 151)})
    expected.update((str(log), n) for n in range(1, 51))  # the new app.log
    assert covered(out) == expected
    assert "now " in t2.events()  # the old file was found under its new name


def test_missing_binary_and_directory_inputs_get_one_line_each(tmp_path: Path) -> None:
    good, junk = tmp_path / "app.log", tmp_path / "junk.bin"
    write(good, LINES[:40])
    junk.write_bytes(b"\x00\x01\x02garbage\n" * 50)
    result = subprocess.run([str(EXE), "tail", str(good), str(junk), str(tmp_path / "nope.log"),
                             str(tmp_path), *FAST], capture_output=True, text=True)
    assert result.returncode == 2  # the good file was still judged
    assert sum(len(json.loads(v)["lines"]) for v in result.stdout.splitlines()) == 40
    errors = [line for line in result.stderr.splitlines() if "error" in line]
    assert len(errors) == 3 and "Traceback" not in result.stderr
    assert any("binary" in e for e in errors) and any("no such file" in e for e in errors)
    assert any("is a directory" in e for e in errors)
