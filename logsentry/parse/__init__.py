"""Parsing: Drain3 templates over masked messages, with persistent state of our own."""

from logsentry.parse.masks import DEFAULT_MASKS, Masker
from logsentry.parse.parser import Template, TemplateParser, extract_params
from logsentry.parse.state import load_state, save_state, state_path

__all__ = [
    "DEFAULT_MASKS",
    "Masker",
    "Template",
    "TemplateParser",
    "extract_params",
    "load_state",
    "save_state",
    "state_path",
]
