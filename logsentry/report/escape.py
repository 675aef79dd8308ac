"""Make untrusted log text safe to show on a terminal.

Log lines can carry terminal escape sequences (ESC [ ... to recolor, move
the cursor, set the window title), carriage returns that overwrite what was
printed, and bidi overrides that reorder text ("Trojan Source"). They are
shown as visible escapes (``\\x1b``, ``\\r``, ``\\u202e``) instead. Rich markup
is never parsed: text renderers use ``rich.text.Text`` and consoles built
with ``markup=False``.
"""

from __future__ import annotations

import re

_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)
_NAMED = {"\r": "\\r", "\x1b": "\\x1b", "\n": "\\n"}


def _visible(m: re.Match[str]) -> str:
    ch = m.group(0)
    if ch in _NAMED:
        return _NAMED[ch]
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_text(text: str, *, keep_newlines: bool = False) -> str:
    """Control characters and bidi overrides as visible escapes; tabs stay."""
    if keep_newlines:
        return "\n".join(_UNSAFE.sub(_visible, part) for part in text.split("\n"))
    return _UNSAFE.sub(_visible, text.replace("\n", "\\n")) if not text.isprintable() else text
