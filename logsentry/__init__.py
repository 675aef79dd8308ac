"""logsentry: find anomalies in logs and explain them.

The package is usable as a library; the CLI (``logsentry.cli``) only wires
options to these functions::

    from logsentry import read_lines, records, TemplateParser, sequences
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
