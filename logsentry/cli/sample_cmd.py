"""``logsentry sample``: write the synthetic demo log (HDFS format) that the Quick start uses."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from logsentry.errors import InputError
from logsentry.sample import sample_labels, sample_lines


def sample(
    blocks: Annotated[
        int, typer.Option("--blocks", "-n", help="Number of HDFS blocks (~21 lines each).")
    ] = 200,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same log).")] = 7,
    anomaly_rate: Annotated[
        float, typer.Option("--anomaly-rate", help="Fraction of blocks that go wrong.")
    ] = 0.04,
    labels: Annotated[
        Path | None,
        typer.Option("--labels", help="Also write BlockId,Label CSV here.", show_default=False),
    ] = None,
) -> None:
    """Print a synthetic HDFS-style log (generated, not copied from any data set)."""
    if blocks < 1 or not 0.0 <= anomaly_rate <= 1.0:
        raise InputError("--blocks must be >= 1 and --anomaly-rate between 0 and 1")
    out = typer.get_text_stream("stdout")
    for line in sample_lines(blocks, seed, anomaly_rate):
        out.write(line + "\n")
    out.flush()
    if labels is not None:
        rows = sample_labels(blocks, seed, anomaly_rate)
        try:
            with labels.open("w", encoding="utf-8") as fh:
                fh.write("BlockId,Label\n")
                for block, bad in rows.items():
                    fh.write(f"{block},{'Anomaly' if bad else 'Normal'}\n")
        except OSError as exc:
            raise InputError(f"{labels}: cannot write ({exc.strerror})") from None
