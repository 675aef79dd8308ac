"""The registry of header formats: a regex with named groups per log system.

Group names with meaning: ``content`` (required: the message), ``level``,
``component``, and the timestamp groups named in ``time_groups``; every other
group is kept in ``LogRecord.fields``. Names are lower-case system names.
Users add formats in the config file under ``[formats.NAME]``.

Each format also carries the Drain settings (``sim_th``, ``depth``) and the
extra masks that suit its system, like the per-system settings of Loghub's
Drain benchmark. Our thresholds run higher than Loghub's because Drain3 counts
two equal mask tokens (``<NUM>`` = ``<NUM>``) as similar, where Loghub's Drain
replaces masked text with ``<*>``, which counts as dissimilar. The values were
chosen in the middle of the plateau of grouping accuracy on the Loghub 2k
samples (tests/parse/test_grouping_accuracy.py), not at a single best point.

Several formats share one header layout: ``linux``, ``mac`` and ``openssh``
read BSD syslog exactly like ``syslog``, and ``spirit`` reads like
``thunderbird``; they differ only in Drain settings and masks. Auto-detection
keeps the earlier, generic one on a tie (``syslog``, ``thunderbird``) and names
the others in its message; choose them with ``--log-format``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from logsentry.config import MaskSpec
from logsentry.errors import ConfigError


@dataclass(frozen=True)
class LogFormat:
    name: str
    description: str
    pattern: str = r"(?P<content>.*)"
    kind: str = "regex"  # "regex", "raw" or "jsonl"
    time_groups: tuple[str, ...] = ()
    time_format: str = ""  # strptime format, "epoch" or "iso"
    yearless: bool = False
    session_key: str = ""  # regex; group 1 (if any) or the whole match is the session id
    sim_th: float = 0.4  # Drain similarity threshold that suits this system
    depth: int = 4  # Drain tree depth that suits this system
    masks: tuple[MaskSpec, ...] = ()  # extra masks for this system, applied first
    aliases: tuple[str, ...] = ()
    example: str = ""
    regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            compiled = re.compile(self.pattern)
        except re.error as exc:
            raise ConfigError(f"log format {self.name!r}: bad regex: {exc}") from None
        if "content" not in compiled.groupindex:
            raise ConfigError(f"log format {self.name!r}: the regex needs a (?P<content>...) group")
        for group in self.time_groups:
            if group not in compiled.groupindex:
                raise ConfigError(f"log format {self.name!r}: time group {group!r} not in regex")
        if "%L" in self.time_format and not self.time_format.endswith("%L"):
            raise ConfigError(f"log format {self.name!r}: %L (milliseconds) must end time_format")
        object.__setattr__(self, "regex", compiled)


_SYSLOG_TAIL = (
    r"(?P<host>\S+) (?P<component>[^\[:]+?)(?:\[(?P<pid>\d+)\])?"
    r"(?: \((?P<address>[^)]*)\))?: ?(?P<content>.*)$"
)
_SYSLOG = r"^(?P<month>[A-Z][a-z]{2}) +(?P<day>\d{1,2}) (?P<time>\d{2}:\d{2}:\d{2}) " + _SYSLOG_TAIL

# System masks. They run before DEFAULT_MASKS, on text whose digit runs are
# already collapsed to "0" (parse/masks.py), so they say \d+, never \d{4};
# like every mask they stay inside one token.
_NOT_IN_WORD = r"(?<![\w.-])"
_END_OF_WORD = r"(?![\w.-])"
# An address: IPv4 with an optional port, name:port, or a host name of three or
# more labels (rhost=220-135-151-1.hinet-ip.hinet.net), one class so that a
# host name and an IP in the same field read alike.
_HOST_PORT = r"(?=[\w.-]*[A-Za-z.])[\w-]+(?:\.[\w-]+)*:\d+"  # a letter or dot: not mm:ss
_HOST = MaskSpec("HOST", _NOT_IN_WORD + r"(?:\d+\.\d+\.\d+\.\d+(?::\d+)?|" + _HOST_PORT
                 + r"|(?:[\w-]+\.){2,}[A-Za-z][\w-]*)" + _END_OF_WORD)
# Proxifier's peers: a name or an IP, always with a port (0-edge-chat.facebook.com:443).
_PROXIFIER_PEER = MaskSpec("HOSTPORT", _NOT_IN_WORD + _HOST_PORT + _END_OF_WORD)
# Dates written out inside messages ("at Fri Jul  1 07:57:30 2005").
_WEEKDAY = MaskSpec("WEEKDAY", r"(?<!\w)(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)(?!\w)")
_MONTH = MaskSpec("MONTH", r"(?<!\w)(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)(?!\w)")
# Bare hex words (BIOS-e820: 0000000007eae000) collapse to "0eae0": too short
# for the default HEXID, which wants six characters.
_HEXWORD = MaskSpec("HEXID", _NOT_IN_WORD + r"(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])"
                    r"[0-9a-fA-F]{3,}" + _END_OF_WORD)
# BGL writes addresses as bare hex ("iar 001061dc dear 0244c22c"); all-digit
# ones collapse to "0" (NUM), so the short hex ones must read as NUM too, or
# one event splits by whether its address has a letter. Long ones stay HEXID.
_BGL_HEXNUM = MaskSpec("NUM", _NOT_IN_WORD + r"(?=[0-9a-fA-F]*\d)[0-9a-fA-F]{1,5}" + _END_OF_WORD)
# macOS: reverse-DNS identifiers (com.apple.CacheDelete.daily, also with a URL
# suffix), CoreCapture file names with a timestamp.
_DOTTED = MaskSpec("DOTTED", _NOT_IN_WORD + r"(?:[\w-]+\.){2,}[\w-]+(?:://[^\s:]*)?(?![\w-])")
_CAPTURE_FILE = MaskSpec("CAPFILE", r"\[\d+-\d+-\d+_\d+,\d+,\d+\.\d+\][^\s,]*")
# IPv6 and MAC addresses, BGL's ido chip ids (FF:F2:9F:15:...): one token, not a
# row of NUMs and stray hex bytes. Three colons at least, so hh:mm:ss stays a TIME.
_HEXCOLON = MaskSpec("ADDR", r"(?<![\w.])(?=[0-9a-fA-F])(?:[0-9a-fA-F]{0,4}:){3,}[0-9a-fA-F]{1,4}"
                     r"(?![\w:.])")
# Spark block ids (rdd_42_20, broadcast_23_piece0) and size units (KB, MB).
_SPARK_BLOCK = MaskSpec(
    "BLOCK", r"(?<!\w)(?:rdd|broadcast|shuffle|taskresult|stream)_\d+(?:_\w+)?(?!\w)")
_SIZE_UNIT = MaskSpec("UNIT", r"(?<!\w)[KMGT]?B(?!\w)")

_SYSLOG_FORMAT = LogFormat(
    "syslog",
    "BSD syslog as in /var/log/messages: Mon dd HH:mm:ss host program[pid]: message",
    _SYSLOG,
    time_groups=("month", "day", "time"),
    time_format="%b %d %H:%M:%S",
    yearless=True,
    sim_th=0.7,
    depth=5,
    example="Jun 14 15:16:01 combo sshd(pam_unix)[19939]: check pass; user unknown",
)

BUILTIN: tuple[LogFormat, ...] = (
    LogFormat(
        "hdfs",
        "Hadoop HDFS (Loghub HDFS_v1): yyMMdd HHmmss pid LEVEL component: message",
        r"^(?P<date>\d{6}) (?P<time>\d{6}) (?P<pid>\d+) (?P<level>[A-Z]+) "
        r"(?P<component>[^\s:]+): (?P<content>.*)$",
        time_groups=("date", "time"),
        time_format="%y%m%d %H%M%S",
        session_key=r"blk_-?\d+",
        sim_th=0.9,  # masks make tokens equal, so 0.5 merged "PacketResponder ... terminating" with "... Interrupted." (an anomaly)
        example=(
            "081109 203530 147 INFO dfs.DataNode$DataXceiver: Receiving block blk_1 src: "
            "/10.0.0.1:1 dest: /10.0.0.1:2"
        ),
    ),
    LogFormat(
        "bgl",
        (
            "Blue Gene/L RAS log (Loghub BGL): label epoch date node time node RAS component "
            "level message"
        ),
        r"^(?P<label>\S+) (?P<epoch>\d{9,11}) (?P<date>\d{4}\.\d{2}\.\d{2}) (?P<node>\S+) "
        r"(?P<time>\d{4}-\d{2}-\d{2}-\d{2}\.\d{2}\.\d{2}\.\d+) (?P<node_repeat>\S+) "
        r"(?P<type>\S+) (?P<component>\S+) (?P<level>\S+) ?(?P<content>.*)$",
        time_groups=("epoch",),
        time_format="epoch",
        sim_th=0.7,
        masks=(MaskSpec("CORE", r"core\.\d+"), _HEXCOLON, _BGL_HEXNUM),
        example=(
            "- 1117838570 2005.06.03 R02-M1-N0-C:J12-U11 2005-06-03-15.42.50.675872 "
            "R02-M1-N0-C:J12-U11 RAS KERNEL INFO instruction cache parity error corrected"
        ),
    ),
    LogFormat(
        "thunderbird",
        (
            "Thunderbird supercomputer syslog (Loghub): label epoch date node Mon day time "
            "location component[pid]: message"
        ),
        r"^(?P<label>\S+) (?P<epoch>\d{9,11}) (?P<date>\d{4}\.\d{2}\.\d{2}) (?P<node>\S+) "
        r"(?P<month>[A-Z][a-z]{2}) +(?P<day>\d{1,2}) (?P<time>\d{2}:\d{2}:\d{2}) (?P<location>\S+) "
        r"(?:(?P<component>[^\[:]+?)(?:\[(?P<pid>\d+)\])?: )?(?P<content>.*)$",
        time_groups=("epoch",),
        time_format="epoch",
        sim_th=0.5,
        example=(
            "- 1131566461 2005.11.09 dn228 Nov 9 12:01:01 dn228/dn228 crond(pam_unix)[2915]: "
            "session closed for user root"
        ),
    ),
    LogFormat(
        "spirit",
        (
            "Spirit supercomputer syslog (Loghub); same layout as thunderbird, so auto-detection "
            "reports thunderbird"
        ),
        r"^(?P<label>\S+) (?P<epoch>\d{9,11}) (?P<date>\d{4}\.\d{2}\.\d{2}) (?P<node>\S+) "
        r"(?P<month>[A-Z][a-z]{2}) +(?P<day>\d{1,2}) (?P<time>\d{2}:\d{2}:\d{2}) (?P<location>\S+) "
        r"(?:(?P<component>[^\[:]+?)(?:\[(?P<pid>\d+)\])?: )?(?P<content>.*)$",
        time_groups=("epoch",),
        time_format="epoch",
        sim_th=0.5,
        example=(
            "- 1104566404 2005.01.01 sn373 Jan 1 00:00:04 sn373/sn373 kernel: ACPI: Processor "
            "[CPU0] (supports C1)"
        ),
    ),
    LogFormat(
        "hadoop",
        "Hadoop MapReduce/YARN (log4j): yyyy-MM-dd HH:mm:ss,SSS LEVEL [thread] class: message",
        r"^(?P<date>\d{4}-\d{2}-\d{2}) (?P<time>\d{2}:\d{2}:\d{2},\d{3}) (?P<level>[A-Z]+) "
        r"\[(?P<process>[^\]]*)\] (?P<component>[^\s:]+): (?P<content>.*)$",
        time_groups=("date", "time"),
        time_format="%Y-%m-%d %H:%M:%S,%f",
        session_key=r"(?:attempt|container)_\d+_\d+(?:_[mr])?_\d+(?:_\d+)?",
        sim_th=0.5,
        example=(
            "2015-10-18 18:01:47,978 INFO [main] org.apache.hadoop.mapreduce.v2.app.MRAppMaster: "
            "Created MRAppMaster for application appattempt_1445144423722_0020_000001"
        ),
    ),
    LogFormat(
        "spark",
        "Apache Spark (log4j): yy/MM/dd HH:mm:ss LEVEL class: message",
        r"^(?P<date>\d{2}/\d{2}/\d{2}) (?P<time>\d{2}:\d{2}:\d{2}) (?P<level>[A-Z]+) "
        r"(?P<component>[^\s:]+): (?P<content>.*)$",
        time_groups=("date", "time"),
        time_format="%y/%m/%d %H:%M:%S",
        # Every variable of Spark's messages is masked, so only words that name
        # the event differ; "stored as bytes" vs "stored as values" is one word
        # in fourteen: merge nothing that differs in a word.
        sim_th=0.95,
        masks=(_SPARK_BLOCK, _SIZE_UNIT),
        example="17/06/09 20:10:40 INFO spark.SecurityManager: Changing view acls to: yarn,curi",
    ),
    LogFormat(
        "zookeeper",
        "Apache ZooKeeper (log4j): yyyy-MM-dd HH:mm:ss,SSS - LEVEL [node:component@line] - message",
        r"^(?P<date>\d{4}-\d{2}-\d{2}) (?P<time>\d{2}:\d{2}:\d{2},\d{3}) - (?P<level>[A-Z]+) +"
        r"\[(?P<node>.*):(?P<component>[^:\]@]+)@(?P<line_no>\d+)\] - (?P<content>.*)$",
        time_groups=("date", "time"),
        time_format="%Y-%m-%d %H:%M:%S,%f",
        sim_th=0.7,
        example=(
            "2015-07-29 17:41:44,747 - INFO  "
            "[QuorumPeer[myid=1]/0:0:0:0:0:0:0:0:2181:FastLeaderElection@774] - Notification time "
            "out: 3200"
        ),
    ),
    LogFormat(
        "openstack",
        (
            "OpenStack services (oslo.log): [file] yyyy-MM-dd HH:mm:ss.SSS pid LEVEL module "
            "[request] message"
        ),
        r"^(?:(?P<logrecord>\S+) )?(?P<date>\d{4}-\d{2}-\d{2}) (?P<time>\d{2}:\d{2}:\d{2}\.\d{3}) "
        r"(?P<pid>\d+) (?P<level>[A-Z]+) (?P<component>\S+) \[(?P<request>[^\]]*)\] "
        r"(?P<content>.*)$",
        time_groups=("date", "time"),
        time_format="%Y-%m-%d %H:%M:%S.%f",
        session_key=r"req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        sim_th=0.5,
        depth=5,
        example=(
            "nova-api.log.1.2017-05-16_13:53:08 2017-05-16 00:00:00.008 25746 INFO "
            "nova.osapi_compute.wsgi.server [req-38101a0b-2096-447d-96ea-a692162415ae "
            "113d3a99c3da401fbd62cc2caa5b96d2 54fadb412c4e40cdbaed9335e4c35a9e - - -] 10.11.10.1 "
            "\"GET /v2/54fadb412c4e40cdbaed9335e4c35a9e/servers/detail HTTP/1.1\" status: 200 "
            "len: 1893 time: 0.2477829"
        ),
    ),
    _SYSLOG_FORMAT,
    replace(
        _SYSLOG_FORMAT,
        name="linux",
        description="Linux /var/log/messages (Loghub Linux): syslog, masks for hosts, dates, hex",
        sim_th=0.78,
        masks=(_HOST, _WEEKDAY, _MONTH, _HEXWORD),
    ),
    replace(
        _SYSLOG_FORMAT,
        name="mac",
        description="macOS system.log (Loghub Mac): syslog, masks for bundle ids, IPv6/MAC",
        # macOS messages keep many constant words that tell events apart
        # (state 'Active' / 'Inactive', Link Up on en0 / awdl0): merge only
        # messages that differ in at most one word in ten.
        sim_th=0.9,
        depth=6,
        masks=(_DOTTED, _HEXCOLON, _CAPTURE_FILE),
        example="Jul  1 09:00:55 calvisitor-10-105-160-95 kernel[0]: AirPort: Link Down on awdl0",
    ),
    replace(
        _SYSLOG_FORMAT,
        name="openssh",
        description="OpenSSH sshd via syslog (Loghub OpenSSH): syslog, a mask for hosts",
        masks=(_HOST,),
        example="Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user webmaster from 173.234.31.186",
    ),
    LogFormat(
        "syslog-iso",
        (
            "syslog with an RFC 3339 timestamp (rsyslog, journald export): timestamp host "
            "program[pid]: message"
        ),
        r"^(?P<timestamp>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})?) "
        + _SYSLOG_TAIL,
        time_groups=("timestamp",),
        time_format="iso",
        sim_th=0.5,
        depth=5,
        example="2024-03-01T12:00:01.123456+00:00 web1 nginx[812]: upstream timed out",
    ),
    LogFormat(
        "apache",
        "Apache httpd error log: [Www Mmm dd HH:mm:ss yyyy] [module:level] [pid N] message",
        r"^\[(?P<timestamp>[A-Z][a-z]{2} [A-Z][a-z]{2} +\d{1,2} \d{2}:\d{2}:\d{2}(?:\.\d+)? "
        r"\d{4})\] "
        r"\[(?:(?P<component>[^:\]]+):)?(?P<level>[^\]]+)\] (?:\[pid (?P<pid>\d+)(?::tid \d+)?\] )?"
        r"(?:\[client (?P<client>[^\]]+)\] )?(?P<content>.*)$",
        time_groups=("timestamp",),
        time_format="%a %b %d %H:%M:%S %Y",
        sim_th=0.5,
        example="[Sun Dec 04 04:47:44 2005] [error] mod_jk child workerEnv in error state 6",
    ),
    LogFormat(
        "hpc",
        "HPC cluster log (Loghub HPC): logid node component state epoch flag message",
        r"^(?P<logid>\d+) (?P<node>\S+) (?P<component>\S+) (?P<state>\S+) (?P<epoch>\d{9,11}) "
        r"(?P<flag>-?\d+) (?P<content>.*)$",
        time_groups=("epoch",),
        time_format="epoch",
        sim_th=0.7,
        example=(
            "134681 node-246 unix.hw state_change.unavailable 1077804742 1 Component State "
            "Change: Component \\042alt0\\042 is in the unavailable state (HWID=3180)"
        ),
    ),
    LogFormat(
        "healthapp",
        "HealthApp (Loghub): yyyyMMdd-H:m:s:SSS|component|pid|message",
        r"^(?P<timestamp>\d{8}-\d{1,2}:\d{1,2}:\d{1,2}:\d{1,3})\|(?P<component>[^|]*)\|"
        r"(?P<pid>\d+)\|(?P<content>.*)$",
        time_groups=("timestamp",),
        time_format="%Y%m%d-%H:%M:%S:%L",  # 22:15:35:11 is 11 ms, not 110
        sim_th=0.8,
        example="20171223-22:15:29:606|Step_LSC|30002312|onStandStepChanged 3579",
    ),
    LogFormat(
        "proxifier",
        "Proxifier (Loghub): [MM.dd HH:mm:ss] program - message",
        r"^\[(?P<timestamp>\d{2}\.\d{2} \d{2}:\d{2}:\d{2})\] (?P<component>.+?) - (?P<content>.*)$",
        time_groups=("timestamp",),
        time_format="%m.%d %H:%M:%S",
        yearless=True,
        # "<HOSTPORT> open through proxy <HOSTPORT> HTTPS" and "... SOCKS5"
        # differ in one word of six, yet are different events.
        sim_th=0.9,
        depth=3,
        masks=(_PROXIFIER_PEER,),
        example=(
            "[10.30 16:49:06] chrome.exe - proxy.cse.cuhk.edu.hk:5070 open through proxy "
            "proxy.cse.cuhk.edu.hk:5070 HTTPS"
        ),
    ),
    LogFormat(
        "klog",
        "Kubernetes klog / glog: Lmmdd hh:mm:ss.uuuuuu pid file:line] message",
        r"^(?P<level>[IWEF])(?P<date>\d{4}) (?P<time>\d{2}:\d{2}:\d{2}\.\d{6}) +(?P<pid>\d+) "
        r"(?P<component>[^\]\s]+:\d+)\] (?P<content>.*)$",
        time_groups=("date", "time"),
        time_format="%m%d %H:%M:%S.%f",
        yearless=True,
        sim_th=0.5,
        example=(
            "I0301 12:00:01.123456    1234 controller.go:116] Starting EndpointSlice controller"
        ),
    ),
    LogFormat(
        "iso",
        "Application logs: ISO-8601 timestamp, level, message (log4j, logback, Python logging, Go)",
        r"^(?P<timestamp>\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?"
        r"(?:Z|[+-]\d{2}:?\d{2})?) +"
        r"\[?(?P<level>TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|ERR|CRITICAL|CRIT|FATAL|SEVERE)"
        r"\]? +"
        r"(?:\[(?P<thread>[^\]]*)\] +)?(?:(?P<component>[\w.$]+(?:\.[\w$]+)*) *(?:-|:) +)?"
        r"(?P<content>.*)$",
        time_groups=("timestamp",),
        time_format="iso",
        sim_th=0.5,
        example="2024-03-01 12:00:01,123 ERROR [main] com.example.App - connection refused",
    ),
    LogFormat(
        "jsonl",
        (
            "JSON lines: one object per line; message/time/level keys set in config "
            "(jsonl_message, ...)"
        ),
        kind="jsonl",
        sim_th=0.5,
        example='{"time": "2024-03-01T12:00:01Z", "level": "error", "msg": "connection refused"}',
    ),
    LogFormat("raw", "No header: the whole line is the message", kind="raw", sim_th=0.5,
              example="kernel panic - not syncing: Fatal exception in interrupt"),
)


def user_format(name: str, spec: Mapping[str, Any]) -> LogFormat:
    """A format from the config file's ``[formats.NAME]`` table."""
    where = f"config: [formats.{name}]"
    if not isinstance(spec, Mapping) or "regex" not in spec:
        raise ConfigError(f"{where} needs at least regex = '...(?P<content>.*)'")
    known = {"regex", "time_groups", "time_format", "yearless", "session_key", "sim_th",
             "depth", "description", "masks"}
    unknown = set(spec) - known
    if unknown:
        raise ConfigError(f"{where} has unknown keys {sorted(unknown)}")
    pattern = str(spec["regex"])
    try:
        groups = re.compile(pattern).groupindex
    except re.error as exc:
        raise ConfigError(f"{where}: bad regex: {exc}") from None
    raw_groups = spec.get("time_groups", ())
    time_groups = (raw_groups,) if isinstance(raw_groups, str) else tuple(map(str, raw_groups))
    if not time_groups and "timestamp" in groups:
        time_groups = ("timestamp",)
    try:
        return LogFormat(
            name=name,
            description=str(spec.get("description", f"user format {name} (config file)")),
            pattern=pattern,
            time_groups=time_groups,
            time_format=str(spec.get("time_format", "iso" if time_groups else "")),
            yearless=bool(spec.get("yearless", False)),
            session_key=str(spec.get("session_key", "")),
            sim_th=float(spec.get("sim_th", 0.4)),
            depth=int(spec.get("depth", 4)),
            masks=_user_masks(where, spec.get("masks", ())),
        )
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _user_masks(where: str, items: Any) -> tuple[MaskSpec, ...]:
    if not isinstance(items, list | tuple):
        raise ConfigError(f"{where}: masks must be a list of {{name = ..., regex = ...}}")
    masks = []
    for item in items:
        if not isinstance(item, Mapping) or "name" not in item or "regex" not in item:
            raise ConfigError(f"{where}: each mask needs a name and a regex")
        try:
            re.compile(str(item["regex"]))
        except re.error as exc:
            raise ConfigError(f"{where}: mask {item['name']!r}: bad regex: {exc}") from None
        masks.append(MaskSpec(str(item["name"]), str(item["regex"])))
    return tuple(masks)


def available_formats(user: Mapping[str, Any] | None = None) -> list[LogFormat]:
    """User formats first (so they win auto-detection ties), then the built-ins."""
    found = [user_format(name, spec) for name, spec in (user or {}).items()]
    return found + list(BUILTIN)


def get_format(name: str, user: Mapping[str, Any] | None = None) -> LogFormat:
    wanted = name.strip().lower()
    for fmt in available_formats(user):
        if fmt.name == wanted or wanted in fmt.aliases:
            return fmt
    names = ", ".join(sorted(f.name for f in available_formats(user)))
    raise ConfigError(f"unknown log format {name!r}; choose auto or one of: {names}")
