"""What the sentence encoder reads for a template.

Mask tokens become words the encoder knows (``<IP>`` -> "ip address"),
identifiers are split (``PacketResponder`` -> "packet responder",
``dfs.DataNode$DataXceiver`` -> "dfs data node data xceiver"), and
punctuation becomes spaces, as LogRobust and MetaLog preprocess templates.
"""

from __future__ import annotations

import re

MASK_WORDS = {
    "TS": "timestamp", "DATE": "date", "TIME": "time", "KLOG": "log header",
    "UUID": "id", "BLK": "block id", "URL": "url", "IP": "ip address",
    "HOSTPORT": "host", "PATH": "file path", "HEX": "hex number", "HEXID": "id",
    "NUM": "number", "CORE": "core", "*": "value",
}
_MASK = re.compile(r"<([A-Za-z*][\w*-]*)>")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_PUNCT = re.compile(r"[^A-Za-z]+")


def template_text(template: str) -> str:
    def word(m: re.Match[str]) -> str:
        return f" {MASK_WORDS.get(m.group(1), m.group(1).lower())} "

    text = _MASK.sub(word, template)
    text = _CAMEL.sub(" ", text)
    text = _PUNCT.sub(" ", text)
    return " ".join(text.lower().split())
