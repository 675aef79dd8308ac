"""The detector: routing, the small model's verdict (the LLM tier comes next)."""

from logsentry.detect.small_model import SmallModelDetector

__all__ = ["SmallModelDetector"]
