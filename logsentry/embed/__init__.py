"""Template vectors: a sentence encoder run by onnxruntime, cached per template.

Templates number in the tens to thousands while lines number in the
millions, so each template is embedded once and its vector cached (SQLite,
keyed by encoder version and template text); lines never need embedding.
"""

from logsentry.embed.cache import VectorCache
from logsentry.embed.minilm import ENCODER_ID, OnnxEncoder, ensure_encoder, find_weights
from logsentry.embed.text import template_text
from logsentry.embed.vectors import TemplateVectors

__all__ = [
    "ENCODER_ID",
    "OnnxEncoder",
    "TemplateVectors",
    "VectorCache",
    "ensure_encoder",
    "find_weights",
    "template_text",
]
