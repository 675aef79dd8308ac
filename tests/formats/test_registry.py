"""The format registry: built-in formats read their own examples and real lines; user formats."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from logsentry.errors import ConfigError
from logsentry.formats import RecordBuilder, available_formats, get_format, to_records
from logsentry.formats.registry import BUILTIN, LogFormat, user_format
from logsentry.parse import DEFAULT_MASKS, Masker
from logsentry.parse.masks import collapse_digits
from logsentry.sources.reader import Source, read_batches
from logsentry.types import LineBatch, LogRecord
from tests.datasets import LOGHUB2K_SYSTEMS, loghub2k

# loghub2k system -> the format written for it (tests/parse/test_grouping_accuracy.py).
SYSTEM_FORMATS = {
    "Apache": "apache", "BGL": "bgl", "HDFS": "hdfs", "HPC": "hpc", "HealthApp": "healthapp",
    "Linux": "linux", "Mac": "mac", "OpenSSH": "openssh", "Proxifier": "proxifier",
    "Spark": "spark", "Thunderbird": "thunderbird", "Zookeeper": "zookeeper",
}


def one_record(fmt: LogFormat, line: str) -> LogRecord:
    builder = RecordBuilder(fmt)
    records = builder.feed(LineBatch("test", 1, [line], [0]))
    last = builder.finish()
    assert last is not None
    return [*records, last][0]


# name -> (content, level, component, timestamp). Yearless formats get the current (or the
# previous) year, so for them only the part after the year is given, starting with "-".
EXAMPLES: dict[str, tuple[str, str | None, str | None, str | None]] = {
    "hdfs": ("Receiving block blk_1 src: /10.0.0.1:1 dest: /10.0.0.1:2", "INFO",
             "dfs.DataNode$DataXceiver", "2008-11-09T20:35:30"),
    "bgl": ("instruction cache parity error corrected", "INFO", "KERNEL",
            "2005-06-03T22:42:50+00:00"),
    "thunderbird": ("session closed for user root", None, "crond(pam_unix)",
                    "2005-11-09T20:01:01+00:00"),
    "spirit": ("ACPI: Processor [CPU0] (supports C1)", None, "kernel",
               "2005-01-01T08:00:04+00:00"),
    "hadoop": ("Created MRAppMaster for application appattempt_1445144423722_0020_000001",
               "INFO", "org.apache.hadoop.mapreduce.v2.app.MRAppMaster",
               "2015-10-18T18:01:47.978000"),
    "spark": ("Changing view acls to: yarn,curi", "INFO", "spark.SecurityManager",
              "2017-06-09T20:10:40"),
    "zookeeper": ("Notification time out: 3200", "INFO", "FastLeaderElection",
                  "2015-07-29T17:41:44.747000"),
    "openstack": ('10.11.10.1 "GET /v2/54fadb412c4e40cdbaed9335e4c35a9e/servers/detail '
                  'HTTP/1.1" status: 200 len: 1893 time: 0.2477829', "INFO",
                  "nova.osapi_compute.wsgi.server", "2017-05-16T00:00:00.008000"),
    "syslog": ("check pass; user unknown", None, "sshd(pam_unix)", "-06-14T15:16:01"),
    "linux": ("check pass; user unknown", None, "sshd(pam_unix)", "-06-14T15:16:01"),
    "mac": ("AirPort: Link Down on awdl0", None, "kernel", "-07-01T09:00:55"),
    "openssh": ("Invalid user webmaster from 173.234.31.186", None, "sshd", "-12-10T06:55:46"),
    "syslog-iso": ("upstream timed out", None, "nginx", "2024-03-01T12:00:01.123456+00:00"),
    "apache": ("mod_jk child workerEnv in error state 6", "error", None, "2005-12-04T04:47:44"),
    "hpc": ("Component State Change: Component \\042alt0\\042 is in the unavailable state "
            "(HWID=3180)", None, "unix.hw", "2004-02-26T14:12:22+00:00"),
    "healthapp": ("onStandStepChanged 3579", None, "Step_LSC", "2017-12-23T22:15:29.606000"),
    "proxifier": ("proxy.cse.cuhk.edu.hk:5070 open through proxy proxy.cse.cuhk.edu.hk:5070 "
                  "HTTPS", None, "chrome.exe", "-10-30T16:49:06"),
    "klog": ("Starting EndpointSlice controller", "I", "controller.go:116",
             "-03-01T12:00:01.123456"),
    "iso": ("connection refused", "ERROR", "com.example.App", "2024-03-01T12:00:01.123000"),
    "jsonl": ("connection refused", "error", None, "2024-03-01T12:00:01+00:00"),
    "raw": ("kernel panic - not syncing: Fatal exception in interrupt", None, None, None),
}


def test_every_builtin_format_has_an_example_and_an_expectation() -> None:
    assert {f.name for f in BUILTIN} == set(EXAMPLES)
    assert all(f.example for f in BUILTIN)


@pytest.mark.parametrize("fmt", BUILTIN, ids=[f.name for f in BUILTIN])
def test_builtin_format_reads_its_own_example(fmt: LogFormat) -> None:
    content, level, component, timestamp = EXAMPLES[fmt.name]
    record = one_record(fmt, fmt.example)
    assert record.content == record.headline == content
    assert record.level == level
    assert record.component == component
    if timestamp is None:
        assert record.timestamp is None
    elif timestamp.startswith("-"):  # yearless: a year in front, never in the future
        assert record.timestamp is not None
        assert re.fullmatch(r"\d{4}" + re.escape(timestamp), record.timestamp)
    else:
        assert record.timestamp == timestamp
    if fmt.kind != "raw":
        assert record.header is not None and record.epoch is not None


def test_names_are_unique_and_lower_case() -> None:
    names = [f.name for f in BUILTIN] + [a for f in BUILTIN for a in f.aliases]
    assert len(names) == len(set(names))
    assert all(n == n.lower() for n in names)


def test_lookup_ignores_case_and_spaces() -> None:
    assert get_format(" HDFS ").name == "hdfs"
    assert get_format("Mac").name == "mac"


def test_unknown_format_is_a_config_error_listing_the_names() -> None:
    with pytest.raises(ConfigError, match="unknown log format 'nginx'") as info:
        get_format("nginx")
    for name in ("hdfs", "bgl", "syslog", "linux", "mac", "openssh", "jsonl", "raw"):
        assert name in str(info.value)


def test_unknown_format_lists_user_formats_too() -> None:
    user = {"myapp": {"regex": r"^(?P<content>.*)$"}}
    with pytest.raises(ConfigError, match="myapp"):
        get_format("nope", user)


# --- the syslog family: one header, settings per system ------------------------------------

def test_linux_mac_openssh_share_the_syslog_header_with_their_own_settings() -> None:
    syslog = get_format("syslog")
    family = [get_format(n) for n in ("linux", "mac", "openssh")]
    assert all(f.pattern == syslog.pattern and f.time_format == syslog.time_format
               and f.yearless for f in family)
    assert all(f.masks for f in family) and not syslog.masks
    # syslog stays the generic one: listed first, so auto-detection picks it on a tie.
    order = [f.name for f in BUILTIN]
    assert order.index("syslog") < min(order.index(f.name) for f in family)


@pytest.mark.data
@pytest.mark.parametrize("system", LOGHUB2K_SYSTEMS)
def test_every_loghub2k_line_matches_its_format_header(shared_data: Path, system: str) -> None:
    fmt = get_format(SYSTEM_FORMATS[system])
    records = list(to_records(read_batches(Source(str(loghub2k(system)))), fmt, multiline=False))
    assert len(records) == 2000
    headerless = [r.line for r in records if r.header is None]
    assert headerless == []
    assert all(r.epoch is not None for r in records)


@pytest.mark.data
def test_hpc_reads_negative_flags(shared_data: Path) -> None:
    """HPC's flag field is -1 on partition and node status lines (18 in HPC_2k)."""
    fmt = get_format("hpc")
    records = list(to_records(read_batches(Source(str(loghub2k("HPC")))), fmt))
    flagged = [r for r in records if r.fields.get("flag") == "-1"]
    assert len(flagged) == 18
    assert {r.content for r in flagged} == {"running", "configured out"}
    assert {r.component for r in flagged} == {"partition", "node"}


# --- system masks keep tokens and are stable --------------------------------------------------

@pytest.mark.data
@pytest.mark.parametrize("system", LOGHUB2K_SYSTEMS)
def test_system_masks_keep_tokens_and_mask_to_themselves(shared_data: Path,
                                                          system: str) -> None:
    """Like the default masks: never across whitespace, and a masked message masks to itself."""
    fmt = get_format(SYSTEM_FORMATS[system])
    masker = Masker((*fmt.masks, *DEFAULT_MASKS))
    fmt_names = {f"<{m.name}>" for m in fmt.masks}
    seen: set[str] = set()
    for record in to_records(read_batches(Source(str(loghub2k(system)))), fmt):
        collapsed = collapse_digits("0", record.headline)
        masked = masker.mask(collapsed)
        assert len(masked.split()) == len(collapsed.split()), record.headline
        assert masker.mask(masked) == masked, record.headline
        seen.update(n for n in fmt_names if n in masked)
    assert seen == fmt_names  # every system mask is used by its own system


MASKED = [
    # (format, message, masked) -- short lines in the shapes of the Loghub systems
    ("linux", "connection from 10.1.2.3 (a-1-2.dsl.example.net) at Fri Jul  1 07:57:30 2005",
     "connection from <HOST> (<HOST>) at <WEEKDAY> <MONTH>  <NUM> <TIME> <NUM>"),
    ("linux", "BIOS-e820: 0000000007eae000 - 0000000008000000 (usable)",
     "BIOS-e0: <HEXID> - <NUM> (usable)"),
    ("openssh", "Received disconnect from 10.0.0.1: 11: Bye Bye [preauth]",
     "Received disconnect from <HOST>: <NUM>: Bye Bye [preauth]"),
    ("openssh", "reverse mapping checking getaddrinfo for ec2-1-2-3-4.compute.example.com",
     "reverse mapping checking getaddrinfo for <HOST>"),
    ("mac", "com.apple.CacheDelete.daily: scheduler_evaluate_activity told me to run",
     "<DOTTED>: scheduler_evaluate_activity told me to run"),
    ("mac", "en0: BSSID changed to 5c:50:15:4c:18:13 at 07:57:30",
     "en0: BSSID changed to <ADDR> at <TIME>"),
    ("mac", "[2017-07-04_11,29,10.144779]-CCIOReporter-005.xml, done",
     "<CAPFILE>, done"),
    ("spark", "Block rdd_42_20 stored as bytes in memory (estimated size 5.4 KB, free 378.2 MB)",
     "Block <BLOCK> stored as bytes in memory (estimated size <NUM> <UNIT>, free <NUM> <UNIT>)"),
    ("bgl", "iar 001061dc dear 0244c22c", "iar <NUM> dear <NUM>"),
    ("bgl", "iar 00106210 dear 0244c22c", "iar <NUM> dear <NUM>"),
    ("bgl", "VPD ecid 04DF80A7942FFFFF0C081AE08CD2, found", "VPD ecid <HEXID>, found"),
    ("bgl", "New ido chip inserted into the database: FF:F2:9F:15:1F:72:00:0D:60:EA:E0:8D ip=",
     "New ido chip inserted into the database: <ADDR> ip="),
    ("proxifier", "0-edge-chat.facebook.com:443 close, 0 bytes sent, lifetime 00:01",
     "<HOSTPORT> close, <NUM> bytes sent, lifetime <NUM>:<NUM>"),
    ("proxifier", "10.0.0.1:80 error : Could not connect", "<HOSTPORT> error : Could not connect"),
]


@pytest.mark.parametrize(("fmt_name", "message", "masked"), MASKED)
def test_system_masks(fmt_name: str, message: str, masked: str) -> None:
    fmt = get_format(fmt_name)
    masker = Masker((*fmt.masks, *DEFAULT_MASKS))
    assert masker.mask(collapse_digits("0", message)) == masked


# --- user formats from the config file -----------------------------------------------------

def test_user_format_from_a_config_table() -> None:
    spec: dict[str, Any] = {
        "regex": r"^(?P<timestamp>\S+ \S+) \[(?P<level>\w+)\] (?P<component>\S+): "
                 r"(?P<content>.*)$",
        "time_format": "%Y-%m-%d %H:%M:%S",
        "session_key": r"req=(\w+)",
        "sim_th": 0.6,
        "depth": 5,
        "masks": [{"name": "TICKET", "regex": r"TCK-\d+"}],
    }
    fmt = user_format("myapp", spec)
    assert (fmt.name, fmt.time_groups, fmt.sim_th, fmt.depth) == ("myapp", ("timestamp",), 0.6, 5)
    assert [m.name for m in fmt.masks] == ["TICKET"]
    record = one_record(fmt, "2024-03-01 12:00:01 [WARN] billing: retry req=42 TCK-7")
    assert (record.content, record.level, record.component) == ("retry req=42 TCK-7", "WARN",
                                                                "billing")
    assert record.timestamp == "2024-03-01T12:00:01"


def test_user_formats_come_first_and_win_by_name() -> None:
    user = {"hdfs": {"regex": r"^MINE (?P<content>.*)$"}}
    formats = available_formats(user)
    assert formats[0].name == "hdfs" and formats[0].pattern.startswith("^MINE")
    assert get_format("hdfs", user).pattern.startswith("^MINE")


def test_user_format_time_groups_may_be_one_name() -> None:
    fmt = user_format("x", {"regex": r"^(?P<when>\d+) (?P<content>.*)$", "time_groups": "when",
                            "time_format": "epoch"})
    assert fmt.time_groups == ("when",)
    assert one_record(fmt, "1117838570 hello").timestamp == "2005-06-03T22:42:50+00:00"


@pytest.mark.parametrize(("spec", "message"), [
    ({"regex": r"^(?P<content>.*"}, "bad regex"),
    ({"regex": r"^(?P<msg>.*)$"}, r"needs a \(\?P<content>"),
    ({"time_format": "iso"}, "needs at least regex"),
    ({"regex": r"(?P<content>.*)", "colour": "red"}, "unknown keys"),
    ({"regex": r"(?P<content>.*)", "time_groups": ["when"]}, "time group 'when' not in regex"),
    ({"regex": r"(?P<content>.*)", "sim_th": "high"}, "could not convert"),
    ({"regex": r"(?P<content>.*)", "masks": [{"name": "X", "regex": "(unclosed"}]},
     "mask 'X': bad regex"),
    ({"regex": r"(?P<content>.*)", "masks": [{"regex": r"\d"}]}, "needs a name and a regex"),
    ({"regex": r"(?P<content>.*)", "masks": "TICKET"}, "masks must be a list"),
    ({"regex": r"(?P<t>\S+) (?P<content>.*)", "time_groups": ["t"],
      "time_format": "%L %H:%M:%S"}, "must end time_format"),
])
def test_bad_user_format_is_a_config_error(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        user_format("myapp", spec)
    assert "myapp" in str(info.value)


def test_bad_builtin_style_format_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="bad regex"):
        LogFormat("x", "broken", r"(?P<content>[")
    with pytest.raises(ConfigError, match="content"):
        LogFormat("x", "no content", r"(?P<message>.*)")


def test_hdfs_keeps_a_terminating_responder_apart_from_an_interrupted_one() -> None:
    from logsentry.parse import DEFAULT_MASKS, TemplateParser

    fmt = get_format("hdfs")
    parser = TemplateParser(masks=fmt.masks + DEFAULT_MASKS, sim_th=fmt.sim_th, depth=fmt.depth)
    normal = parser.add("PacketResponder 1 for block blk_123 terminating")[0]
    broken = parser.add("PacketResponder 2 for block blk_456 Interrupted.")[0]
    assert normal != broken
