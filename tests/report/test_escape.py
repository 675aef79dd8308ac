"""Log text shown on a terminal cannot recolor, move the cursor, overwrite or reorder it."""

from __future__ import annotations

import random
import unicodedata

import pytest

from logsentry.report.escape import escape_text

C0 = [chr(c) for c in range(0x20) if chr(c) not in "\t\n"]
C1 = [chr(c) for c in range(0x80, 0xA0)]
BIDI = [chr(c) for c in [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]]
OTHER_FORMAT = ["\u061c", "\u200e", "\u200f", "\u2028", "\u2029"]


def is_safe(text: str) -> bool:
    """Nothing a terminal would act on: no C0 (but tab), DEL, C1, bidi or line controls."""
    unsafe = set(BIDI + OTHER_FORMAT)
    return all(ch == "\t" or (unicodedata.category(ch) != "Cc" and ch not in unsafe)
               for ch in text)


def test_ansi_color_sequence_is_shown_not_interpreted() -> None:
    assert escape_text("\x1b[31mred\x1b[0m") == "\\x1b[31mred\\x1b[0m"


@pytest.mark.parametrize("attack", [
    "\x1b]0;pwned\x07",  # set the window title
    "\x1b[2J\x1b[H",  # clear the screen, cursor home
    "\x1bP+q\x1b\\",  # DCS query
    "\x9b31m",  # 8-bit CSI
    "\x1b[6n",  # cursor position report: makes the terminal type into stdin
])
def test_terminal_control_sequences_lose_their_escape(attack: str) -> None:
    shown = escape_text(f"user {attack} logged in")
    assert is_safe(shown)
    assert "\x1b" not in shown and "\x9b" not in shown and "\x07" not in shown


def test_carriage_return_cannot_overwrite_the_line() -> None:
    assert escape_text("login ok\rlogin FAILED") == "login ok\\rlogin FAILED"


@pytest.mark.parametrize("ch", C0)
def test_every_c0_control_but_tab_and_newline_is_escaped(ch: str) -> None:
    shown = escape_text(f"a{ch}b")
    expected = {"\r": "\\r", "\x1b": "\\x1b"}.get(ch, f"\\x{ord(ch):02x}")
    assert shown == f"a{expected}b"


def test_del_is_escaped() -> None:
    assert escape_text("rm\x7f\x7f") == "rm\\x7f\\x7f"


@pytest.mark.parametrize("ch", C1)
def test_every_c1_control_is_escaped(ch: str) -> None:
    assert escape_text(f"x{ch}y") == f"x\\x{ord(ch):02x}y"


@pytest.mark.parametrize("ch", BIDI + OTHER_FORMAT)
def test_bidi_overrides_and_line_separators_are_escaped(ch: str) -> None:
    assert escape_text(f"admin{ch}nimda") == f"admin\\u{ord(ch):04x}nimda"


def test_trojan_source_line_reads_in_storage_order() -> None:
    line = "access granted \u202eun \u2066if (isAdmin)\u2069 \u2066 begin admins only\u202c"
    shown = escape_text(line)
    assert shown == ("access granted \\u202eun \\u2066if (isAdmin)\\u2069 "
                     "\\u2066 begin admins only\\u202c")


def test_newline_is_escaped_unless_kept() -> None:
    assert escape_text("one\ntwo") == "one\\ntwo"
    assert escape_text("one\x1b\ntwo\r", keep_newlines=True) == "one\\x1b\ntwo\\r"


def test_tabs_stay() -> None:
    assert escape_text("a\tb\t\tc") == "a\tb\t\tc"


@pytest.mark.parametrize("text", [
    "plain ASCII log line: user=alice id=42",
    "中文日志：用户登录失败",
    "café naïve Ångström Ωmega Привет",
    "emoji 🙂 and a combining e\u0301",
    "אבג right-to-left text itself is fine",
    "",
])
def test_ordinary_text_is_unchanged(text: str) -> None:
    assert escape_text(text) == text
    assert escape_text(text, keep_newlines=True) == text


def test_backslashes_are_left_alone() -> None:
    assert escape_text("C:\\temp\\x1b") == "C:\\temp\\x1b"


def test_any_text_comes_out_safe_and_escaping_twice_changes_nothing() -> None:
    rng = random.Random(11)
    alphabet = [chr(c) for c in range(0x00, 0x250)] + C1 + BIDI + OTHER_FORMAT + ["中", "🙂"]
    for _ in range(500):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        shown = escape_text(text)
        assert is_safe(shown), repr(shown)
        assert "\n" not in shown
        assert escape_text(shown) == shown
        kept = escape_text(text, keep_newlines=True)
        assert kept.count("\n") == text.count("\n")
        assert all(is_safe(part) for part in kept.split("\n"))


def test_every_unsafe_code_point_in_the_bmp_is_escaped() -> None:
    for code in range(0x10000):
        ch = chr(code)
        if unicodedata.category(ch) in {"Cc", "Zl", "Zp"} or ch in BIDI + OTHER_FORMAT:
            if ch in "\t\n":
                continue
            assert ch not in escape_text(f"a{ch}b"), f"U+{code:04X} passes through"
