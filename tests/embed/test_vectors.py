"""Template vectors are cached per encoder and template, and survive across runs."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from logsentry.embed import TemplateVectors, VectorCache, template_text
from logsentry.errors import StateError


def test_template_text_reads_like_words() -> None:
    assert template_text("dfs.DataNode$PacketResponder: PacketResponder <NUM> for block <BLK>") \
        == "dfs data node packet responder packet responder number for block block id"
    assert template_text("Got <*> from <IP>:<NUM>") == "got value from ip address number"
    assert template_text("HTTPServer started") == "http server started"


def test_vectors_are_cached_and_reused_across_instances(encoder_cache: Path) -> None:
    templates = ["Receiving block <BLK> src: /<IP> dest: /<IP>", "Deleting block <BLK> file <PATH>"]
    first = TemplateVectors(encoder_cache)
    a = first.vectors(templates + templates[:1])
    assert a.shape == (3, 384) and first.encoded <= 2
    assert np.array_equal(a[0], a[2])
    first.close()
    second = TemplateVectors(encoder_cache)
    b = second.vectors(templates)
    assert second.encoded == 0 and second._encoder is None  # no encoder loaded at all
    assert np.array_equal(a[:2], b)


def test_similar_templates_are_closer_than_unrelated_ones(encoder_cache: Path) -> None:
    tv = TemplateVectors(encoder_cache)
    v = tv.vectors(["Exception in receiveBlock for block <BLK>",
                    "writeBlock <BLK> received exception java.io.IOException",
                    "Verification succeeded for <BLK>"])
    assert v[0] @ v[1] > v[0] @ v[2]


def test_cache_is_keyed_by_encoder(tmp_path: Path) -> None:
    one = VectorCache(tmp_path / "v.sqlite", "enc-a")
    one.put_many({"t": np.ones(4, np.float32)})
    other = VectorCache(tmp_path / "v.sqlite", "enc-b")
    assert other.get_many(["t"]) == {} and len(one) == 1


def test_corrupt_cache_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "v.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StateError, match="only a cache"):
        VectorCache(path, "enc")
    assert sqlite3.sqlite_version  # the stdlib SQLite, no extra dependency
