"""Default masks on real Loghub lines, the way the product applies them.

The product masks a record's message (the format's ``content`` group, not the
header) after ``collapse_digits("0", ...)``, with the format's own masks
first and then ``DEFAULT_MASKS`` (``Pipeline._make_parser``). Messages are cut
out of ../shared/data/loghub2k by the built-in formats and picked by a short
needle, never pasted into the repo. The default masks are tested alone (as
for a format with no masks of its own: raw, iso, jsonl, klog), so the
per-system masks in formats/registry.py can change without touching these.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import pytest

from logsentry.config import MaskSpec
from logsentry.errors import ConfigError
from logsentry.formats import get_format, to_records
from logsentry.parse import DEFAULT_MASKS, Masker, TemplateParser
from logsentry.parse.masks import collapse_digits
from logsentry.sources.reader import Source, read_batches
from tests.datasets import loghub2k

# loghub2k system -> the built-in format that reads it.
FORMATS = {
    "Apache": "apache", "BGL": "bgl", "HDFS": "hdfs", "HPC": "hpc", "HealthApp": "healthapp",
    "Linux": "syslog", "Mac": "syslog", "OpenSSH": "syslog", "Proxifier": "proxifier",
    "Spark": "spark", "Thunderbird": "thunderbird", "Zookeeper": "zookeeper",
}
DEFAULTS = Masker(DEFAULT_MASKS)


@functools.cache
def messages(system: str, fmt_name: str | None = None) -> tuple[str, ...]:
    """The messages the parser mines for a loghub2k file (``raw`` = whole lines)."""
    fmt = get_format(fmt_name or FORMATS[system])
    batches = read_batches(Source(str(loghub2k(system))))
    return tuple(r.headline for r in to_records(batches, fmt))


def first_message(system: str, needle: str, fmt_name: str | None = None) -> str:
    for message in messages(system, fmt_name):
        if needle in message:
            return message
    raise AssertionError(f"no {system} message contains {needle!r}")


def mask(message: str) -> str:
    """The default masks, as the parser runs them."""
    return DEFAULTS.mask(collapse_digits("0", message))


@functools.cache
def _product_masker(fmt_name: str) -> Masker:
    return Masker((*get_format(fmt_name).masks, *DEFAULT_MASKS))


def mask_as_product(message: str, fmt_name: str) -> str:
    """The format's own masks first, then the defaults (``Pipeline._make_parser``)."""
    return _product_masker(fmt_name).mask(collapse_digits("0", message))


def template_of(message: str) -> str:
    """The template a fresh parser with the default masks gives one message."""
    return TemplateParser(masks=DEFAULT_MASKS).add(message)[1]


# (mask, system, needle that picks the first line, fragment expected in the masked text)
REAL_LINES = [
    ("DATE", "Mac", "GoogleSoftwareUpdateAgent[",
     "<DATE> <TIME> GoogleSoftwareUpdateAgent[<NUM>/<HEX>]"),
    ("DATE", "Thunderbird", "-ioctl (", "-ioctl (<DATE>) initialised"),
    ("TIME", "Linux", "connection from", "at Fri Jun <NUM> <TIME> <NUM>"),
    ("TIME", "Proxifier", "lifetime 01:07:", "lifetime <TIME>"),
    ("NUM", "Proxifier", "lifetime 00:", "lifetime <NUM>:<NUM>"),  # mm:ss is not a TIME
    ("UUID", "Mac", "com.apple.ncplugin.weather", "weather(<NUM>) <UUID> <PATH>"),
    ("BLK", "HDFS", "PacketResponder", "for block <BLK> terminating"),
    ("BLK", "HDFS", "to delete", "BLOCK* ask <IP> to delete  <BLK>"),
    ("URL", "Mac", "after trim url", "after trim url = <URL>"),
    ("URL", "Spark", "Remoting started", "listening on addresses :[<URL>"),
    ("IP", "OpenSSH", "Invalid user", "from <IP>"),
    ("IP", "OpenSSH", "reverse mapping", "[<IP>] failed - POSSIBLE BREAK-IN ATTEMPT!"),
    ("IP", "HDFS", "addStoredBlock", "blockMap updated: <IP> is added to <BLK> size <NUM>"),
    ("IP", "Zookeeper", "Received connection request", "Received connection request /<IP>"),
    ("IP", "BGL", "CioStream socket to", "CioStream socket to <IP>"),
    ("HOSTPORT", "Proxifier", "open through proxy proxy.",
     "<HOSTPORT> open through proxy <HOSTPORT> HTTPS"),
    ("PATH", "Apache", "workerEnv.init()", "workerEnv.init() ok <PATH>"),
    ("PATH", "HDFS", "Deleting block", "Deleting block <BLK> file <PATH>"),
    ("PATH", "Thunderbird", "run-parts", "CMD (run-parts <PATH>)"),
    ("HEX", "BGL", "CE sym", "CE sym <NUM>, at <HEX>, mask <HEX>"),
    ("HEX", "Zookeeper", "Closed socket connection", "which had sessionid <HEX>"),
    ("HEXID", "BGL", "VPD ecid", "VPD ecid <HEXID>, found"),
    ("HEXID", "Thunderbird", "ioctl32(", "arg(<HEXID>) on <PATH>"),
    ("NUM", "HDFS", "PacketResponder", "PacketResponder <NUM> for block"),
    ("NUM", "BGL", "double-hummer alignment exceptions",
     "<NUM> double-hummer alignment exceptions"),
    ("NUM", "Zookeeper", "txntype:-1", "txntype:<NUM> reqpath"),  # negative numbers
    ("NUM", "Spark", "Successfully started service", "on port <NUM>."),
]


@pytest.mark.parametrize(("name", "system", "needle", "expected"), REAL_LINES,
                         ids=[f"{c[0]}-{c[1]}-{i}" for i, c in enumerate(REAL_LINES)])
def test_default_mask_on_real_line(shared_data: Path, name: str, system: str, needle: str,
                                   expected: str) -> None:
    message = first_message(system, needle)
    masked = mask(message)
    assert f"<{name}>" in masked
    assert expected in masked, f"{message!r} masked to {masked!r}"
    # What Drain mines is exactly that: a fresh parser's template is the masked message.
    assert template_of(message) == " ".join(masked.split())


# Masks that no loghub2k message exercises: short literal lines in the shapes they come in.
LITERAL_LINES = [
    ("lease renewed until 2024-03-01T12:00:01.123456+00:00 by web1", "until <TS> by web1"),
    ("token expires 2024-03-01T12:00:01Z", "expires <TS>"),
    ("checkpoint at 2024-03-01T12:00:01,5+0100.", "at <TS>."),
    ("backup of 2024-03-01 done", "of <DATE> done"),
    # A klog header relayed inside another log's message (container runtimes do this);
    # the file:line after it is masked as HOSTPORT, a fair result for a varying line number.
    ("I0301 12:00:01.123456 1 controller.go:116] Starting EndpointSlice controller",
     "<KLOG> <TIME> <NUM> <HOSTPORT>] Starting EndpointSlice controller"),
    ("W1130 23:59:59.999999 42 reflector.go:138] watch ended", "<KLOG> <TIME> <NUM> <HOSTPORT>]"),
    ("request 123e4567-e89b-12d3-a456-426614174000 done", "request <UUID> done"),
    ("fetch http://example.com/a?b=1 failed", "fetch <URL> failed"),
    ("connect 10.0.0.1 ok", "connect <IP> ok"),
    ("connect 10.0.0.1:8080 ok", "connect <IP> ok"),
    ("connect db.internal:5432 ok", "connect <HOSTPORT> ok"),
    ("flags 0x1F set", "flags <HEX> set"),
    ("object deadbeef01 freed", "object <HEXID> freed"),
    ("took 1.5e-3 s, -17 and +3", "took <NUM> s, <NUM> and <NUM>"),
]


@pytest.mark.parametrize(("message", "expected"), LITERAL_LINES)
def test_default_mask_on_literal_line(message: str, expected: str) -> None:
    assert expected in mask(message)


def test_format_masks_run_before_the_defaults(shared_data: Path) -> None:
    # BGL's own CORE mask: without it "core.2275" would stay a word (NUM needs a boundary).
    message = first_message("BGL", "generating core.")
    assert mask_as_product(message, "bgl") == "generating <CORE>"
    assert "<CORE>" not in mask(message)


# --- what must stay as it is --------------------------------------------------------------

KEPT_WORDS = [
    # (system, format, needle, words that must survive masking unchanged)
    ("HDFS", "raw", "PacketResponder 1 for block",
     ["INFO", "dfs.DataNode$PacketResponder:", "PacketResponder", "terminating"]),
    ("HDFS", "raw", "addStoredBlock",
     ["dfs.FSNamesystem:", "BLOCK*", "NameSystem.addStoredBlock:"]),
    ("BGL", "raw", "instruction cache parity error corrected",
     ["RAS", "KERNEL", "INFO", "instruction", "corrected"]),
    ("OpenSSH", "syslog", "pam_unix(sshd:auth): check pass",
     ["pam_unix(sshd:auth):", "check", "pass;"]),
    ("Linux", "syslog", "authentication failure", ["logname=", "tty=NODEVssh", "ruser="]),
    ("Mac", "syslog", "wl0: MDNS: IPV4 Addr", ["wl0:", "MDNS:", "IPV4"]),  # single digits stay
    ("Spark", "spark", "Changing view acls", ["yarn,curi"]),
    ("Zookeeper", "zookeeper", "Closed socket connection", ["Closed", "socket", "connection"]),
]


@pytest.mark.parametrize(("system", "fmt_name", "needle", "words"), KEPT_WORDS,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(KEPT_WORDS)])
def test_words_that_are_not_variables_are_not_masked(shared_data: Path, system: str,
                                                     fmt_name: str, needle: str,
                                                     words: list[str]) -> None:
    masked = mask(first_message(system, needle, fmt_name)).split()
    for word in words:
        assert word in masked


def test_words_with_digit_runs_are_collapsed_not_masked(shared_data: Path) -> None:
    # BGL node names (U11, J16) and names like Brcm43xx are words: no mask applies, but the
    # digit collapse that runs first still shows in the template ("U0", "J0", "Brcm0xx").
    masked = mask(first_message("BGL", "Node card VPD check", "bgl"))
    assert masked.startswith("Node card VPD check: U0 node in processor card slot J0 ")
    airport = mask(first_message("Mac", "AirPort_Brcm"))
    assert "AirPort_Brcm0xx::syncPowerState:" in airport
    # The raw BGL location field R02-M1-N0-C:J12-U11 is not masked either.
    assert "R0-M1-N0-C:J0-U0" in mask(first_message("BGL", "RAS KERNEL INFO", "raw"))


VERSIONS = [
    # Version strings are a judgment call; this is what happens (documented, not ideal):
    # two dotted parts read as a number, three stay a word, four read as an IP address.
    ("Thunderbird", "syslog-ng version", "syslog-ng version 1.6.7 starting"),
    ("Linux", "PCI Core version", "PCI Hot Plug PCI Core version: <NUM>"),
    ("Linux", "Linux version", "Linux version 2.6.5-<NUM> ("),
    ("Zookeeper", "zookeeper.version=", "zookeeper.version=3.4.5-<NUM>,"),
    ("Linux", "Clock Driver v", "Real Time Clock Driver v1.0"),  # v1.12: collapsed, not masked
]


@pytest.mark.parametrize(("system", "needle", "expected"), VERSIONS)
def test_version_strings(shared_data: Path, system: str, needle: str, expected: str) -> None:
    assert expected in mask(first_message(system, needle))
    assert mask("upgraded to 10.2.0.1") == "upgraded to <IP>"


# --- masks must not match inside addresses (MAC, IPv6, dashed host names) ------------------

FALSE_MATCHES = [
    # KLOG's [IWEF]0 matches the hex bytes "E0"/"F0" of MAC and IPv6 addresses.
    ("BGL", "New ido chip inserted", "KLOG"),
    ("Mac", "(2607:F140:", "KLOG"),
    # UUID's five dash-separated hex groups of any length match "ec2-52-80-34-196".
    ("OpenSSH", "rhost=ec2-", "UUID"),
    # DATE matches the first three parts of a dashed IP inside a host name.
    ("OpenSSH", "191-210-223-172.user", "DATE"),
    ("Linux", "rhost=220-135-151-1.hinet", "DATE"),
    # TIME matches inside an IPv6 address.
    ("Mac", "(FE80:0000:0000:0000:", "TIME"),
]


@pytest.mark.parametrize(("system", "needle", "name"), FALSE_MATCHES)
def test_masks_do_not_match_inside_addresses(shared_data: Path, system: str, needle: str,
                                             name: str) -> None:
    assert f"<{name}>" not in mask(first_message(system, needle))


# --- properties over every loghub2k file ---------------------------------------------------

@pytest.mark.parametrize("system", sorted(FORMATS))
def test_masking_keeps_tokens_and_is_idempotent(shared_data: Path, system: str) -> None:
    """Masks never span whitespace (so parameters can be read back token by token), and a
    masked message masks to itself."""
    fmt_name = FORMATS[system]
    names = {f"<{m.name}>" for m in (*get_format(fmt_name).masks, *DEFAULT_MASKS)}
    wild = re.compile(r"<[A-Za-z][\w-]*>")
    for message in messages(system):
        collapsed = collapse_digits("0", message)
        masked = mask_as_product(message, fmt_name)
        assert len(masked.split()) == len(collapsed.split()), message
        assert mask_as_product(masked, fmt_name) == masked, message
        for found in wild.findall(masked):
            assert found in names or found in collapsed, (found, message)


# --- precedence and configuration --------------------------------------------------------

def test_leftmost_match_wins_then_earlier_mask() -> None:
    assert mask("see /10.0.0.1/foo/bar") == "see <PATH>"  # PATH starts first
    assert mask("10.0.0.1") == "<IP>"  # IP is listed before NUM
    assert mask("0x1F") == "<HEX>"  # HEX before NUM and HEXID
    assert mask("2024-03-01T12:00:01Z") == "<TS>"  # TS before DATE and TIME


def test_masker_with_no_masks_changes_nothing() -> None:
    assert Masker(()).mask("user 42 from 10.0.0.1") == "user 42 from 10.0.0.1"


def test_custom_mask_is_used_by_the_parser() -> None:
    parser = TemplateParser(masks=(MaskSpec("USER", r"(?<=user )\w+"), *DEFAULT_MASKS))
    assert parser.add("login failed for user alice from 10.0.0.1")[1] == \
        "login failed for user <USER> from <IP>"


@pytest.mark.parametrize(("spec", "message"), [
    (MaskSpec("BAD", "(unclosed"), "bad regex"),
    (MaskSpec("two words", r"\d"), "mask name"),
    (MaskSpec("<X>", r"\d"), "mask name"),
])
def test_bad_mask_is_a_config_error(spec: MaskSpec, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Masker((spec,))
