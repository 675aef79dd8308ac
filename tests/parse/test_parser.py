"""TemplateParser: template ids, parameters, and the cache by collapsed text."""

from __future__ import annotations

import csv
import functools
import re
from pathlib import Path

import pytest

from logsentry.formats import get_format, to_records
from logsentry.parse import DEFAULT_MASKS, TemplateParser, extract_params
from logsentry.parse import parser as parser_module
from logsentry.parse.masks import collapse_digits
from logsentry.sources.reader import Source, read_batches
from logsentry.types import LogRecord
from tests.datasets import loghub2k

FORMATS = {
    "Apache": "apache", "BGL": "bgl", "HDFS": "hdfs", "HPC": "hpc", "HealthApp": "healthapp",
    "Linux": "syslog", "Mac": "syslog", "OpenSSH": "syslog", "Proxifier": "proxifier",
    "Spark": "spark", "Thunderbird": "thunderbird", "Zookeeper": "zookeeper",
}
_WILD = re.compile(r"<[A-Za-z*][\w*-]*>")


@functools.cache
def messages(system: str) -> tuple[str, ...]:
    fmt = get_format(FORMATS[system])
    return tuple(r.headline for r in to_records(read_batches(Source(str(loghub2k(system)))), fmt))


def make_parser(system: str = "HDFS") -> TemplateParser:
    """A parser configured the way the pipeline configures it for this system's format
    (for properties that must hold whatever the per-format tuning is)."""
    fmt = get_format(FORMATS[system])
    return TemplateParser(masks=tuple(fmt.masks) + DEFAULT_MASKS, sim_th=fmt.sim_th,
                          depth=fmt.depth)


def pinned_parser() -> TemplateParser:
    """Fixed settings, for exact counts that must not move when formats are retuned."""
    return TemplateParser(masks=DEFAULT_MASKS, sim_th=0.5, depth=4)


def reference_ids(parser: TemplateParser, msgs: tuple[str, ...]) -> list[int]:
    """What Drain alone says, with no cache: mask the collapsed text, add it."""
    add = parser.drain.add_log_message
    return [add(parser.masker.mask(collapse_digits("0", m)))[0].cluster_id for m in msgs]


def rebuild(template: str, params: list[str]) -> str:
    """Put the parameters back into the template's wildcards, in order."""
    values = iter(params)
    return _WILD.sub(lambda _m: next(values), template)


# --- ids ------------------------------------------------------------------------------------

def test_same_shape_same_id_and_different_events_different_ids() -> None:
    parser = TemplateParser(sim_th=0.5)
    a1, t1 = parser.add("PacketResponder 1 for block blk_38865049064139660 terminating")
    a2, t2 = parser.add("PacketResponder 0 for block blk_-6952295868487656571 terminating")
    b1, _ = parser.add("Receiving block blk_-1608999687919862906 src: /10.250.19.102:54106 "
                       "dest: /10.250.19.102:50010")
    b2, _ = parser.add("Receiving block blk_7503483334202473044 src: /10.251.215.16:55695 "
                       "dest: /10.251.215.16:50010")
    c1, _ = parser.add("Verification succeeded for blk_-1608999687919862906")
    assert a1 == a2 and t1 == t2 == "PacketResponder <NUM> for block <BLK> terminating"
    assert b1 == b2
    assert len({a1, b1, c1}) == 3
    assert parser.template(b1) == "Receiving block <BLK> src: /<IP> dest: /<IP>"
    assert parser.template(999) is None


def test_hdfs_template_ids_agree_with_ground_truth_events(shared_data: Path) -> None:
    """On HDFS_2k no template mixes two ground-truth events, and each event gets one
    template, except E4 ("BLOCK* ask <*> to delete <*>"): its lines name 1 to n blocks, and
    Drain keys templates by token count."""
    path = shared_data / "loghub2k" / "HDFS" / "HDFS_2k.log_structured_corrected.csv"
    with path.open(newline="", encoding="utf-8") as fh:
        truth = [row["EventId"] for row in csv.DictReader(fh)]
    parser = pinned_parser()
    ids = [parser.add(m)[0] for m in messages("HDFS")]
    assert len(ids) == len(truth) == 2000
    events_of: dict[int, set[str]] = {}
    ids_of: dict[str, set[int]] = {}
    for template_id, event in zip(ids, truth, strict=True):
        events_of.setdefault(template_id, set()).add(event)
        ids_of.setdefault(event, set()).add(template_id)
    assert all(len(events) == 1 for events in events_of.values())
    split = {event for event, found in ids_of.items() if len(found) > 1}
    assert split == {"E4"}
    assert len(parser.templates()) == 16 == len(set(ids))


def test_parse_paths_agree(shared_data: Path) -> None:
    """add(), parse(), parse_all() and parse_batch() give the same ids and templates."""
    msgs = messages("HDFS")

    def records() -> list[LogRecord]:
        return [LogRecord("x", i, i, 0, m, m) for i, m in enumerate(msgs, 1)]

    by_add = make_parser()
    expected = [by_add.add(m) for m in msgs]
    one = make_parser()
    assert [(r.template_id, r.template) for r in map(one.parse, records())] == expected
    streamed = make_parser()
    assert [(r.template_id, r.template) for r in streamed.parse_all(records())] == expected
    batched = make_parser()
    recs = records()
    for i in range(0, len(recs), 333):
        batched.parse_batch(recs[i:i + 333])
    assert [(r.template_id, r.template) for r in recs] == expected
    assert batched.records == len(msgs)
    assert batched.templates() == by_add.templates()


# --- the cache ------------------------------------------------------------------------------

def test_cache_gives_the_ids_drain_gives_on_hdfs(shared_data: Path) -> None:
    msgs = messages("HDFS")
    cached = pinned_parser()
    ids = [cached.parse(LogRecord("x", i, i, 0, m, m)).template_id for i, m in enumerate(msgs, 1)]
    plain = pinned_parser()
    assert ids == reference_ids(plain, msgs)
    assert cached.templates() == [
        parser_module.Template(c.cluster_id, c.get_template(), c.size)
        for c in sorted(plain.drain.clusters, key=lambda c: c.cluster_id)
    ]
    assert len(cached.templates()) == 16
    assert sum(t.size for t in cached.templates()) == len(msgs)
    assert cached.new_templates == 16


@pytest.mark.parametrize("system", sorted(FORMATS))
def test_cache_only_pins_repeats_to_their_first_id(shared_data: Path, system: str) -> None:
    """The documented difference from plain Drain: a repeated (collapsed) message keeps the
    id it first got. Every first occurrence gets Drain's own answer, and the templates'
    text is the same; only a repeat may differ (Proxifier has 7 such lines in 2,000)."""
    msgs = messages(system)
    cached = make_parser(system)
    plain = make_parser(system)
    ids = [cached.add(m)[0] for m in msgs]
    reference = reference_ids(plain, msgs)
    first_id: dict[str, int] = {}
    for i, message in enumerate(msgs):
        key = collapse_digits("0", message)
        if key not in first_id:
            first_id[key] = ids[i]
            assert ids[i] == reference[i], (i, message)
        else:
            assert ids[i] == first_id[key], (i, message)
    assert [(t.template_id, t.template) for t in cached.templates()] == sorted(
        (c.cluster_id, c.get_template()) for c in plain.drain.clusters)


def test_cache_limit_clears_and_changes_nothing(shared_data: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    msgs = messages("HDFS")
    unbounded = make_parser()
    expected = [unbounded.add(m) for m in msgs]
    monkeypatch.setattr(parser_module, "CACHE_LIMIT", 7)
    small = make_parser()
    assert [small.add(m) for m in msgs] == expected
    recs = [LogRecord("x", i, i, 0, m, m) for i, m in enumerate(msgs, 1)]
    batched = make_parser()
    batched.parse_batch(recs)
    assert [(r.template_id, r.template) for r in recs] == expected


def test_template_text_follows_a_generalized_cluster() -> None:
    """The rendered-text memo must notice when Drain rewrites a cluster's template."""
    parser = TemplateParser(sim_th=0.4)
    first = parser.add("user alice logged in")
    second = parser.add("user bob logged in")
    assert first == (1, "user alice logged in")
    assert second == (1, "user <*> logged in")
    assert parser.add("user alice logged in") == (1, "user <*> logged in")
    assert parser.templates()[0].size == 3


# --- parameters -----------------------------------------------------------------------------

@pytest.mark.parametrize(("message", "template", "params"), [
    ("PacketResponder 1 for block blk_38865049064139660 terminating",
     "PacketResponder <NUM> for block <BLK> terminating", ["1", "blk_38865049064139660"]),
    ("Receiving block blk_-16 src: /10.250.19.102:54106 dest: /10.250.19.102:50010",
     "Receiving block <BLK> src: /<IP> dest: /<IP>",
     ["blk_-16", "10.250.19.102:54106", "10.250.19.102:50010"]),
    ("user admin logged in from host-7 port 2222", "user <*> logged in from host-<NUM> port <NUM>",
     ["admin", "7", "2222"]),
    ("same text", "same text", []),
    ("one two three", "one two", []),  # token counts differ: not this template
])
def test_extract_params(message: str, template: str, params: list[str]) -> None:
    assert extract_params(message, template) == params


@pytest.mark.parametrize("system", ["HDFS", "OpenSSH", "Apache"])
def test_extract_params_rebuilds_every_real_message(shared_data: Path, system: str) -> None:
    parser = make_parser(system)
    msgs = messages(system)
    ids = [parser.add(m)[0] for m in msgs]
    for message, template_id in zip(msgs, ids, strict=True):
        template = parser.template(template_id)
        assert template is not None
        params = extract_params(message, template)
        assert len(params) == len(_WILD.findall(template)), (message, template, params)
        assert rebuild(template, params).split() == message.split()


def test_extract_params_skips_words_that_differ_only_by_collapsed_digits() -> None:
    template = "Expiring session <HEX>, timeout of 0ms exceeded"
    assert extract_params("Expiring session 0x24ede63a01b003b, timeout of 10000ms exceeded",
                          template) == ["0x24ede63a01b003b"]
