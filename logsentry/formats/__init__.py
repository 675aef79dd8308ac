"""Log formats: header regexes per system, auto-detection, multi-line records."""

from logsentry.formats.detect import Detection, detect_format
from logsentry.formats.records import CONTINUATION, RecordBuilder, to_records
from logsentry.formats.registry import LogFormat, available_formats, get_format

__all__ = [
    "CONTINUATION",
    "Detection",
    "LogFormat",
    "RecordBuilder",
    "available_formats",
    "detect_format",
    "get_format",
    "to_records",
]
