"""Model bundles: round trip, tamper detection, atomic replacement."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from logsentry.errors import ConfigError, ModelError
from logsentry.ml.bundle import BundleWriter, check_name, open_bundle


def make(target: Path, payload: bytes = b"model bytes") -> None:
    writer = BundleWriter(target)
    writer.path("model.onnx").write_bytes(payload)
    writer.write_json("extra.json", {"a": 1})
    writer.commit({"name": target.name, "kind": "test", "threshold": 0.5})


def test_round_trip(tmp_path: Path) -> None:
    make(tmp_path / "b")
    bundle = open_bundle(tmp_path / "b")
    assert bundle.info["threshold"] == 0.5 and bundle.name == "b"
    assert set(bundle.files) == {"model.onnx", "extra.json", "bundle.json"}
    assert bundle.json("extra.json") == {"a": 1}
    assert bundle.file("model.onnx").read_bytes() == b"model bytes"
    assert [p.name for p in tmp_path.iterdir()] == ["b"]  # no staging left behind


@pytest.mark.parametrize("damage", ["modify", "delete", "manifest", "garbage-manifest"])
def test_tampering_is_a_model_error(tmp_path: Path, damage: str) -> None:
    make(tmp_path / "b")
    target = tmp_path / "b"
    if damage == "modify":
        (target / "model.onnx").write_bytes(b"evil bytes!")
    elif damage == "delete":
        (target / "model.onnx").unlink()
    elif damage == "manifest":
        (target / "manifest.json").unlink()
    else:
        (target / "manifest.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ModelError, match="b"):
        open_bundle(target)


def test_newer_format_is_refused(tmp_path: Path) -> None:
    make(tmp_path / "b")
    manifest = tmp_path / "b" / "manifest.json"
    data = json.loads(manifest.read_text())
    data["version"] = 99
    manifest.write_text(json.dumps(data))
    with pytest.raises(ModelError, match="newer"):
        open_bundle(tmp_path / "b")


def test_rewriting_replaces_the_bundle_whole(tmp_path: Path) -> None:
    make(tmp_path / "b", b"one")
    make(tmp_path / "b", b"two")
    assert open_bundle(tmp_path / "b").file("model.onnx").read_bytes() == b"two"
    assert [p.name for p in tmp_path.iterdir()] == ["b"]


def test_aborted_write_leaves_the_old_bundle(tmp_path: Path) -> None:
    make(tmp_path / "b", b"one")
    writer = BundleWriter(tmp_path / "b")
    writer.path("model.onnx").write_bytes(b"half")
    writer.abort()
    assert open_bundle(tmp_path / "b").file("model.onnx").read_bytes() == b"one"


def test_missing_bundle_and_bad_names(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not found"):
        open_bundle(tmp_path / "nope")
    with pytest.raises(ConfigError):
        check_name("../x")
    assert check_name("hdfs-v1.2") == "hdfs-v1.2"
