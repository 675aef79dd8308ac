"""``logsentry config``: where the file is, effective settings and where each comes from.

Precedence: flags > LOGSENTRY_* env > config file > defaults.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import CallMain, Invoke


def _write_config(home: Path, text: str) -> Path:
    path = home / "config" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _show(invoke: Invoke, env: dict[str, str | None] | None = None) -> dict[str, Any]:
    result = invoke(["config", "show", "-o", "json"], env=env)
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert isinstance(shown, list) and len(shown) == 1
    return shown[0]


def test_path_is_under_logsentry_home(invoke: Invoke, isolated_home: Path) -> None:
    result = invoke(["config", "path"])
    assert result.stdout == f"{isolated_home / 'config' / 'config.toml'}\n"


def test_path_follows_logsentry_config(invoke: Invoke, tmp_path: Path) -> None:
    chosen = tmp_path / "elsewhere.toml"
    result = invoke(["config", "path"], env={"LOGSENTRY_CONFIG": str(chosen)})
    assert result.stdout == f"{chosen}\n"


def test_show_reports_default_file_and_env_origins(invoke: Invoke, isolated_home: Path) -> None:
    path = _write_config(isolated_home, 'log_format = "hdfs"\nwindow = "fixed:50"\n')
    shown = _show(invoke, env={"LOGSENTRY_WINDOW": "fixed:7"})
    assert shown["config_file"] == str(path)
    assert shown["dirs"]["state"] == str(isolated_home / "state")
    assert shown["settings"]["log_format"] == "hdfs"
    assert shown["origin"]["log_format"] == f"file {path}"
    assert shown["settings"]["window"] == "fixed:7"
    assert shown["origin"]["window"] == "env LOGSENTRY_WINDOW"
    assert shown["settings"]["color"] == "auto"
    assert shown["origin"]["color"] == "default"


def test_show_text_marks_each_origin(invoke: Invoke, isolated_home: Path) -> None:
    _write_config(isolated_home, "max_line_bytes = 1000\n")
    result = invoke(["config", "show"], env={"LOGSENTRY_MULTILINE": "false"})
    lines = {line.split(" = ")[0]: line for line in result.stdout.splitlines() if " = " in line}
    config = isolated_home / "config" / "config.toml"
    assert lines["max_line_bytes"].endswith(f"# file {config}")
    assert "false" in lines["multiline"]
    assert lines["multiline"].endswith("# env LOGSENTRY_MULTILINE")
    assert lines["color"].endswith("# default")


def test_bad_env_value_is_exit_2(call_main: CallMain, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGSENTRY_MAX_LINE_BYTES", "lots")
    outcome = call_main(["config", "show"])
    assert outcome.code == 2
    assert outcome.err.startswith("logsentry: error: LOGSENTRY_MAX_LINE_BYTES")


def _first_record(invoke: Invoke, log: Path, *flags: str,
                  env: dict[str, str | None] | None = None) -> dict[str, Any]:
    result = invoke(["parse", "-q", "-o", "jsonl", *flags, str(log)], env=env)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout.splitlines()[0])


def test_env_log_format_raw_overrides_detection(invoke: Invoke, hdfs_log: Path) -> None:
    detected = _first_record(invoke, hdfs_log)
    raw = _first_record(invoke, hdfs_log, env={"LOGSENTRY_LOG_FORMAT": "raw"})
    assert detected["level"] == "INFO"
    assert raw["level"] is None
    assert raw["content"] == hdfs_log.read_text().splitlines()[0]


def test_flag_beats_env_and_env_beats_file(
    invoke: Invoke, hdfs_log: Path, isolated_home: Path
) -> None:
    _write_config(isolated_home, 'log_format = "bgl"\n')
    from_env = _first_record(invoke, hdfs_log, env={"LOGSENTRY_LOG_FORMAT": "raw"})
    assert from_env["level"] is None  # raw, not bgl
    from_flag = _first_record(invoke, hdfs_log, "-f", "hdfs",
                              env={"LOGSENTRY_LOG_FORMAT": "raw"})
    assert from_flag["level"] == "INFO"
    assert from_flag["component"] == "dfs.DataNode$PacketResponder"


def test_config_file_color_applies(invoke: Invoke, hdfs_log: Path, isolated_home: Path) -> None:
    _write_config(isolated_home, 'color = "always"\n')
    assert "\x1b[" in invoke(["parse", str(hdfs_log)]).stdout
    assert "\x1b" not in invoke(["parse", "--color", "never", str(hdfs_log)]).stdout


def test_show_follows_the_color_setting(invoke: Invoke, isolated_home: Path) -> None:
    assert "\x1b" not in invoke(["config", "show"]).stdout  # piped
    assert "\x1b[" in invoke(["config", "show"], env={"LOGSENTRY_COLOR": "always"}).stdout
    _write_config(isolated_home, 'color = "always"\n')
    assert "\x1b[" in invoke(["config", "show"]).stdout


def test_show_rejects_a_bad_color_setting(call_main: CallMain, isolated_home: Path) -> None:
    _write_config(isolated_home, 'color = "pink"\n')
    outcome = call_main(["config", "show"])
    assert outcome.code == 2
    assert "pink" in outcome.err
