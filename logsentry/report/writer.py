"""Writers for stdout: JSON lines, a JSON array, or styled text lines.

JSON never carries prose; control characters are escaped by the encoder,
and C1 controls and bidi overrides (which ``ensure_ascii=False`` would let
through) are escaped too, so JSON on a terminal is as safe as text.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any, TextIO

from logsentry.context import Environment
from logsentry.errors import OutputClosed

if TYPE_CHECKING:
    from rich.console import Console

_JSON_UNSAFE = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _json_escape(m: re.Match[str]) -> str:
    return f"\\u{ord(m.group(0)):04x}"


# One encoder for every object: json.dumps with options builds a new one per call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": "))


def dumps(obj: Any) -> str:
    text = _ENCODER.encode(obj)
    # DEL is ASCII, so an all-ASCII text can still need escaping.
    if text.isascii() and "\x7f" not in text:
        return text
    return _JSON_UNSAFE.sub(_json_escape, text)


class JsonWriter:
    """``jsonl``: one object per line; ``json``: one array, streamed as it grows."""

    def __init__(self, stream: TextIO, mode: str) -> None:
        self.stream = stream
        self.array = mode == "json"
        self.count = 0

    def write(self, obj: Any) -> None:
        text = dumps(obj)
        try:
            if self.array:
                self.stream.write(("[\n  " if self.count == 0 else ",\n  ") + text)
            else:
                self.stream.write(text + "\n")
        except BrokenPipeError:
            raise OutputClosed from None
        self.count += 1

    def close(self) -> None:
        try:
            if self.array:
                self.stream.write("[]\n" if self.count == 0 else "\n]\n")
            self.stream.flush()
        except BrokenPipeError:
            raise OutputClosed from None


Part = tuple[str, str | None]  # (already escaped text, rich style or None)


class TextWriter:
    """Lines of styled parts; plain writes when colors are off (fast, no rich)."""

    def __init__(self, env: Environment) -> None:
        self.env = env
        self.stream = env.stdout
        self.color = env.stdout_color
        self._console = _console(env) if self.color else None

    def line(self, *parts: Part) -> None:
        try:
            if self._console is None:
                self.stream.write("".join(p[0] for p in parts) + "\n")
                return
            from rich.text import Text

            # A None style is fine at run time (Text.append takes Optional); the stub says no.
            text = Text.assemble(*parts)  # type: ignore[arg-type]
            self._console.print(text, crop=False, overflow="ignore")
        except BrokenPipeError:
            raise OutputClosed from None

    def renderable(self, obj: Any) -> None:
        console = self._console or _console(self.env)
        try:
            console.print(obj)
        except BrokenPipeError:
            raise OutputClosed from None

    def close(self) -> None:
        try:
            self.stream.flush()
        except BrokenPipeError:
            raise OutputClosed from None


def _console(env: Environment) -> Console:
    """The environment's console (it raises OutputClosed on a broken pipe)."""
    return env.console()
