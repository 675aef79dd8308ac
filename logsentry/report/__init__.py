"""Report: text (rich), JSON and JSONL renderers; log text is always escaped."""

from logsentry.report.escape import escape_text
from logsentry.report.serialize import line_ranges, record_dict, sequence_dict

__all__ = ["escape_text", "line_ranges", "record_dict", "sequence_dict"]
