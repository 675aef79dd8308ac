"""Model versions: NAME@N references, never-overwritten versions, crash-safe commits,
rollback along the recorded parents, and `logsentry models list/use/rollback/show`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from logsentry.cli import main
from logsentry.errors import ConfigError, ModelError
from logsentry.ml import bundle as bundle_module
from logsentry.ml import registry
from logsentry.ml.bundle import BundleWriter, clean_staging, open_bundle, parse_ref

Run = Callable[[Sequence[str]], tuple[int, str, str]]


@pytest.fixture
def data(isolated_home: Path) -> Path:
    """The data dir `logsentry` uses under the test's LOGSENTRY_HOME."""
    return isolated_home / "data"


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Run:
    """``main(argv)`` in-process: (exit code, stdout, stderr), as an operator sees them."""
    def run(args: Sequence[str]) -> tuple[int, str, str]:
        with pytest.raises(SystemExit) as exited:
            main(list(args))
        captured = capsys.readouterr()
        assert isinstance(exited.value.code, int)
        return exited.value.code, captured.out, captured.err

    return run


def make(home: Path, ref: str, parent: str | None = None, *, payload: bytes = b"weights",
         **info: Any) -> Path:
    """A small valid bundle at ``ref`` (``NAME`` or ``NAME@N``), as train/adapt would write it."""
    name, version = parse_ref(ref)
    fields: dict[str, Any] = {"name": name, "kind": "supervised", **info}
    if parent is not None:
        fields.update(version=version, parent=parent)
    writer = BundleWriter(registry.models_dir(home) / ref, overwrite=parent is None)
    try:
        writer.path("model.onnx").write_bytes(payload)
        writer.commit(fields)
    except BaseException:
        writer.abort()
        raise
    return registry.models_dir(home) / ref


@pytest.fixture
def chain(data: Path) -> Path:
    """demo <- demo@2 <- demo@3, demo@3 active."""
    make(data, "demo", data={"train": 500}, metrics={"test": {"f1": 0.9}})
    make(data, "demo@2", "demo", adapt={"samples": 40, "metrics": {"after": {"f1": 0.93}},
                                        "activated": True})
    make(data, "demo@3", "demo@2", adapt={"samples": 25, "metrics": {"after": {"f1": 0.91}},
                                          "activated": False, "reason": "F1 fell \x1b[31mred"})
    registry.set_active(data, "demo@3")
    return data


def visible(data: Path) -> list[str]:
    return [located.ref for located in registry.available(data)]


# --- references -----------------------------------------------------------------------------

def test_parse_ref_takes_a_name_or_name_at_version() -> None:
    assert parse_ref("demo") == ("demo", None)
    assert parse_ref("demo@2") == ("demo", 2)
    assert parse_ref("hdfs-v1.2@1") == ("hdfs-v1.2", 1)


@pytest.mark.parametrize("bad", ["demo@0", "demo@", "demo@x", "demo@02", "demo@-1", "a@b@2",
                                 "@2", "../x@2", "de mo@2"])
def test_parse_ref_rejects_anything_else(bad: str) -> None:
    with pytest.raises(ConfigError, match="model"):
        parse_ref(bad)


# --- resolution -----------------------------------------------------------------------------

def test_versions_resolve_and_list_in_order(chain: Path) -> None:
    assert [v.ref for v in registry.versions("demo", chain)] == ["demo", "demo@2", "demo@3"]
    found = registry.locate("demo@2", chain)
    assert (found.name, found.version, found.ref) == ("demo", 2, "demo@2")
    assert found.path == registry.models_dir(chain) / "demo@2"
    assert registry.locate("demo@1", chain) == registry.locate("demo", chain)
    assert registry.load("demo@3", chain).info["parent"] == "demo@2"


def test_a_missing_version_names_the_ones_there(chain: Path) -> None:
    with pytest.raises(ModelError, match=r"has no version 7; it has demo, demo@2, demo@3"):
        registry.locate("demo@7", chain)
    with pytest.raises(ModelError, match="no model named 'nope'"):
        registry.locate("nope@2", chain)


def test_next_version_is_one_more_than_the_highest(data: Path) -> None:
    make(data, "demo")
    assert registry.next_version("demo", data) == 2
    assert registry.version_target("demo", data) == registry.models_dir(data) / "demo@2"
    make(data, "demo@5", "demo")
    assert registry.next_version("demo", data) == 6
    with pytest.raises(ModelError, match="no model named 'nope'"):
        registry.next_version("nope", data)


def test_a_version_of_the_shipped_default_is_a_local_bundle(data: Path) -> None:
    shipped = registry.locate("default", data)
    assert shipped.shipped and registry.next_version("default", data) == 2
    writer = BundleWriter(registry.version_target("default", data), overwrite=False)
    for name in open_bundle(shipped.path).files:
        if name != "bundle.json":
            writer.path(name).write_bytes((shipped.path / name).read_bytes())
    info = dict(open_bundle(shipped.path).info, **registry.version_fields(shipped, 2))
    writer.commit(info)
    version = registry.locate("default@2", data)
    assert not version.shipped and version.path.parent == registry.models_dir(data)
    assert registry.load("default@2", data).info["parent"] == "default"
    assert registry.locate("default", data) == shipped
    assert [v.ref for v in registry.versions("default", data)] == ["default", "default@2"]


def test_available_lists_every_version_and_no_staging(chain: Path) -> None:
    leftover = registry.models_dir(chain) / ".demo@4.tmp-1-abcd"
    leftover.mkdir()
    (leftover / "manifest.json").write_text("{}")
    (registry.models_dir(chain) / "odd@0").mkdir()
    (registry.models_dir(chain) / "odd@0" / "manifest.json").write_text("{}")
    assert visible(chain) == ["default", "demo", "demo@2", "demo@3"]


# --- writing versions -----------------------------------------------------------------------

def test_a_version_is_never_overwritten(chain: Path) -> None:
    target = registry.models_dir(chain) / "demo@2"
    before = open_bundle(target).files
    with pytest.raises(ModelError, match="never overwritten"):
        make(chain, "demo@2", "demo", payload=b"other weights")
    assert open_bundle(target).files == before
    assert not [p for p in registry.models_dir(chain).iterdir() if p.name.startswith(".")]


def test_two_writers_of_one_version_the_second_loses(data: Path) -> None:
    make(data, "demo")
    target = registry.version_target("demo", data)
    first = BundleWriter(target, overwrite=False)
    second = BundleWriter(target, overwrite=False)
    for writer in (first, second):
        writer.path("model.onnx").write_bytes(b"x")
    first.commit({"name": "demo", "version": 2, "parent": "demo"})
    with pytest.raises(ModelError, match="already exists"):
        second.commit({"name": "demo", "version": 2, "parent": "demo"})
    second.abort()
    assert open_bundle(target).info["version"] == 2


@pytest.mark.parametrize("step", ["sha256", "fsync", "rename"])
def test_a_crash_during_commit_leaves_no_partial_version(
        chain: Path, monkeypatch: pytest.MonkeyPatch, step: str) -> None:
    def crash(*_args: object, **_kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    if step == "sha256":
        monkeypatch.setattr(bundle_module, "sha256", crash)
    else:
        monkeypatch.setattr(bundle_module.os, step, crash)
    with pytest.raises(OSError if step != "rename" else ModelError):
        make(chain, "demo@4", "demo@3")
    monkeypatch.undo()
    assert not (registry.models_dir(chain) / "demo@4").exists()
    assert visible(chain) == ["default", "demo", "demo@2", "demo@3"]
    assert registry.load(registry.active_name(chain), chain).info["version"] == 3
    assert registry.next_version("demo", chain) == 4


CRASHING_WRITER = """
import os, sys
from pathlib import Path
from logsentry.ml import bundle
target, overwrite, when = Path(sys.argv[1]), sys.argv[2] == "1", int(sys.argv[3])
renames, real = [], os.replace
def dies(src, dst):
    renames.append(src)
    if len(renames) == when:
        os._exit(9)  # killed: no cleanup, no finally
    real(src, dst)
bundle.os.rename = bundle.os.replace = dies
writer = bundle.BundleWriter(target, overwrite=overwrite)
writer.path("model.onnx").write_bytes(b"new weights")
writer.commit({"name": "demo", "version": 4, "parent": "demo@3"})
"""


def crash_writer(target: Path, *, overwrite: bool, at_rename: int) -> None:
    """A writer process killed at its ``at_rename``-th rename of a directory."""
    done = subprocess.run([sys.executable, "-c", CRASHING_WRITER, str(target),
                           "1" if overwrite else "0", str(at_rename)], capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 9, done.stderr


def age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_a_killed_writer_leaves_staging_that_is_cleaned_once_stale(chain: Path) -> None:
    folder = registry.models_dir(chain)
    crash_writer(folder / "demo@4", overwrite=False, at_rename=1)
    [staging] = [p for p in folder.iterdir() if p.name.startswith(".")]
    assert staging.name.startswith(".demo@4.tmp-") and (staging / "manifest.json").is_file()
    assert visible(chain) == ["default", "demo", "demo@2", "demo@3"]
    assert registry.load(registry.active_name(chain), chain).info["version"] == 3
    assert staging.exists()  # fresh: its writer may only be slow
    age(staging, 2 * bundle_module.STALE_AFTER)
    assert clean_staging(folder) == [staging] and not staging.exists()


def test_a_killed_overwrite_gets_the_old_bundle_back(chain: Path) -> None:
    folder = registry.models_dir(chain)
    crash_writer(folder / "demo", overwrite=True, at_rename=2)  # after moving the old aside
    assert not (folder / "demo").exists()
    registry.available(chain)  # cleans up: the old bundle returns under its name
    assert open_bundle(folder / "demo").file("model.onnx").read_bytes() == b"weights"
    age(next(p for p in folder.iterdir() if p.name.startswith(".")), 2 * 3600)
    registry.available(chain)
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]


def test_old_staging_of_a_live_writer_is_kept(data: Path) -> None:
    writer = BundleWriter(registry.models_dir(data) / "demo")  # training for hours, say
    age(writer.staging, 5 * 3600)
    assert clean_staging(registry.models_dir(data)) == []
    writer.abort()


# --- active model and rollback -------------------------------------------------------------

def test_use_takes_a_version_and_stores_the_canonical_reference(chain: Path) -> None:
    assert registry.set_active(chain, "demo@2").ref == "demo@2"
    assert registry.active_name(chain) == "demo@2"
    registry.set_active(chain, "demo@1")
    assert registry.active_name(chain) == "demo"


def test_rollback_walks_back_the_parents_to_the_first_version(chain: Path) -> None:
    assert registry.rollback(chain) == ("demo@3", "demo@2")
    assert registry.rollback(chain) == ("demo@2", "demo")
    with pytest.raises(ModelError, match="model demo has no earlier version to roll back to"):
        registry.rollback(chain)
    assert registry.active_name(chain) == "demo"


def test_rollback_follows_the_parent_not_the_number(chain: Path) -> None:
    make(chain, "demo@4", "demo")  # adapted again from version 1
    registry.set_active(chain, "demo@4")
    assert registry.rollback(chain) == ("demo@4", "demo")


def test_rollback_from_a_damaged_version_works(chain: Path) -> None:
    (registry.models_dir(chain) / "demo@3" / "model.onnx").write_bytes(b"garbage")
    assert registry.rollback(chain) == ("demo@3", "demo@2")


def test_rollback_to_a_broken_parent_is_refused(chain: Path) -> None:
    (registry.models_dir(chain) / "demo@2" / "model.onnx").write_bytes(b"garbage")
    with pytest.raises(ModelError, match=r"cannot roll back from demo@3 to demo@2.*sha256"):
        registry.rollback(chain)
    assert registry.active_name(chain) == "demo@3"


def test_rollback_of_the_configured_model(chain: Path) -> None:
    registry.set_active(chain, "demo")
    assert registry.rollback(chain, "demo@2") == ("demo@2", "demo")


# --- the CLI ----------------------------------------------------------------------------------

def test_models_list_shows_every_version_with_the_active_one_marked(chain: Path,
                                                                    cli: Run) -> None:
    code, out, _err = cli(["models", "list"])
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["MODEL", "CREATED", "KIND"]
    rows = {line[2:].split()[0]: line for line in lines[1:]}
    assert [line[:11] for line in lines[1:]] == ["  default  ", "  demo     ", "  demo@2   ",
                                                 "* demo@3   "]
    assert "500" in rows["demo"] and "0.900" in rows["demo"] and "local" in rows["demo"]
    assert " 40 " in rows["demo@2"] and "0.930" in rows["demo@2"] and "yes" in rows["demo@2"]
    assert "no" in rows["demo@3"] and "F1 fell \\x1b[31mred" in rows["demo@3"]
    assert "\x1b" not in out
    assert "shipped" in rows["default"]


def test_models_list_json_has_the_same_fields(chain: Path, cli: Run) -> None:
    code, out, _err = cli(["models", "list", "-o", "json"])
    assert code == 0
    rows = {row["ref"]: row for row in json.loads(out)}
    assert list(rows) == ["default", "demo", "demo@2", "demo@3"]
    assert [ref for ref, row in rows.items() if row["active"]] == ["demo@3"]
    assert rows["demo@3"] | {"created": None, "path": None} == {
        "name": "demo", "ref": "demo@3", "version": 3, "parent": "demo@2", "active": True,
        "shipped": False, "kind": "supervised", "created": None, "log_format": None,
        "train_sequences": None, "f1": None, "adapt_samples": 25, "adapt_f1": 0.91,
        "adapt_activated": False, "adapt_reason": "F1 fell \x1b[31mred", "status": "ok",
        "path": None}
    assert (rows["demo"]["train_sequences"], rows["demo"]["f1"]) == (500, 0.9)
    assert "\\u001b" in out  # JSON escapes the control character


def test_models_use_and_show_a_version(chain: Path, cli: Run) -> None:
    code, _out, err = cli(["models", "use", "demo@2"])
    assert code == 0 and err == "logsentry: active model: demo@2\n"
    code, out, _err = cli(["models", "show", "demo@2"])
    assert code == 0 and json.loads(out)[0]["info"]["parent"] == "demo"
    code, _out, err = cli(["models", "use", "demo@9"])
    assert code == 3 and err.count("\n") == 1 and "has no version 9" in err
    code, _out, err = cli(["models", "use", "demo@two"])
    assert code == 2 and err.startswith("logsentry: error: model 'demo@two'")


def test_models_rollback(chain: Path, cli: Run) -> None:
    assert cli(["models", "rollback"]) == (0, "", "logsentry: active model: demo@3 -> demo@2\n")
    assert cli(["models", "rollback"]) == (0, "", "logsentry: active model: demo@2 -> demo\n")
    code, out, err = cli(["models", "rollback"])
    assert (code, out) == (3, "")
    assert err == ("logsentry: error: model demo has no earlier version to roll back to; "
                   "choose one with `logsentry models use NAME@N`\n")
    code, out, _err = cli(["models", "list", "-o", "json"])
    assert [row["ref"] for row in json.loads(out) if row["active"]] == ["demo"]


def test_models_rollback_notes_a_model_setting_that_overrides_it(
        chain: Path, cli: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGSENTRY_MODEL", "demo@2")
    code, _out, err = cli(["models", "rollback"])
    assert code == 0
    first, note = err.splitlines()
    assert first == "logsentry: active model: demo@2 -> demo"
    assert "LOGSENTRY_MODEL" in note and "instead of the active model" in note
