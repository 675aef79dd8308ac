"""Parser state on disk: round trips, plain JSON, corrupt and newer files, atomic saves."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from logsentry.errors import ConfigError, StateError
from logsentry.formats import get_format, to_records
from logsentry.parse import DEFAULT_MASKS, TemplateParser, state_path
from logsentry.parse import state as state_module
from logsentry.parse.masks import collapse_digits
from logsentry.sources.reader import Source, read_batches
from tests.datasets import loghub2k

FORMATS = {
    "Apache": "apache", "BGL": "bgl", "HDFS": "hdfs", "HPC": "hpc", "HealthApp": "healthapp",
    "Linux": "syslog", "Mac": "syslog", "OpenSSH": "syslog", "Proxifier": "proxifier",
    "Spark": "spark", "Thunderbird": "thunderbird", "Zookeeper": "zookeeper",
}


@functools.cache
def messages(system: str) -> tuple[str, ...]:
    fmt = get_format(FORMATS[system])
    return tuple(r.headline for r in to_records(read_batches(Source(str(loghub2k(system)))), fmt))


def make_parser(system: str = "HDFS", state_file: Path | None = None,
                **overrides: Any) -> TemplateParser:
    fmt = get_format(FORMATS[system])
    settings: dict[str, Any] = {"masks": tuple(fmt.masks) + DEFAULT_MASKS,
                                "sim_th": fmt.sim_th, "depth": fmt.depth}
    settings.update(overrides)
    return TemplateParser(state_file=state_file, **settings)


def pinned_parser(state_file: Path | None = None, **settings: Any) -> TemplateParser:
    """Fixed settings, for exact results that must not move when formats are retuned."""
    return TemplateParser(state_file=state_file, **{"masks": DEFAULT_MASKS, "sim_th": 0.5,
                                                    "depth": 4, **settings})


def snapshot(parser: TemplateParser) -> list[tuple[int, str, int]]:
    return [(t.template_id, t.template, t.size) for t in parser.templates()]


SMALL = ["PacketResponder 1 for block blk_1 terminating",
         "Receiving block blk_2 src: /10.0.0.1:1 dest: /10.0.0.2:2",
         "Verification succeeded for blk_3"]


@pytest.fixture
def saved_state(tmp_path: Path) -> Path:
    """A valid state file from a few messages."""
    path = tmp_path / "parsers" / "hdfs.json"
    parser = TemplateParser(state_file=path)
    for message in SMALL:
        parser.add(message)
    parser.save()
    return path


def aside_files(path: Path) -> list[Path]:
    return sorted(path.parent.glob(path.name + ".corrupt-*"))


# --- round trip -----------------------------------------------------------------------------

@pytest.mark.parametrize("system", sorted(FORMATS))
def test_round_trip_equals_one_run(shared_data: Path, tmp_path: Path, system: str) -> None:
    """First half, save, a new parser on the same file, second half: the same ids and the
    same templates (text and sizes) as one parser over the whole file."""
    msgs = messages(system)
    half = len(msgs) // 2
    path = tmp_path / "state.json"
    first = make_parser(system, path)
    ids = [first.add(m)[0] for m in msgs[:half]]
    first.save()
    second = make_parser(system, path)
    assert second.warnings == []
    ids += [second.add(m)[0] for m in msgs[half:]]
    whole = make_parser(system)
    assert ids == [whole.add(m)[0] for m in msgs]
    assert snapshot(second) == snapshot(whole)
    # Messages seen before the restart keep their ids.
    seen = {collapse_digits("0", m): i for m, i in zip(msgs[:half], ids, strict=False)}
    for message, template_id in zip(msgs[half:], ids[half:], strict=True):
        key = collapse_digits("0", message)
        if key in seen:
            assert template_id == seen[key], message


def test_reparsing_after_a_restart_keeps_every_id(shared_data: Path, tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    first = make_parser("HDFS", path)
    ids = [first.add(m)[0] for m in messages("HDFS")]
    first.save()
    again = make_parser("HDFS", path)
    assert [again.add(m)[0] for m in messages("HDFS")] == ids
    assert again.new_templates == 0


def test_reparsing_proxifier_after_a_restart_keeps_every_id(shared_data: Path,
                                                             tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    # Without a host:port mask, Drain at sim_th 0.6 lets later clusters attract messages that
    # first joined an older one: only the persisted message->cluster pins keep ids stable.
    masks = tuple(m for m in DEFAULT_MASKS if m.name != "HOSTPORT")
    first = pinned_parser(path, sim_th=0.6, depth=3, masks=masks)
    ids = [first.add(m)[0] for m in messages("Proxifier")]
    first.save()
    again = pinned_parser(path, sim_th=0.6, depth=3, masks=masks)
    assert [again.add(m)[0] for m in messages("Proxifier")] == ids


def test_state_file_is_plain_versioned_json(shared_data: Path, tmp_path: Path) -> None:
    path = tmp_path / "deep" / "dir" / "hdfs.json"  # parents are created
    parser = pinned_parser(path)
    for message in messages("HDFS"):
        parser.add(message)
    parser.save()
    text = path.read_text(encoding="utf-8")
    data = json.loads(text)
    assert data["format"] == "logsentry-parser-state"
    assert data["version"] == state_module.VERSION
    assert data["settings"]["sim_th"] == 0.5
    assert len(data["clusters"]) == 16
    assert "py/" not in text  # no jsonpickle tags (py/object, py/tuple, ...)
    assert sorted(p.name for p in path.parent.iterdir()) == ["hdfs.json"]  # no temp file left


def test_missing_state_file_starts_fresh(tmp_path: Path) -> None:
    parser = TemplateParser(state_file=tmp_path / "none.json")
    assert parser.warnings == [] and parser.templates() == []
    assert not (tmp_path / "none.json").exists()


def test_other_settings_warn_but_keep_ids(saved_state: Path) -> None:
    parser = TemplateParser(state_file=saved_state, sim_th=0.7)
    assert len(parser.warnings) == 1 and "other masks or Drain settings" in parser.warnings[0]
    assert [parser.add(m)[0] for m in SMALL] == [1, 2, 3]


# --- corrupt files --------------------------------------------------------------------------

def _edit(change: Callable[[dict[str, Any]], Any]) -> Callable[[bytes], bytes]:
    def edit(good: bytes) -> bytes:
        data = json.loads(good)
        change(data)
        return json.dumps(data).encode()
    return edit


def _drop_first_cluster(data: dict[str, Any]) -> None:
    data["clusters"].pop(0)


CORRUPT: dict[str, Callable[[bytes], bytes]] = {
    "garbage": lambda _good: b"\x00\x01 not json at all \xff",
    "empty": lambda _good: b"",
    "truncated": lambda good: good[: len(good) // 2],
    "invalid-utf8": lambda good: good[:10] + b"\xff\xfe" + good[10:],
    "a-list": lambda _good: b"[1, 2, 3]",
    "wrong-format": _edit(lambda d: d.update(format="drain3-jsonpickle")),
    "no-format": _edit(lambda d: d.pop("format")),
    "missing-keys": lambda _good: json.dumps({"format": "logsentry-parser-state",
                                              "version": 1}).encode(),
    "version-a-string": _edit(lambda d: d.update(version="1")),
    "version-zero": _edit(lambda d: d.update(version=0)),
    "clusters-an-object": _edit(lambda d: d.update(clusters={"1": 1})),
    "tokens-a-string": _edit(lambda d: d["clusters"][0].__setitem__(2, "abc")),
    "size-negative": _edit(lambda d: d["clusters"][0].__setitem__(1, -1)),
    "duplicate-cluster": _edit(lambda d: d["clusters"].append(d["clusters"][0])),
    "tree-a-list": _edit(lambda d: d.update(tree=[])),
    "tree-child-a-number": _edit(lambda d: d.update(tree={"k": {"3": 5}})),
    "tree-names-missing-cluster": _edit(_drop_first_cluster),
    "empty-message-node-without-cluster": _edit(
        lambda d: d.update(clusters=[], clusters_counter=0, tree={"k": {"0": {}}})),
    "counter-below-ids": _edit(lambda d: d.update(clusters_counter=0)),
    "counter-a-string": _edit(lambda d: d.update(clusters_counter="3")),
    "nested-too-deep": lambda _good: b'{"format": "logsentry-parser-state", "x": '
                                     + b"[" * 100_000 + b"]" * 100_000 + b"}",
}


@pytest.mark.parametrize("name", sorted(CORRUPT))
def test_corrupt_state_is_moved_aside_and_parser_starts_fresh(saved_state: Path,
                                                              name: str) -> None:
    bad = CORRUPT[name](saved_state.read_bytes())
    saved_state.write_bytes(bad)
    parser = TemplateParser(state_file=saved_state)
    assert len(parser.warnings) == 1, parser.warnings
    assert "started a fresh one" in parser.warnings[0]
    assert not saved_state.exists()
    [aside] = aside_files(saved_state)
    assert aside.read_bytes() == bad  # kept byte for byte, never deleted
    assert aside.name in parser.warnings[0]
    # A working, empty parser: ids start again at 1, and saving writes a good file.
    assert parser.templates() == []
    assert parser.add("Verification succeeded for blk_3")[0] == 1
    assert parser.add("") == (2, "")
    parser.save()
    assert TemplateParser(state_file=saved_state).warnings == []


def test_two_corrupt_files_in_the_same_second_are_both_kept(
        saved_state: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(state_module.time, "strftime", lambda *_a: "20250101T000000")
    saved_state.write_bytes(b"first bad file")
    TemplateParser(state_file=saved_state)
    saved_state.write_bytes(b"second bad file")
    parser = TemplateParser(state_file=saved_state)
    assert sorted(p.read_bytes() for p in aside_files(saved_state)) == [
        b"first bad file", b"second bad file"]
    assert len(parser.warnings) == 1


def test_newer_version_is_an_error_and_the_file_stays(saved_state: Path) -> None:
    data = json.loads(saved_state.read_text())
    data["version"] = state_module.VERSION + 1
    saved_state.write_text(json.dumps(data))
    before = saved_state.read_bytes()
    with pytest.raises(StateError, match="newer"):
        TemplateParser(state_file=saved_state)
    assert saved_state.read_bytes() == before
    assert aside_files(saved_state) == []


# --- atomic save ----------------------------------------------------------------------------

def test_failed_rename_keeps_the_previous_state(saved_state: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    before = saved_state.read_bytes()
    parser = TemplateParser(state_file=saved_state)
    parser.add("a brand new message shape here")

    def refuse(*_args: Any) -> None:
        raise OSError("disk on fire")

    with monkeypatch.context() as patch:
        patch.setattr(state_module.os, "replace", refuse)
        with pytest.raises(StateError, match=r"cannot save parser state .*disk on fire"):
            parser.save()
    assert saved_state.read_bytes() == before
    assert sorted(p.name for p in saved_state.parent.iterdir()) == [saved_state.name]
    parser.save()  # and it works once the disk does
    assert len(json.loads(saved_state.read_text())["clusters"]) == 4


def test_failed_write_keeps_the_previous_state(saved_state: Path) -> None:
    before = saved_state.read_bytes()
    with pytest.raises(TypeError):
        state_module.save_state(saved_state, {"not json": object()})
    assert saved_state.read_bytes() == before
    assert sorted(p.name for p in saved_state.parent.iterdir()) == [saved_state.name]


# --- profiles -------------------------------------------------------------------------------

@pytest.mark.parametrize("profile", ["../evil", "a/b", "..", ".hidden", "", "x" * 65, "web 1",
                                     "web1\n", "C:evil", "\\evil"])
def test_bad_profile_names_are_config_errors(tmp_path: Path, profile: str) -> None:
    with pytest.raises(ConfigError, match="profile"):
        state_path(tmp_path, profile)


@pytest.mark.parametrize("profile", ["web1", "hdfs", "prod.eu-1_a", "x" * 64])
def test_good_profile_names_stay_in_the_state_dir(tmp_path: Path, profile: str) -> None:
    path = state_path(tmp_path, profile)
    assert path == tmp_path / "parsers" / f"{profile}.json"


def test_unreadable_state_is_an_error_not_moved_aside(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "p.json"
    path.write_text("{}", encoding="utf-8")

    def denied(self: Path, *args: Any, **kwargs: Any) -> str:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_text", denied)
    with pytest.raises(StateError, match="Permission denied"):
        TemplateParser(state_file=path)
    monkeypatch.undo()
    assert path.read_text(encoding="utf-8") == "{}"  # left where it was


def test_parser_state_persists_the_message_pins(shared_data: Path, tmp_path: Path) -> None:
    path = tmp_path / "hdfs.json"
    parser = pinned_parser(path)
    for message in messages("HDFS"):
        parser.add(message)
    parser.save()
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["cache"] and all(isinstance(k, str) and isinstance(v, int)
                                 for k, v in data["cache"])
