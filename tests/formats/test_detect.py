"""``--log-format auto``: the right format on real files, JSON lines, free text; the message."""

from __future__ import annotations

import json
from itertools import islice
from pathlib import Path

import pytest

from logsentry.formats import available_formats, detect_format, get_format
from logsentry.formats.detect import SAMPLE_LINES, Detection
from tests.datasets import LOGHUB2K_SYSTEMS, loghub2k

# Linux, Mac and OpenSSH are BSD syslog: auto-detection reports the generic
# format, and names linux/mac/openssh, which read the same header.
DETECTED = {
    "Apache": "apache", "BGL": "bgl", "HDFS": "hdfs", "HPC": "hpc", "HealthApp": "healthapp",
    "Linux": "syslog", "Mac": "syslog", "OpenSSH": "syslog", "Proxifier": "proxifier",
    "Spark": "spark", "Thunderbird": "thunderbird", "Zookeeper": "zookeeper",
}


def head(path: Path, n: int = SAMPLE_LINES) -> list[str]:
    with path.open(encoding="utf-8") as fh:
        return [line.rstrip("\n") for line in islice(fh, n)]


@pytest.mark.data
@pytest.mark.parametrize("system", LOGHUB2K_SYSTEMS)
def test_detects_each_loghub_system(shared_data: Path, system: str) -> None:
    found = detect_format(head(loghub2k(system)), available_formats())
    assert found.format.name == DETECTED[system]
    assert (found.matched, found.sampled) == (200, 200)


@pytest.mark.data
@pytest.mark.parametrize("system", ["Linux", "Mac", "OpenSSH"])
def test_syslog_detection_names_the_system_formats(shared_data: Path, system: str) -> None:
    found = detect_format(head(loghub2k(system)), available_formats())
    assert found.also == ("linux", "mac", "openssh")
    assert found.describe() == ("log format: syslog (200/200 sample lines match, as for linux, "
                                "mac, openssh); use --log-format to choose another")


@pytest.mark.data
def test_thunderbird_wins_over_spirit(shared_data: Path) -> None:
    found = detect_format(head(loghub2k("Thunderbird")), available_formats())
    assert found.format.name == "thunderbird" and found.also == ("spirit",)


def test_json_lines() -> None:
    lines = [json.dumps({"time": f"2024-03-01T12:00:0{i}Z", "level": "info", "msg": f"req {i}"})
             for i in range(10)]
    found = detect_format(lines, available_formats())
    assert found.format.name == "jsonl"
    assert found.describe() == ("log format: jsonl (10/10 sample lines match); "
                                "use --log-format to choose another")


def test_json_arrays_and_broken_json_are_not_json_lines() -> None:
    lines = ["[1, 2, 3]", '{"a": 1', "{not json}"] * 5
    assert detect_format(lines, available_formats()).format.name == "raw"


def test_free_text_is_raw() -> None:
    lines = ["the quick brown fox", "jumps over the lazy dog", "and keeps running"] * 10
    found = detect_format(lines, available_formats())
    assert found.format.name == "raw"
    assert found.sampled == 30
    assert found.describe() == ("log format: raw (no known header matched over half of 30 "
                                "sample lines); use --log-format or add a format to the config "
                                "file")


def test_a_minority_of_matching_lines_is_not_enough() -> None:
    hdfs = get_format("hdfs").example
    lines = [hdfs] * 4 + ["free text"] * 6
    found = detect_format(lines, available_formats())
    assert found.format.name == "raw" and found.matched == 4
    lines = [hdfs] * 6 + ["free text"] * 4
    assert detect_format(lines, available_formats()).format.name == "hdfs"


def test_continuation_lines_are_not_evidence() -> None:
    """A stack trace under a few log4j lines must not dilute the vote."""
    iso = get_format("iso").example
    trace = ["java.lang.IllegalStateException: boom", "\tat a.b.C.m(C.java:10)",
             "Caused by: java.io.IOException: disk", "\t... 3 more", ""]
    found = detect_format([iso, *trace * 10, iso], available_formats())
    assert found.format.name == "iso"
    assert (found.matched, found.sampled) == (2, 2)


def test_only_the_first_sample_lines_count() -> None:
    hdfs = get_format("hdfs").example
    lines = [hdfs] * SAMPLE_LINES + ["free text"] * 1000
    found = detect_format(lines, available_formats())
    assert found.format.name == "hdfs" and found.sampled == SAMPLE_LINES


def test_empty_input() -> None:
    found = detect_format([], available_formats())
    assert found == Detection(get_format("raw"), 0, 0)
    assert found.describe() == "log format: raw (empty input)"
    assert detect_format(["", ""], available_formats()).sampled == 0


def test_user_format_wins_a_tie_with_a_builtin() -> None:
    user = {"myhdfs": {"regex": r"^(?P<date>\d{6}) (?P<time>\d{6}) (?P<content>.*)$"}}
    found = detect_format([get_format("hdfs").example] * 3, available_formats(user))
    assert found.format.name == "myhdfs"
    assert found.also == ("hdfs",)


def test_a_better_match_beats_an_earlier_format() -> None:
    # Half the lines fit hdfs only, all fit iso (a later format): iso wins on count.
    iso = get_format("iso").example
    lines = [get_format("hdfs").example, iso, iso, iso]
    found = detect_format(lines, available_formats())
    assert found.format.name == "iso" and found.matched == 3 and found.also == ()
