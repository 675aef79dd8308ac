"""Masks: variable parts of a message replaced by ``<NAME>`` before Drain sees it.

Masks run on the message after every run of two or more digits has been
replaced by a single ``0`` (``collapse_digits``). That makes masking, and so
everything Drain sees, a function of the collapsed text, which repeats far
more than the raw text does: the parser caches by it and skips masking and
the tree search for repeats. So write masks with ``\\d+``, never ``\\d{4}``
(a digit run is at most one character long after collapsing, or a lone digit).

All masks are compiled into one alternation, applied in one pass (leftmost
match wins; at one position, earlier masks win). Masks never span whitespace,
so a masked message has the same tokens as the original and parameters can
be read back token by token.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from logsentry.config import MaskSpec
from logsentry.errors import ConfigError

_DIGIT_RUNS = re.compile(r"\d\d+")
collapse_digits = _DIGIT_RUNS.sub  # collapse_digits("0", text)

# Token boundaries: a mask must not start or end inside a word.
_B = r"(?<![\w])"
_E = r"(?![\w])"
_H = r"[0-9a-fA-F]+"

# Addresses (MAC, IPv6, dashed host names) are made of the same characters as
# timestamps and ids; masks that could match inside one refuse neighbours of
# ':' '.' '-' as well as word characters.
_AB = r"(?<![\w:.-])"
_AE = r"(?![\w:.-])"

DEFAULT_MASKS: tuple[MaskSpec, ...] = (
    MaskSpec("TS", _B + r"\d+-\d+-\d+T\d+:\d+:\d+(?:[.,]\d+)?(?:Z|[+-]\d+(?::\d+)?)?" + _E),
    MaskSpec("DATE", _AB + r"\d+-\d+-\d+" + _AE),
    MaskSpec("TIME", _AB + r"\d+:\d+:\d+(?:[.,]\d+)?" + _AE),
    MaskSpec("KLOG", _AB + r"[IWEF]0" + _AE),  # a klog/glog header inside a message: I0301
    MaskSpec("UUID", _AB + f"{_H}-{_H}-{_H}-{_H}-{_H}" + _AE),
    MaskSpec("BLK", _B + r"blk_-?\d+" + _E),
    MaskSpec("URL", _B + r"[a-zA-Z][\w+.-]*://[^\s\"'<>]+"),
    MaskSpec("IP", r"(?<![\w.])\d+\.\d+\.\d+\.\d+(?::\d+)?(?![\w.])"),
    MaskSpec("HOSTPORT", r"(?<![\w.])[a-zA-Z0-9][\w-]*(?:\.[\w-]+)+:\d+" + _E),
    MaskSpec("PATH", r"(?<![\w.])(?:[A-Za-z]:)?(?:/[\w.~+@-]+){2,}/?"),
    MaskSpec("HEX", _B + r"0[xX][0-9a-fA-F]+" + _E),
    # Hex ids: hex digits and letters mixed, at least 4 characters after digit
    # collapsing (0244c22c -> 0c0c), so short words like ec2 or be2 stay words;
    # a mostly-numeric id can collapse below that (001061dc -> 0dc) and stay.
    MaskSpec("HEXID", _B + r"(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{4,}" + _E),
    MaskSpec("NUM", r"(?<![\w.])[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w.]*\w)"),
)


def compile_masks(specs: Iterable[MaskSpec]) -> tuple[re.Pattern[str], list[str]]:
    specs = list(specs)
    parts = []
    names = []
    for i, spec in enumerate(specs):
        try:
            re.compile(spec.regex)
        except re.error as exc:
            raise ConfigError(f"mask {spec.name!r}: bad regex: {exc}") from None
        if not re.fullmatch(r"[A-Za-z][\w-]*", spec.name):
            raise ConfigError(f"mask name {spec.name!r}: use letters, digits, _ and -")
        parts.append(f"(?P<m{i}>{spec.regex})")
        names.append(f"<{spec.name}>")
    if not parts:
        return re.compile(r"(?!)"), names
    return re.compile("|".join(parts)), names


class Masker:
    def __init__(self, specs: Iterable[MaskSpec] = DEFAULT_MASKS) -> None:
        self.specs = tuple(specs)
        self.regex, names = compile_masks(self.specs)
        by_group = {f"m{i}": name for i, name in enumerate(names)}
        sub = self.regex.sub

        def replace(m: re.Match[str]) -> str:
            return by_group[m.lastgroup]  # type: ignore[index]

        def mask(text: str) -> str:
            return sub(replace, text)

        self.mask = mask
