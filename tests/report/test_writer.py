"""Writers: log text reaches stdout as inert text, JSON stays valid, a closed pipe stops quietly."""

from __future__ import annotations

import io
import json
import re
import unicodedata
from typing import Any

import pytest

from logsentry.context import Environment
from logsentry.errors import OutputClosed
from logsentry.report.escape import escape_text
from logsentry.report.text import record_parts
from logsentry.report.writer import JsonWriter, TextWriter, dumps
from logsentry.types import LogRecord

SGR = re.compile(r"\x1b\[[0-9;]*m")
HOSTILE = ("[bold red]alarm[/bold red] \x1b[31mred\x1b[0m \x1b]0;title\x07 "
           "back\rspace \x85 \u202eevil\u202c :smile: " + "padding " * 20)


def record(content: str, *, source: str = "app.log", line: int = 3) -> LogRecord:
    return LogRecord(source=source, line=line, end_line=line, offset=0, headline=content,
                     content=content)


def render(env_kwargs: dict[str, Any], *parts: tuple[str, str | None]) -> str:
    out = io.StringIO()
    writer = TextWriter(Environment(stdout=out, **env_kwargs))
    writer.line(*parts)
    writer.close()
    return out.getvalue()


# --- text ----------------------------------------------------------------------------------


def test_colored_log_line_shows_markup_and_escapes_literally() -> None:
    parts = record_parts(record(HOSTILE), show_source=True)
    out = render({"stdout_isatty": True, "color": "always"}, *parts)
    assert "[bold red]alarm[/bold red]" in out
    assert "\\x1b[31mred\\x1b[0m" in out
    assert ":smile:" in out  # no emoji codes either
    assert "\\r" in out and "\\x85" in out and "\\u202e" in out
    plain = SGR.sub("", out)
    assert "\x1b" not in plain, "a raw ESC from the log text reached the terminal"
    assert plain == f"app.log:3 T0 {escape_text(HOSTILE)}\n"  # one line, however wide
    # The only ANSI codes are the ones our own styles add (magenta place, cyan template).
    styles_only = render({"stdout_isatty": True, "color": "always"},
                         *record_parts(record("x"), show_source=True))
    assert set(SGR.findall(out)) == set(SGR.findall(styles_only))
    assert set(SGR.findall(out)) >= {"\x1b[35m", "\x1b[36m"}
    assert "\x1b[1;31m" not in out and "\x1b[31m" not in out


def test_colored_line_with_an_escaped_part_directly() -> None:
    out = render({"stdout_isatty": True, "color": "always"},
                 ("12", "magenta"), (" ", None), (escape_text(HOSTILE), None))
    assert "\x1b" not in SGR.sub("", out)
    assert "[bold red]alarm[/bold red]" in out and "\\x1b[31m" in out
    assert set(SGR.findall(out)) <= {"\x1b[35m", "\x1b[0m"}


def test_color_never_writes_no_ansi_at_all() -> None:
    parts = record_parts(record(HOSTILE), show_source=True)
    out = render({"stdout_isatty": True, "color": "never"}, *parts)
    assert "\x1b" not in out
    assert out == f"app.log:3 T0 {escape_text(HOSTILE)}\n"


def test_hostile_source_name_is_escaped_too() -> None:
    parts = record_parts(record("msg", source="evil\x1b[2J.log"), show_source=True)
    out = render({"stdout_isatty": True, "color": "always"}, *parts)
    assert "evil\\x1b[2J.log:3" in SGR.sub("", out)
    assert "\x1b[2J" not in out


@pytest.mark.parametrize(("kwargs", "environ", "colored"), [
    ({"stdout_isatty": False, "color": "auto"}, {}, False),
    ({"stdout_isatty": True, "color": "auto"}, {}, True),
    ({"stdout_isatty": True, "color": "auto"}, {"NO_COLOR": "1"}, False),
    ({"stdout_isatty": True, "color": "auto"}, {"TERM": "dumb"}, False),
    ({"stdout_isatty": False, "color": "always"}, {}, True),
    ({"stdout_isatty": True, "color": "never"}, {}, False),
])
def test_colors_follow_tty_flag_and_no_color(kwargs: dict[str, Any], environ: dict[str, str],
                                             colored: bool) -> None:
    out = render({**kwargs, "environ": environ}, ("where", "magenta"), (" text", None))
    assert ("\x1b[" in out) is colored
    assert SGR.sub("", out) == "where text\n"


def test_renderable_never_parses_markup() -> None:
    out = io.StringIO()
    writer = TextWriter(Environment(stdout=out, stdout_isatty=True, color="always"))
    writer.renderable("[bold red]alarm[/bold red]")
    assert SGR.sub("", out.getvalue()) == "[bold red]alarm[/bold red]\n"


# --- JSON ----------------------------------------------------------------------------------

NASTY = {
    "content": "esc \x1b[31m cr \r nl \n nul \x00 del \x7f c1 \x85\x9b bidi \u202e\u2066 "
               "ls \u2028 中文 café 🙂 quote \" backslash \\",
    "line": 7,
    "fields": {"k\u202e": "v\x1b"},
}


def assert_terminal_safe(raw: str) -> None:
    for ch in raw:
        if ch == "\n":
            continue
        assert unicodedata.category(ch) not in {"Cc", "Zl", "Zp"}, f"raw {ch!r} in JSON"
        assert not 0x202A <= ord(ch) <= 0x202E and not 0x2066 <= ord(ch) <= 0x2069, repr(ch)


def test_jsonl_is_one_valid_object_per_line() -> None:
    out = io.StringIO()
    writer = JsonWriter(out, "jsonl")
    objects = [NASTY, {"content": "plain"}, {"content": ""}]
    for obj in objects:
        writer.write(obj)
    writer.close()
    lines = out.getvalue().split("\n")
    assert lines[-1] == ""
    assert [json.loads(line) for line in lines[:-1]] == objects
    raw = out.getvalue()
    assert_terminal_safe(raw)
    for escaped in ["\\u001b", "\\r", "\\n", "\\u0000", "\\u007f", "\\u0085", "\\u009b",
                    "\\u202e", "\\u2066", "\\u2028"]:
        assert escaped in raw
    assert "中文 café 🙂" in raw  # ordinary Unicode stays readable


@pytest.mark.parametrize("count", [0, 1, 3])
def test_json_mode_is_one_valid_array(count: int) -> None:
    out = io.StringIO()
    writer = JsonWriter(out, "json")
    objects = [{**NASTY, "line": n} for n in range(count)]
    for obj in objects:
        writer.write(obj)
    writer.close()
    assert json.loads(out.getvalue()) == objects
    assert out.getvalue().endswith("\n")
    assert_terminal_safe(out.getvalue())


def test_empty_json_array() -> None:
    out = io.StringIO()
    JsonWriter(out, "json").close()
    assert out.getvalue() == "[]\n"
    assert json.loads(out.getvalue()) == []


def test_empty_jsonl_is_empty() -> None:
    out = io.StringIO()
    JsonWriter(out, "jsonl").close()
    assert out.getvalue() == ""


@pytest.mark.parametrize("text", ["only ascii \x7f here", "\x7f", "ascii \x7f and é"])
def test_del_is_escaped_in_json_even_when_all_ascii(text: str) -> None:
    raw = dumps({"content": text})
    assert "\x7f" not in raw
    assert "\\u007f" in raw
    assert json.loads(raw) == {"content": text}


def test_ascii_json_is_plain_json() -> None:
    obj = {"a": 1, "b": [True, None], "c": "x\ty"}
    assert dumps(obj) == json.dumps(obj, separators=(", ", ": "))


# --- closed pipes ----------------------------------------------------------------------------


class BrokenPipe(io.StringIO):
    """stdout after its reader went away (`| head`)."""

    def __init__(self, *, fail_write: bool = True) -> None:
        super().__init__()
        self.fail_write = fail_write

    def write(self, s: str) -> int:
        if self.fail_write:
            raise BrokenPipeError(32, "Broken pipe")
        return super().write(s)

    def flush(self) -> None:
        raise BrokenPipeError(32, "Broken pipe")


class RichDefaultHandlerReached(Exception):
    pass


@pytest.fixture
def rich_default_handler(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rich's own broken-pipe handler dup2()s /dev/null over fd 1 and exits 1: never run it."""
    from rich.console import Console

    def reached(self: Console) -> None:
        raise RichDefaultHandlerReached

    monkeypatch.setattr(Console, "on_broken_pipe", reached)


@pytest.mark.parametrize("mode", ["jsonl", "json"])
def test_json_writer_raises_output_closed_on_broken_pipe(mode: str) -> None:
    with pytest.raises(OutputClosed):
        JsonWriter(BrokenPipe(), mode).write({"a": 1})
    writer = JsonWriter(BrokenPipe(fail_write=False), mode)
    writer.write({"a": 1})
    with pytest.raises(OutputClosed):
        writer.close()


@pytest.mark.parametrize("color", ["never", "always"])
@pytest.mark.usefixtures("rich_default_handler")
def test_text_writer_raises_output_closed_on_broken_pipe(color: str) -> None:
    env = Environment(stdout=BrokenPipe(), stdout_isatty=True, color=color)
    writer = TextWriter(env)
    with pytest.raises(OutputClosed):  # not SystemExit(1), which means "anomalies found"
        writer.line(("x", "red"), (" y", None))
    with pytest.raises(OutputClosed):
        writer.renderable("table")
    with pytest.raises(OutputClosed):
        writer.close()
